//! A Kubernetes API server in memory, answering the requests kube's client
//! makes for the objects pgfleet uses (CloudNativePG clusters and backups,
//! Secrets) in one namespace: server-side apply, merge patches, reads,
//! lists by label, watches and deletes. No Kubernetes can run on this
//! machine, so the backend's tests talk to this; every request is logged,
//! so a test can assert what was asked.

use std::collections::BTreeMap;
use std::convert::Infallible;
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use bytes::Bytes;
use http_body_util::combinators::UnsyncBoxBody;
use http_body_util::{BodyExt, Full, StreamBody};
use serde_json::{json, Value};

type ResponseBody = UnsyncBoxBody<Bytes, Infallible>;

#[derive(Clone, Default)]
pub struct FakeApi {
    state: Arc<Mutex<State>>,
    changed: Arc<tokio::sync::Notify>,
}

#[derive(Default)]
struct State {
    /// (resource, name) → object.
    objects: BTreeMap<(String, String), Value>,
    /// "METHOD resource/name" of every request but watches, in order.
    log: Vec<String>,
    version: u64,
    /// Every change, for watches: (version, resource, ADDED|MODIFIED|DELETED, object).
    changes: Vec<(u64, String, &'static str, Value)>,
}

impl State {
    /// Stamps `object` with a new version and remembers the change.
    fn record(&mut self, resource: &str, kind: &'static str, object: &mut Value) {
        self.version += 1;
        object["metadata"]["resourceVersion"] = json!(self.version.to_string());
        self.changes.push((self.version, resource.to_string(), kind, object.clone()));
    }
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

fn full(code: u16, value: &Value) -> http::Response<ResponseBody> {
    http::Response::builder()
        .status(code)
        .header(http::header::CONTENT_TYPE, "application/json")
        .body(Full::new(Bytes::from(serde_json::to_vec(value).unwrap())).boxed_unsync())
        .unwrap()
}

fn labelled(object: &Value, selector: Option<(&str, &str)>) -> bool {
    selector.is_none_or(|(k, want)| object["metadata"]["labels"][k] == *want)
}

impl FakeApi {
    /// A kube client whose every request this server answers: kube's own
    /// way of testing, a `tower-test` mock service, its handle answered by
    /// a task that ends when the client is dropped.
    pub fn client(&self, namespace: &str) -> kube::Client {
        let (service, mut handle) =
            tower_test::mock::pair::<http::Request<kube::client::Body>, http::Response<ResponseBody>>();
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
                respond.send_response(api.answer(parts.method.as_str(), &parts.uri, &content_type, &bytes));
            }
        });
        kube::Client::new(service, namespace)
    }

    pub fn log(&self) -> Vec<String> {
        self.state.lock().unwrap().log.clone()
    }

    pub fn get(&self, resource: &str, name: &str) -> Option<Value> {
        self.state.lock().unwrap().objects.get(&(resource.to_string(), name.to_string())).cloned()
    }

    pub fn names(&self, resource: &str) -> Vec<String> {
        self.state.lock().unwrap().objects.keys().filter(|(r, _)| r == resource).map(|(_, n)| n.clone()).collect()
    }

    /// How many watches of `resource` were opened (each reconnect is one).
    pub fn watches(&self, resource: &str) -> usize {
        self.state.lock().unwrap().log.iter().filter(|l| *l == &format!("WATCH {resource}/")).count()
    }

    /// What the operator writes: `status` merged into the object's.
    pub fn set_status(&self, resource: &str, name: &str, status: Value) {
        let mut state = self.state.lock().unwrap();
        let key = (resource.to_string(), name.to_string());
        let Some(mut object) = state.objects.get(&key).cloned() else { return };
        merge(object.as_object_mut().unwrap().entry("status").or_insert(json!({})), &status);
        state.record(resource, "MODIFIED", &mut object);
        state.objects.insert(key, object);
        drop(state);
        self.changed.notify_waiters();
    }

    fn answer(&self, method: &str, uri: &http::Uri, content_type: &str, body: &[u8]) -> http::Response<ResponseBody> {
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
            _ => {
                let (code, value) = status(404, "NotFound", &format!("no route {path}"));
                return full(code, &value);
            }
        };
        if method == "GET" && name.is_none() && query.get("watch").is_some_and(|w| w == "true" || w == "1") {
            return self.watch(resource, &query);
        }
        let (code, value) = self.change(method, resource, name, &query, content_type, body);
        if code < 300 && method != "GET" {
            self.changed.notify_waiters();
        }
        full(code, &value)
    }

    /// A watch: every change after `resourceVersion`, one JSON line each,
    /// for at most a few seconds (then the client watches again).
    fn watch(&self, resource: String, query: &BTreeMap<String, String>) -> http::Response<ResponseBody> {
        self.state.lock().unwrap().log.push(format!("WATCH {resource}/"));
        let from: u64 = query.get("resourceVersion").and_then(|v| v.parse().ok()).unwrap_or(0);
        let selector =
            query.get("labelSelector").and_then(|s| s.split_once('=')).map(|(k, v)| (k.to_string(), v.to_string()));
        let until = Instant::now() + Duration::from_secs(3);
        let api = self.clone();
        let lines = futures::stream::unfold(from, move |seen| {
            let (api, resource, selector) = (api.clone(), resource.clone(), selector.clone());
            async move {
                loop {
                    let waiting = api.changed.notified();
                    let (batch, last) = {
                        let state = api.state.lock().unwrap();
                        let batch: Vec<Value> = state
                            .changes
                            .iter()
                            .filter(|(v, r, _, o)| {
                                *v > seen
                                    && *r == resource
                                    && labelled(o, selector.as_ref().map(|(k, v)| (k.as_str(), v.as_str())))
                            })
                            .map(|(_, _, kind, object)| json!({"type": kind, "object": object}))
                            .collect();
                        (batch, state.version)
                    };
                    if !batch.is_empty() {
                        let mut text = String::new();
                        for line in batch {
                            text.push_str(&line.to_string());
                            text.push('\n');
                        }
                        return Some((Ok::<_, Infallible>(http_body::Frame::data(Bytes::from(text))), last));
                    }
                    let left = until.saturating_duration_since(Instant::now());
                    if left.is_zero() {
                        return None;
                    }
                    let _ = tokio::time::timeout(left.min(Duration::from_millis(200)), waiting).await;
                }
            }
        });
        http::Response::builder()
            .status(200)
            .header(http::header::CONTENT_TYPE, "application/json")
            .body(StreamBody::new(lines).boxed_unsync())
            .unwrap()
    }

    fn change(
        &self,
        method: &str,
        resource: String,
        name: Option<String>,
        query: &BTreeMap<String, String>,
        content_type: &str,
        body: &[u8],
    ) -> (u16, Value) {
        let mut state = self.state.lock().unwrap();
        state.log.push(format!("{method} {resource}/{}", name.as_deref().unwrap_or("")));
        let key = |name: &str| (resource.clone(), name.to_string());
        match (method, name) {
            ("GET", None) => {
                let selector = query.get("labelSelector").and_then(|s| s.split_once('='));
                let items: Vec<Value> = state
                    .objects
                    .iter()
                    .filter(|((r, _), v)| *r == resource && labelled(v, selector))
                    .map(|(_, v)| v.clone())
                    .collect();
                let version = state.version.to_string();
                (
                    200,
                    json!({"apiVersion": "v1", "kind": "List", "metadata": {"resourceVersion": version}, "items": items}),
                )
            }
            ("GET", Some(name)) => match state.objects.get(&key(&name)) {
                Some(v) => (200, v.clone()),
                None => status(404, "NotFound", &format!("{resource} \"{name}\" not found")),
            },
            ("PATCH", Some(name)) => {
                let patch: Value = match serde_json::from_slice(body) {
                    Ok(v) => v,
                    Err(e) => return status(400, "BadRequest", &format!("unreadable body: {e}")),
                };
                let existing = state.objects.get(&key(&name)).cloned();
                let mut object = if content_type.starts_with("application/apply-patch") {
                    if query.get("fieldManager").map(String::as_str) != Some("pgfleet") {
                        return status(400, "BadRequest", "apply without fieldManager=pgfleet");
                    }
                    let mut object = existing.clone().unwrap_or_else(|| {
                        json!({"metadata": {"name": name, "uid": format!("uid-{name}"), "creationTimestamp": chrono::Utc::now().to_rfc3339()}})
                    });
                    // What apply owns is replaced whole; status and others' annotations stay.
                    for (k, v) in patch.as_object().unwrap() {
                        if k == "metadata" {
                            merge(&mut object["metadata"], v);
                        } else if k != "status" {
                            object[k] = v.clone();
                        }
                    }
                    object
                } else if content_type.starts_with("application/merge-patch") {
                    let Some(mut object) = existing.clone() else {
                        return status(404, "NotFound", &format!("{resource} \"{name}\" not found"));
                    };
                    merge(&mut object, &patch);
                    object
                } else {
                    return status(415, "UnsupportedMediaType", content_type);
                };
                state.record(&resource, if existing.is_some() { "MODIFIED" } else { "ADDED" }, &mut object);
                state.objects.insert(key(&name), object.clone());
                (200, object)
            }
            ("DELETE", Some(name)) => match state.objects.remove(&key(&name)) {
                Some(mut v) => {
                    state.record(&resource, "DELETED", &mut v);
                    (200, v)
                }
                None => status(404, "NotFound", &format!("{resource} \"{name}\" not found")),
            },
            _ => status(405, "MethodNotAllowed", method),
        }
    }
}
