//! Where pgfleet keeps its files and how it listens. Every setting has an
//! embedded default so `pgfleet serve` needs no config file.

use std::net::SocketAddr;
use std::path::{Path, PathBuf};

use crate::engine::EngineConfig;
use crate::provisioner::kubernetes::KubernetesConfig;
use crate::provisioner::local::LocalConfig;
use crate::store::StoreLocation;

/// The settings of one running pgfleet.
#[derive(Clone, Debug)]
pub struct Config {
    /// Everything pgfleet writes lives below this directory.
    pub home: PathBuf,
    /// Where desired and observed state live (default: a SQLite file in
    /// the home).
    pub store: StoreLocation,
    pub listen: SocketAddr,
    /// The built console (wasm, js, css, favicon).
    pub site_root: PathBuf,
    /// Where databases run.
    pub backend: Backend,
    /// How databases are run on this machine (the local backend).
    pub local: LocalConfig,
    pub engine: EngineConfig,
    /// Who may frame the embed widgets: a CSP `frame-ancestors` source list.
    pub embed_ancestors: String,
    /// Reverse proxies whose `X-Forwarded-For` is believed.
    pub trusted_proxies: crate::web::client::TrustedProxies,
}

impl Config {
    /// Defaults for a given home: listen on 127.0.0.1:3000, serve the site
    /// the build script made in this checkout.
    pub fn new(home: impl Into<PathBuf>) -> Self {
        let home = home.into();
        Config {
            listen: SocketAddr::from(([127, 0, 0, 1], 3000)),
            site_root: default_site_root(),
            backend: Backend::Local,
            local: LocalConfig::new(&home),
            engine: EngineConfig::default(),
            embed_ancestors: "*".into(),
            trusted_proxies: Default::default(),
            store: StoreLocation::Sqlite(home.join("pgfleet.sqlite3")),
            home,
        }
    }
}

/// Where pgfleet runs its databases.
#[derive(Clone, Debug)]
pub enum Backend {
    /// PostgreSQL servers on this machine, as [`Config::local`] says.
    Local,
    /// CloudNativePG clusters in one Kubernetes namespace.
    Kubernetes(Box<KubernetesConfig>),
}

/// `PGFLEET_SITE_ROOT` if set, else `target/site` of the checkout this
/// binary was built from (where `.ci/build-site` writes).
pub fn default_site_root() -> PathBuf {
    if let Some(dir) = std::env::var_os("PGFLEET_SITE_ROOT") {
        return PathBuf::from(dir);
    }
    Path::new(env!("CARGO_MANIFEST_DIR")).join("..").join("target").join("site")
}
