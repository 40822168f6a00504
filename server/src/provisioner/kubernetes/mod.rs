//! The Kubernetes backend: each pgfleet database is one CloudNativePG
//! `Cluster`, which the operator runs; pgfleet writes the resources and
//! reads the status back.
//!
//! - [`cnpg`]: the operator's resources, typed;
//! - [`manifests`]: what is asked of Kubernetes for each database, pure;
//! - [`status`]: what a `Cluster`'s status means in pgfleet's phases, pure.

pub mod cnpg;
pub mod manifests;
pub mod status;
