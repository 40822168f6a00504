//! Copy-on-write copies of a running server, where the pgfleet home's file
//! system can clone files (the `FICLONE` ioctl: XFS made with `reflink=1`,
//! btrfs). A clone shares its source's blocks until either side writes, so
//! a copy takes about as long at 5 GB as at 1 GB.
//!
//! The copy is a non-exclusive base backup taken by hand in one held
//! session: the WAL is pinned first (a temporary slot, or a follower's own
//! slot), `pg_backup_start(label, true)` (always a fast checkpoint), every
//! file of the data dir cloned but those a backup leaves out, then
//! `pg_backup_stop`, its label written as `backup_label`, and the WAL from
//! `pg_wal` cloned last, so it reaches past the backup's end. Recovery from
//! there to the consistent point is the server's own.

use std::os::fd::AsRawFd;
use std::os::unix::fs::{OpenOptionsExt, PermissionsExt};
use std::path::{Path, PathBuf};
use std::time::Instant;

use app::model::{CopyMethod, CopyTechnique, Progress};

use super::os::OsUser;
use super::sql;
use crate::provisioner::{ProgressSink, ProvisionError};

/// `_IOW(0x94, 9, int)`, from `linux/fs.h`.
const FICLONE: libc::c_ulong = 0x4004_9409;

/// Directories whose contents a base backup leaves out (PostgreSQL's own
/// list, less `pg_wal`, which is cloned after the backup stops).
const EMPTY_DIRS: &[&str] =
    &["pg_replslot", "pg_dynshmem", "pg_notify", "pg_serial", "pg_snapshots", "pg_stat_tmp", "pg_subtrans", "pg_wal"];
/// Top-level files a copy must not carry.
const SKIPPED_FILES: &[&str] = &["postmaster.pid", "postmaster.opts", "backup_label", "tablespace_map"];

/// Whether files under `dir` can be cloned: tries it once, so the answer
/// is the file system's, not a guess from its name.
pub fn probe(dir: &Path) -> CopyTechnique {
    let fs = fs_name(dir);
    let attempt = || -> std::io::Result<()> {
        let a = dir.join(".pgfleet-clone-probe-a");
        let b = dir.join(".pgfleet-clone-probe-b");
        let _ = std::fs::remove_file(&a);
        let _ = std::fs::remove_file(&b);
        std::fs::write(&a, b"pgfleet")?;
        let result = clone_file(&a, &b, 0o600);
        let _ = std::fs::remove_file(&a);
        let _ = std::fs::remove_file(&b);
        result
    };
    match attempt() {
        Ok(()) => CopyTechnique {
            method: CopyMethod::Clone,
            why: format!("{fs} clones files: a copy shares its source's blocks until either writes"),
        },
        Err(e) => CopyTechnique {
            method: CopyMethod::Basebackup,
            why: format!(
                "{fs} cannot clone files ({e}); put the pgfleet home on XFS (mkfs.xfs -m reflink=1) or btrfs for \
                 instant forks"
            ),
        },
    }
}

/// The file system `dir` is on, by its magic number.
fn fs_name(dir: &Path) -> String {
    let Ok(c) = std::ffi::CString::new(dir.as_os_str().as_encoded_bytes()) else { return "this file system".into() };
    // SAFETY: statfs fills the struct we pass; the path is NUL-terminated.
    let mut st: libc::statfs = unsafe { std::mem::zeroed() };
    if unsafe { libc::statfs(c.as_ptr(), &mut st) } != 0 {
        return "this file system".into();
    }
    match st.f_type as u64 {
        0x5846_5342 => "xfs".into(),
        0x9123_683e => "btrfs".into(),
        0xef53 => "ext4".into(),
        0x0102_1994 => "tmpfs".into(),
        0x794c_7630 => "overlayfs".into(),
        other => format!("the file system (type {other:#x})"),
    }
}

/// Clones `from` into a new file `to` with `mode`.
fn clone_file(from: &Path, to: &Path, mode: u32) -> std::io::Result<()> {
    let src = std::fs::File::open(from)?;
    let dst = std::fs::OpenOptions::new().write(true).create_new(true).mode(mode).open(to)?;
    // SAFETY: both descriptors are open files we own for the call.
    if unsafe { libc::ioctl(dst.as_raw_fd(), FICLONE as _, src.as_raw_fd()) } != 0 {
        let e = std::io::Error::last_os_error();
        drop(dst);
        let _ = std::fs::remove_file(to);
        return Err(e);
    }
    Ok(())
}

/// One file to clone, found by [`plan`].
struct Item {
    from: PathBuf,
    to: PathBuf,
    mode: u32,
    bytes: u64,
}

/// Makes the directory tree of `src` under `dst` (owned by `user`) and
/// lists the files to clone: all, or with `wal_only`, `pg_wal`'s segments.
fn plan(src: &Path, dst: &Path, user: &OsUser, wal_only: bool) -> Result<Vec<Item>, ProvisionError> {
    let mut items = Vec::new();
    let mut stack = vec![(src.to_path_buf(), dst.to_path_buf(), 0usize)];
    while let Some((from_dir, to_dir, depth)) = stack.pop() {
        if !to_dir.exists() {
            std::fs::create_dir(&to_dir)?;
            let mode = std::fs::metadata(&from_dir)?.permissions().mode() & 0o7777;
            std::fs::set_permissions(&to_dir, std::fs::Permissions::from_mode(mode))?;
            user.own(&to_dir)?;
        }
        let name = from_dir.file_name().and_then(|n| n.to_str()).unwrap_or("");
        let in_wal = depth == 1 && name == "pg_wal";
        if depth == 1 && EMPTY_DIRS.contains(&name) && !(wal_only && in_wal) {
            continue;
        }
        for entry in std::fs::read_dir(&from_dir)? {
            let entry = entry?;
            let file = entry.file_name();
            let file = file.to_string_lossy();
            // Files can vanish while a live server runs (temp files, WAL
            // recycling); what is gone needs no copy.
            let Ok(meta) = std::fs::symlink_metadata(entry.path()) else { continue };
            if file.starts_with("pgsql_tmp") || (depth == 0 && SKIPPED_FILES.contains(&file.as_ref())) {
                continue;
            }
            let to = to_dir.join(entry.file_name());
            if meta.is_dir() {
                if wal_only && depth == 0 && file != "pg_wal" {
                    continue;
                }
                stack.push((entry.path(), to, depth + 1));
            } else if meta.is_file() && (!wal_only || in_wal) {
                items.push(Item {
                    from: entry.path(),
                    to,
                    mode: meta.permissions().mode() & 0o7777,
                    bytes: meta.len(),
                });
            }
        }
    }
    Ok(items)
}

/// Clones `items`, reporting files and bytes done as `step`.
async fn clone_all(items: Vec<Item>, user: &OsUser, step: &str, sink: &dyn ProgressSink) -> Result<(), ProvisionError> {
    let total_bytes: u64 = items.iter().map(|i| i.bytes).sum();
    let total_files = items.len();
    let (tx, mut rx) = tokio::sync::watch::channel((0usize, 0u64));
    let user = user.clone();
    let work = tokio::task::spawn_blocking(move || -> Result<(), ProvisionError> {
        let (mut files, mut bytes) = (0, 0);
        for item in items {
            match clone_file(&item.from, &item.to, item.mode) {
                Ok(()) => user.own(&item.to)?,
                // Gone since it was listed (a recycled WAL segment, a
                // dropped relation): nothing to copy.
                Err(e) if e.kind() == std::io::ErrorKind::NotFound => {}
                Err(e) => {
                    return Err(ProvisionError::Io(format!("cannot clone {}: {e}", item.from.display())));
                }
            }
            files += 1;
            bytes += item.bytes;
            let _ = tx.send((files, bytes));
        }
        Ok(())
    });
    tokio::pin!(work);
    let started = Instant::now();
    let report = |(files, bytes): (usize, u64)| {
        let seconds = started.elapsed().as_secs_f64();
        let eta =
            (bytes > 0 && seconds > 0.0).then(|| seconds * (total_bytes.saturating_sub(bytes)) as f64 / bytes as f64);
        sink.progress(Progress {
            step: format!("{step}: {files} of {total_files} files"),
            bytes_done: bytes,
            bytes_total: Some(total_bytes),
            eta_seconds: eta,
            unit: app::model::ProgressUnit::Bytes,
        });
    };
    report((0, 0));
    loop {
        tokio::select! {
            done = &mut work => {
                report(*rx.borrow());
                return done.map_err(|e| ProvisionError::Io(format!("the clone task failed: {e}")))?;
            }
            changed = rx.changed() => {
                if changed.is_ok() {
                    let now = *rx.borrow_and_update();
                    if now.0 % 64 == 0 {
                        report(now);
                    }
                }
            }
        }
    }
}

/// What to clone, from where.
pub struct CloneCopy<'a> {
    pub user: &'a OsUser,
    pub source_data: &'a Path,
    pub source_run: &'a Path,
    pub source_port: u16,
    /// The new data dir (its parent exists; it does not).
    pub target: &'a Path,
    /// A follower's permanent slot, made first; a fork pins its WAL with a
    /// temporary slot that ends with the session.
    pub slot: Option<&'a str>,
    pub label: &'a str,
}

/// Clones a running primary into `c.target` as a base backup would;
/// answers the backup's stop LSN (the copy is consistent from there).
pub async fn clone_running(c: CloneCopy<'_>, sink: &dyn ProgressSink) -> Result<u64, ProvisionError> {
    let mut conn = sql::connect(c.source_run, c.source_port, "postgres").await?;
    let (slot, temporary) = match c.slot {
        Some(slot) => (slot.to_string(), false),
        None => (
            crate::provisioner::short_identifier(
                "pgfleet_clone_",
                // Slot names take lowercase letters, digits and _ only.
                &format!(
                    "{}_{}",
                    std::process::id(),
                    c.label.to_lowercase().replace(|ch: char| !ch.is_ascii_alphanumeric(), "_")
                ),
            ),
            true,
        ),
    };
    sqlx::query("SELECT pg_create_physical_replication_slot($1, true, $2)")
        .bind(&slot)
        .bind(temporary)
        .execute(&mut conn)
        .await
        .map_err(sql::sql_err)?;
    sink.progress(Progress {
        step: "checkpoint".into(),
        bytes_done: 0,
        bytes_total: None,
        eta_seconds: None,
        unit: app::model::ProgressUnit::Bytes,
    });
    sqlx::query("SELECT pg_backup_start($1, true)").bind(c.label).execute(&mut conn).await.map_err(sql::sql_err)?;
    let data = plan(c.source_data, c.target, c.user, false)?;
    clone_all(data, c.user, "cloning", sink).await?;
    let (stop_lsn, label, map): (String, String, Option<String>) =
        sqlx::query_as("SELECT lsn::text, labelfile, spcmapfile FROM pg_backup_stop(false)")
            .fetch_one(&mut conn)
            .await
            .map_err(sql::sql_err)?;
    write_private(c.target, "backup_label", &label, c.user)?;
    if let Some(map) = map.filter(|m| !m.is_empty()) {
        write_private(c.target, "tablespace_map", &map, c.user)?;
    }
    // The WAL last, so it reaches past the backup's end; the slot kept it.
    let wal = plan(c.source_data, c.target, c.user, true)?;
    clone_all(wal, c.user, "cloning WAL", sink).await?;
    if temporary {
        let _ = sqlx::query("SELECT pg_drop_replication_slot($1)").bind(&slot).execute(&mut conn).await;
    }
    app::model::parse_lsn(&stop_lsn)
        .ok_or_else(|| ProvisionError::Sql(format!("pg_backup_stop answered an LSN {stop_lsn:?} it cannot read")))
}

/// `FS_IOC_FIEMAP`: `_IOWR('f', 11, struct fiemap)`.
const FS_IOC_FIEMAP: libc::c_ulong = 0xC020_660B;
const FIEMAP_EXTENT_LAST: u32 = 0x1;
const FIEMAP_EXTENT_SHARED: u32 = 0x2000;
const EXTENTS_PER_CALL: usize = 256;

#[repr(C)]
#[derive(Clone, Copy, Default)]
struct FiemapExtent {
    logical: u64,
    physical: u64,
    length: u64,
    reserved64: [u64; 2],
    flags: u32,
    reserved: [u32; 3],
}

#[repr(C)]
struct Fiemap {
    start: u64,
    length: u64,
    flags: u32,
    mapped_extents: u32,
    extent_count: u32,
    reserved: u32,
    extents: [FiemapExtent; EXTENTS_PER_CALL],
}

/// The bytes of the files under `dir` that share no block with another
/// file (its source, for a clone): extents the file system does not flag
/// shared. `None` when the file system cannot say (no FIEMAP).
pub fn unshared_bytes(dir: &Path) -> Option<u64> {
    let mut total = 0u64;
    let mut stack = vec![dir.to_path_buf()];
    while let Some(d) = stack.pop() {
        for entry in std::fs::read_dir(&d).ok()?.flatten() {
            let Ok(meta) = std::fs::symlink_metadata(entry.path()) else { continue };
            if meta.is_dir() {
                stack.push(entry.path());
            } else if meta.is_file() {
                // A file that vanished meanwhile (a recycled segment) costs nothing.
                if let Ok(file) = std::fs::File::open(entry.path()) {
                    total += file_unshared_bytes(&file)?;
                }
            }
        }
    }
    Some(total)
}

fn file_unshared_bytes(file: &std::fs::File) -> Option<u64> {
    let mut unshared = 0u64;
    let mut start = 0u64;
    loop {
        let mut map = Box::new(Fiemap {
            start,
            length: u64::MAX - start,
            flags: 0,
            mapped_extents: 0,
            extent_count: EXTENTS_PER_CALL as u32,
            reserved: 0,
            extents: [FiemapExtent::default(); EXTENTS_PER_CALL],
        });
        // SAFETY: `map` is a valid fiemap with room for `extent_count` extents.
        if unsafe { libc::ioctl(file.as_raw_fd(), FS_IOC_FIEMAP as _, &mut *map as *mut Fiemap) } != 0 {
            return None;
        }
        let mapped = &map.extents[..map.mapped_extents as usize];
        for extent in mapped {
            if extent.flags & FIEMAP_EXTENT_SHARED == 0 {
                unshared += extent.length;
            }
        }
        match mapped.last() {
            Some(last) if last.flags & FIEMAP_EXTENT_LAST == 0 => start = last.logical + last.length,
            _ => return Some(unshared),
        }
    }
}

fn write_private(dir: &Path, file: &str, contents: &str, user: &OsUser) -> Result<(), ProvisionError> {
    let path = dir.join(file);
    std::fs::write(&path, contents)?;
    std::fs::set_permissions(&path, std::fs::Permissions::from_mode(0o600))?;
    user.own(&path)
}

#[cfg(test)]
mod tests {
    #[test]
    fn a_file_system_that_cannot_clone_says_so_and_how_to_fix_it() {
        let dir = tempfile::tempdir().unwrap();
        let technique = super::probe(dir.path());
        // Debian's /tmp is ext4 or tmpfs here; both refuse.
        if technique.method == app::model::CopyMethod::Basebackup {
            assert!(technique.why.contains("cannot clone files"), "{}", technique.why);
            assert!(technique.why.contains("reflink=1"), "{}", technique.why);
        }
        assert!(std::fs::read_dir(dir.path()).unwrap().next().is_none(), "the probe leaves nothing behind");
    }
}
