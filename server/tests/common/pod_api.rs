//! A Kubernetes API server that knows pods and forwards their ports, on a
//! real TCP port: pod lists by label selector, and
//! `pods/NAME/portforward` as the API server does it (a WebSocket speaking
//! the `v4.channel.k8s.io` channel protocol), each forwarded connection
//! carried to the address the pod stands for. The in-memory API of
//! `kube_api` cannot upgrade a connection; this one lets kube's real
//! port-forward client run against real PostgreSQL.

use std::collections::{BTreeMap, HashMap};
use std::net::SocketAddr;
use std::sync::{Arc, Mutex};

use axum::extract::ws::{Message, WebSocket, WebSocketUpgrade};
use axum::extract::{Path, Query, State};
use axum::response::{IntoResponse, Response};
use axum::routing::get;
use axum::{Json, Router};
use serde_json::json;
use tokio::io::{AsyncReadExt, AsyncWriteExt};

/// A pod: its labels and the address its forwarded port reaches.
struct Pod {
    labels: BTreeMap<String, String>,
    target: SocketAddr,
}

#[derive(Default)]
struct Pods {
    pods: HashMap<String, Pod>,
    /// Every label selector asked for, and every pod forwarded to.
    asked: Vec<String>,
}

type Shared = Arc<Mutex<Pods>>;

pub struct PodApi {
    addr: SocketAddr,
    pods: Shared,
    server: tokio::task::JoinHandle<()>,
}

impl Drop for PodApi {
    fn drop(&mut self) {
        self.server.abort();
    }
}

impl PodApi {
    pub async fn start() -> PodApi {
        let pods = Shared::default();
        let app = Router::new()
            .route("/api/v1/namespaces/{namespace}/pods", get(list))
            .route("/api/v1/namespaces/{namespace}/pods/{pod}/portforward", get(forward))
            .with_state(pods.clone());
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.expect("a port for the API");
        let addr = listener.local_addr().unwrap();
        let server = tokio::spawn(async move {
            axum::serve(listener, app).await.expect("the pod API serves");
        });
        PodApi { addr, pods, server }
    }

    /// A kube client for this server, in `namespace`.
    pub fn client(&self, namespace: &str) -> kube::Client {
        let mut config = kube::Config::new(format!("http://{}", self.addr).parse().unwrap());
        config.default_namespace = namespace.into();
        kube::Client::try_from(config).expect("a client")
    }

    /// Makes (or changes) pod `name`, forwarding to `target`.
    pub fn pod(&self, name: &str, labels: &[(&str, &str)], target: SocketAddr) {
        let labels = labels.iter().map(|(k, v)| (k.to_string(), v.to_string())).collect();
        self.pods.lock().unwrap().pods.insert(name.into(), Pod { labels, target });
    }

    /// What was asked: `list SELECTOR` and `forward POD PORTS` lines.
    pub fn asked(&self) -> Vec<String> {
        self.pods.lock().unwrap().asked.clone()
    }
}

async fn list(
    State(pods): State<Shared>,
    Path(namespace): Path<String>,
    Query(query): Query<HashMap<String, String>>,
) -> Json<serde_json::Value> {
    let selector = query.get("labelSelector").cloned().unwrap_or_default();
    let mut pods = pods.lock().unwrap();
    pods.asked.push(format!("list {selector}"));
    let wanted: Vec<(&str, &str)> = selector.split(',').filter_map(|term| term.split_once('=')).collect();
    let items: Vec<_> = pods
        .pods
        .iter()
        .filter(|(_, pod)| wanted.iter().all(|(k, v)| pod.labels.get(*k).map(String::as_str) == Some(*v)))
        .map(|(name, pod)| json!({"metadata": {"name": name, "namespace": namespace, "labels": pod.labels}}))
        .collect();
    Json(json!({"apiVersion": "v1", "kind": "PodList", "metadata": {}, "items": items}))
}

async fn forward(
    State(pods): State<Shared>,
    Path((_namespace, pod)): Path<(String, String)>,
    Query(query): Query<HashMap<String, String>>,
    upgrade: WebSocketUpgrade,
) -> Response {
    let ports = query.get("ports").cloned().unwrap_or_default();
    let target = {
        let mut pods = pods.lock().unwrap();
        pods.asked.push(format!("forward {pod} {ports}"));
        pods.pods.get(&pod).map(|p| p.target)
    };
    let (Some(target), Ok(port)) = (target, ports.parse::<u16>()) else {
        return (axum::http::StatusCode::NOT_FOUND, "no such pod or port").into_response();
    };
    upgrade.protocols(["v4.channel.k8s.io"]).on_upgrade(move |socket| carry(socket, port, target))
}

/// The channel protocol for one port: channel 0 carries data, channel 1
/// errors; each first says which port it is (two bytes, little-endian).
async fn carry(mut socket: WebSocket, port: u16, target: SocketAddr) {
    let [low, high] = port.to_le_bytes();
    for channel in [0u8, 1] {
        if socket.send(Message::Binary(vec![channel, low, high].into())).await.is_err() {
            return;
        }
    }
    let Ok(mut upstream) = tokio::net::TcpStream::connect(target).await else {
        let _ = socket.send(Message::Binary([&[1u8][..], b"connection refused"].concat().into())).await;
        return;
    };
    let mut buf = vec![0u8; 64 * 1024];
    loop {
        tokio::select! {
            message = socket.recv() => match message {
                Some(Ok(Message::Binary(data))) if data.first() == Some(&0) => {
                    if upstream.write_all(&data[1..]).await.is_err() {
                        break;
                    }
                }
                Some(Ok(Message::Close(_))) | None | Some(Err(_)) => break,
                Some(Ok(_)) => {}
            },
            read = upstream.read(&mut buf) => match read {
                Ok(0) | Err(_) => break,
                Ok(n) => {
                    let frame = [&[0u8][..], &buf[..n]].concat();
                    if socket.send(Message::Binary(frame.into())).await.is_err() {
                        break;
                    }
                }
            },
        }
    }
    let _ = socket.send(Message::Close(None)).await;
}
