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

/// The ports databases may be given, written `FIRST-LAST` (both included):
/// unprivileged, and in order.
pub fn parse_ports(text: &str) -> Result<std::ops::RangeInclusive<u16>, String> {
    let shape = || format!("{text:?}: give FIRST-LAST, e.g. 15432-16431");
    let (first, last) = text.trim().split_once('-').ok_or_else(shape)?;
    let port = |p: &str| p.trim().parse::<u16>().map_err(|_| shape());
    let (first, last) = (port(first)?, port(last)?);
    if first < 1024 {
        return Err(format!("{text:?}: ports below 1024 need privileges PostgreSQL does not run with"));
    }
    if first > last {
        return Err(format!("{text:?}: the first port comes after the last"));
    }
    Ok(first..=last)
}

#[cfg(test)]
mod tests {
    use super::parse_ports;

    #[test]
    fn port_ranges_are_unprivileged_and_in_order() {
        assert_eq!(parse_ports("15432-16431"), Ok(15432..=16431));
        assert_eq!(parse_ports(" 20000 - 20000 "), Ok(20000..=20000));
        for bad in ["", "15432", "a-b", "15432-70000", "-5", "100-2000", "3000-2000"] {
            assert!(parse_ports(bad).is_err(), "{bad:?} is refused");
        }
    }
}
