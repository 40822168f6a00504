//! The CloudNativePG backend end to end through pgfleet's engine: a
//! database, a follower, forks of now and of a past moment, backups, a
//! promotion and destruction, and what Kubernetes is asked at each step.
//!
//! No Kubernetes cluster can run on this machine, so the API server is
//! played in memory (`common::kube_api`) and the operator by
//! `common::operator`, which makes every cluster a real PostgreSQL server
//! with pgfleet's local backend. What this cannot show, a real operator's
//! behaviour, is `kubernetes_live.rs`'s to check against a real cluster.

mod common;

use std::sync::Arc;
use std::time::{Duration, Instant};

use app::model::{DatabaseView, ForkPoint, Phase};
use common::kube_api::FakeApi;
use common::operator::Operator;
use common::pg::{connect_to, exec, scalar, test_engine_config, wait_phase};
use pgfleet::engine::{CreateRequest, Engine, EngineError};
use pgfleet::provisioner::kubernetes::connect::Reach;
use pgfleet::provisioner::kubernetes::manifests::{BackupStore, Install, ObjectStore};
use pgfleet::provisioner::kubernetes::{KubernetesConfig, KubernetesProvisioner};
use pgfleet::store::Store;
use serde::Deserialize;
use serde_json::json;

const READY: Duration = Duration::from_secs(180);

struct Fleet {
    engine: Engine,
    store: Store,
    api: FakeApi,
    _operator: Option<Operator>,
    _home: common::TestHome,
}

impl Fleet {
    /// pgfleet on the Kubernetes backend; with `operator`, the clusters it
    /// asks for become real servers.
    async fn start(operator: bool) -> Fleet {
        common::init_logs();
        let api = FakeApi::default();
        let engine_config = test_engine_config();
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
        let provisioner = Arc::new(KubernetesProvisioner::new(api.client("fleet"), config));
        let home = common::TestHome::new();
        let store = Store::open(common::store_for(home.path())).await.expect("store opens");
        let engine = Engine::start(store.clone(), provisioner, engine_config);
        Fleet { engine, store, api, _operator: operator, _home: home }
    }

    async fn create(&self, req: CreateRequest) -> DatabaseView {
        self.engine.create(req).await.expect("create accepted")
    }

    async fn view_until(&self, name: &str, what: &str, ok: impl Fn(&DatabaseView) -> bool) -> DatabaseView {
        let deadline = Instant::now() + READY;
        loop {
            let view = self.store.view(name).await.unwrap().expect("exists");
            if ok(&view) {
                return view;
            }
            assert!(Instant::now() < deadline, "{name}: not {what}: {view:?}");
            tokio::time::sleep(Duration::from_millis(100)).await;
        }
    }
}

fn named(name: &str) -> CreateRequest {
    CreateRequest { name: Some(name.into()), ..Default::default() }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_database_its_follower_and_forks_live_as_cloudnativepg_clusters() {
    let fleet = Fleet::start(true).await;

    // A database: its Secrets, then an initdb cluster, pgfleet's labels on each.
    fleet.create(named("prod")).await;
    let prod = wait_phase(&fleet.store, "prod", Phase::Available, READY).await;
    let cluster = fleet.api.get("clusters", "prod").expect("a Cluster for prod");
    assert_eq!(cluster["metadata"]["labels"]["pgfleet.io/database"], "prod");
    assert!(cluster["spec"]["bootstrap"]["initdb"]["database"].is_string(), "{cluster}");
    let owner = fleet.api.get("secrets", "prod-pgfleet-owner").expect("the owner's Secret");
    assert_eq!(owner["type"], "kubernetes.io/basic-auth");
    let log = fleet.api.log();
    let secret_at = log.iter().position(|l| l == "PATCH secrets/prod-pgfleet-owner").expect("secret applied");
    let cluster_at = log.iter().position(|l| l == "PATCH clusters/prod").expect("cluster applied");
    assert!(secret_at < cluster_at, "the Secret exists before the cluster that reads it: {log:?}");
    assert!(prod.info.is_some() || fleet.view_until("prod", "probed", |v| v.info.is_some()).await.info.is_some());

    let mut source = connect_to(&fleet.engine, "prod").await;
    exec(&mut source, "CREATE TABLE marks (i int); INSERT INTO marks VALUES (1)").await;

    // A follower: a replica cluster streaming from prod-rw; it sees new rows.
    fleet.create(CreateRequest { follow: Some("prod".into()), ..named("reader") }).await;
    wait_phase(&fleet.store, "reader", Phase::Available, READY).await;
    let replica = fleet.api.get("clusters", "reader").unwrap();
    assert_eq!(replica["spec"]["replica"], json!({"enabled": true, "source": "prod"}));
    exec(&mut source, "INSERT INTO marks VALUES (2)").await;
    let mut reader = connect_to(&fleet.engine, "reader").await;
    let deadline = Instant::now() + READY;
    while scalar(&mut reader, "SELECT count(*)::int8 FROM marks").await < 2 {
        assert!(Instant::now() < deadline, "the follower never saw the second row");
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    fleet.view_until("reader", "with its lag measured", |v| v.lag.is_some()).await;

    // A fork of now: pg_basebackup, not a replica, passwords of its own.
    fleet.create(CreateRequest { fork: Some("prod".into()), ..named("trial") }).await;
    wait_phase(&fleet.store, "trial", Phase::Available, READY).await;
    let fork = fleet.api.get("clusters", "trial").unwrap();
    assert!(fork["spec"]["replica"].is_null());
    assert_eq!(fork["spec"]["bootstrap"]["pg_basebackup"]["source"], "prod");
    let mut trial = connect_to(&fleet.engine, "trial").await;
    exec(&mut trial, "INSERT INTO marks VALUES (100)").await;
    assert_eq!(scalar(&mut trial, "SELECT count(*)::int8 FROM marks").await, 3);
    assert_eq!(scalar(&mut source, "SELECT count(*)::int8 FROM marks").await, 2, "the fork writes alone");
    let prod_url = fleet.engine.credentials("prod").await.unwrap();
    let trial_url = fleet.engine.credentials("trial").await.unwrap();
    let (prod_port, trial_port) = (prod_url.rsplit(':').next().unwrap(), trial_url.rsplit(':').next().unwrap());
    let prods_password_on_trial = prod_url.replace(prod_port, trial_port);
    assert!(
        <sqlx::PgConnection as sqlx::Connection>::connect(&prods_password_on_trial).await.is_err(),
        "prod's password does not open its fork"
    );

    // Backups: pgfleet's backup loop asks the operator for one; the window opens.
    let view = fleet.view_until("prod", "with a restore window", |v| v.restore_window.is_some()).await;
    assert!(view.archiving.as_ref().is_some_and(|a| a.backups >= 1 && a.warning.is_none()), "{view:?}");
    assert!(fleet.api.names("backups").iter().any(|b| b.starts_with("prod-")), "{:?}", fleet.api.names("backups"));

    // A fork of a past moment: recovery from prod's archive to it.
    exec(&mut source, "INSERT INTO marks VALUES (3)").await;
    let (moment,): (chrono::DateTime<chrono::Utc>,) =
        sqlx::query_as("SELECT clock_timestamp()").fetch_one(&mut source).await.unwrap();
    let until = Instant::now() + Duration::from_millis(20);
    while Instant::now() < until {
        tokio::task::yield_now().await;
    }
    exec(&mut source, "INSERT INTO marks VALUES (4)").await;
    let then = CreateRequest { fork: Some("prod".into()), fork_point: Some(ForkPoint::Time(moment)), ..named("then") };
    fleet.create(then).await;
    wait_phase(&fleet.store, "then", Phase::Available, READY).await;
    let recovery = &fleet.api.get("clusters", "then").unwrap()["spec"]["bootstrap"]["recovery"];
    assert!(recovery["recoveryTarget"]["targetTime"].is_string(), "{recovery}");
    let mut then = connect_to(&fleet.engine, "then").await;
    let marks: Vec<i32> = sqlx::query_scalar("SELECT i FROM marks ORDER BY i").fetch_all(&mut then).await.unwrap();
    assert_eq!(marks, vec![1, 2, 3], "as prod was at the moment, not after");

    // Promotion: replica.enabled turns false; the follower takes writes.
    fleet.engine.promote("reader").await.expect("promote accepted");
    fleet.view_until("reader", "promoted", |v| v.phase == Phase::Available && v.following.is_none()).await;
    assert_eq!(fleet.api.get("clusters", "reader").unwrap()["spec"]["replica"]["enabled"], false);
    let mut reader = connect_to(&fleet.engine, "reader").await;
    exec(&mut reader, "INSERT INTO marks VALUES (200)").await;

    // Destruction: the cluster, its backups and pgfleet's Secrets go.
    fleet.engine.destroy("trial", false).await.expect("destroy accepted");
    let deadline = Instant::now() + READY;
    while fleet.store.view("trial").await.unwrap().is_some() {
        assert!(Instant::now() < deadline, "trial is still there");
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    assert!(fleet.api.get("clusters", "trial").is_none());
    assert!(!fleet.api.names("secrets").iter().any(|s| s.starts_with("trial-")), "{:?}", fleet.api.names("secrets"));

    // Cluster state came from a watch, which reconnected each time the
    // server ended it (every 3 s here).
    assert!(fleet.api.watches("clusters") >= 2, "the watch reconnects: {}", fleet.api.watches("clusters"));
    let reads = fleet.api.log().iter().filter(|l| l.starts_with("GET clusters/") && !l.ends_with('/')).count();
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
