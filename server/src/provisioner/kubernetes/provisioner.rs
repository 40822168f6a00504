//! [`KubernetesProvisioner`]: pgfleet's backend seam over CloudNativePG.
//! Each step writes what the database should be (its Secrets and
//! `Cluster`, server-side applied, so a step repeated after a crash writes
//! the same thing) and then reads the operator's status until the cluster
//! is there, through [`status::phase`]. The operator does the work: copies
//! with `pg_basebackup`, recovers to a moment from the object store,
//! promotes, keeps the managed roles' passwords, backs up.
//!
//! What only PostgreSQL can say (recovery, lag, size, whether the owner's
//! password works yet) is asked over the network, as the owner, at the
//! address [`Reach`] gives.

use std::time::{Duration, Instant};

use app::model::{Archiving, Backup, BackupKind, CopyMethod, CopyTechnique, Info, Phase, Progress};
use chrono::{DateTime, Utc};

use super::cnpg::Cluster;
use super::connect::{self, Login, Reach};
use super::manifests::{self, Install, REPLICATION_ROLE};
use super::objects::{Objects, HIBERNATION};
use super::status;
use super::watch::ClusterWatch;
use crate::engine::spec::Spec;
use crate::provisioner::{probe, Background, ProgressSink, ProvisionError, Provisioner, Recovery, ReplicaState};

/// How a Kubernetes install of pgfleet runs databases.
#[derive(Clone, Debug)]
pub struct KubernetesConfig {
    pub install: Install,
    pub reach: Reach,
    /// How often the operator's status is read while waiting on it.
    pub poll: Duration,
    /// How long a cluster may take to come up before the step fails.
    pub ready_within: Duration,
    /// A kubeconfig file to use instead of the environment's.
    pub kubeconfig: Option<std::path::PathBuf>,
}

impl KubernetesConfig {
    pub fn new(install: Install) -> Self {
        let reach = Reach::Services { namespace: install.namespace.clone() };
        KubernetesConfig {
            install,
            reach,
            poll: Duration::from_secs(1),
            ready_within: Duration::from_secs(30 * 60),
            kubeconfig: None,
        }
    }
}

pub struct KubernetesProvisioner {
    objects: Objects,
    config: KubernetesConfig,
    watch: std::sync::Arc<ClusterWatch>,
}

/// A cluster as pgfleet reads it for one database.
enum Seen {
    Absent,
    Hibernated,
    Is(Phase, Option<String>),
}

impl KubernetesProvisioner {
    pub fn new(client: kube::Client, config: KubernetesConfig) -> Self {
        if let Reach::PortForward(forwards) = &config.reach {
            forwards.attach(client.clone(), &config.install.namespace);
        }
        let objects = Objects::new(client, config.install.namespace.clone());
        let watch = ClusterWatch::new(objects.clusters(), &config.install.namespace);
        KubernetesProvisioner { objects, config, watch }
    }

    /// Talks to the cluster `config.kubeconfig` names, else from the
    /// environment: in a pod its service account, else `KUBECONFIG` or
    /// `~/.kube/config`.
    pub async fn from_environment(config: KubernetesConfig) -> Result<Self, ProvisionError> {
        let none = |e: &dyn std::fmt::Display| ProvisionError::Kubernetes(format!("no Kubernetes to talk to: {e}"));
        let kube_config = match &config.kubeconfig {
            Some(path) => {
                let file = kube::config::Kubeconfig::read_from(path).map_err(|e| none(&e))?;
                kube::Config::from_custom_kubeconfig(file, &Default::default()).await.map_err(|e| none(&e))?
            }
            None => kube::Config::infer().await.map_err(|e| none(&e))?,
        };
        let client = kube::Client::try_from(kube_config).map_err(|e| none(&e))?;
        Ok(Self::new(client, config))
    }

    fn owner<'a>(db: &'a Spec) -> Login<'a> {
        Login { user: &db.pg_user, password: &db.pg_password, database: &db.pg_database }
    }

    /// The cluster from the watch's cache, or asked for when the cache
    /// does not have it (not listed yet, or just applied).
    async fn cluster(&self, name: &str) -> Result<Option<Cluster>, ProvisionError> {
        match self.watch.get(name) {
            Some(cluster) => Ok(Some(cluster)),
            None => self.objects.cluster(name).await,
        }
    }

    async fn seen(&self, db: &Spec) -> Result<Seen, ProvisionError> {
        Ok(match self.cluster(&db.name).await? {
            None => Seen::Absent,
            Some(c) if hibernated(&c) => Seen::Hibernated,
            Some(c) => {
                let (phase, words) = status::phase(&c, db.follows().is_some(), db.promote);
                Seen::Is(phase, words)
            }
        })
    }

    /// Writes `db`'s Secrets and `Cluster`.
    async fn apply(&self, db: &Spec) -> Result<(), ProvisionError> {
        let cluster = manifests::cluster(db, db.source.as_deref(), &self.config.install)
            .map_err(|e| ProvisionError::Invalid(e.to_string()))?;
        self.apply_secrets(db).await?;
        self.objects.apply(&self.objects.clusters(), &db.name, &cluster).await.map(|_| ())
    }

    /// Writes `db`'s Secrets: the passwords its managed roles take.
    async fn apply_secrets(&self, db: &Spec) -> Result<(), ProvisionError> {
        for secret in manifests::secrets(db, &self.config.install) {
            self.objects.apply_secret(&secret).await?;
        }
        Ok(())
    }

    /// Reads the status until the cluster serves (as a primary, or as a
    /// follower streaming), reporting the operator's words and, for a copy,
    /// the bytes its source has sent.
    async fn wait_serving(
        &self,
        db: &Spec,
        source: Option<&Spec>,
        sink: Option<&dyn ProgressSink>,
    ) -> Result<(), ProvisionError> {
        let started = Instant::now();
        let mut last_words = None;
        loop {
            let words = match self.seen(db).await? {
                Seen::Absent => return Err(ProvisionError::Start(format!("cluster {} is gone", db.name))),
                Seen::Is(Phase::Available | Phase::CatchingUp | Phase::Promoting, _) => return Ok(()),
                Seen::Is(Phase::Failed, words) => {
                    return Err(ProvisionError::Start(words.unwrap_or_else(|| "the operator gave up".into())))
                }
                Seen::Hibernated => Some("hibernated".to_string()),
                Seen::Is(_, words) => words,
            };
            if let Some(sink) = sink {
                let step = words.clone().unwrap_or_else(|| "waiting for the operator".into());
                let copied = match source {
                    Some(src) => self.copy_progress(src).await,
                    None => None,
                };
                let (bytes_done, bytes_total) = copied.unwrap_or((0, None));
                let seconds = started.elapsed().as_secs_f64();
                let eta_seconds = match bytes_total {
                    Some(total) if bytes_done > 0 => {
                        Some(seconds * total.saturating_sub(bytes_done) as f64 / bytes_done as f64)
                    }
                    _ => None,
                };
                sink.progress(Progress {
                    step,
                    bytes_done,
                    bytes_total,
                    eta_seconds,
                    unit: app::model::ProgressUnit::Bytes,
                });
            }
            if started.elapsed() > self.config.ready_within {
                let minutes = self.config.ready_within.as_secs() / 60;
                let why = words.or(last_words).unwrap_or_else(|| "no word from the operator".into());
                return Err(ProvisionError::Start(format!("not serving after {minutes} minutes: {why}")));
            }
            last_words = words;
            tokio::time::sleep(self.config.poll).await;
        }
    }

    /// What a base backup of `source` has streamed, as its source reports
    /// it to the role that runs it.
    async fn copy_progress(&self, source: &Spec) -> Option<(u64, Option<u64>)> {
        let login = Login { user: REPLICATION_ROLE, password: &source.replication_password, database: "postgres" };
        let mut conn = connect::connect(&self.config.reach, &source.name, login).await.ok()?;
        let row: Option<(i64, Option<i64>)> =
            sqlx::query_as("SELECT backup_streamed, backup_total FROM pg_stat_progress_basebackup LIMIT 1")
                .fetch_optional(&mut conn)
                .await
                .ok()?;
        row.map(|(done, total)| (done.max(0) as u64, total.map(|t| t.max(0) as u64)))
    }

    /// Whether `db` is in recovery, asked as its owner (which also shows
    /// the owner's password works there).
    async fn owner_in_recovery(&self, db: &Spec) -> Result<bool, ProvisionError> {
        let mut conn = connect::connect(&self.config.reach, &db.name, Self::owner(db)).await?;
        probe::in_recovery(&mut conn).await
    }

    /// Polls until `ok` holds for a connection as the owner, or the
    /// deadline passes; the last failure is the error.
    async fn until_owner(&self, db: &Spec, what: &str, ok: impl Fn(bool) -> bool) -> Result<(), ProvisionError> {
        let deadline = Instant::now() + self.config.ready_within.min(Duration::from_secs(600));
        loop {
            let last = match self.owner_in_recovery(db).await {
                Ok(in_recovery) if ok(in_recovery) => return Ok(()),
                Ok(_) => ProvisionError::Start(format!("{} is still in recovery", db.name)),
                Err(e) => e,
            };
            if Instant::now() > deadline {
                return Err(ProvisionError::Start(format!("{what}: {last}")));
            }
            tokio::time::sleep(self.config.poll).await;
        }
    }
}

fn hibernated(cluster: &Cluster) -> bool {
    cluster.metadata.annotations.as_ref().and_then(|a| a.get(HIBERNATION)).is_some_and(|v| v == "on")
}

fn parse_time(text: Option<&str>) -> Option<DateTime<Utc>> {
    DateTime::parse_from_rfc3339(text?).ok().map(|t| t.with_timezone(&Utc))
}

/// A completed operator backup as pgfleet lists it.
fn listed_backup(b: &super::cnpg::Backup) -> Option<Backup> {
    let status = b.status.as_ref()?;
    if status.phase.as_deref() != Some("completed") {
        return None;
    }
    let started_at = parse_time(status.started_at.as_deref())?;
    let finished_at = parse_time(status.stopped_at.as_deref())?;
    let kind = match status.method.as_deref() {
        Some("volumeSnapshot") => BackupKind::Snapshot,
        _ => BackupKind::Full,
    };
    Some(Backup {
        id: b.metadata.name.clone()?,
        kind,
        started_at,
        finished_at,
        size_bytes: 0,
        stored_bytes: 0,
        duration_seconds: (finished_at - started_at).num_milliseconds().max(0) as f64 / 1000.0,
    })
}

#[async_trait::async_trait]
impl Provisioner for KubernetesProvisioner {
    async fn prepare(&self) -> Result<(), ProvisionError> {
        let one = kube::api::ListParams::default().limit(1);
        self.objects.clusters().list(&one).await.map(|_| ()).map_err(|e| match &e {
            kube::Error::Api(s) if s.code == 404 => ProvisionError::Kubernetes(
                "CloudNativePG is not installed here (no postgresql.cnpg.io/v1 clusters); install its operator first"
                    .into(),
            ),
            _ => super::objects::kube_error(&format!("listing clusters in {}", self.objects.namespace()), e),
        })
    }

    fn background(&self) -> Option<Background> {
        let watch = self.watch.clone();
        Some(Background {
            name: "kubernetes-watch",
            run: std::sync::Arc::new(move |stop| {
                let watch = watch.clone();
                Box::pin(async move { watch.run(stop).await })
            }),
        })
    }

    fn unfit_name(&self, name: &str) -> Option<String> {
        manifests::check_name(name).err().map(|e| e.to_string())
    }

    async fn is_made(&self, db: &Spec) -> Result<bool, ProvisionError> {
        // The operator finishes a copy it began by itself: once asked for,
        // a cluster is pgfleet's to wait on, never to make again.
        Ok(self.objects.cluster(&db.name).await?.is_some())
    }

    async fn make_empty(&self, db: &Spec) -> Result<(), ProvisionError> {
        self.apply(db).await?;
        self.wait_serving(db, None, None).await
    }

    async fn copy_technique(&self, source: &Spec) -> CopyTechnique {
        CopyTechnique {
            method: CopyMethod::Basebackup,
            why: format!("CloudNativePG copies {} with pg_basebackup from its -rw service", source.name),
        }
    }

    async fn make_follower(&self, db: &Spec, source: &Spec, sink: &dyn ProgressSink) -> Result<(), ProvisionError> {
        self.apply(db).await?;
        self.wait_serving(db, Some(source), Some(sink)).await
    }

    async fn make_fork(&self, db: &Spec, source: &Spec, sink: &dyn ProgressSink) -> Result<(), ProvisionError> {
        self.apply(db).await?;
        // A fork of a moment is restored from the object store, not
        // streamed from the source.
        let streamed = if db.fork_point.is_none() { Some(source) } else { None };
        self.wait_serving(db, streamed, Some(sink)).await
    }

    async fn discard_partial(&self, db: &Spec) -> Result<(), ProvisionError> {
        self.objects.delete_database(&db.name).await
    }

    async fn is_running(&self, db: &Spec) -> Result<bool, ProvisionError> {
        Ok(matches!(self.seen(db).await?, Seen::Is(Phase::Available | Phase::CatchingUp | Phase::Promoting, _)))
    }

    async fn start(&self, db: &Spec, source: Option<&Spec>) -> Result<(), ProvisionError> {
        if let Seen::Hibernated = self.seen(db).await? {
            self.objects.annotate(&db.name, HIBERNATION, None).await?;
        }
        self.wait_serving(db, source, None).await
    }

    async fn stop(&self, db: &Spec) -> Result<(), ProvisionError> {
        match self.seen(db).await? {
            Seen::Absent | Seen::Hibernated => Ok(()),
            Seen::Is(..) => self.objects.annotate(&db.name, HIBERNATION, Some("on")).await,
        }
    }

    async fn remove(&self, db: &Spec) -> Result<(), ProvisionError> {
        self.objects.delete_database(&db.name).await?;
        if let Reach::PortForward(forwards) = &self.config.reach {
            forwards.forget(&db.name);
        }
        // Gone before a database of the same name can be asked for.
        let deadline = Instant::now() + Duration::from_secs(600);
        while self.objects.cluster(&db.name).await?.is_some() {
            if Instant::now() > deadline {
                return Err(ProvisionError::Kubernetes(format!("cluster {} is still being deleted", db.name)));
            }
            tokio::time::sleep(self.config.poll).await;
        }
        Ok(())
    }

    async fn set_up_owner(&self, db: &Spec) -> Result<(), ProvisionError> {
        // Its passwords are its managed roles' Secrets; the operator sets
        // them once the cluster takes writes. Additional roles are managed
        // roles of the cluster too, so its manifest changes with them.
        match db.roles.is_empty() {
            true => self.apply_secrets(db).await?,
            false => self.apply(db).await?,
        }
        if db.follows().is_some() {
            return Ok(());
        }
        self.until_owner(db, "its owner cannot sign in yet", |_| true).await
    }

    async fn promote(&self, db: &Spec) -> Result<(), ProvisionError> {
        // The manifest of a promoted follower (`replica.enabled: false`),
        // with its own passwords (promotion gave it new ones), which the
        // operator sets once it takes writes.
        self.apply(&Spec { promote: true, ..db.clone() }).await?;
        self.until_owner(db, "it did not leave recovery", |in_recovery| !in_recovery).await
    }

    async fn can_resume_follower(&self, _db: &Spec, _source: &Spec) -> Result<bool, ProvisionError> {
        // The operator keeps a replica cluster streaming, re-cloning it
        // itself when it must.
        Ok(true)
    }

    async fn release_follower(&self, _db: &Spec, _source: &Spec) -> Result<(), ProvisionError> {
        // A replica cluster holds no slot on its source.
        Ok(())
    }

    async fn sweep_followers(&self, _source: &Spec, _followers: &[&Spec]) -> Result<(), ProvisionError> {
        Ok(())
    }

    async fn recovery(&self, db: &Spec) -> Recovery {
        match self.seen(db).await {
            Ok(Seen::Is(Phase::Failed, words)) => {
                Recovery::Stopped(words.unwrap_or_else(|| "the operator gave up on it".into()))
            }
            Ok(Seen::Absent) => Recovery::Stopped(format!("cluster {} is gone", db.name)),
            Ok(Seen::Is(Phase::Available, _)) => match self.owner_in_recovery(db).await {
                Ok(false) => Recovery::Done,
                Ok(true) | Err(_) => Recovery::Replaying(None),
            },
            Ok(Seen::Is(_, words)) => Recovery::Replaying(words.map(|step| Progress {
                step,
                bytes_done: 0,
                bytes_total: None,
                eta_seconds: None,
                unit: app::model::ProgressUnit::Bytes,
            })),
            Ok(Seen::Hibernated) | Err(_) => Recovery::Replaying(None),
        }
    }

    async fn ensure_archiving(&self, db: &Spec) -> Result<(), ProvisionError> {
        // Archiving is in the cluster's own spec (`backup`), applied with it.
        match self.config.install.backups.object_store {
            Some(_) => Ok(()),
            None => Err(ProvisionError::Invalid(format!(
                "{} archives no WAL: this install has no object store (serve --backup-destination)",
                db.name
            ))),
        }
    }

    async fn archiving(&self, db: &Spec, backups: &[Backup]) -> Result<Archiving, ProvisionError> {
        let cluster = self.cluster(&db.name).await?;
        let condition = cluster
            .as_ref()
            .and_then(|c| c.status.as_ref())
            .and_then(|s| s.conditions.iter().find(|c| c.type_ == "ContinuousArchiving").cloned());
        let failing = condition
            .filter(|c| c.status == "False")
            .map(|c| c.message.or(c.reason).unwrap_or_else(|| "the operator reports archiving failing".into()));
        Ok(Archiving {
            last_archived_wal: None,
            last_archived_at: None,
            warning: failing.as_ref().map(|why| format!("WAL archiving is failing ({why})")),
            failing,
            pending_segments: 0,
            backups: backups.len() as u64,
            last_backup_at: backups.last().map(|b| b.finished_at),
            stored_bytes: 0,
        })
    }

    async fn backups(&self, db: &Spec) -> Result<Vec<Backup>, ProvisionError> {
        let mut list: Vec<Backup> = self.objects.backups_of(&db.name).await?.iter().filter_map(listed_backup).collect();
        list.sort_by_key(|b| b.finished_at);
        Ok(list)
    }

    fn backup_kinds(&self) -> Vec<BackupKind> {
        match (&self.config.install.backups.object_store, &self.config.install.backups.snapshot_class) {
            (Some(_), Some(_)) => vec![BackupKind::Full, BackupKind::Snapshot],
            (Some(_), None) => vec![BackupKind::Full],
            (None, Some(_)) => vec![BackupKind::Snapshot],
            (None, None) => vec![],
        }
    }

    async fn take_backup(&self, db: &Spec, kind: BackupKind, sink: &dyn ProgressSink) -> Result<(), ProvisionError> {
        let id = format!("{}-{}", db.name, Utc::now().format("%Y%m%d%H%M%S"));
        let backup = manifests::backup_now(db, &id, kind, &self.config.install)
            .ok_or_else(|| ProvisionError::Invalid("this install keeps no backups of that kind".into()))?;
        self.objects.apply(&self.objects.backups(), &id, &backup).await?;
        let started = Instant::now();
        loop {
            let now = self
                .objects
                .backups()
                .get_opt(&id)
                .await
                .map_err(|e| super::objects::kube_error("reading a backup", e))?;
            let phase = now.as_ref().and_then(|b| b.status.as_ref()).and_then(|s| s.phase.clone());
            match phase.as_deref() {
                Some("completed") => return Ok(()),
                Some("failed") => {
                    let why = now.and_then(|b| b.status).and_then(|s| s.error).unwrap_or_default();
                    return Err(ProvisionError::Tool { tool: "the operator's backup", reason: why });
                }
                _ => {}
            }
            if now.is_none() {
                return Err(ProvisionError::Kubernetes(format!("backup {id} was deleted while it ran")));
            }
            sink.progress(Progress {
                step: format!("backing up ({})", phase.as_deref().unwrap_or("pending")),
                bytes_done: 0,
                bytes_total: None,
                eta_seconds: None,
                unit: app::model::ProgressUnit::Bytes,
            });
            if started.elapsed() > self.config.ready_within {
                return Err(ProvisionError::Kubernetes(format!("backup {id} did not finish in time")));
            }
            tokio::time::sleep(self.config.poll).await;
        }
    }

    async fn expire(&self, db: &Spec, keep: chrono::Duration) -> Result<bool, ProvisionError> {
        // The object store's own retention is the cluster's
        // `retentionPolicy`; the Backup objects of what it dropped go here,
        // the newest always kept.
        let backups = self.backups(db).await?;
        let cutoff = Utc::now() - keep;
        let mut removed = false;
        for old in backups.iter().rev().skip(1).filter(|b| b.finished_at < cutoff) {
            self.objects.delete_backup(&old.id).await?;
            removed = true;
        }
        Ok(removed)
    }

    async fn replica_state(&self, db: &Spec, source: Option<&Spec>) -> Result<ReplicaState, ProvisionError> {
        let mut source_conn = match source {
            Some(src) => Some(connect::connect(&self.config.reach, &src.name, Self::owner(src)).await?),
            None => None,
        };
        let mut conn = connect::connect(&self.config.reach, &db.name, Self::owner(db)).await?;
        probe::replica_state(source_conn.as_mut(), &mut conn).await
    }

    async fn info(&self, db: &Spec) -> Result<Info, ProvisionError> {
        let mut conn = connect::connect(&self.config.reach, &db.name, Self::owner(db)).await?;
        probe::server_info(&mut conn).await
    }

    fn cannot_mask(&self) -> Option<String> {
        Some(
            "masking needs the superuser in the fork, and CloudNativePG gives pgfleet none; on Kubernetes a fork of a \
             database with masking rules can only be made unmasked (an admin's call)"
                .into(),
        )
    }

    async fn connect(&self, db: &Spec) -> Result<sqlx::postgres::PgConnection, ProvisionError> {
        // CloudNativePG gives pgfleet no superuser: the owner sees its own
        // sessions whole and others' without their query text.
        connect::connect(&self.config.reach, &db.name, Self::owner(db)).await
    }

    async fn connection_url(&self, db: &Spec) -> Result<String, ProvisionError> {
        let (host, port) = self.config.reach.address(&db.name)?;
        let query = self.config.reach.url_query();
        Ok(format!("postgres://{}:{}@{host}:{port}/{}{query}", db.pg_user, db.pg_password, db.pg_database))
    }

    async fn log_tail(&self, db: &Spec) -> String {
        match self.seen(db).await {
            Ok(Seen::Is(_, Some(words))) => format!("the operator says: {words}"),
            Ok(Seen::Is(_, None)) => "the operator reports nothing wrong".into(),
            Ok(Seen::Hibernated) => "hibernated".into(),
            Ok(Seen::Absent) => format!("cluster {} does not exist", db.name),
            Err(e) => e.to_string(),
        }
    }
}
