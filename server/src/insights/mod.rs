//! What pgfleet reads from inside a running database to say how it is
//! doing: the counters its metrics are sampled from, its sessions and
//! locks, its costliest statements, its sizes and health checks, its
//! schema (to compare with another's). The SQL here is the same on every
//! backend; a backend only hands over a connection
//! (`Provisioner::connect`).

use crate::provisioner::ProvisionError;

pub mod activity;
pub mod counters;
pub mod diagnose;
pub mod masking;
pub mod schema;
pub mod sizes;
pub mod statements;

/// Why a diagnostic could not be read or carried out.
#[derive(Debug, thiserror::Error)]
pub enum InsightError {
    #[error("no client session has pid {0}")]
    NoSession(i32),
    #[error("session {0} is pgfleet's own; it is not ended from here")]
    Ours(i32),
    /// The statistics it needs are not there yet, and why.
    #[error("{0}")]
    Unavailable(String),
    #[error(transparent)]
    Provision(#[from] ProvisionError),
}
