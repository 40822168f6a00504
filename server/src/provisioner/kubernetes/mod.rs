//! The Kubernetes backend: each pgfleet database is one CloudNativePG
//! `Cluster`, which the operator runs; pgfleet writes the resources and
//! reads the status back.
//!
//! - [`cnpg`]: the operator's resources, typed;
//! - [`manifests`]: what is asked of Kubernetes for each database, pure;
//! - [`status`]: what a `Cluster`'s status means in pgfleet's phases, pure;
//! - [`objects`]: reads and writes through the Kubernetes API;
//! - [`connect`]: reaching a cluster's PostgreSQL over the network;
//! - [`forward`]: the same from outside the cluster, port-forwarded;
//! - [`watch`]: a live copy of the clusters' state, kept by a watch;
//! - [`provisioner`]: the backend seam, built from the above.

pub mod cnpg;
pub mod connect;
pub mod forward;
pub mod manifests;
pub mod objects;
pub mod provisioner;
pub mod status;
pub mod watch;

pub use provisioner::{KubernetesConfig, KubernetesProvisioner};
