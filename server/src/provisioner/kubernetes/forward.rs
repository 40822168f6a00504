//! Reaching clusters from outside Kubernetes: for each database a listener
//! on 127.0.0.1 whose every connection is carried to the cluster's primary
//! pod through the API server's port-forward (what `kubectl port-forward`
//! does), so pgfleet run on a laptop against a kubeconfig, and the
//! real-cluster test suite, reach PostgreSQL without cluster DNS.
//!
//! The primary is looked up per connection, by CloudNativePG's labels, so
//! a switchover or a promotion is followed without restarting anything.

use std::collections::HashMap;
use std::sync::{Mutex, OnceLock};

use k8s_openapi::api::core::v1::Pod;
use kube::api::{Api, ListParams};
use tokio::net::{TcpListener, TcpStream};
use tokio::task::JoinHandle;

use super::objects::kube_error;
use crate::provisioner::ProvisionError;

/// The port PostgreSQL listens on in CloudNativePG's pods.
const POSTGRES_PORT: u16 = 5432;

/// One listener per database, made on first use.
#[derive(Default)]
pub struct Forwards {
    pods: OnceLock<Api<Pod>>,
    listening: Mutex<HashMap<String, (u16, JoinHandle<()>)>>,
}

impl Forwards {
    /// Gives the forwards the API they forward through; the provisioner
    /// does this once, with its own client and namespace.
    pub fn attach(&self, client: kube::Client, namespace: &str) {
        let _ = self.pods.set(Api::namespaced(client, namespace));
    }

    /// The local address `name`'s primary is reached at.
    pub fn address(&self, name: &str) -> Result<(String, u16), ProvisionError> {
        let mut listening = self.listening.lock().unwrap_or_else(|poisoned| poisoned.into_inner());
        if let Some((port, _)) = listening.get(name) {
            return Ok(("127.0.0.1".into(), *port));
        }
        let pods =
            self.pods.get().cloned().ok_or_else(|| {
                ProvisionError::Kubernetes("port-forwarding has no Kubernetes API to go through".into())
            })?;
        let unbound = |e: std::io::Error| ProvisionError::Connect(format!("a local port to forward {name} from: {e}"));
        let listener = std::net::TcpListener::bind(("127.0.0.1", 0)).map_err(unbound)?;
        listener.set_nonblocking(true).map_err(unbound)?;
        let port = listener.local_addr().map_err(unbound)?.port();
        // Inside the runtime already (the handle says so), where the
        // listener registers and its task runs.
        let runtime = tokio::runtime::Handle::try_current()
            .map_err(|e| ProvisionError::Connect(format!("forwarding {name}: {e}")))?;
        let listener = TcpListener::from_std(listener).map_err(unbound)?;
        let task = runtime.spawn(accept(listener, pods, name.to_string()));
        listening.insert(name.to_string(), (port, task));
        Ok(("127.0.0.1".into(), port))
    }

    /// Stops forwarding `name` (it was destroyed).
    pub fn forget(&self, name: &str) {
        let mut listening = self.listening.lock().unwrap_or_else(|poisoned| poisoned.into_inner());
        if let Some((_, task)) = listening.remove(name) {
            task.abort();
        }
    }
}

impl Drop for Forwards {
    fn drop(&mut self) {
        let listening = self.listening.get_mut().unwrap_or_else(|poisoned| poisoned.into_inner());
        for (_, task) in listening.values() {
            task.abort();
        }
    }
}

async fn accept(listener: TcpListener, pods: Api<Pod>, name: String) {
    loop {
        match listener.accept().await {
            Ok((client, _)) => {
                let (pods, name) = (pods.clone(), name.clone());
                tokio::spawn(async move {
                    if let Err(e) = carry(client, &pods, &name).await {
                        tracing::warn!(database = %name, error = %e, "port-forward: connection not carried");
                    }
                });
            }
            Err(e) => {
                // Out of descriptors, say: the listener stays and tries
                // again, as the port is the database's address.
                tracing::warn!(database = %name, error = %e, "port-forward: accepting failed");
                tokio::time::sleep(std::time::Duration::from_millis(200)).await;
            }
        }
    }
}

/// Carries one local connection to `name`'s primary and back until either
/// side closes.
async fn carry(mut client: TcpStream, pods: &Api<Pod>, name: &str) -> Result<(), ProvisionError> {
    let pod = primary_pod(pods, name).await?;
    let mut forwarder =
        pods.portforward(&pod, &[POSTGRES_PORT]).await.map_err(|e| kube_error(&format!("port-forwarding {pod}"), e))?;
    let mut upstream = forwarder
        .take_stream(POSTGRES_PORT)
        .ok_or_else(|| ProvisionError::Kubernetes(format!("port-forwarding {pod}: no stream for {POSTGRES_PORT}")))?;
    let carried = tokio::io::copy_bidirectional(&mut client, &mut upstream).await;
    drop(upstream);
    forwarder.abort();
    carried.map(|_| ()).map_err(|e| ProvisionError::Connect(format!("forwarding {pod}: {e}")))
}

/// The pod the operator labels as `name`'s primary.
async fn primary_pod(pods: &Api<Pod>, name: &str) -> Result<String, ProvisionError> {
    // `cnpg.io/instanceRole` since CloudNativePG 1.18; `role` before.
    for selector in
        [format!("cnpg.io/cluster={name},cnpg.io/instanceRole=primary"), format!("cnpg.io/cluster={name},role=primary")]
    {
        let list = pods
            .list(&ListParams::default().labels(&selector))
            .await
            .map_err(|e| kube_error(&format!("finding {name}'s primary"), e))?;
        if let Some(pod) = list.items.into_iter().find_map(|p| p.metadata.name) {
            return Ok(pod);
        }
    }
    Err(ProvisionError::Connect(format!("{name} has no primary pod yet")))
}
