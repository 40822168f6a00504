//! Where one database's files live under the pgfleet home.
//!
//! `databases/<name>/` holds `data/` (the data dir), `run/` (the socket
//! dir; `run/<hash>` under the home when that path would be too long for a
//! socket), `postgres.log` and, for followers, `replication.pgpass`. A database
//! is made in `databases/<name>.partial/` and renamed into place only when
//! complete, so a crash mid-copy never leaves something that looks made.
//! Removal renames to `<name>.deleting` first for the same reason.

use std::path::{Path, PathBuf};

/// Hex digits of a name's SHA-256 naming its short socket dir.
const SHORT_RUN_LEN: usize = 16;

/// The longest socket dir PostgreSQL can listen in: a Unix socket's path
/// (`DIR/.s.PGSQL.65535`) must fit in `sun_path`'s 108 bytes with its NUL.
pub const MAX_SOCKET_DIR: usize = 107 - "/.s.PGSQL.65535".len();

#[derive(Clone, Debug)]
pub struct Layout {
    root: PathBuf,
    /// Socket dirs for databases whose `run/` would be too long a path.
    short_run: PathBuf,
}

impl Layout {
    pub fn new(home: &Path) -> Self {
        Layout { root: home.join("databases"), short_run: home.join("run") }
    }

    /// Refuses a home so long that even the short socket dirs would not fit,
    /// so no valid name can be accepted and then fail to start.
    pub fn check_fits(&self) -> Result<(), String> {
        let longest = self.short_run.join("0".repeat(SHORT_RUN_LEN));
        let len = longest.as_os_str().len();
        if len > MAX_SOCKET_DIR {
            return Err(format!(
                "the pgfleet home {} is too long a path for PostgreSQL's sockets ({len} > {MAX_SOCKET_DIR} bytes for \
                 {}); choose a home at most {} bytes long",
                self.short_run.parent().unwrap_or(&self.short_run).display(),
                longest.display(),
                self.short_run.parent().map(|h| h.as_os_str().len()).unwrap_or(0) + MAX_SOCKET_DIR - len,
            ));
        }
        Ok(())
    }

    /// Where a database's socket dir goes: `databases/<name>/run` when that
    /// path fits a socket, else `run/<hash>` under the home.
    fn socket_dir(&self, name: &str) -> PathBuf {
        let in_place = self.dir(name).join("run");
        if in_place.as_os_str().len() <= MAX_SOCKET_DIR {
            return in_place;
        }
        self.short_run.join(&crate::digest::sha256_hex(name.as_bytes())[..SHORT_RUN_LEN])
    }

    pub fn root(&self) -> &Path {
        &self.root
    }

    pub fn dir(&self, name: &str) -> PathBuf {
        self.root.join(name)
    }

    pub fn partial(&self, name: &str) -> PathBuf {
        self.root.join(format!("{name}.partial"))
    }

    pub fn deleting(&self, name: &str) -> PathBuf {
        self.root.join(format!("{name}.deleting"))
    }

    pub fn data(&self, name: &str) -> PathBuf {
        self.dir(name).join("data")
    }

    /// The socket dir of the template while it is made (short, like
    /// [`Layout::check_fits`] checks).
    pub fn template_run(&self) -> PathBuf {
        self.short_run.join("template")
    }

    /// The socket dir (see [`Layout::socket_dir`]).
    pub fn run(&self, name: &str) -> PathBuf {
        self.socket_dir(name)
    }

    pub fn log(&self, name: &str) -> PathBuf {
        self.dir(name).join("postgres.log")
    }

    pub fn pgpass(&self, name: &str) -> PathBuf {
        self.dir(name).join("replication.pgpass")
    }
}
