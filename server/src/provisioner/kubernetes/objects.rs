//! pgfleet's reads and writes of Kubernetes objects in its namespace, over
//! kube's typed API: server-side apply (so a write is the whole intent and
//! repeating it changes nothing), reads that answer `None` for what is not
//! there, and deletion of everything that belongs to one database.

use k8s_openapi::api::core::v1::Secret;
use kube::api::{Api, DeleteParams, ListParams, Patch, PatchParams};
use kube::Client;
use serde::de::DeserializeOwned;
use serde::Serialize;

use super::cnpg::{Backup, Cluster};
use super::manifests::DATABASE_LABEL;
use crate::provisioner::ProvisionError;

/// The field manager pgfleet's writes are recorded under.
pub const FIELD_MANAGER: &str = "pgfleet";
/// CloudNativePG's declarative hibernation: "on" stops a cluster's pods and
/// keeps its volumes.
pub const HIBERNATION: &str = "cnpg.io/hibernation";

/// The objects of one namespace.
#[derive(Clone)]
pub struct Objects {
    client: Client,
    namespace: String,
}

/// What went wrong, in words for people, naming what pgfleet was doing.
pub fn kube_error(doing: &str, e: kube::Error) -> ProvisionError {
    let why = match &e {
        kube::Error::Api(status) if status.code == 403 => {
            format!("forbidden ({}); give pgfleet's service account the Role in deploy/kubernetes", status.message)
        }
        kube::Error::Api(status) => format!("{} ({})", status.message, status.code),
        other => other.to_string(),
    };
    ProvisionError::Kubernetes(format!("{doing}: {why}"))
}

fn not_found(e: &kube::Error) -> bool {
    matches!(e, kube::Error::Api(status) if status.code == 404)
}

impl Objects {
    pub fn new(client: Client, namespace: impl Into<String>) -> Self {
        Objects { client, namespace: namespace.into() }
    }

    pub fn namespace(&self) -> &str {
        &self.namespace
    }

    pub fn clusters(&self) -> Api<Cluster> {
        Api::namespaced(self.client.clone(), &self.namespace)
    }

    pub fn backups(&self) -> Api<Backup> {
        Api::namespaced(self.client.clone(), &self.namespace)
    }

    fn secrets(&self) -> Api<Secret> {
        Api::namespaced(self.client.clone(), &self.namespace)
    }

    /// Writes `object` as pgfleet wants it (server-side apply, taking over
    /// fields another manager set).
    pub async fn apply<K>(&self, api: &Api<K>, name: &str, object: &K) -> Result<K, ProvisionError>
    where
        K: kube::Resource + Clone + DeserializeOwned + Serialize + std::fmt::Debug,
    {
        let params = PatchParams::apply(FIELD_MANAGER).force();
        api.patch(name, &params, &Patch::Apply(object)).await.map_err(|e| kube_error(&format!("applying {name}"), e))
    }

    pub async fn apply_secret(&self, secret: &Secret) -> Result<(), ProvisionError> {
        let name = secret.metadata.name.clone().unwrap_or_default();
        self.apply(&self.secrets(), &name, secret).await.map(|_| ())
    }

    pub async fn cluster(&self, name: &str) -> Result<Option<Cluster>, ProvisionError> {
        self.clusters().get_opt(name).await.map_err(|e| kube_error(&format!("reading cluster {name}"), e))
    }

    /// Sets or clears one annotation of a cluster (a merge patch, so the
    /// rest of what pgfleet applied stays).
    pub async fn annotate(&self, name: &str, key: &str, value: Option<&str>) -> Result<(), ProvisionError> {
        let patch = serde_json::json!({ "metadata": { "annotations": { key: value } } });
        self.clusters()
            .patch(name, &PatchParams::default(), &Patch::Merge(&patch))
            .await
            .map(|_| ())
            .map_err(|e| kube_error(&format!("annotating cluster {name}"), e))
    }

    /// The backups the operator knows for cluster `name`, any phase.
    pub async fn backups_of(&self, name: &str) -> Result<Vec<Backup>, ProvisionError> {
        let list = self.backups().list(&ListParams::default()).await.map_err(|e| kube_error("listing backups", e))?;
        Ok(list.items.into_iter().filter(|b| b.spec.cluster.name == name).collect())
    }

    pub async fn delete_backup(&self, name: &str) -> Result<(), ProvisionError> {
        match self.backups().delete(name, &DeleteParams::default()).await {
            Ok(_) => Ok(()),
            Err(e) if not_found(&e) => Ok(()),
            Err(e) => Err(kube_error(&format!("deleting backup {name}"), e)),
        }
    }

    /// Deletes database `name`'s cluster, backups and the Secrets pgfleet
    /// made for it; what is already gone is fine.
    pub async fn delete_database(&self, name: &str) -> Result<(), ProvisionError> {
        for backup in self.backups_of(name).await? {
            self.delete_backup(&backup.metadata.name.unwrap_or_default()).await?;
        }
        match self.clusters().delete(name, &DeleteParams::background()).await {
            Ok(_) => {}
            Err(e) if not_found(&e) => {}
            Err(e) => return Err(kube_error(&format!("deleting cluster {name}"), e)),
        }
        let mine = ListParams::default().labels(&format!("{DATABASE_LABEL}={name}"));
        let secrets = self.secrets().list(&mine).await.map_err(|e| kube_error("listing secrets", e))?;
        for secret in secrets.items {
            let secret_name = secret.metadata.name.unwrap_or_default();
            match self.secrets().delete(&secret_name, &DeleteParams::default()).await {
                Ok(_) => {}
                Err(e) if not_found(&e) => {}
                Err(e) => return Err(kube_error(&format!("deleting secret {secret_name}"), e)),
            }
        }
        Ok(())
    }
}
