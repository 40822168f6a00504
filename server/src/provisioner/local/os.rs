//! The operating-system side of running PostgreSQL: which user its tools run
//! as (initdb and postgres refuse root), where its binaries are, file
//! ownership, and child processes that die with pgfleet.

use std::ffi::CString;
use std::path::{Path, PathBuf};

use tokio::process::Command;

use crate::provisioner::ProvisionError;

/// The unprivileged account PostgreSQL runs as.
#[derive(Clone, Debug)]
pub struct OsUser {
    pub name: String,
    pub uid: u32,
    pub gid: u32,
    /// Whether pgfleet must switch to this user to run PostgreSQL tools.
    pub switch: bool,
}

impl OsUser {
    /// As root: the named account (default `postgres`). Otherwise: pgfleet's
    /// own user.
    pub fn resolve(name: Option<&str>) -> Result<OsUser, ProvisionError> {
        // SAFETY: geteuid has no preconditions.
        let euid = unsafe { libc::geteuid() };
        if euid != 0 {
            // SAFETY: getegid has no preconditions.
            let egid = unsafe { libc::getegid() };
            return Ok(OsUser { name: std::env::var("USER").unwrap_or_default(), uid: euid, gid: egid, switch: false });
        }
        let name = name.unwrap_or("postgres");
        let c_name = CString::new(name).map_err(|_| ProvisionError::Invalid(format!("bad user name {name:?}")))?;
        // SAFETY: getpwnam reads a static buffer; we copy out before any
        // other call could overwrite it.
        let pw = unsafe { libc::getpwnam(c_name.as_ptr()) };
        if pw.is_null() {
            return Err(ProvisionError::Invalid(format!(
                "pgfleet runs as root and PostgreSQL refuses to, so it runs PostgreSQL as the user \
                 '{name}', which does not exist; create it (apt-get install postgresql-15 does) or \
                 pass --pg-user"
            )));
        }
        // SAFETY: pw is non-null and points at a valid passwd entry.
        let (uid, gid) = unsafe { ((*pw).pw_uid, (*pw).pw_gid) };
        if uid == 0 {
            return Err(ProvisionError::Invalid(format!(
                "--pg-user {name} is root; PostgreSQL refuses to run as root"
            )));
        }
        Ok(OsUser { name: name.to_string(), uid, gid, switch: true })
    }

    /// Gives `path` to this user.
    pub fn own(&self, path: &Path) -> Result<(), ProvisionError> {
        if self.switch {
            std::os::unix::fs::chown(path, Some(self.uid), Some(self.gid))
                .map_err(|e| ProvisionError::Io(format!("chown {}: {e}", path.display())))?;
        }
        Ok(())
    }
}

/// Finds PostgreSQL's binaries: `--pg-bin`, else the newest
/// `/usr/lib/postgresql/*/bin` (Debian's layout), else `PATH`.
pub fn find_pg_bin(explicit: Option<&Path>) -> Result<PathBuf, ProvisionError> {
    if let Some(dir) = explicit {
        return Ok(dir.to_path_buf());
    }
    let mut versions: Vec<(u32, PathBuf)> = std::fs::read_dir("/usr/lib/postgresql")
        .into_iter()
        .flatten()
        .flatten()
        .filter_map(|e| {
            let v: u32 = e.file_name().to_str()?.parse().ok()?;
            let bin = e.path().join("bin");
            bin.join("postgres").exists().then_some((v, bin))
        })
        .collect();
    versions.sort();
    if let Some((_, bin)) = versions.pop() {
        return Ok(bin);
    }
    for dir in std::env::split_paths(&std::env::var_os("PATH").unwrap_or_default()) {
        if dir.join("pg_ctl").exists() && dir.join("initdb").exists() {
            return Ok(dir);
        }
    }
    Err(ProvisionError::Invalid(
        "PostgreSQL's binaries were not found; install them with: apt-get install -y postgresql-15 \
         (or pass --pg-bin DIR)"
            .into(),
    ))
}

/// A command for a PostgreSQL tool, run as `user`, killed if pgfleet dies
/// (so a crash never leaves a copy running unsupervised).
pub fn tool(bin: &Path, name: &str, user: &OsUser) -> Command {
    let mut cmd = base_command(bin, name, user);
    // SAFETY: prctl is async-signal-safe and touches no memory of ours.
    unsafe {
        cmd.pre_exec(|| {
            libc::prctl(libc::PR_SET_PDEATHSIG, libc::SIGKILL);
            Ok(())
        });
    }
    cmd
}

/// A command for a PostgreSQL tool whose work must outlive pgfleet (the
/// postmaster `pg_ctl start` leaves behind): its own session, no
/// parent-death signal.
pub fn detached_tool(bin: &Path, name: &str, user: &OsUser) -> Command {
    let mut cmd = base_command(bin, name, user);
    // SAFETY: setsid is async-signal-safe.
    unsafe {
        cmd.pre_exec(|| {
            libc::setsid();
            Ok(())
        });
    }
    cmd
}

fn base_command(bin: &Path, name: &str, user: &OsUser) -> Command {
    let mut cmd = Command::new(bin.join(name));
    if user.switch {
        cmd.uid(user.uid).gid(user.gid);
    }
    cmd.env_remove("PGPASSWORD").env("LC_ALL", "C.UTF-8").stdin(std::process::Stdio::null()).kill_on_drop(true);
    cmd
}

/// Runs `cmd` to completion; a non-zero exit becomes an error that quotes
/// the tool's last lines of output.
pub async fn run(tool_name: &'static str, cmd: Command) -> Result<String, ProvisionError> {
    finish(tool_name, cmd).await?.into_result()
}

/// How a tool that ran ended: its exit code and what it printed.
pub struct Finished {
    tool: &'static str,
    /// `None` when a signal ended it.
    pub code: Option<i32>,
    text: String,
}

impl Finished {
    /// Its output if it succeeded, or the last lines of it as the error.
    pub fn into_result(self) -> Result<String, ProvisionError> {
        match self.code {
            Some(0) => Ok(self.text),
            _ => Err(ProvisionError::Tool { tool: self.tool, reason: last_lines(&self.text, 4) }),
        }
    }
}

/// Runs `cmd` to its end, failing only if it cannot run at all.
pub async fn finish(tool_name: &'static str, mut cmd: Command) -> Result<Finished, ProvisionError> {
    let out = cmd
        .stdout(std::process::Stdio::piped())
        .stderr(std::process::Stdio::piped())
        .output()
        .await
        .map_err(|e| ProvisionError::Tool { tool: tool_name, reason: format!("cannot run: {e}") })?;
    let text = format!("{}{}", String::from_utf8_lossy(&out.stdout), String::from_utf8_lossy(&out.stderr));
    Ok(Finished { tool: tool_name, code: out.status.code(), text })
}

/// The last `n` non-empty lines of `text`, joined for a message.
pub fn last_lines(text: &str, n: usize) -> String {
    let lines: Vec<&str> = text.lines().map(str::trim).filter(|l| !l.is_empty()).collect();
    let start = lines.len().saturating_sub(n);
    let tail = lines[start..].join(" / ");
    if tail.is_empty() {
        "no output".into()
    } else {
        tail
    }
}

/// Whether a process with this pid exists (and is not a zombie).
pub fn process_alive(pid: i32) -> bool {
    if pid <= 0 {
        return false;
    }
    // SAFETY: signal 0 only checks for existence and permission.
    let exists = unsafe { libc::kill(pid, 0) } == 0;
    if !exists {
        return false;
    }
    match std::fs::read_to_string(format!("/proc/{pid}/stat")) {
        Ok(stat) => stat.rsplit(')').next().map(|rest| !rest.trim_start().starts_with('Z')).unwrap_or(true),
        Err(_) => false,
    }
}

/// Copies a directory tree preserving owners and modes (reflinks where the
/// file system can).
pub async fn copy_tree(from: &Path, to: &Path) -> Result<(), ProvisionError> {
    let mut cmd = Command::new("cp");
    cmd.arg("-a").arg("--reflink=auto").arg(from).arg(to).kill_on_drop(true);
    run("cp", cmd).await.map(|_| ())
}

/// Live processes working on `path`: named in their command line, or with
/// their working directory inside it (postgres run by initdb shows only its
/// cwd).
pub fn processes_using(path: &Path) -> Vec<i32> {
    let needle = path.to_string_lossy().to_string();
    let own = std::process::id() as i32;
    std::fs::read_dir("/proc")
        .into_iter()
        .flatten()
        .flatten()
        .filter_map(|e| e.file_name().to_str()?.parse::<i32>().ok())
        .filter(|pid| *pid != own && process_alive(*pid))
        .filter(|pid| {
            let named = std::fs::read(format!("/proc/{pid}/cmdline"))
                .map(|c| c.split(|b| *b == 0).any(|arg| String::from_utf8_lossy(arg).contains(&needle)))
                .unwrap_or(false);
            named || std::fs::read_link(format!("/proc/{pid}/cwd")).is_ok_and(|cwd| cwd.starts_with(path))
        })
        .collect()
}

/// Kills every process working on `path` (a copy left running by a
/// pgfleet that died: pg_basebackup's WAL-streaming child is not its direct
/// child, so the parent-death signal does not reach it) and waits until
/// they are gone.
pub async fn kill_processes_using(path: &Path) {
    for _ in 0..200 {
        let pids = processes_using(path);
        if pids.is_empty() {
            return;
        }
        for pid in pids {
            tracing::warn!(pid, path = %path.display(), "killing a process left over from an interrupted copy");
            // SAFETY: signalling a process that works on pgfleet's own partial copy.
            unsafe { libc::kill(pid, libc::SIGKILL) };
        }
        tokio::time::sleep(std::time::Duration::from_millis(25)).await;
    }
}

/// The process listening on TCP `port` (IPv4 or IPv6), as "pid N (comm)",
/// when `/proc` lets us see it: the listening socket's inode from
/// `/proc/net/tcp*`, then the process holding that inode open.
pub fn port_holder(port: u16) -> Option<String> {
    let hex_port = format!(":{port:04X}");
    let inode = ["/proc/net/tcp", "/proc/net/tcp6"].iter().find_map(|table| {
        let text = std::fs::read_to_string(table).ok()?;
        text.lines().skip(1).find_map(|line| {
            let fields: Vec<&str> = line.split_whitespace().collect();
            // local_address, state 0A = LISTEN, inode in column 10.
            let listening = fields.get(1)?.ends_with(&hex_port) && *fields.get(3)? == "0A";
            listening.then(|| fields.get(9).map(|s| s.to_string())).flatten()
        })
    })?;
    let target = format!("socket:[{inode}]");
    for entry in std::fs::read_dir("/proc").ok()?.flatten() {
        let Ok(pid) = entry.file_name().to_string_lossy().parse::<i32>() else { continue };
        let Ok(fds) = std::fs::read_dir(entry.path().join("fd")) else { continue };
        let holds =
            fds.flatten().any(|fd| std::fs::read_link(fd.path()).is_ok_and(|l| l.as_os_str() == target.as_str()));
        if holds {
            let comm = std::fs::read_to_string(entry.path().join("comm")).unwrap_or_default();
            return Some(format!("pid {pid} ({})", comm.trim()));
        }
    }
    None
}

#[cfg(test)]
mod tests {
    #[test]
    fn the_holder_of_a_listening_port_is_found() {
        let listener = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
        let port = listener.local_addr().unwrap().port();
        let holder = super::port_holder(port).expect("this process holds it");
        assert!(holder.starts_with(&format!("pid {} (", std::process::id())), "{holder}");
        drop(listener);
        assert_eq!(super::port_holder(port), None);
    }
}
