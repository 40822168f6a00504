//! The CloudNativePG backend end to end through pgfleet's engine: the life
//! `common::kube_fleet` puts a fleet through (a database, a follower, forks
//! of now and of a past moment, backups, a promotion and destruction), and
//! what Kubernetes is asked at each step.
//!
//! No Kubernetes cluster can run on this machine, so the API server is
//! played in memory (`common::kube_api`) and the operator by
//! `common::operator`, which makes every cluster a real PostgreSQL server
//! with pgfleet's local backend. What this cannot show, a real operator's
//! behaviour, is `kubernetes_live.rs`'s to check, with the same steps, against a real
//! cluster.

mod common;

use std::sync::Arc;
use std::time::{Duration, Instant};

use app::model::Phase;
use common::kube_api::FakeApi;
use common::kube_fleet::{lifecycle, named, KubeFleet, Names};
use common::operator::Operator;
use common::pg::{test_engine_config, wait_phase};
use pgfleet::engine::EngineError;
use pgfleet::provisioner::kubernetes::connect::Reach;
use pgfleet::provisioner::kubernetes::manifests::{BackupStore, Install, ObjectStore};
use pgfleet::provisioner::kubernetes::KubernetesConfig;
use serde::Deserialize;
use serde_json::json;

const READY: Duration = Duration::from_secs(180);

struct Fleet {
    kube: KubeFleet,
    api: FakeApi,
    _operator: Option<Operator>,
}

impl std::ops::Deref for Fleet {
    type Target = KubeFleet;
    fn deref(&self) -> &KubeFleet {
        &self.kube
    }
}

impl Fleet {
    /// pgfleet on the Kubernetes backend; with `operator`, the clusters it
    /// asks for become real servers.
    async fn start(operator: bool) -> Fleet {
        let api = FakeApi::default();
        let operator = operator.then(|| Operator::start(api.clone(), test_engine_config().ports));
        let install = Install {
            namespace: "fleet".into(),
            image: None,
            storage_class: None,
            backups: BackupStore {
                object_store: Some(ObjectStore {
                    destination: "s3://backups/pgfleet".into(),
                    endpoint: None,
                    credentials: "pgfleet-backups".into(),
                }),
                snapshot_class: None,
            },
        };
        let mut config = KubernetesConfig::new(install);
        config.poll = Duration::from_millis(100);
        config.ready_within = READY;
        if let Some(op) = &operator {
            config.reach = Reach::Mapped(Arc::new(op.address()));
        }
        let kube = KubeFleet::start(api.client("fleet"), config, READY).await;
        Fleet { kube, api, _operator: operator }
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_database_its_follower_and_forks_live_as_cloudnativepg_clusters() {
    let fleet = Fleet::start(true).await;
    lifecycle(&fleet, &Names::with_suffix(""), true).await;

    // The Secret exists before the cluster that reads it.
    let log = fleet.api.log();
    let secret_at = log.iter().position(|l| l == "PATCH secrets/prod-pgfleet-owner").expect("secret applied");
    let cluster_at = log.iter().position(|l| l == "PATCH clusters/prod").expect("cluster applied");
    assert!(secret_at < cluster_at, "{log:?}");
    // The fork's backups went with it.
    assert!(!fleet.api.names("backups").iter().any(|b| b.starts_with("trial-")), "{:?}", fleet.api.names("backups"));

    // Cluster state came from a watch, which reconnected each time the
    // server ended it (every 3 s here).
    assert!(fleet.api.watches("clusters") >= 2, "the watch reconnects: {}", fleet.api.watches("clusters"));
    let all_reads = fleet.api.log().iter().filter(|l| l.starts_with("GET clusters/") && !l.ends_with('/')).count();
    let reads = all_reads - fleet.cluster_reads();
    // Polled, each check of each cluster would be a GET (hundreds here);
    // from the watch's cache only a cluster not seen yet is asked for.
    assert!(reads <= 30, "{reads} single-cluster reads: the cache is not answering");

    // Everything asked of Kubernetes is allowed by the Role pgfleet deploys with.
    let allowed = deployed_role();
    for request in fleet.api.log() {
        let (method, path) = request.split_once(' ').unwrap();
        let (resource, name) = path.split_once('/').unwrap();
        let verbs: &[&str] = match (method, name.is_empty()) {
            ("GET", true) => &["list"],
            ("GET", false) => &["get"],
            ("PATCH", _) => &["patch", "create"],
            ("DELETE", _) => &["delete"],
            ("WATCH", _) => &["watch"],
            _ => panic!("unexpected request {request}"),
        };
        for verb in verbs {
            assert!(
                allowed.contains(&(resource.to_string(), verb.to_string())),
                "the Role does not allow {verb} {resource}"
            );
        }
    }
}

/// (resource, verb) pairs the Role in deploy/kubernetes/pgfleet.yaml grants.
fn deployed_role() -> Vec<(String, String)> {
    let path = concat!(env!("CARGO_MANIFEST_DIR"), "/../deploy/kubernetes/pgfleet.yaml");
    let text = std::fs::read_to_string(path).expect("the deployment manifest");
    let mut allowed = Vec::new();
    for doc in serde_yaml::Deserializer::from_str(&text) {
        let doc = serde_json::to_value(serde_yaml::Value::deserialize(doc).unwrap()).unwrap();
        if doc["kind"] != "Role" {
            continue;
        }
        for rule in doc["rules"].as_array().unwrap() {
            for resource in rule["resources"].as_array().unwrap() {
                for verb in rule["verbs"].as_array().unwrap() {
                    allowed.push((resource.as_str().unwrap().to_string(), verb.as_str().unwrap().to_string()));
                }
            }
        }
    }
    assert!(!allowed.is_empty(), "a Role in {path}");
    allowed
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_cluster_the_operator_gives_up_on_fails_with_its_words_and_names_kubernetes_cannot_carry_are_refused() {
    let fleet = Fleet::start(false).await;
    let long = "a".repeat(41);
    match fleet.engine.create(named(&long)).await {
        Err(e @ EngineError::NameUnfit(_)) => assert!(e.to_string().contains("at most 40"), "{e}"),
        other => panic!("a 41-character name on Kubernetes: {other:?}"),
    }
    assert!(fleet.api.names("clusters").is_empty(), "nothing is asked for a refused name");

    fleet.create(named("doomed")).await;
    let deadline = Instant::now() + READY;
    while fleet.api.get("clusters", "doomed").is_none() {
        assert!(Instant::now() < deadline, "no cluster asked for");
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    let view = fleet.store.view("doomed").await.unwrap().unwrap();
    assert_eq!(view.phase, Phase::Provisioning);
    fleet.api.set_status(
        "clusters",
        "doomed",
        json!({"phase": "Cluster is unrecoverable and needs manual intervention",
               "phaseReason": "PVC doomed-1 cannot be bound: storage class \"fast\" not found"}),
    );
    let failed = wait_phase(&fleet.store, "doomed", Phase::Failed, READY).await;
    let message = failed.message.unwrap_or_default();
    assert!(message.contains("storage class \"fast\" not found"), "the operator's words reach the user: {message}");
}
