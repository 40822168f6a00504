//! pgfleet's engine on the Kubernetes backend, and the life a fleet of
//! CloudNativePG clusters is put through. `kubernetes.rs` runs it against
//! an API server in memory with the operator played by local servers;
//! `kubernetes_live.rs` runs the same steps against a real cluster, so
//! what is checked here is what is checked there.
//!
//! Everything is read back through the Kubernetes API (never the fake's
//! own tables), and names take a suffix so runs on a shared cluster do not
//! meet.

use std::sync::Arc;
use std::time::{Duration, Instant};

use app::model::{DatabaseView, ForkPoint, Phase};
use k8s_openapi::api::core::v1::Secret;
use kube::api::{Api, ApiResource, DynamicObject, ListParams};
use pgfleet::engine::{CreateRequest, Engine};
use pgfleet::provisioner::kubernetes::cnpg::{Backup, Cluster};
use pgfleet::provisioner::kubernetes::{KubernetesConfig, KubernetesProvisioner};
use pgfleet::store::Store;
use serde_json::{json, Value};
use sqlx::Connection;

use super::pg::{connect_to, exec, scalar, test_engine_config, wait_phase};

pub struct KubeFleet {
    pub engine: Engine,
    pub store: Store,
    clusters: Api<DynamicObject>,
    backups: Api<DynamicObject>,
    secrets: Api<Secret>,
    /// How long any one step may take.
    pub within: Duration,
    /// How many clusters this harness read itself (not pgfleet).
    cluster_reads: std::sync::atomic::AtomicUsize,
    _home: super::TestHome,
}

impl KubeFleet {
    pub async fn start(client: kube::Client, config: KubernetesConfig, within: Duration) -> KubeFleet {
        super::init_logs();
        let namespace = config.install.namespace.clone();
        let clusters = Api::namespaced_with(client.clone(), &namespace, &ApiResource::erase::<Cluster>(&()));
        let backups = Api::namespaced_with(client.clone(), &namespace, &ApiResource::erase::<Backup>(&()));
        let secrets = Api::namespaced(client.clone(), &namespace);
        let provisioner = Arc::new(KubernetesProvisioner::new(client, config));
        let home = super::TestHome::new();
        let store = Store::open(super::store_for(home.path())).await.expect("store opens");
        let engine = Engine::start(store.clone(), provisioner, test_engine_config());
        KubeFleet { engine, store, clusters, backups, secrets, within, cluster_reads: Default::default(), _home: home }
    }

    pub async fn create(&self, req: CreateRequest) -> DatabaseView {
        self.engine.create(req).await.expect("create accepted")
    }

    /// The `Cluster` named `name`, as JSON, if there is one.
    pub async fn cluster(&self, name: &str) -> Option<Value> {
        self.cluster_reads.fetch_add(1, std::sync::atomic::Ordering::Relaxed);
        let found = self.clusters.get_opt(name).await.unwrap_or_else(|e| panic!("reading cluster {name}: {e}"));
        found.map(|c| serde_json::to_value(c).expect("a cluster is JSON"))
    }

    /// How many times [`KubeFleet::cluster`] asked the API server.
    pub fn cluster_reads(&self) -> usize {
        self.cluster_reads.load(std::sync::atomic::Ordering::Relaxed)
    }

    pub async fn secret(&self, name: &str) -> Option<Secret> {
        self.secrets.get_opt(name).await.unwrap_or_else(|e| panic!("reading secret {name}: {e}"))
    }

    pub async fn secret_names(&self) -> Vec<String> {
        let list = self.secrets.list(&ListParams::default()).await.expect("secrets listed");
        list.items.into_iter().filter_map(|s| s.metadata.name).collect()
    }

    pub async fn backup_names(&self) -> Vec<String> {
        let list = self.backups.list(&ListParams::default()).await.expect("backups listed");
        list.items.into_iter().filter_map(|b| b.metadata.name).collect()
    }

    pub async fn view_until(&self, name: &str, what: &str, ok: impl Fn(&DatabaseView) -> bool) -> DatabaseView {
        let deadline = Instant::now() + self.within;
        loop {
            let view = self.store.view(name).await.unwrap().expect("exists");
            if ok(&view) {
                return view;
            }
            assert!(Instant::now() < deadline, "{name}: not {what}: {view:?}");
            tokio::time::sleep(Duration::from_millis(100)).await;
        }
    }

    pub async fn wait_gone(&self, name: &str) {
        let deadline = Instant::now() + self.within;
        while self.store.view(name).await.unwrap().is_some() {
            assert!(Instant::now() < deadline, "{name} is still there");
            tokio::time::sleep(Duration::from_millis(100)).await;
        }
    }
}

pub fn named(name: &str) -> CreateRequest {
    CreateRequest { name: Some(name.into()), ..Default::default() }
}

/// The databases [`lifecycle`] makes, each `base` + the run's suffix.
pub struct Names {
    pub prod: String,
    pub reader: String,
    pub trial: String,
    pub then: String,
}

impl Names {
    pub fn with_suffix(suffix: &str) -> Names {
        let name = |base: &str| format!("{base}{suffix}");
        Names { prod: name("prod"), reader: name("reader"), trial: name("trial"), then: name("then") }
    }

    pub fn all(&self) -> [&str; 4] {
        [&self.prod, &self.reader, &self.trial, &self.then]
    }
}

/// A database, its follower, a fork of now and (with `past_moment`, where
/// backups go to an object store) of a past moment, the follower's
/// promotion and the fork's destruction, each checked in PostgreSQL and
/// in the resources Kubernetes holds. Leaves prod, the promoted reader and
/// the past-moment fork standing.
pub async fn lifecycle(fleet: &KubeFleet, names: &Names, past_moment: bool) {
    let Names { prod, reader, trial, then } = names;

    // A database: an initdb cluster labelled with its name, the owner's
    // password in a Secret pgfleet made.
    fleet.create(named(prod)).await;
    wait_phase(&fleet.store, prod, Phase::Available, fleet.within).await;
    let cluster = fleet.cluster(prod).await.expect("a Cluster for prod");
    assert_eq!(cluster["metadata"]["labels"]["pgfleet.io/database"], json!(prod));
    assert!(cluster["spec"]["bootstrap"]["initdb"]["database"].is_string(), "{cluster}");
    let owner = fleet.secret(&format!("{prod}-pgfleet-owner")).await.expect("the owner's Secret");
    assert_eq!(owner.type_.as_deref(), Some("kubernetes.io/basic-auth"));
    fleet.view_until(prod, "probed", |v| v.info.is_some()).await;

    let mut source = connect_to(&fleet.engine, prod).await;
    exec(&mut source, "CREATE TABLE marks (i int); INSERT INTO marks VALUES (1)").await;

    // Masking rules are kept and checked (as the owner, read-only), but a
    // fork cannot be masked without the superuser, which CloudNativePG
    // does not give: refused at once, with why.
    let rules = |json: serde_json::Value| serde_json::from_value::<app::masking::MaskRules>(json).unwrap();
    let one = rules(json!({"rules": [{"table": "marks", "column": "i", "method": "hash"}]}));
    assert_eq!(fleet.engine.set_masking(prod, one, None).await.unwrap(), 1);
    match fleet.engine.create(CreateRequest { fork: Some(prod.clone()), ..named("masked") }).await {
        Err(e) => assert!(e.to_string().contains("CloudNativePG gives pgfleet none"), "{e}"),
        Ok(v) => panic!("a masked fork on Kubernetes: {v:?}"),
    }
    fleet.engine.set_masking(prod, rules(json!({"rules": []})), None).await.unwrap();

    // A follower: a replica cluster streaming from prod; it sees new rows.
    fleet.create(CreateRequest { follow: Some(prod.clone()), ..named(reader) }).await;
    wait_phase(&fleet.store, reader, Phase::Available, fleet.within).await;
    let replica = fleet.cluster(reader).await.expect("a Cluster for the follower");
    assert_eq!(replica["spec"]["replica"], json!({"enabled": true, "source": prod}));
    exec(&mut source, "INSERT INTO marks VALUES (2)").await;
    let mut follower = connect_to(&fleet.engine, reader).await;
    let deadline = Instant::now() + fleet.within;
    while scalar(&mut follower, "SELECT count(*)::int8 FROM marks").await < 2 {
        assert!(Instant::now() < deadline, "the follower never saw the second row");
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    drop(follower);
    fleet.view_until(reader, "with its lag measured", |v| v.lag.is_some()).await;

    // A fork of now: pg_basebackup, not a replica, passwords of its own.
    fleet.create(CreateRequest { fork: Some(prod.clone()), ..named(trial) }).await;
    wait_phase(&fleet.store, trial, Phase::Available, fleet.within).await;
    let fork = fleet.cluster(trial).await.expect("a Cluster for the fork");
    assert!(fork["spec"]["replica"].is_null(), "{fork}");
    assert_eq!(fork["spec"]["bootstrap"]["pg_basebackup"]["source"], json!(prod));
    let mut fork_conn = connect_to(&fleet.engine, trial).await;
    exec(&mut fork_conn, "INSERT INTO marks VALUES (100)").await;
    assert_eq!(scalar(&mut fork_conn, "SELECT count(*)::int8 FROM marks").await, 3);
    assert_eq!(scalar(&mut source, "SELECT count(*)::int8 FROM marks").await, 2, "the fork writes alone");
    drop(fork_conn);
    let trial_url = reqwest::Url::parse(&fleet.engine.credentials(trial).await.unwrap()).unwrap();
    let mut prods_password_on_trial = reqwest::Url::parse(&fleet.engine.credentials(prod).await.unwrap()).unwrap();
    prods_password_on_trial.set_host(trial_url.host_str()).unwrap();
    prods_password_on_trial.set_port(trial_url.port()).unwrap();
    assert!(
        sqlx::PgConnection::connect(prods_password_on_trial.as_str()).await.is_err(),
        "prod's password does not open its fork"
    );

    if past_moment {
        // Backups: pgfleet's backup loop asks the operator for one; the window opens.
        let view = fleet.view_until(prod, "with a restore window", |v| v.restore_window.is_some()).await;
        assert!(view.archiving.as_ref().is_some_and(|a| a.backups >= 1 && a.warning.is_none()), "{view:?}");
        let backups = fleet.backup_names().await;
        assert!(backups.iter().any(|b| b.starts_with(&format!("{prod}-"))), "{backups:?}");

        // A fork of a past moment: recovery from prod's archive to it.
        exec(&mut source, "INSERT INTO marks VALUES (3)").await;
        let (moment,): (chrono::DateTime<chrono::Utc>,) =
            sqlx::query_as("SELECT clock_timestamp()").fetch_one(&mut source).await.unwrap();
        let later = Instant::now() + Duration::from_millis(20);
        while Instant::now() < later {
            tokio::task::yield_now().await;
        }
        exec(&mut source, "INSERT INTO marks VALUES (4)").await;
        let at = CreateRequest { fork: Some(prod.clone()), fork_point: Some(ForkPoint::Time(moment)), ..named(then) };
        fleet.create(at).await;
        wait_phase(&fleet.store, then, Phase::Available, fleet.within).await;
        let recovery = &fleet.cluster(then).await.expect("a Cluster for the fork of a moment")["spec"]["bootstrap"]
            ["recovery"]
            .clone();
        assert!(recovery["recoveryTarget"]["targetTime"].is_string(), "{recovery}");
        let mut past = connect_to(&fleet.engine, then).await;
        let marks: Vec<i32> = sqlx::query_scalar("SELECT i FROM marks ORDER BY i").fetch_all(&mut past).await.unwrap();
        assert_eq!(marks, vec![1, 2, 3], "as prod was at the moment, not after");
    }

    // Promotion: replica.enabled turns false; the follower takes writes.
    fleet.engine.promote(reader).await.expect("promote accepted");
    fleet.view_until(reader, "promoted", |v| v.phase == Phase::Available && v.following.is_none()).await;
    let promoted = fleet.cluster(reader).await.expect("the promoted cluster");
    assert_eq!(promoted["spec"]["replica"]["enabled"], false, "{promoted}");
    let mut promoted = connect_to(&fleet.engine, reader).await;
    exec(&mut promoted, "INSERT INTO marks VALUES (200)").await;

    // Destruction: the cluster and pgfleet's Secrets go.
    fleet.engine.destroy(trial, false).await.expect("destroy accepted");
    fleet.wait_gone(trial).await;
    assert!(fleet.cluster(trial).await.is_none(), "the fork's Cluster is deleted");
    let secrets = fleet.secret_names().await;
    assert!(!secrets.iter().any(|s| s.starts_with(&format!("{trial}-"))), "{secrets:?}");
}
