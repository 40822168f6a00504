//! Where one database's files live under the pgfleet home.
//!
//! `databases/<name>/` holds `data/` (the data dir), `run/` (the socket
//! dir), `postgres.log` and, for followers, `replication.pgpass`. A database
//! is made in `databases/<name>.partial/` and renamed into place only when
//! complete, so a crash mid-copy never leaves something that looks made.
//! Removal renames to `<name>.deleting` first for the same reason.

use std::path::{Path, PathBuf};

#[derive(Clone, Debug)]
pub struct Layout {
    root: PathBuf,
}

impl Layout {
    pub fn new(home: &Path) -> Self {
        Layout { root: home.join("databases") }
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

    pub fn run(&self, name: &str) -> PathBuf {
        self.dir(name).join("run")
    }

    pub fn log(&self, name: &str) -> PathBuf {
        self.dir(name).join("postgres.log")
    }

    pub fn pgpass(&self, name: &str) -> PathBuf {
        self.dir(name).join("replication.pgpass")
    }
}
