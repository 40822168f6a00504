//! What a masked fork's server keeps of its unmasked past: after its tables
//! are masked and rewritten, the WAL segments written before (the WAL
//! replayed from its source, and the masking's own full-page images of
//! the original rows) are deleted from `pg_wal`, with their archive status.
//! None was archived: a fork's archive (its pgBackRest stanza) is made once
//! it is available, so its archiver could not push them.
//!
//! Only segments older than the segment the last checkpoint's redo starts
//! in go, which PostgreSQL needs neither for crash recovery nor for any
//! later WAL; the server keeps running (its archiver drops the status of a
//! segment that is gone).

use std::path::Path;

use crate::provisioner::ProvisionError;

/// A WAL segment's file name: 24 hex digits (timeline, log, segment).
fn is_segment(name: &str) -> bool {
    name.len() == 24 && name.bytes().all(|b| b.is_ascii_hexdigit())
}

/// The segment a file (a segment, or its `.partial`) holds, if it is one.
fn segment_of(name: &str) -> Option<&str> {
    let base = name.strip_suffix(".partial").unwrap_or(name);
    is_segment(base).then_some(base)
}

/// Deletes every segment in `pg_wal` older than `keep_from` (and their
/// `archive_status` files); answers how many went.
pub fn delete_segments_before(pg_wal: &Path, keep_from: &str) -> Result<usize, ProvisionError> {
    let mut gone = 0;
    for entry in std::fs::read_dir(pg_wal)? {
        let entry = entry?;
        let name = entry.file_name().to_string_lossy().to_string();
        let Some(segment) = segment_of(&name) else { continue };
        // Names sort as their timeline then position; an older timeline's
        // segments are all before the current one's.
        if segment < keep_from {
            std::fs::remove_file(entry.path())?;
            gone += 1;
        }
    }
    let status = pg_wal.join("archive_status");
    if let Ok(entries) = std::fs::read_dir(&status) {
        for entry in entries {
            let entry = entry?;
            let name = entry.file_name().to_string_lossy().to_string();
            let base = name.split('.').next().unwrap_or_default();
            if is_segment(base) && base < keep_from {
                std::fs::remove_file(entry.path())?;
            }
        }
    }
    Ok(gone)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn only_segments_before_the_redo_segment_go() {
        let dir = tempfile::tempdir().unwrap();
        let wal = dir.path();
        std::fs::create_dir(wal.join("archive_status")).unwrap();
        for name in [
            "000000010000000000000003",
            "000000010000000000000004.partial",
            "000000020000000000000004",
            "000000020000000000000005",
            "000000020000000000000006",
            "00000002.history",
        ] {
            std::fs::write(wal.join(name), b"x").unwrap();
        }
        std::fs::write(wal.join("archive_status/000000020000000000000004.ready"), b"").unwrap();
        std::fs::write(wal.join("archive_status/000000020000000000000005.ready"), b"").unwrap();
        assert_eq!(delete_segments_before(wal, "000000020000000000000005").unwrap(), 3);
        let mut left: Vec<String> =
            std::fs::read_dir(wal).unwrap().map(|e| e.unwrap().file_name().to_string_lossy().to_string()).collect();
        left.sort();
        assert_eq!(
            left,
            ["00000002.history", "000000020000000000000005", "000000020000000000000006", "archive_status"]
        );
        assert!(wal.join("archive_status/000000020000000000000005.ready").exists());
        assert!(!wal.join("archive_status/000000020000000000000004.ready").exists());
    }
}
