//! A live copy of the clusters pgfleet manages, kept by one Kubernetes
//! watch (kube's reflector), so that each question about a cluster's state
//! is answered from memory instead of a GET. The watch reconnects by itself
//! (kube's default backoff) when it drops; until its first list arrives,
//! and for a cluster it has not seen yet (one just applied), the backend
//! asks the API directly.

use std::sync::{Arc, RwLock};

use futures::{FutureExt, StreamExt};
use kube::api::Api;
use kube::runtime::reflector::{self, ObjectRef, Store};
use kube::runtime::{watcher, WatchStreamExt};
use tokio::sync::watch;

use super::cnpg::Cluster;
use super::manifests::MANAGED_BY;

pub struct ClusterWatch {
    api: Api<Cluster>,
    namespace: String,
    /// The cache of the watch that runs now, if one does.
    current: RwLock<Option<Store<Cluster>>>,
}

impl ClusterWatch {
    pub fn new(api: Api<Cluster>, namespace: &str) -> Arc<Self> {
        Arc::new(ClusterWatch { api, namespace: namespace.to_string(), current: RwLock::new(None) })
    }

    /// Cluster `name` as the watch last saw it; `None` when there is no
    /// listed cache or it does not hold `name`.
    pub fn get(&self, name: &str) -> Option<Cluster> {
        let guard = self.current.read().expect("watch cache lock");
        let store = guard.as_ref()?;
        store.wait_until_ready().now_or_never()?.ok()?;
        store.get(&ObjectRef::new(name).within(&self.namespace)).map(|c| (*c).clone())
    }

    /// Keeps the cache until `stop` turns true (the supervisor runs it and
    /// starts it again should it end).
    pub async fn run(&self, mut stop: watch::Receiver<bool>) {
        let (reader, writer) = reflector::store();
        *self.current.write().expect("watch cache lock") = Some(reader);
        let config = watcher::Config::default().labels(&format!("{}={}", MANAGED_BY.0, MANAGED_BY.1));
        let stream =
            reflector::reflector(writer, watcher(self.api.clone(), config).default_backoff()).applied_objects();
        let mut stream = std::pin::pin!(stream);
        loop {
            tokio::select! {
                _ = stop.wait_for(|s| *s) => break,
                item = stream.next() => match item {
                    Some(Ok(_)) => {}
                    Some(Err(e)) => tracing::warn!(error = %e, "the watch of clusters failed; it reconnects"),
                    None => break,
                },
            }
        }
        *self.current.write().expect("watch cache lock") = None;
    }
}
