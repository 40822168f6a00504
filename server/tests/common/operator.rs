//! CloudNativePG's part, played for the Kubernetes backend's tests: it
//! reads the clusters and backups pgfleet wrote to the [`FakeApi`] and makes
//! them real with pgfleet's local backend (real PostgreSQL servers on this
//! machine: `initdb` for `bootstrap.initdb`, `pg_basebackup` for a copy,
//! pgBackRest for backups and a recovery to a moment), then writes the
//! status the operator would. Only the API server and the operator are
//! played; every database is a real server, reached where
//! [`Operator::address`] says.

use std::collections::BTreeMap;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use app::model::{BackupKind, ForkPoint, ForkPolicy, Progress};
use pgfleet::engine::spec::{Desired, Origin, Spec};
use pgfleet::provisioner::local::{LocalConfig, LocalProvisioner};
use pgfleet::provisioner::{ProgressSink, Provisioner, Recovery};
use serde_json::{json, Value};

use super::kube_api::FakeApi;
use super::TestHome;

pub const HEALTHY: &str = "Cluster in healthy state";

struct Quiet;
impl ProgressSink for Quiet {
    fn progress(&self, _: Progress) {}
}

/// The servers it made, by cluster name.
type Made = Arc<Mutex<BTreeMap<String, Spec>>>;

pub struct Operator {
    made: Made,
    task: tokio::task::JoinHandle<()>,
    _home: TestHome,
}

impl Drop for Operator {
    fn drop(&mut self) {
        self.task.abort();
    }
}

/// What a secret holds under `password` (as pgfleet applied it).
fn password(api: &FakeApi, secret: &str) -> Option<String> {
    api.get("secrets", secret)?["stringData"]["password"].as_str().map(str::to_string)
}

/// The spec the local backend needs for cluster `c`.
fn spec_of(api: &FakeApi, c: &Value, made: &BTreeMap<String, Spec>, port: u16) -> Option<Spec> {
    let name = c["metadata"]["name"].as_str()?.to_string();
    let bootstrap = &c["spec"]["bootstrap"];
    let source = c["spec"]["externalClusters"][0]["name"].as_str().map(str::to_string);
    let replica = c["spec"]["replica"]["enabled"].as_bool();
    let (origin, fork_point) = if !bootstrap["initdb"].is_null() {
        (Origin::Empty, None)
    } else if !bootstrap["recovery"].is_null() {
        let target = &bootstrap["recovery"]["recoveryTarget"];
        let point = match (target["targetTime"].as_str(), target["targetLSN"].as_str()) {
            (Some(at), _) => ForkPoint::Time(chrono::DateTime::parse_from_rfc3339(at).ok()?.to_utc()),
            (None, Some(lsn)) => ForkPoint::Lsn(lsn.to_string()),
            (None, None) => return None,
        };
        (Origin::Fork, Some(point))
    } else if replica.is_some() {
        (Origin::Follow, None)
    } else {
        (Origin::Fork, None)
    };
    let owner = c["spec"]["managed"]["roles"][0]["name"].as_str()?.to_string();
    let database = ["initdb", "pg_basebackup", "recovery"]
        .iter()
        .find_map(|b| bootstrap[b]["database"].as_str().map(str::to_string))
        .or_else(|| made.get(source.as_deref()?).map(|s| s.pg_database.clone()))?;
    Some(Spec {
        name: name.clone(),
        plan: "mini".into(),
        origin,
        source,
        port,
        pg_user: owner,
        pg_password: password(api, &format!("{name}-pgfleet-owner"))?,
        pg_database: database,
        replication_password: password(api, &format!("{name}-pgfleet-replication"))?,
        desired: Desired::Running,
        take_followers: false,
        promote: replica == Some(false),
        created_at: chrono::Utc::now(),
        owner: None,
        protected: false,
        fork_policy: ForkPolicy::Open,
        expires_at: None,
        public: false,
        fork_point,
        backup_wanted_at: None,
        roles: Vec::new(),
        reset_generation: 0,
        unmasked_reason: None,
    })
}

fn healthy(instances: &Value) -> Value {
    json!({
        "phase": HEALTHY,
        "instances": instances,
        "readyInstances": instances,
        "conditions": [
            {"type": "Ready", "status": "True"},
            {"type": "ContinuousArchiving", "status": "True"}
        ]
    })
}

impl Operator {
    /// Starts playing the operator for the clusters in `api`; servers get
    /// ports from `ports`.
    pub fn start(api: FakeApi, ports: std::ops::RangeInclusive<u16>) -> Operator {
        let home = TestHome::new();
        let local = Arc::new(LocalProvisioner::new(LocalConfig::new(home.path())).expect("PostgreSQL is installed"));
        let made: Made = Default::default();
        let task = tokio::spawn(run(api, local, made.clone(), ports));
        Operator { made, task, _home: home }
    }

    /// Where cluster `name`'s primary listens (its `-rw` service).
    pub fn address(&self) -> impl Fn(&str) -> (String, u16) + Send + Sync + 'static {
        let made = self.made.clone();
        move |name| ("127.0.0.1".into(), made.lock().unwrap().get(name).map(|s| s.port).unwrap_or(1))
    }
}

async fn run(api: FakeApi, local: Arc<LocalProvisioner>, made: Made, ports: std::ops::RangeInclusive<u16>) {
    let mut next_port = *ports.start();
    loop {
        if let Err(e) = pass(&api, &local, &made, &mut next_port).await {
            eprintln!("the played operator: {e}");
        }
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
}

async fn pass(
    api: &FakeApi,
    local: &LocalProvisioner,
    made: &Made,
    next_port: &mut u16,
) -> Result<(), pgfleet::provisioner::ProvisionError> {
    // Deleted clusters: their servers go.
    let gone: Vec<Spec> = {
        let names = api.names("clusters");
        made.lock().unwrap().values().filter(|s| !names.contains(&s.name)).cloned().collect()
    };
    for spec in gone {
        local.stop(&spec).await?;
        let source = spec.source.as_ref().and_then(|s| made.lock().unwrap().get(s).cloned());
        if let (Origin::Follow, false, Some(src)) = (spec.origin, spec.promote, source) {
            local.release_follower(&spec, &src).await?;
        }
        local.remove(&spec).await?;
        made.lock().unwrap().remove(&spec.name);
    }
    for name in api.names("clusters") {
        let Some(cluster) = api.get("clusters", &name) else { continue };
        let instances = cluster["spec"]["instances"].clone();
        let known = made.lock().unwrap().get(&name).cloned();
        match known {
            None => {
                let snapshot = made.lock().unwrap().clone();
                let Some(spec) = spec_of(api, &cluster, &snapshot, *next_port) else { continue };
                *next_port += 1;
                api.set_status(
                    "clusters",
                    &name,
                    json!({"phase": "Setting up primary", "instances": instances, "readyInstances": 0}),
                );
                let source = spec.source.as_ref().and_then(|s| snapshot.get(s).cloned());
                let outcome = make(local, &spec, source.as_ref()).await;
                made.lock().unwrap().insert(name.clone(), spec);
                match outcome {
                    Ok(()) => api.set_status("clusters", &name, healthy(&instances)),
                    Err(e) => api.set_status(
                        "clusters",
                        &name,
                        json!({"phase": "Cluster is unrecoverable and needs manual intervention", "phaseReason": e.to_string()}),
                    ),
                }
            }
            Some(spec) => {
                let hibernate = cluster["metadata"]["annotations"]["cnpg.io/hibernation"] == "on";
                let running = local.is_running(&spec).await?;
                if hibernate && running {
                    local.stop(&spec).await?;
                } else if !hibernate && !running {
                    let source = spec.source.as_ref().and_then(|s| made.lock().unwrap().get(s).cloned());
                    local
                        .start(
                            &spec,
                            if spec.origin == Origin::Follow && !spec.promote { source.as_ref() } else { None },
                        )
                        .await?;
                }
                // A replica cluster switched off: promoted, with its own roles' passwords.
                let snapshot = made.lock().unwrap().clone();
                let Some(wanted) = spec_of(api, &cluster, &snapshot, spec.port) else { continue };
                if wanted.promote && !spec.promote {
                    local.promote(&wanted).await?;
                    if let Some(src) = spec.source.as_ref().and_then(|s| snapshot.get(s)) {
                        local.release_follower(&wanted, src).await?;
                    }
                }
                let replica = wanted.origin == Origin::Follow && !wanted.promote;
                if !replica && (wanted.pg_password != spec.pg_password || wanted.promote != spec.promote) {
                    local.set_up_owner(&wanted).await?;
                }
                made.lock().unwrap().insert(name.clone(), wanted);
            }
        }
    }
    for name in api.names("backups") {
        let Some(backup) = api.get("backups", &name) else { continue };
        if !backup["status"]["phase"].is_null() {
            continue;
        }
        let cluster = backup["spec"]["cluster"]["name"].as_str().unwrap_or_default().to_string();
        let Some(spec) = made.lock().unwrap().get(&cluster).cloned() else { continue };
        api.set_status("backups", &name, json!({"phase": "running"}));
        let taken = async {
            local.ensure_archiving(&spec).await?;
            local.take_backup(&spec, BackupKind::Full, &Quiet).await?;
            local.backups(&spec).await
        }
        .await;
        match taken {
            Ok(list) => {
                let last = list.last().expect("the backup just taken");
                api.set_status(
                    "backups",
                    &name,
                    json!({"phase": "completed", "method": "barmanObjectStore",
                           "startedAt": last.started_at.to_rfc3339(), "stoppedAt": last.finished_at.to_rfc3339()}),
                );
            }
            Err(e) => api.set_status("backups", &name, json!({"phase": "failed", "error": e.to_string()})),
        }
    }
    Ok(())
}

/// What the operator does for a new cluster, done with the local backend.
async fn make(
    local: &LocalProvisioner,
    spec: &Spec,
    source: Option<&Spec>,
) -> Result<(), pgfleet::provisioner::ProvisionError> {
    match (spec.origin, source) {
        (Origin::Empty, _) => local.make_empty(spec).await?,
        (Origin::Follow, Some(src)) => local.make_follower(spec, src, &Quiet).await?,
        (Origin::Fork, Some(src)) => local.make_fork(spec, src, &Quiet).await?,
        (_, None) => {
            return Err(pgfleet::provisioner::ProvisionError::Invalid("its external cluster is unknown".into()))
        }
    }
    let follows = spec.origin == Origin::Follow;
    local.start(spec, if follows { source } else { None }).await?;
    if spec.origin == Origin::Fork {
        loop {
            match local.recovery(spec).await {
                Recovery::Done => break,
                Recovery::Stopped(why) => return Err(pgfleet::provisioner::ProvisionError::Start(why)),
                Recovery::Replaying(_) => tokio::time::sleep(Duration::from_millis(50)).await,
            }
        }
    }
    if !follows {
        local.set_up_owner(spec).await?;
    }
    Ok(())
}
