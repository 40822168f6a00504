//! The CloudNativePG backend against a real Kubernetes cluster: the same
//! life `kubernetes.rs` checks in memory (`common::kube_fleet::lifecycle`),
//! here with the real operator, plus a cluster that never becomes ready.
//!
//! It runs only when `PGFLEET_TEST_KUBECONFIG` names a kubeconfig for a
//! cluster with CloudNativePG installed; otherwise every test is reported
//! *ignored* (never passed) and the run says why. Its own harness
//! (libtest-mimic) is what lets a test be ignored for a reason found at
//! run time.
//!
//! - `PGFLEET_TEST_KUBECONFIG`: the kubeconfig (its current context);
//! - `PGFLEET_TEST_NAMESPACE`: where the clusters go (default `default`);
//! - `PGFLEET_TEST_REACH`: `port-forward` (default: through the API server)
//!   or `services` (when the tests run in a pod of that cluster);
//! - `PGFLEET_TEST_STORAGE_CLASS`, `PGFLEET_TEST_PG_IMAGE`: optional;
//! - `PGFLEET_TEST_BACKUP_DESTINATION` (`s3://…`), `…_BACKUP_ENDPOINT`,
//!   `…_BACKUP_CREDENTIALS` (a Secret in the namespace with
//!   `ACCESS_KEY_ID` and `ACCESS_SECRET_KEY`; default `pgfleet-backups`):
//!   without a destination the fork of a past moment is not tried, and the
//!   test that needs it is reported ignored.
//!
//! Every database a test makes carries a suffix of this run and is deleted
//! (Cluster, Backups, Secrets) when the test ends, passed or failed.

mod common;

use std::future::Future;
use std::path::PathBuf;
use std::time::Duration;

use app::model::Phase;
use common::kube_fleet::{lifecycle, named, KubeFleet, Names};
use libtest_mimic::{Arguments, Failed, Trial};
use pgfleet::provisioner::kubernetes::connect::Reach;
use pgfleet::provisioner::kubernetes::manifests::{BackupStore, Install, ObjectStore};
use pgfleet::provisioner::kubernetes::objects::Objects;
use pgfleet::provisioner::kubernetes::KubernetesConfig;

/// A real cluster pulls images and binds volumes: minutes, not seconds.
const WITHIN: Duration = Duration::from_secs(15 * 60);
/// How long the cluster that can never start is given before pgfleet
/// gives up on it.
const NEVER_READY_WITHIN: Duration = Duration::from_secs(3 * 60);

/// The cluster to run against, from the environment.
#[derive(Clone)]
struct Target {
    kubeconfig: PathBuf,
    namespace: String,
    services: bool,
    storage_class: Option<String>,
    image: Option<String>,
    object_store: Option<ObjectStore>,
}

impl Target {
    fn from_env() -> Option<Target> {
        let var = |name: &str| std::env::var(name).ok().filter(|v| !v.is_empty());
        let kubeconfig = PathBuf::from(var("PGFLEET_TEST_KUBECONFIG")?);
        let object_store = var("PGFLEET_TEST_BACKUP_DESTINATION").map(|destination| ObjectStore {
            destination,
            endpoint: var("PGFLEET_TEST_BACKUP_ENDPOINT"),
            credentials: var("PGFLEET_TEST_BACKUP_CREDENTIALS").unwrap_or_else(|| "pgfleet-backups".into()),
        });
        Some(Target {
            kubeconfig,
            namespace: var("PGFLEET_TEST_NAMESPACE").unwrap_or_else(|| "default".into()),
            services: var("PGFLEET_TEST_REACH").as_deref() == Some("services"),
            storage_class: var("PGFLEET_TEST_STORAGE_CLASS"),
            image: var("PGFLEET_TEST_PG_IMAGE"),
            object_store,
        })
    }

    fn config(&self, image: Option<String>) -> KubernetesConfig {
        let install = Install {
            namespace: self.namespace.clone(),
            image,
            storage_class: self.storage_class.clone(),
            backups: BackupStore { object_store: self.object_store.clone(), snapshot_class: None },
        };
        let mut config = KubernetesConfig::new(install);
        config.kubeconfig = Some(self.kubeconfig.clone());
        if !self.services {
            config.reach = Reach::port_forward();
        }
        config
    }

    async fn client(&self) -> kube::Client {
        self.try_client().await.unwrap_or_else(|e| panic!("{e}"))
    }

    async fn try_client(&self) -> Result<kube::Client, String> {
        let unusable =
            |e: &dyn std::fmt::Display| format!("PGFLEET_TEST_KUBECONFIG={}: {e}", self.kubeconfig.display());
        let file = kube::config::Kubeconfig::read_from(&self.kubeconfig).map_err(|e| unusable(&e))?;
        let config = kube::Config::from_custom_kubeconfig(file, &Default::default()).await.map_err(|e| unusable(&e))?;
        kube::Client::try_from(config).map_err(|e| unusable(&e))
    }
}

/// Runs `test` on its own runtime, then deletes `names`' resources
/// whatever became of it, then reports its outcome.
fn run<F>(target: &Target, names: Vec<String>, test: impl FnOnce(Target) -> F) -> Result<(), Failed>
where
    F: Future<Output = ()>,
{
    let runtime = tokio::runtime::Builder::new_multi_thread().worker_threads(2).enable_all().build()?;
    let outcome = std::panic::catch_unwind(std::panic::AssertUnwindSafe(|| runtime.block_on(test(target.clone()))));
    runtime.block_on(async {
        let client = match target.try_client().await {
            Ok(client) => client,
            Err(e) => return eprintln!("cleaning up: {e}"),
        };
        let objects = Objects::new(client, target.namespace.clone());
        for name in &names {
            if let Err(e) = objects.delete_database(name).await {
                eprintln!("cleaning up {name}: {e}");
            }
        }
    });
    outcome.map_err(|panic| {
        let why = panic
            .downcast_ref::<String>()
            .cloned()
            .or_else(|| panic.downcast_ref::<&str>().map(|s| s.to_string()))
            .unwrap_or_else(|| "panicked".into());
        why.into()
    })
}

/// A suffix no other run shares: names stay short (Kubernetes allows 40).
fn suffix() -> String {
    let nanos = std::time::SystemTime::now().duration_since(std::time::UNIX_EPOCH).unwrap_or_default().subsec_nanos();
    format!("-{:x}{:04x}", std::process::id() & 0xfff, nanos & 0xffff)
}

async fn lifecycle_on(target: Target, names: Names, past_moment: bool) {
    let fleet = KubeFleet::start(target.client().await, target.config(target.image.clone()), WITHIN).await;
    lifecycle(&fleet, &names, past_moment).await;
    for name in [&names.then, &names.reader, &names.prod] {
        if fleet.store.view(name).await.unwrap().is_some() {
            fleet.engine.destroy(name, false).await.expect("destroy accepted");
            fleet.wait_gone(name).await;
            assert!(fleet.cluster(name).await.is_none(), "{name}'s Cluster is deleted");
        }
    }
}

async fn never_ready(target: Target, name: String) {
    // An image no registry has: the operator never gets a pod running.
    let image = Some("ghcr.io/cloudnative-pg/postgresql:0.0-pgfleet-no-such-image".to_string());
    let mut config = target.config(image);
    config.ready_within = NEVER_READY_WITHIN;
    let fleet = KubeFleet::start(target.client().await, config, WITHIN).await;
    fleet.create(named(&name)).await;
    let failed = common::pg::wait_phase(&fleet.store, &name, Phase::Failed, WITHIN).await;
    let message = failed.message.unwrap_or_default();
    assert!(message.contains("not serving after"), "pgfleet gives up, saying so: {message}");
    assert!(message.len() > "not serving after 3 minutes: ".len(), "with the operator's words: {message}");
    fleet.engine.destroy(&name, false).await.expect("a failed database can be destroyed");
    fleet.wait_gone(&name).await;
}

fn main() -> std::process::ExitCode {
    let mut args = Arguments::from_args();
    args.test_threads.get_or_insert(1);
    let target = Target::from_env();
    let mut trials = Vec::new();

    let run_id = suffix();
    let now = Names::with_suffix(&format!("{run_id}a"));
    let then = Names::with_suffix(&format!("{run_id}b"));
    let doomed = format!("doomed{run_id}");

    let t = target.clone();
    let names = now.all().map(String::from).to_vec();
    trials.push(Trial::test("a_database_its_follower_a_fork_and_a_promotion_on_cloudnativepg", move || {
        let t = t.expect("PGFLEET_TEST_KUBECONFIG is not set");
        run(&t, names, |t| lifecycle_on(t, now, false))
    }));

    let t = target.clone();
    let names = then.all().map(String::from).to_vec();
    let has_store = target.as_ref().is_some_and(|t| t.object_store.is_some());
    trials.push(
        Trial::test("a_fork_of_a_past_moment_recovers_from_the_object_store", move || {
            let t = t.expect("PGFLEET_TEST_KUBECONFIG is not set");
            run(&t, names, |t| lifecycle_on(t, then, true))
        })
        .with_ignored_flag(!has_store),
    );

    let t = target.clone();
    trials.push(Trial::test("a_cluster_that_never_becomes_ready_fails_with_the_operators_words", move || {
        let t = t.expect("PGFLEET_TEST_KUBECONFIG is not set");
        let name = doomed.clone();
        run(&t, vec![doomed], |t| never_ready(t, name))
    }));

    match &target {
        None => {
            eprintln!(
                "kubernetes_live: NOT RUN. These tests need a real Kubernetes cluster with CloudNativePG: set \
                 PGFLEET_TEST_KUBECONFIG to its kubeconfig (see the README). They are reported as ignored, not passed."
            );
            trials = trials.into_iter().map(|t| t.with_ignored_flag(true)).collect();
        }
        Some(t) if !has_store => eprintln!(
            "kubernetes_live: against {}; the fork of a past moment is NOT RUN (ignored): set \
             PGFLEET_TEST_BACKUP_DESTINATION to an object store the cluster can write",
            t.kubeconfig.display()
        ),
        Some(t) => eprintln!("kubernetes_live: against {}", t.kubeconfig.display()),
    }
    libtest_mimic::run(&args, trials).exit_code()
}
