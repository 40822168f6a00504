//! A reflink file system for tests: a sparse file made into XFS with
//! `reflink=1` and loop-mounted (root only, as CI runs). Dropping it kills
//! whatever still works in it, keeps the PostgreSQL logs of a failed test,
//! unmounts it and removes the image, whether the test passed or not.

use std::path::{Path, PathBuf};
use std::process::Command;

pub struct ReflinkFs {
    image: PathBuf,
    mount: tempfile::TempDir,
}

impl ReflinkFs {
    /// A fresh XFS of `gib` GiB (sparse: it takes only what is written).
    pub fn new(gib: u32) -> ReflinkFs {
        let mount = tempfile::Builder::new().prefix("pgfleet-reflink-").tempdir().expect("mount point");
        let image = PathBuf::from(format!("{}.img", mount.path().display()));
        let run = |cmd: &mut Command| {
            let out = cmd.output().unwrap_or_else(|e| panic!("{cmd:?}: {e} (install xfsprogs; tests run as root)"));
            assert!(out.status.success(), "{cmd:?}: {}", String::from_utf8_lossy(&out.stderr));
        };
        run(Command::new("truncate").arg("-s").arg(format!("{gib}G")).arg(&image));
        run(Command::new("mkfs.xfs").args(["-q", "-m", "reflink=1"]).arg(&image));
        let fs = ReflinkFs { image, mount };
        run(Command::new("mount").args(["-o", "loop"]).arg(&fs.image).arg(fs.mount.path()));
        use std::os::unix::fs::PermissionsExt;
        std::fs::set_permissions(fs.mount.path(), std::fs::Permissions::from_mode(0o755)).unwrap();
        fs
    }

    pub fn path(&self) -> &Path {
        self.mount.path()
    }
}

impl Drop for ReflinkFs {
    fn drop(&mut self) {
        super::pg::stop_all_servers(&self.path().join("home"));
        super::kill_processes_in(self.path());
        if std::thread::panicking() {
            let kept = PathBuf::from(format!("{}-logs", self.path().display()));
            let _ = Command::new("sh")
                .arg("-c")
                .arg(format!(
                    "mkdir -p '{0}' && cd '{1}' && find . -name '*.log' -exec cp --parents {{}} '{0}' \\;",
                    kept.display(),
                    self.path().display()
                ))
                .status();
            eprintln!("test failed; PostgreSQL logs of the reflink home kept at {}", kept.display());
        }
        for _ in 0..50 {
            let done = Command::new("umount")
                .arg(self.path())
                .stderr(std::process::Stdio::null())
                .status()
                .is_ok_and(|s| s.success());
            if done || !is_mounted(self.path()) {
                break;
            }
            super::kill_processes_in(self.path());
            std::thread::sleep(std::time::Duration::from_millis(100));
        }
        let _ = std::fs::remove_file(&self.image);
    }
}

fn is_mounted(path: &Path) -> bool {
    std::fs::read_to_string("/proc/mounts").is_ok_and(|m| m.lines().any(|l| l.split(' ').nth(1) == path.to_str()))
}
