//! Running pgfleet: open the store, bind, serve until told to stop, then
//! drain in-flight requests (graceful shutdown).

use std::future::Future;
use std::net::SocketAddr;

use tokio::net::TcpListener;
use tokio::sync::watch;
use tokio::task::JoinHandle;

use std::sync::Arc;

use crate::access::Fleet;
use crate::config::{Backend, Config};
use crate::engine::Engine;
use crate::provisioner::kubernetes::KubernetesProvisioner;
use crate::provisioner::local::LocalProvisioner;
use crate::provisioner::{ProvisionError, Provisioner};
use crate::store::{Store, StoreError};
use crate::web::{self, AppState};

/// Why pgfleet could not start or stopped with an error. Each message
/// says the cause itself, so none is also a `source` (printed as a chain,
/// it would be said twice).
#[derive(Debug, thiserror::Error)]
pub enum ServeError {
    #[error(transparent)]
    Store(#[from] StoreError),
    #[error(transparent)]
    Provisioner(#[from] ProvisionError),
    #[error("cannot listen on {addr}: {reason}")]
    Bind { addr: SocketAddr, reason: std::io::Error },
    #[error("the HTTP server failed: {0}")]
    Http(std::io::Error),
    #[error("the HTTP server task panicked")]
    Panicked,
}

/// A pgfleet serving in the background of this process.
pub struct Running {
    /// Where it listens (the real port when asked for port 0).
    pub addr: SocketAddr,
    stop: watch::Sender<bool>,
    task: JoinHandle<Result<(), std::io::Error>>,
    engine: Engine,
}

impl Running {
    pub fn engine(&self) -> &Engine {
        &self.engine
    }

    /// Asks the server to stop and waits until in-flight requests finished.
    pub async fn shutdown(self) -> Result<(), ServeError> {
        let _ = self.stop.send(true);
        self.wait().await
    }

    /// Waits until the server stops by itself or through [`Running::shutdown`].
    pub async fn wait(self) -> Result<(), ServeError> {
        let served = self.task.await;
        // Databases keep running; only the control plane stops.
        self.engine.shutdown().await;
        match served {
            Ok(Ok(())) => Ok(()),
            Ok(Err(e)) => Err(ServeError::Http(e)),
            Err(_) => Err(ServeError::Panicked),
        }
    }

    /// A handle that stops the server when `signal` completes.
    pub fn stop_on(&self, signal: impl Future<Output = ()> + Send + 'static) {
        let stop = self.stop.clone();
        tokio::spawn(async move {
            signal.await;
            let _ = stop.send(true);
        });
    }
}

/// Opens the store, binds `config.listen` and starts serving.
pub async fn start(config: Config) -> Result<Running, ServeError> {
    std::fs::create_dir_all(&config.home).map_err(|source| StoreError::Home { path: config.home.clone(), source })?;
    let store = Store::open(&config.store).await?;
    let provisioner: Arc<dyn Provisioner> = match &config.backend {
        Backend::Local => Arc::new(LocalProvisioner::new(config.local.clone())?),
        Backend::Kubernetes(kube) => Arc::new(KubernetesProvisioner::from_environment(kube.as_ref().clone()).await?),
    };
    let listener =
        TcpListener::bind(config.listen).await.map_err(|reason| ServeError::Bind { addr: config.listen, reason })?;
    let addr = listener.local_addr().map_err(|reason| ServeError::Bind { addr: config.listen, reason })?;
    let engine = Engine::start(store.clone(), provisioner, config.engine.clone());
    if web::assets::Assets::hash_file(&config.site_root).is_none() {
        tracing::warn!(
            site_root = %config.site_root.display(),
            "the console's WASM is not built there; pages will render but not hydrate (run `make site`)"
        );
    }
    crate::access::accounts::ensure_first_admin(&store, &config.home).await?;
    let fleet = Fleet::new(engine.clone());
    fleet.spawn_lease_keeper(config.engine.tick);
    let public_feed = crate::public::feed::spawn(store.clone(), &engine);
    let (stop, mut stopped) = watch::channel(false);
    let state = AppState::new(&Config { listen: addr, ..config.clone() }, store, fleet, public_feed, stop.subscribe());
    let app = web::router(state);
    let task = tokio::spawn(async move {
        let served = axum::serve(listener, app.into_make_service_with_connect_info::<std::net::SocketAddr>())
            .with_graceful_shutdown(async move {
                let _ = stopped.wait_for(|s| *s).await;
            })
            .await;
        served
    });
    tracing::info!(%addr, home = %config.home.display(), "pgfleet is serving");
    Ok(Running { addr, stop, task, engine })
}

/// Resolves on SIGINT or SIGTERM.
pub async fn termination_signal() {
    let ctrl_c = async {
        let _ = tokio::signal::ctrl_c().await;
    };
    #[cfg(unix)]
    let term = async {
        match tokio::signal::unix::signal(tokio::signal::unix::SignalKind::terminate()) {
            Ok(mut s) => {
                s.recv().await;
            }
            Err(_) => std::future::pending::<()>().await,
        }
    };
    #[cfg(not(unix))]
    let term = std::future::pending::<()>();
    tokio::select! {
        _ = ctrl_c => {},
        _ = term => {},
    }
    tracing::info!("shutting down");
}
