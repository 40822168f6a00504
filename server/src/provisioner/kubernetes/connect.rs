//! Connections to a cluster's PostgreSQL over the network, as one of the
//! roles pgfleet keeps the passwords of: the owner (for what a database
//! says about itself) and `pgfleet_replication` (for a copy's progress on
//! its source, which runs as that role). TLS is used whenever the server
//! offers it, as CloudNativePG's always do.

use std::sync::Arc;
use std::time::Duration;

use sqlx::postgres::{PgConnectOptions, PgConnection, PgSslMode};
use sqlx::ConnectOptions;

use super::forward::Forwards;
use crate::provisioner::ProvisionError;

/// A database's name → the host and port its primary listens on.
pub type AddressOf = Arc<dyn Fn(&str) -> (String, u16) + Send + Sync>;

/// Where a database's primary is reached, by name.
#[derive(Clone)]
pub enum Reach {
    /// Its `NAME-rw` service in the namespace, port 5432 (pgfleet runs in
    /// the cluster).
    Services { namespace: String },
    /// A local port per database, carried to its primary pod through the
    /// API server (pgfleet runs outside the cluster).
    PortForward(Arc<Forwards>),
    /// A host and port of the caller's choosing (a port-forward, or the
    /// servers a test runs).
    Mapped(AddressOf),
}

impl std::fmt::Debug for Reach {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            Reach::Services { namespace } => write!(f, "Services({namespace})"),
            Reach::PortForward(_) => write!(f, "PortForward"),
            Reach::Mapped(_) => write!(f, "Mapped"),
        }
    }
}

impl Reach {
    /// Port-forwarded, from outside the cluster.
    pub fn port_forward() -> Reach {
        Reach::PortForward(Arc::new(Forwards::default()))
    }

    /// What a client's URL asks of TLS: CloudNativePG's servers always
    /// offer it, so clients insist on it there.
    pub fn url_query(&self) -> &'static str {
        match self {
            Reach::Services { .. } | Reach::PortForward(_) => "?sslmode=require",
            Reach::Mapped(_) => "",
        }
    }

    pub fn address(&self, name: &str) -> Result<(String, u16), ProvisionError> {
        match self {
            Reach::Services { namespace } => Ok((super::manifests::rw_host(name, namespace), 5432)),
            Reach::PortForward(forwards) => forwards.address(name),
            Reach::Mapped(map) => Ok(map(name)),
        }
    }
}

/// One role's way in.
pub struct Login<'a> {
    pub user: &'a str,
    pub password: &'a str,
    pub database: &'a str,
}

pub async fn connect(reach: &Reach, name: &str, login: Login<'_>) -> Result<PgConnection, ProvisionError> {
    let (host, port) = reach.address(name)?;
    let options = PgConnectOptions::new()
        .host(&host)
        .port(port)
        .username(login.user)
        .password(login.password)
        .database(login.database)
        .ssl_mode(PgSslMode::Prefer)
        .application_name("pgfleet")
        .disable_statement_logging();
    tokio::time::timeout(Duration::from_secs(10), options.connect())
        .await
        .map_err(|_| ProvisionError::Connect(format!("timed out connecting to {host}:{port}")))?
        .map_err(|e| ProvisionError::Connect(format!("{host}:{port}: {e}")))
}
