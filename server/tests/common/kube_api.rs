//! A Kubernetes API server in memory, answering the requests kube's client
//! makes for the objects pgfleet uses (CloudNativePG clusters and backups,
//! Secrets) in one namespace: server-side apply, merge patches, reads,
//! lists by label and deletes. No Kubernetes can run on this machine, so
//! the backend's tests talk to this; every request is logged, so a test
//! can assert what was asked.

use std::collections::BTreeMap;
use std::sync::{Arc, Mutex};

use serde_json::{json, Value};

#[derive(Clone, Default)]
pub struct FakeApi {
    /// (resource, name) → object.
    objects: Arc<Mutex<BTreeMap<(String, String), Value>>>,
    /// "METHOD resource/name" of every request, in order.
    log: Arc<Mutex<Vec<String>>>,
    next_version: Arc<Mutex<u64>>,
}

/// JSON merge patch (RFC 7386): objects merge, `null` removes, the rest replaces.
pub fn merge(target: &mut Value, patch: &Value) {
    match (target.as_object_mut(), patch.as_object()) {
        (Some(t), Some(p)) => {
            for (k, v) in p {
                if v.is_null() {
                    t.remove(k);
                } else {
                    merge(t.entry(k.clone()).or_insert(Value::Null), v);
                }
            }
        }
        _ => *target = patch.clone(),
    }
}

fn status(code: u16, reason: &str, message: &str) -> (u16, Value) {
    let outcome = if code < 400 { "Success" } else { "Failure" };
    (
        code,
        json!({"kind": "Status", "apiVersion": "v1", "metadata": {}, "status": outcome, "reason": reason, "message": message, "code": code}),
    )
}

impl FakeApi {
    /// A kube client whose every request this server answers: kube's own
    /// way of testing, a `tower-test` mock service, its handle answered by
    /// a task that ends when the client is dropped.
    pub fn client(&self, namespace: &str) -> kube::Client {
        let (service, mut handle) =
            tower_test::mock::pair::<http::Request<kube::client::Body>, http::Response<kube::client::Body>>();
        let api = self.clone();
        tokio::spawn(async move {
            while let Some((request, respond)) = handle.next_request().await {
                let (parts, body) = request.into_parts();
                let bytes = body.collect_bytes().await.unwrap_or_default();
                let content_type = parts
                    .headers
                    .get(http::header::CONTENT_TYPE)
                    .and_then(|v| v.to_str().ok())
                    .unwrap_or("")
                    .to_string();
                let (code, value) = api.answer(parts.method.as_str(), &parts.uri, &content_type, &bytes);
                let response = http::Response::builder()
                    .status(code)
                    .header(http::header::CONTENT_TYPE, "application/json")
                    .body(kube::client::Body::from(serde_json::to_vec(&value).unwrap()))
                    .unwrap();
                respond.send_response(response);
            }
        });
        kube::Client::new(service, namespace)
    }

    pub fn log(&self) -> Vec<String> {
        self.log.lock().unwrap().clone()
    }

    pub fn get(&self, resource: &str, name: &str) -> Option<Value> {
        self.objects.lock().unwrap().get(&(resource.to_string(), name.to_string())).cloned()
    }

    pub fn names(&self, resource: &str) -> Vec<String> {
        self.objects.lock().unwrap().keys().filter(|(r, _)| r == resource).map(|(_, n)| n.clone()).collect()
    }

    /// What the operator writes: `status` merged into the object's.
    pub fn set_status(&self, resource: &str, name: &str, status: Value) {
        if let Some(object) = self.objects.lock().unwrap().get_mut(&(resource.to_string(), name.to_string())) {
            merge(object.as_object_mut().unwrap().entry("status").or_insert(json!({})), &status);
        }
    }

    fn version(&self) -> String {
        let mut v = self.next_version.lock().unwrap();
        *v += 1;
        v.to_string()
    }

    fn answer(&self, method: &str, uri: &http::Uri, content_type: &str, body: &[u8]) -> (u16, Value) {
        let path = uri.path();
        let query: BTreeMap<String, String> = uri
            .query()
            .unwrap_or("")
            .split('&')
            .filter_map(|kv| kv.split_once('='))
            .map(|(k, v)| (k.to_string(), v.replace("%3D", "=").replace("%2F", "/")))
            .collect();
        let parts: Vec<&str> = path.trim_matches('/').split('/').collect();
        let (resource, name) = match parts.as_slice() {
            ["apis", "postgresql.cnpg.io", "v1", "namespaces", _, resource] => (resource.to_string(), None),
            ["apis", "postgresql.cnpg.io", "v1", "namespaces", _, resource, name] => {
                (resource.to_string(), Some(name.to_string()))
            }
            ["api", "v1", "namespaces", _, "secrets"] => ("secrets".to_string(), None),
            ["api", "v1", "namespaces", _, "secrets", name] => ("secrets".to_string(), Some(name.to_string())),
            _ => return status(404, "NotFound", &format!("no route {path}")),
        };
        self.log.lock().unwrap().push(format!("{method} {resource}/{}", name.as_deref().unwrap_or("")));
        let key = |name: &str| (resource.clone(), name.to_string());
        let mut objects = self.objects.lock().unwrap();
        match (method, name) {
            ("GET", None) => {
                let selector = query.get("labelSelector").and_then(|s| s.split_once('='));
                let items: Vec<Value> = objects
                    .iter()
                    .filter(|((r, _), _)| *r == resource)
                    .map(|(_, v)| v.clone())
                    .filter(|v| selector.is_none_or(|(k, want)| v["metadata"]["labels"][k] == *want))
                    .collect();
                (
                    200,
                    json!({"apiVersion": "v1", "kind": "List", "metadata": {"resourceVersion": self.version()}, "items": items}),
                )
            }
            ("GET", Some(name)) => match objects.get(&key(&name)) {
                Some(v) => (200, v.clone()),
                None => status(404, "NotFound", &format!("{resource} \"{name}\" not found")),
            },
            ("PATCH", Some(name)) => {
                let patch: Value = match serde_json::from_slice(body) {
                    Ok(v) => v,
                    Err(e) => return status(400, "BadRequest", &format!("unreadable body: {e}")),
                };
                let version = self.version();
                if content_type.starts_with("application/apply-patch") {
                    if query.get("fieldManager").map(String::as_str) != Some("pgfleet") {
                        return status(400, "BadRequest", "apply without fieldManager=pgfleet");
                    }
                    let object = objects.entry(key(&name)).or_insert_with(|| {
                        json!({"metadata": {"name": name, "uid": format!("uid-{version}"), "creationTimestamp": chrono::Utc::now().to_rfc3339()}})
                    });
                    // What apply owns is replaced whole; status and others' annotations stay.
                    for (k, v) in patch.as_object().unwrap() {
                        if k == "metadata" {
                            merge(&mut object["metadata"], v);
                        } else if k != "status" {
                            object[k] = v.clone();
                        }
                    }
                    object["metadata"]["resourceVersion"] = json!(version);
                    (200, object.clone())
                } else if content_type.starts_with("application/merge-patch") {
                    match objects.get_mut(&key(&name)) {
                        Some(object) => {
                            merge(object, &patch);
                            object["metadata"]["resourceVersion"] = json!(version);
                            (200, object.clone())
                        }
                        None => status(404, "NotFound", &format!("{resource} \"{name}\" not found")),
                    }
                } else {
                    status(415, "UnsupportedMediaType", content_type)
                }
            }
            ("DELETE", Some(name)) => match objects.remove(&key(&name)) {
                Some(v) => (200, v),
                None => status(404, "NotFound", &format!("{resource} \"{name}\" not found")),
            },
            _ => status(405, "MethodNotAllowed", method),
        }
    }
}
