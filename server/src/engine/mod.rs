//! The control plane: turns requests into desired state and drives every
//! database towards it.
//!
//! Requests ([`Engine::create`], [`Engine::promote`], [`Engine::destroy`])
//! only validate and write the spec, then wake the [`reconciler`]. The
//! reconciler compares desired with observed state and takes idempotent
//! steps through a [`Provisioner`]; every observed change goes through the
//! [`recorder::Recorder`]. Nothing else changes a database, so pgfleet can
//! be killed at any moment and pick up where it was.

use std::ops::RangeInclusive;
use std::sync::Arc;
use std::time::Duration;

use app::model::{DatabaseView, Event, Phase};
use chrono::Utc;
use rand::distr::{Alphanumeric, SampleString};
use tokio::sync::{broadcast, Mutex, Notify};

use self::bus::Bus;
use self::recorder::Recorder;
use self::spec::{Desired, Origin, Spec};
use crate::provisioner::Provisioner;
use crate::store::Store;
use crate::supervisor::Supervisor;

pub mod admission;
pub mod backups;
pub mod bus;
pub mod credentials;
pub mod diagnostics;
pub mod error;
pub mod feed;
pub mod leadership;
pub mod masking;
pub mod noteworthy;
pub mod plans;
pub mod reconciler;
pub mod recorder;
pub mod relay;
pub mod reset;
pub mod restarts;
pub mod roles;
pub mod sampler;
pub mod schema_diff;
pub mod spec;

pub use error::EngineError;

/// The most followers one database can have: each holds a slot and a WAL
/// sender on its source, and a source's WAL must be kept for the slowest.
pub const MAX_FOLLOWERS: usize = 8;

/// How the engine runs.
#[derive(Clone, Debug)]
pub struct EngineConfig {
    /// Ports handed to databases. Keep them out of the kernel's ephemeral
    /// range (32768–60999 on Linux): an outgoing connection can take a port
    /// between the check that it is free and the server's start.
    pub ports: RangeInclusive<u16>,
    /// How often the reconciler looks without being woken.
    pub tick: Duration,
    /// How often available databases are probed for size and connections.
    pub info_every: Duration,
    /// When backups are taken.
    pub backups: backups::Schedule,
    /// How often every available database's statistics are sampled.
    pub sample_every: Duration,
}

impl Default for EngineConfig {
    fn default() -> Self {
        EngineConfig {
            ports: 15432..=16431,
            tick: Duration::from_secs(1),
            info_every: Duration::from_secs(5),
            backups: backups::Schedule::default(),
            sample_every: Duration::from_secs(10),
        }
    }
}

/// A request for a new database.
#[derive(Clone, Debug, Default)]
pub struct CreateRequest {
    pub name: Option<String>,
    pub plan: Option<String>,
    pub follow: Option<String>,
    pub fork: Option<String>,
    /// For a fork: the past moment it is made as of (`None`: now).
    pub fork_point: Option<app::model::ForkPoint>,
    /// The same key from the same caller twice makes one database.
    pub idempotency: Option<admission::IdempotencyKey>,
    /// For a fork: refuse when its owner already has this many (members).
    pub fork_quota: Option<i64>,
    /// For a fork: make it unmasked, and why (checked by the caller).
    pub unmasked_reason: Option<String>,
    /// The fork request whose fork this is (its name is held for it).
    pub for_request: Option<i64>,
    /// The user asking.
    pub owner: Option<String>,
    /// When the expiry sweep should destroy it.
    pub expires_at: Option<chrono::DateTime<Utc>>,
}

impl CreateRequest {
    /// The request a client sent, read into the engine's terms.
    pub fn new(new: app::model::NewDatabase) -> Result<CreateRequest, EngineError> {
        let fork_point = new.fork_point().map_err(EngineError::Invalid)?;
        Ok(CreateRequest {
            name: new.name,
            plan: new.plan,
            follow: new.follow,
            fork: new.fork,
            fork_point,
            unmasked_reason: new.unmasked_reason.map(|r| r.trim().to_string()),
            ..Default::default()
        })
    }
}

/// The running control plane; cheap to clone.
#[derive(Clone)]
pub struct Engine {
    inner: Arc<Inner>,
}

struct Inner {
    store: Store,
    provisioner: Arc<dyn Provisioner>,
    recorder: Recorder,
    config: EngineConfig,
    wake: Arc<Notify>,
    /// Serialises requests that allocate names and ports (the reconciler
    /// takes it too when it moves a port).
    admission: Arc<Mutex<()>>,
    /// Wakes the backup loop (a backup was asked for).
    backup_wake: Arc<Notify>,
    /// Runs the reconciler (and the server's other loops).
    supervisor: Supervisor,
    /// Whether this server runs the background work.
    leadership: leadership::Leadership,
}

impl Engine {
    /// Starts the reconciler over `store` with `provisioner`.
    pub fn start(store: Store, provisioner: Arc<dyn Provisioner>, config: EngineConfig) -> Engine {
        let bus = Bus::default();
        let recorder = Recorder::new(store.clone(), bus.clone());
        let wake = Arc::new(Notify::new());
        let backup_wake = Arc::new(Notify::new());
        let admission = Arc::new(Mutex::new(()));
        let supervisor = Supervisor::default();
        let leadership = match store.location() {
            crate::store::StoreLocation::Sqlite(_) => leadership::Leadership::sole(),
            crate::store::StoreLocation::Postgres(url) => {
                let (leadership, campaign) = leadership::Leadership::campaign(url);
                let campaign = Arc::new(campaign);
                supervisor.spawn("leadership", move |stop| {
                    let campaign = campaign.clone();
                    async move { campaign.run(stop).await }
                });
                let feed =
                    Arc::new(feed::Feed::new(url, store.clone(), bus.clone(), vec![wake.clone(), backup_wake.clone()]));
                supervisor.spawn("events", move |stop| {
                    let feed = feed.clone();
                    async move { feed.run(stop).await }
                });
                leadership
            }
        };
        if let Some(background) = provisioner.background() {
            let run = background.run.clone();
            supervisor.spawn(background.name, move |stop| run(stop));
        }
        {
            let (store, provisioner, recorder, config, wake, admission) =
                (store.clone(), provisioner.clone(), recorder.clone(), config.clone(), wake.clone(), admission.clone());
            supervisor.spawn_gated("reconciler", leadership.gate(), move |stop| {
                reconciler::Reconciler::new(
                    store.clone(),
                    provisioner.clone(),
                    recorder.clone(),
                    config.clone(),
                    wake.clone(),
                    admission.clone(),
                )
                .run(stop)
            });
        }
        {
            let (store, provisioner, recorder, schedule, wake) =
                (store.clone(), provisioner.clone(), recorder.clone(), config.backups.clone(), backup_wake.clone());
            supervisor.spawn_gated("backups", leadership.gate(), move |stop| {
                backups::BackupLoop::new(
                    store.clone(),
                    provisioner.clone(),
                    recorder.clone(),
                    schedule.clone(),
                    wake.clone(),
                )
                .run(stop)
            });
        }
        {
            let (store, provisioner, recorder, every) =
                (store.clone(), provisioner.clone(), recorder.clone(), config.sample_every);
            supervisor.spawn_gated("metrics", leadership.gate(), move |stop| {
                sampler::Sampler::new(store.clone(), provisioner.clone(), recorder.clone(), every).run(stop)
            });
        }
        Engine {
            inner: Arc::new(Inner {
                store,
                provisioner,
                recorder,
                config,
                wake,
                admission,
                backup_wake,
                supervisor,
                leadership,
            }),
        }
    }

    /// Whether this server runs the background work.
    pub fn leadership(&self) -> &leadership::Leadership {
        &self.inner.leadership
    }

    /// Wakes the reconciler, wherever it runs.
    async fn wake(&self) {
        self.inner.wake.notify_one();
        self.nudge_leader().await;
    }

    /// Tells the leading server, if it is another, that desired state
    /// changed (its feed wakes its loops).
    async fn nudge_leader(&self) {
        if let Err(e) = self.inner.store.nudge().await {
            // The leader's loops look every tick anyway.
            tracing::warn!(error = %e, "could not wake the leading server");
        }
    }

    /// Stops the reconciler and every other supervised loop; the database
    /// servers keep running.
    pub async fn shutdown(&self) {
        self.inner.supervisor.shutdown().await;
    }

    /// Stops the loops without waiting, for sync contexts such as a test's
    /// Drop.
    pub fn abort(&self) {
        self.inner.supervisor.abort();
    }

    /// The supervisor the server's other background loops join.
    pub fn supervisor(&self) -> &Supervisor {
        &self.inner.supervisor
    }

    pub fn store(&self) -> &Store {
        &self.inner.store
    }

    pub fn provisioner(&self) -> &Arc<dyn Provisioner> {
        &self.inner.provisioner
    }

    /// The recorder, for tools that publish events themselves (the SSE
    /// fan-out benchmark).
    pub fn recorder(&self) -> &Recorder {
        &self.inner.recorder
    }

    pub fn subscribe(&self) -> broadcast::Receiver<Event> {
        self.inner.recorder.bus().subscribe()
    }

    pub async fn list(&self) -> Result<Vec<DatabaseView>, EngineError> {
        Ok(self.inner.store.list_views().await?)
    }

    pub async fn get(&self, name: &str) -> Result<DatabaseView, EngineError> {
        self.inner.store.view(name).await?.ok_or_else(|| EngineError::NotFound(name.to_string()))
    }

    /// The URL to connect with.
    pub async fn credentials(&self, name: &str) -> Result<String, EngineError> {
        let spec = self.spec(name).await?;
        self.inner
            .provisioner
            .connection_url(&spec)
            .await
            .map_err(|e| EngineError::Backend(format!("cannot read {name}'s connection details: {e}")))
    }

    async fn spec(&self, name: &str) -> Result<Spec, EngineError> {
        self.inner.store.spec(name).await?.ok_or_else(|| EngineError::NotFound(name.to_string()))
    }

    /// A turn at admission: names and quotas are decided while it is held
    /// (see [`admission`]).
    pub async fn admit(&self) -> Result<admission::Admission<'_>, EngineError> {
        admission::Admission::new(self.inner.admission.lock().await, &self.inner.store).await
    }

    /// Asks for a new database; answers at once with it `provisioning`.
    pub async fn create(&self, req: CreateRequest) -> Result<DatabaseView, EngineError> {
        let admitted = self.admit().await?;
        let fingerprint = fingerprint(&req);
        if let Some(key) = &req.idempotency {
            if let Some(seen) = self.inner.store.idempotency_key(&key.caller, &key.key).await? {
                if !seen.fingerprint.is_empty() && seen.fingerprint != fingerprint {
                    return Err(EngineError::IdempotencyMismatch { key: key.key.clone() });
                }
                return match (self.inner.store.view(&seen.database).await?, seen.response) {
                    (Some(now), _) => Ok(now),
                    // Destroyed since: the first answer, as it was.
                    (None, Some(first)) => Ok(first),
                    (None, None) => Err(EngineError::NotFound(seen.database)),
                };
            }
        }
        let view = self.create_admitted(&admitted, &req).await?;
        if let Some(key) = &req.idempotency {
            self.inner.store.remember_idempotency_key(&key.caller, &key.key, &fingerprint, &view, Utc::now()).await?;
        }
        Ok(view)
    }

    async fn create_admitted(
        &self,
        admitted: &admission::Admission<'_>,
        req: &CreateRequest,
    ) -> Result<DatabaseView, EngineError> {
        let store = &self.inner.store;
        let plan = req.plan.clone().unwrap_or_else(|| plans::DEFAULT_PLAN.to_string());
        if plans::find(&plan).is_none() {
            return Err(EngineError::UnknownPlan { plan, known: plans::names() });
        }
        let specs = admitted.specs().await?;
        let name = admitted.name(&specs, req.name.as_deref(), req.for_request).await?;
        if let Some(why) = self.inner.provisioner.unfit_name(&name) {
            return Err(EngineError::NameUnfit(why));
        }
        let (origin, source) = match (&req.follow, &req.fork) {
            (Some(_), Some(_)) => return Err(EngineError::FollowAndFork),
            (Some(src), None) => {
                if followers_of(&specs, src).count() >= MAX_FOLLOWERS {
                    return Err(EngineError::TooManyFollowers { name: src.clone(), max: MAX_FOLLOWERS });
                }
                (Origin::Follow, Some(self.usable_source(src, "follow").await?))
            }
            (None, Some(src)) => (Origin::Fork, Some(self.usable_source(src, "fork").await?)),
            (None, None) => (Origin::Empty, None),
        };
        if let (Some(point), Some(src)) = (&req.fork_point, &source) {
            // Asked for with at/at_lsn, so only with fork.
            let window = self
                .inner
                .provisioner
                .restore_window(src)
                .await
                .map_err(|e| EngineError::Backend(format!("cannot read {}'s backups: {e}", src.name)))?;
            admission::check_fork_point(&src.name, point, window.as_ref(), Utc::now())?;
        }
        if let Some(reason) = &req.unmasked_reason {
            let src = match (&source, origin) {
                (Some(src), Origin::Fork) => src,
                _ => return Err(EngineError::Invalid("unmasked_reason goes with fork".into())),
            };
            if reason.trim().is_empty() || reason.chars().count() > MAX_UNMASKED_REASON {
                return Err(EngineError::Invalid(format!(
                    "say why the fork must be unmasked (1-{MAX_UNMASKED_REASON} characters)"
                )));
            }
            if masking::rules_for_fork_of(store, src).await?.is_none() {
                return Err(EngineError::NothingToUnmask(src.name.clone()));
            }
        } else if let (Origin::Fork, Some(src), Some(why)) = (origin, &source, self.inner.provisioner.cannot_mask()) {
            if masking::rules_for_fork_of(store, src).await?.is_some() {
                return Err(EngineError::Invalid(why));
            }
        }
        if let (Origin::Fork, Some(quota), Some(owner)) = (origin, req.fork_quota, &req.owner) {
            admitted.check_fork_quota(&specs, owner, quota).await?;
        }
        let port = admitted.free_port(&specs, &self.inner.config.ports)?;
        let (pg_user, pg_database, pg_password, replication_password) = match (&source, origin) {
            // A follower replicates its source's roles, passwords included;
            // it gets passwords of its own when promoted.
            (Some(src), Origin::Follow) => (
                src.pg_user.clone(),
                src.pg_database.clone(),
                src.pg_password.clone(),
                src.replication_password.clone(),
            ),
            // A fork keeps the names but gets passwords of its own.
            (Some(src), _) => (src.pg_user.clone(), src.pg_database.clone(), secret(), secret()),
            (None, _) => (format!("u{}", token(10)), format!("d{}", token(10)), secret(), secret()),
        };
        // A follower starts with its source's rules (and keeps at least them
        // while it follows).
        let (protected, fork_policy) = match (&source, origin) {
            (Some(src), Origin::Follow) => (src.protected, src.fork_policy),
            _ => (false, app::model::ForkPolicy::Open),
        };
        // A fork's server holds copies of its source's roles, which open
        // with the source's passwords: it drops them (a follower carries
        // them, as its source's replica).
        let roles = match (&source, origin) {
            (Some(src), Origin::Fork) => Spec::inherited_tombstones(roles::carrier(&specs, src)),
            _ => Vec::new(),
        };
        let spec = Spec {
            name: name.clone(),
            plan,
            origin,
            source: source.map(|s| s.name),
            port,
            pg_user,
            pg_password,
            pg_database,
            replication_password,
            desired: Desired::Running,
            take_followers: false,
            promote: false,
            created_at: Utc::now(),
            owner: req.owner.clone(),
            protected,
            fork_policy,
            expires_at: req.expires_at,
            public: false,
            fork_point: req.fork_point.clone(),
            backup_wanted_at: None,
            roles,
            reset_generation: 0,
            unmasked_reason: req.unmasked_reason.clone(),
        };
        store.insert_spec(&spec).await?;
        self.inner.recorder.note(&name, app::model::EventKind::Created, format!("{name} was requested")).await?;
        self.wake().await;
        self.get(&name).await
    }

    /// Sets protection, fork policy and whether the database is public.
    pub async fn set_access(
        &self,
        name: &str,
        access: app::model::AccessSettings,
    ) -> Result<DatabaseView, EngineError> {
        self.spec(name).await?;
        self.inner.store.set_access(name, access).await?;
        let words = if access.protected { "protected" } else { "not protected" };
        let public = if access.public { "public" } else { "private" };
        let message = format!("{name} is {words} and {public}; forks are {}", access.fork_policy.as_str());
        self.inner.recorder.note(name, app::model::EventKind::Changed, message).await?;
        self.get(name).await
    }

    /// Moves when the expiry sweep destroys `name` (`None`: never).
    pub async fn set_expiry(&self, name: &str, at: Option<chrono::DateTime<Utc>>) -> Result<DatabaseView, EngineError> {
        self.spec(name).await?;
        self.inner.store.set_expiry(name, at).await?;
        let message = match at {
            Some(at) => format!("{name} now expires at {}", at.format("%Y-%m-%d %H:%M UTC")),
            None => format!("{name} no longer expires"),
        };
        self.inner.recorder.note(name, app::model::EventKind::Changed, message).await?;
        self.get(name).await
    }

    /// A follower stops following and becomes writable.
    pub async fn promote(&self, name: &str) -> Result<DatabaseView, EngineError> {
        let spec = self.spec(name).await?;
        let phase = self.phase(name).await?;
        if spec.desired == Desired::Deleted {
            return Err(EngineError::SourceDeleting(name.to_string()));
        }
        if spec.origin != Origin::Follow || spec.promote {
            return Err(EngineError::NotAFollower(name.to_string()));
        }
        match phase {
            Phase::Available | Phase::CatchingUp => {}
            Phase::Provisioning
            | Phase::Masking
            | Phase::Promoting
            | Phase::Restarting
            | Phase::Failed
            | Phase::Deleting => return Err(EngineError::Busy { name: name.to_string(), phase }),
        }
        // While following, its rules were at least its source's (see the
        // store's view); promoted, they are its own.
        let view = self.get(name).await?;
        let access = app::model::AccessSettings {
            protected: view.protected,
            fork_policy: view.fork_policy,
            public: view.public,
        };
        // Its copies of its source's roles would still open it with the
        // source's passwords: promoted, it drops them.
        let specs = self.inner.store.specs().await?;
        let roles = Spec::inherited_tombstones(roles::carrier(&specs, &spec));
        self.inner.store.request_promotion(name, &secret(), &secret(), access, &roles).await?;
        self.wake().await;
        self.get(name).await
    }

    /// Tries a failed database again from where it failed: its copy is made
    /// again if it never completed, its server started, its promotion
    /// finished.
    pub async fn retry(&self, name: &str) -> Result<DatabaseView, EngineError> {
        let spec = self.spec(name).await?;
        if spec.desired == Desired::Deleted {
            return Err(EngineError::SourceDeleting(name.to_string()));
        }
        let phase = self.phase(name).await?;
        match phase {
            Phase::Failed => {}
            Phase::Provisioning
            | Phase::Masking
            | Phase::CatchingUp
            | Phase::Available
            | Phase::Promoting
            | Phase::Restarting
            | Phase::Deleting => return Err(EngineError::NotFailed { name: name.to_string(), phase }),
        }
        self.inner.recorder.transition(name, Phase::Provisioning, Some("trying again".into())).await?;
        self.wake().await;
        self.get(name).await
    }

    /// `name`'s measurements in `window`, stepped.
    pub async fn metrics(
        &self,
        name: &str,
        window: app::metrics::Window,
    ) -> Result<app::metrics::Metrics, EngineError> {
        self.spec(name).await?;
        let samples = self.inner.store.samples(name, &window).await?;
        Ok(app::metrics::Metrics::from_samples(name, window, &samples))
    }

    /// A primary's backups and snapshots, oldest first.
    pub async fn backups(&self, name: &str) -> Result<Vec<app::model::Backup>, EngineError> {
        let spec = self.spec(name).await?;
        if !spec.is_primary() {
            return Err(EngineError::NotAPrimary(name.to_string()));
        }
        self.inner
            .provisioner
            .backups(&spec)
            .await
            .map_err(|e| EngineError::Backend(format!("cannot read {name}'s backups: {e}")))
    }

    /// Asks for a full backup of a primary now; the backup loop takes it
    /// and its progress streams like any long work.
    pub async fn capture_backup(&self, name: &str) -> Result<DatabaseView, EngineError> {
        let spec = self.spec(name).await?;
        if spec.desired == Desired::Deleted {
            return Err(EngineError::SourceDeleting(name.to_string()));
        }
        if !spec.is_primary() {
            return Err(EngineError::NotAPrimary(name.to_string()));
        }
        let phase = self.phase(name).await?;
        match phase {
            Phase::Available => {}
            Phase::Provisioning
            | Phase::Masking
            | Phase::CatchingUp
            | Phase::Promoting
            | Phase::Restarting
            | Phase::Failed
            | Phase::Deleting => return Err(EngineError::Busy { name: name.to_string(), phase }),
        }
        self.inner.store.want_backup(name, Utc::now()).await?;
        self.inner.recorder.note(name, app::model::EventKind::Backup, "a backup was asked for".into()).await?;
        self.inner.backup_wake.notify_one();
        self.nudge_leader().await;
        self.get(name).await
    }

    /// Stops and removes a database (and, if asked, its followers).
    pub async fn destroy(&self, name: &str, take_followers: bool) -> Result<(), EngineError> {
        // Under admission: a follower asked for on another server meanwhile
        // would be left without its source.
        let _admitted = self.admit().await?;
        let spec = self.spec(name).await?;
        if spec.desired == Desired::Deleted {
            return Ok(());
        }
        let specs = self.inner.store.specs().await?;
        let followers: Vec<String> = followers_of(&specs, name).map(|s| s.name.clone()).collect();
        if !followers.is_empty() && !take_followers {
            return Err(EngineError::HasFollowers { name: name.to_string(), followers: followers.join(", ") });
        }
        let mut names = followers;
        names.push(name.to_string());
        self.inner.store.request_deletion(&names, take_followers).await?;
        self.wake().await;
        Ok(())
    }

    async fn phase(&self, name: &str) -> Result<Phase, EngineError> {
        Ok(self.inner.store.phase_of(name).await?.unwrap_or(Phase::Provisioning))
    }

    async fn usable_source(&self, name: &str, verb: &'static str) -> Result<Spec, EngineError> {
        let spec =
            self.inner.store.spec(name).await?.ok_or_else(|| EngineError::UnknownSource(name.to_string(), verb))?;
        if spec.desired == Desired::Deleted {
            return Err(EngineError::SourceDeleting(name.to_string()));
        }
        let phase = self.phase(name).await?;
        match phase {
            Phase::Available => Ok(spec),
            Phase::Deleting => Err(EngineError::SourceDeleting(name.to_string())),
            Phase::Provisioning
            | Phase::Masking
            | Phase::CatchingUp
            | Phase::Promoting
            | Phase::Restarting
            | Phase::Failed => Err(EngineError::SourceNotAvailable { name: name.to_string(), phase }),
        }
    }
}

/// The databases that follow `name` and are not being deleted.
fn followers_of<'a>(specs: &'a [Spec], name: &'a str) -> impl Iterator<Item = &'a Spec> {
    specs.iter().filter(move |s| s.follows() == Some(name) && s.desired == Desired::Running)
}

/// What makes two create requests the same request, for idempotency keys.
fn fingerprint(req: &CreateRequest) -> String {
    let fields = match &req.fork_point {
        None => serde_json::json!([req.name, req.plan, req.follow, req.fork]),
        Some(point) => serde_json::json!([req.name, req.plan, req.follow, req.fork, point]),
    }
    .to_string();
    crate::digest::sha256_hex(fields.as_bytes())
}

/// The longest reason for an unmasked fork.
pub const MAX_UNMASKED_REASON: usize = 500;

fn secret() -> String {
    Alphanumeric.sample_string(&mut rand::rng(), 32)
}

/// Lowercase letters and digits, for role and database names.
fn token(len: usize) -> String {
    Alphanumeric.sample_string(&mut rand::rng(), len * 2).to_lowercase().chars().take(len).collect()
}
