//! The reconcile loop: one loop, woken by a timer and by a notify after
//! each request, that compares each database's spec with its observed
//! phase and starts the step that moves it on.
//!
//! Steps that take a while (copying, promoting, deleting) run as one task
//! per database, so a long copy never delays supervision of the others; the
//! loop never runs two tasks for one database. Every step is idempotent and
//! starts by looking at what is really there (through the backend), so
//! a pgfleet killed at any moment resumes correctly: a half-made copy is
//! discarded and made again, a running server is adopted, a promotion or
//! deletion is finished.

use std::collections::HashMap;
use std::sync::Arc;
use std::time::{Duration, Instant};

use app::model::{EventKind, Phase, Progress, ProgressUnit};
use tokio::sync::{watch, Notify};
use tokio::task::{AbortHandle, JoinSet};

use super::recorder::Recorder;
use super::relay::{Pacer, Relay};
use super::restarts::{AfterFailure, Restarts};
use super::spec::{Desired, ExtraRole, Origin, Spec};
use super::EngineConfig;
use crate::insights::masking::{self as masking_sql, MaskError};
use crate::provisioner::{ProgressSink, ProvisionError, Provisioner, Recovery};
use crate::store::status::MaskState;
use crate::store::{Store, StoreError};

/// A follower this close to its source (in WAL bytes) has caught up.
pub const CAUGHT_UP_BYTES: u64 = 1024 * 1024;
/// How often a database that never served anyone moves to another port
/// when its port is taken, before it fails.
const PORT_MOVES: u32 = 3;
const SWEEP_EVERY: Duration = Duration::from_secs(30);
const PRUNE_EVERY: Duration = Duration::from_secs(60);

/// What one task is doing for a database.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Work {
    Provision,
    CatchUp,
    Promote,
    Delete,
    Supervise,
}

/// What the reconciler does next for one database.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Step {
    Nothing,
    Start(Work),
    /// Stop the running work first (it is moot), then start this.
    Replace(Work),
}

/// What the reconciler sees of a database besides its spec.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
struct Seen {
    phase: Phase,
    /// The work running for it.
    running: Option<Work>,
    /// For an available, promoted follower: whether it still follows.
    still_follows: bool,
    /// Its data was made before the last reset asked for.
    stale: bool,
}

#[cfg(test)]
impl Seen {
    fn new(phase: Phase) -> Seen {
        Seen { phase, running: None, still_follows: false, stale: false }
    }
}

/// The next step for a database, from its spec and what is seen of it.
/// Pure, so every case is unit-tested on its own.
fn next_step(spec: &Spec, seen: Seen) -> Step {
    let Seen { phase, running, still_follows, stale } = seen;
    if spec.desired == Desired::Deleted {
        return match running {
            Some(Work::Delete) => Step::Nothing,
            Some(_) => Step::Replace(Work::Delete),
            None => Step::Start(Work::Delete),
        };
    }
    // A reset was asked for: the data there is moot, and so is watching
    // over it. (A failed reset waits for a retry, as any failure does.)
    if stale && matches!(phase, Phase::Provisioning | Phase::Masking | Phase::Available | Phase::Restarting) {
        return match running {
            Some(Work::Provision) => Step::Nothing,
            Some(_) => Step::Replace(Work::Provision),
            None => Step::Start(Work::Provision),
        };
    }
    if running.is_some() {
        return Step::Nothing;
    }
    match phase {
        Phase::Failed | Phase::Deleting => Step::Nothing,
        // Masking is part of making a fork; a pgfleet that died during it
        // finds the masking begun and makes the fork again.
        Phase::Provisioning | Phase::Masking => Step::Start(Work::Provision),
        Phase::CatchingUp if spec.promote => Step::Start(Work::Promote),
        Phase::CatchingUp => Step::Start(Work::CatchUp),
        Phase::Promoting => Step::Start(Work::Promote),
        Phase::Available if spec.origin == Origin::Follow && spec.promote && still_follows => {
            Step::Start(Work::Promote)
        }
        Phase::Available | Phase::Restarting => Step::Start(Work::Supervise),
    }
}

/// Everything a step needs; cheap to clone into a task.
#[derive(Clone)]
struct Ctx {
    store: Store,
    provisioner: Arc<dyn Provisioner>,
    recorder: Recorder,
    /// Databases that are down, with their run of failed starts.
    restarts: Arc<std::sync::Mutex<HashMap<String, Restarts>>>,
    /// The owner password and roles this process last applied to each
    /// database (`set_up_owner`): ones not applied yet here (after a
    /// restart of pgfleet, or a change that died half-way) are applied once.
    owners_applied: Arc<std::sync::Mutex<HashMap<String, OwnerSetUp>>>,
    /// The engine's admission lock and port range, for moving the port of a
    /// database whose port was taken before it ever served.
    admission: Arc<tokio::sync::Mutex<()>>,
    ports: std::ops::RangeInclusive<u16>,
}

pub struct Reconciler {
    ctx: Ctx,
    config: EngineConfig,
    wake: Arc<Notify>,
    /// Dropping the set (when the loop ends or is aborted) aborts them all.
    join: JoinSet<()>,
    tasks: HashMap<String, (Work, AbortHandle)>,
    last_info: HashMap<String, Instant>,
    last_sweep: Option<Instant>,
    sweep_task: Option<AbortHandle>,
    last_prune: Instant,
}

impl Reconciler {
    pub fn new(
        store: Store,
        provisioner: Arc<dyn Provisioner>,
        recorder: Recorder,
        config: EngineConfig,
        wake: Arc<Notify>,
        admission: Arc<tokio::sync::Mutex<()>>,
    ) -> Self {
        Reconciler {
            ctx: Ctx {
                store,
                provisioner,
                recorder,
                restarts: Default::default(),
                owners_applied: Default::default(),
                admission,
                ports: config.ports.clone(),
            },
            config,
            wake,
            join: JoinSet::new(),
            tasks: HashMap::new(),
            last_info: HashMap::new(),
            last_sweep: None,
            sweep_task: None,
            last_prune: Instant::now(),
        }
    }

    /// Runs until `stop` turns true; the supervisor starts it again if it
    /// panics.
    pub async fn run(mut self, mut stop: watch::Receiver<bool>) {
        let prepare = self.ctx.provisioner.clone();
        tokio::spawn(async move {
            if let Err(e) = prepare.prepare().await {
                tracing::error!(error = %e, "the provisioner could not prepare");
            }
        });
        let mut pacer = Pacer::new(self.config.tick, self.wake.clone());
        while pacer.next(&mut stop).await {
            if let Err(e) = self.pass().await {
                tracing::error!(error = %e, "reconcile pass failed");
            }
        }
        self.join.shutdown().await;
    }

    async fn pass(&mut self) -> Result<(), StoreError> {
        while self.join.try_join_next().is_some() {}
        self.tasks.retain(|_, (_, task)| !task.is_finished());
        let specs = self.ctx.store.specs().await?;
        for spec in &specs {
            let phase = self.ctx.store.phase_of(&spec.name).await?.unwrap_or(Phase::Provisioning);
            let running = self.tasks.get(&spec.name).map(|(work, _)| *work);
            // Read only where it decides anything: a promoted follower that
            // is available may not have let go of its source yet.
            let still_follows = if phase == Phase::Available && spec.origin == Origin::Follow && spec.promote {
                self.ctx.store.view(&spec.name).await?.and_then(|v| v.following).is_some()
            } else {
                false
            };
            let stale =
                spec.reset_generation > 0 && spec.reset_generation > self.ctx.store.made_generation(&spec.name).await?;
            match next_step(spec, Seen { phase, running, still_follows, stale }) {
                Step::Nothing => {}
                Step::Start(work) => self.spawn(spec, work),
                Step::Replace(work) => {
                    // Whatever it was doing (a copy, say) is moot now.
                    if let Some((_, task)) = self.tasks.remove(&spec.name) {
                        task.abort();
                        while !task.is_finished() {
                            tokio::task::yield_now().await;
                        }
                    }
                    self.spawn(spec, work);
                }
            }
        }
        self.last_info.retain(|name, _| specs.iter().any(|s| &s.name == name));

        if self.last_sweep.is_none_or(|t| t.elapsed() >= SWEEP_EVERY)
            && self.sweep_task.as_ref().is_none_or(|t| t.is_finished())
        {
            self.last_sweep = Some(Instant::now());
            let ctx = self.ctx.clone();
            self.sweep_task = Some(self.join.spawn(async move { sweep_followers(&ctx).await }));
        }
        if self.last_prune.elapsed() >= PRUNE_EVERY {
            self.last_prune = Instant::now();
            self.ctx.store.prune_events().await?;
            self.ctx.store.prune_phase_history().await?;
            self.ctx.store.prune_samples().await?;
            self.ctx.store.prune_idempotency_keys().await?;
        }
        Ok(())
    }

    fn spawn(&mut self, spec: &Spec, work: Work) {
        let ctx = self.ctx.clone();
        let spec = spec.clone();
        let name = spec.name.clone();
        let probe_info = match work {
            Work::Supervise => {
                let due = self.last_info.get(&name).is_none_or(|t| t.elapsed() >= self.config.info_every);
                if due {
                    self.last_info.insert(name.clone(), Instant::now());
                }
                due
            }
            _ => false,
        };
        let task = self.join.spawn(async move {
            let result = match work {
                Work::Provision => provision(&ctx, &spec).await,
                Work::CatchUp => catch_up(&ctx, &spec).await,
                Work::Promote => promote(&ctx, &spec).await,
                Work::Delete => delete(&ctx, &spec).await,
                Work::Supervise => supervise(&ctx, &spec, probe_info).await,
            };
            if let Err(e) = result {
                tracing::error!(db = %spec.name, ?work, error = %e, "reconcile step could not record its outcome");
            }
        });
        self.tasks.insert(name, (work, task));
    }
}

/// The database a spec follows or forked from, if it still exists.
async fn source_of(ctx: &Ctx, spec: &Spec) -> Result<Option<Spec>, StoreError> {
    match &spec.source {
        Some(src) => ctx.store.spec(src).await,
        None => Ok(None),
    }
}

async fn provision(ctx: &Ctx, spec: &Spec) -> Result<(), StoreError> {
    let prov = &ctx.provisioner;
    let source = source_of(ctx, spec).await?;
    if spec.reset_generation > ctx.store.made_generation(&spec.name).await? {
        if ctx.store.phase_of(&spec.name).await? != Some(Phase::Provisioning) {
            let message = format!("resetting from {}", spec.source.as_deref().unwrap_or("its source"));
            ctx.recorder.transition(&spec.name, Phase::Provisioning, Some(message)).await?;
        }
        // The data made before goes, and its backups with it: the new copy
        // starts a history of its own. Its sessions were told when the
        // reset was asked for.
        if let Err(e) = discard_data(prov, spec).await {
            return fail(ctx, spec, format!("could not remove its data to reset it: {e}")).await;
        }
        // Its restore window went with its backups; the backup loop
        // records the new one.
        ctx.recorder.recoverability(&spec.name, None, None).await?;
    }
    let mut made = match prov.is_made(spec).await {
        Ok(made) => made,
        Err(e) => return fail(ctx, spec, format!("cannot inspect its files: {e}")).await,
    };
    // A follower released when it failed cannot catch up from where it
    // stopped (its WAL may be gone): it is copied again.
    if let (true, Some(_), Some(src)) = (made, spec.follows(), &source) {
        if let Ok(resumable) = prov.can_resume_follower(spec, src).await {
            if !resumable {
                tracing::info!(db = %spec.name, "it cannot resume from its source; copying the follower again");
                let removed = async {
                    prov.stop(spec).await?;
                    prov.remove(spec).await
                };
                if let Err(e) = removed.await {
                    return fail(ctx, spec, format!("could not remove the old copy: {e}")).await;
                }
                made = false;
            }
        }
    }
    // A masking that began and did not finish left some tables masked and
    // some not: the data is made again (masked twice, hashes would differ).
    if made && matches!(ctx.store.mask_state(&spec.name).await?, MaskState::Begun(_)) {
        tracing::info!(db = %spec.name, "its masking did not finish; copying it again");
        ctx.recorder
            .transition(&spec.name, Phase::Provisioning, Some("its masking was interrupted; copying it again".into()))
            .await?;
        if let Err(e) = discard_data(prov, spec).await {
            return fail(ctx, spec, format!("could not remove its half-masked data: {e}")).await;
        }
        made = false;
    }
    if !made {
        ctx.recorder.masking(&spec.name, MaskState::None).await?;
        let sink = Relay::start(&ctx.recorder, &spec.name);
        // How a copy of the running source is made; a fork of a past moment
        // is not one (its progress says which backup or snapshot it starts
        // from, and its view has the moment).
        if let (Origin::Follow | Origin::Fork, Some(src), None) = (spec.origin, &source, &spec.fork_point) {
            ctx.recorder.copying(&spec.name, prov.copy_technique(src).await).await?;
        }
        let made = match (spec.origin, &source) {
            (Origin::Empty, _) => prov.make_empty(spec).await,
            (Origin::Follow, Some(src)) => prov.make_follower(spec, src, &sink).await,
            (Origin::Fork, Some(src)) => prov.make_fork(spec, src, &sink).await,
            (Origin::Follow | Origin::Fork, None) => Err(ProvisionError::Invalid(format!(
                "its source {} no longer exists",
                spec.source.as_deref().unwrap_or("?")
            ))),
        };
        sink.finish().await;
        if let Err(e) = made {
            if let Err(cleanup) = prov.discard_partial(spec).await {
                tracing::warn!(db = %spec.name, error = %cleanup, "could not remove a partial copy");
            }
            if let (Origin::Follow, Some(src)) = (spec.origin, &source) {
                let _ = prov.release_follower(spec, src).await;
            }
            let what = match (spec.origin, &spec.source) {
                (Origin::Empty, _) | (_, None) => "could not create the database".to_string(),
                (Origin::Follow, Some(src)) => format!("could not copy {src} to follow it"),
                (Origin::Fork, Some(src)) => format!("could not copy {src} to fork it"),
            };
            return fail(ctx, spec, format!("{what}: {e}")).await;
        }
        ctx.recorder.made(&spec.name, spec.reset_generation).await?;
    }
    let start_source = if spec.follows().is_some() { source.as_ref() } else { None };
    let mut spec = spec.clone();
    let mut moves = 0;
    loop {
        match prov.start(&spec, start_source).await {
            Ok(()) => break,
            // Nobody has its URL yet, so it may move.
            Err(ProvisionError::PortTaken { port, holder })
                if moves < PORT_MOVES && !ctx.store.ever_available(&spec.name).await? =>
            {
                moves += 1;
                let new = match move_port(ctx, &spec).await {
                    Ok(new) => new,
                    Err(e) => {
                        return fail(ctx, &spec, format!("its port {port} is taken and no other is free: {e}")).await
                    }
                };
                let by = holder.map(|h| format!(" by {h}")).unwrap_or_default();
                let message =
                    format!("its port {port} was taken{by} before it first started; it listens on {new} instead");
                ctx.recorder.note(&spec.name, EventKind::Changed, message).await?;
                spec.port = new;
            }
            Err(e) => return fail(ctx, &spec, e.to_string()).await,
        }
    }
    let spec = &spec;
    if spec.follows().is_some() {
        ctx.recorder.transition(&spec.name, Phase::CatchingUp, None).await?;
        return catch_up(ctx, spec).await;
    }
    if spec.origin == Origin::Fork {
        let step = match &spec.fork_point {
            None => "recovering to the copy's consistent point, then promoting".to_string(),
            Some(point) => format!("replaying WAL to {}, then promoting", point.describe()),
        };
        ctx.recorder
            .progress(
                &spec.name,
                Some(Progress { step, bytes_done: 0, bytes_total: None, eta_seconds: None, unit: ProgressUnit::Bytes }),
            )
            .await?;
        if let Err(e) = wait_for_promotion(ctx, spec).await {
            return fail(ctx, spec, e).await;
        }
        if spec.unmasked_reason.is_none() {
            if let Err(why) = mask(ctx, spec, source.as_ref()).await? {
                // Never handed out unmasked: its data goes with the failure.
                if let Err(e) = discard_data(prov, spec).await {
                    tracing::error!(db = %spec.name, error = %e, "could not remove a fork whose masking failed");
                }
                ctx.recorder.masking(&spec.name, MaskState::None).await?;
                return fail(ctx, spec, why).await;
            }
        }
    }
    if let Err(e) = prov.set_up_owner(spec).await {
        return fail(ctx, spec, format!("could not set up its owner: {e}")).await;
    }
    ctx.recorder.transition(&spec.name, Phase::Available, None).await?;
    probe_info(ctx, spec).await
}

/// Stops `spec`'s server for good and removes its data and backups, so it
/// is made again (a reset, an interrupted or failed masking).
async fn discard_data(prov: &Arc<dyn Provisioner>, spec: &Spec) -> Result<(), ProvisionError> {
    prov.stop_for_removal(spec).await?;
    prov.remove(spec).await
}

/// Masks a fork by its source's rules (unless its masking already
/// finished, or its source has none), with progress per table. The outer
/// error is the store's; the inner one says why masking failed, naming the
/// table, and the fork must then not be handed out.
async fn mask(ctx: &Ctx, spec: &Spec, source: Option<&Spec>) -> Result<Result<(), String>, StoreError> {
    if let MaskState::Done(_) = ctx.store.mask_state(&spec.name).await? {
        return Ok(Ok(()));
    }
    let Some(source) = source else {
        return Ok(Err("its source is gone, so the masking rules it must be masked with cannot be read".into()));
    };
    let Some(rules) = super::masking::rules_for_fork_of(&ctx.store, source).await? else { return Ok(Ok(())) };
    if let Some(why) = ctx.provisioner.cannot_mask() {
        return Ok(Err(why));
    }
    ctx.recorder
        .transition(
            &spec.name,
            Phase::Masking,
            Some(format!("masking with {}'s rules (version {})", super::masking::rules_home(source), rules.version)),
        )
        .await?;
    ctx.recorder.masking(&spec.name, MaskState::Begun(rules.version)).await?;
    let sink = Relay::start(&ctx.recorder, &spec.name);
    let masked = masking_work(ctx, spec, &rules, &sink).await;
    sink.finish().await;
    ctx.recorder.progress(&spec.name, None).await?;
    match masked {
        Ok(()) => {
            ctx.recorder.masking(&spec.name, MaskState::Done(rules.version)).await?;
            Ok(Ok(()))
        }
        Err(e) => Ok(Err(format!("its masking failed, so its data was removed: {e}"))),
    }
}

/// The masking itself: every table's update, the rewrite, and the WAL from
/// before dropped.
async fn masking_work(
    ctx: &Ctx,
    spec: &Spec,
    rules: &crate::store::masking::SavedRules,
    sink: &Relay,
) -> Result<(), MaskError> {
    let mut conn = ctx.provisioner.connect(spec).await?;
    let columns = masking_sql::columns(&mut conn).await?;
    let plans = masking_sql::plan(&rules.rules, &columns, &rules.salt)
        .map_err(|e| MaskError::Rule(format!("the rules no longer fit the schema: {e}")))?;
    let tables = plans.len();
    for (i, plan) in plans.iter().enumerate() {
        let total = masking_sql::count_rows(&mut conn, plan).await?;
        let step = format!("masking {} (table {} of {tables})", plan.table, i + 1);
        let report = |done: u64| {
            sink.progress(Progress {
                step: step.clone(),
                bytes_done: done,
                bytes_total: Some(total),
                eta_seconds: None,
                unit: ProgressUnit::Rows,
            })
        };
        report(0);
        masking_sql::apply(&mut conn, plan, report).await?;
    }
    sink.progress(Progress {
        step: "rewriting the masked tables so no original value stays behind".into(),
        bytes_done: 0,
        bytes_total: None,
        eta_seconds: None,
        unit: ProgressUnit::Rows,
    });
    masking_sql::rewrite(&mut conn, &plans).await?;
    drop(conn);
    ctx.provisioner.forget_unmasked_wal(spec).await?;
    Ok(())
}

/// Gives `spec` the first free port, under the engine's admission lock.
async fn move_port(ctx: &Ctx, spec: &Spec) -> Result<u16, super::EngineError> {
    let admitted = super::admission::Admission::new(ctx.admission.lock().await, &ctx.store).await?;
    let specs = admitted.specs().await?;
    let port = admitted.free_port(&specs, &ctx.ports)?;
    ctx.store.set_port(&spec.name, port).await?;
    Ok(port)
}

/// A fork recovers (to its copy's consistent point, or to the moment asked
/// for) and then promotes itself; its replay progress streams meanwhile.
async fn wait_for_promotion(ctx: &Ctx, spec: &Spec) -> Result<(), String> {
    let deadline = Instant::now() + Duration::from_secs(3600);
    let mut last: Option<Progress> = None;
    loop {
        match ctx.provisioner.recovery(spec).await {
            Recovery::Done => return Ok(()),
            Recovery::Stopped(why) => return Err(why),
            Recovery::Replaying(progress) => {
                if let Some(p) = progress.filter(|p| last.as_ref() != Some(p)) {
                    let _ = ctx.recorder.progress(&spec.name, Some(p.clone())).await;
                    last = Some(p);
                }
            }
        }
        if Instant::now() > deadline {
            let log = ctx.provisioner.log_tail(spec).await;
            return Err(format!("it did not finish recovery within an hour: {log}"));
        }
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
}

async fn catch_up(ctx: &Ctx, spec: &Spec) -> Result<(), StoreError> {
    let Some(source) = source_of(ctx, spec).await? else {
        return fail(ctx, spec, format!("its source {} is gone", spec.source.as_deref().unwrap_or("?"))).await;
    };
    if !ctx.provisioner.is_running(spec).await.unwrap_or(false) {
        if let Err(e) = ctx.provisioner.start(spec, Some(&source)).await {
            return fail(ctx, spec, e.to_string()).await;
        }
    }
    // Look often for a few seconds, then let the next pass take over.
    let until = Instant::now() + Duration::from_secs(5);
    while Instant::now() < until {
        match ctx.provisioner.replica_state(spec, Some(&source)).await {
            Ok(state) => {
                ctx.recorder.lag(&spec.name, state.lag.clone()).await?;
                if state.lag.as_ref().is_some_and(|l| l.bytes <= CAUGHT_UP_BYTES) {
                    ctx.recorder.transition(&spec.name, Phase::Available, None).await?;
                    return probe_info(ctx, spec).await;
                }
            }
            Err(e) => tracing::debug!(db = %spec.name, error = %e, "follower not answering yet"),
        }
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
    Ok(())
}

async fn promote(ctx: &Ctx, spec: &Spec) -> Result<(), StoreError> {
    if ctx.store.phase_of(&spec.name).await? != Some(Phase::Promoting) {
        ctx.recorder.transition(&spec.name, Phase::Promoting, None).await?;
    }
    let prov = &ctx.provisioner;
    let source = source_of(ctx, spec).await?;
    if !prov.is_running(spec).await.unwrap_or(false) {
        if let Err(e) = prov.start(spec, None).await {
            return fail(ctx, spec, e.to_string()).await;
        }
    }
    if let Err(e) = prov.promote(spec).await {
        return fail(ctx, spec, format!("could not promote: {e}")).await;
    }
    // Its own passwords, so the source's stop opening it (and it theirs).
    if let Err(e) = prov.set_up_owner(spec).await {
        return fail(ctx, spec, format!("could not give it passwords of its own: {e}")).await;
    }
    if let Some(src) = &source {
        // Held on to, the source would keep WAL for it for ever; the sweep
        // retries if the source is unreachable now.
        if let Err(e) = prov.release_follower(spec, src).await {
            tracing::warn!(db = %spec.name, source = %src.name, error = %e, "could not release it from its source yet");
        }
    }
    ctx.recorder.promoted(&spec.name).await?;
    ctx.recorder.transition(&spec.name, Phase::Available, Some("promoted: no longer following".into())).await?;
    probe_info(ctx, spec).await
}

async fn delete(ctx: &Ctx, spec: &Spec) -> Result<(), StoreError> {
    if ctx.store.phase_of(&spec.name).await? != Some(Phase::Deleting) {
        ctx.recorder.transition(&spec.name, Phase::Deleting, None).await?;
    }
    let prov = &ctx.provisioner;
    if let Err(e) = prov.stop_for_removal(spec).await {
        return keep_trying(ctx, spec, format!("could not stop the server: {e}")).await;
    }
    if spec.origin == Origin::Follow && !spec.promote {
        if let Some(src) = source_of(ctx, spec).await? {
            if prov.is_running(&src).await.unwrap_or(false) {
                if let Err(e) = prov.release_follower(spec, &src).await {
                    tracing::warn!(db = %spec.name, error = %e, "could not release it from its source yet");
                }
            }
        }
    }
    if let Err(e) = prov.remove(spec).await {
        return keep_trying(ctx, spec, format!("could not remove its files: {e}")).await;
    }
    ctx.store.delete_spec(&spec.name).await?;
    ctx.restarts.lock().expect("restarts lock").remove(&spec.name);
    ctx.recorder.deleted(&spec.name).await
}

async fn supervise(ctx: &Ctx, spec: &Spec, with_info: bool) -> Result<(), StoreError> {
    let prov = &ctx.provisioner;
    if !prov.is_running(spec).await.unwrap_or(true) {
        return restart(ctx, spec).await;
    }
    if ctx.store.phase_of(&spec.name).await? == Some(Phase::Restarting) {
        // Running again (started by someone else, or adopted after a
        // restart of pgfleet).
        ctx.restarts.lock().expect("restarts lock").remove(&spec.name);
        ctx.recorder.transition(&spec.name, Phase::Available, None).await?;
    }
    if spec.follows().is_none() {
        apply_owner_once(ctx, spec).await;
    }
    if spec.follows().is_some() {
        if let Some(source) = source_of(ctx, spec).await? {
            match prov.replica_state(spec, Some(&source)).await {
                Ok(state) => ctx.recorder.lag(&spec.name, state.lag).await?,
                Err(e) => tracing::debug!(db = %spec.name, error = %e, "lag probe failed"),
            }
        }
    }
    if with_info {
        probe_info(ctx, spec).await?;
    }
    Ok(())
}

/// What an owner set-up applied: the owner's password and the roles.
type OwnerSetUp = (String, Vec<ExtraRole>);

/// Applies `spec`'s owner set-up unless this process already applied
/// this password and these roles; a failure is tried again on the next
/// pass.
async fn apply_owner_once(ctx: &Ctx, spec: &Spec) {
    let wanted = (spec.pg_password.clone(), spec.roles.clone());
    if ctx.owners_applied.lock().expect("owners lock").get(&spec.name) == Some(&wanted) {
        return;
    }
    match ctx.provisioner.set_up_owner(spec).await {
        Ok(()) => {
            ctx.owners_applied.lock().expect("owners lock").insert(spec.name.clone(), wanted);
        }
        Err(e) => tracing::warn!(db = %spec.name, error = %e, "could not apply the owner set-up"),
    }
}

/// Starts a server that stopped, as [`super::restarts`] says when; the
/// database is `restarting`, with why it is not back, until it is.
async fn restart(ctx: &Ctx, spec: &Spec) -> Result<(), StoreError> {
    let now = Instant::now();
    let due = ctx
        .restarts
        .lock()
        .expect("restarts lock")
        .entry(spec.name.clone())
        .or_insert_with(|| Restarts::new(now))
        .due(now);
    if !due {
        return Ok(());
    }
    if ctx.store.phase_of(&spec.name).await? != Some(Phase::Restarting) {
        ctx.recorder
            .transition(&spec.name, Phase::Restarting, Some("its server stopped; pgfleet is starting it again".into()))
            .await?;
    }
    let prov = &ctx.provisioner;
    let source = source_of(ctx, spec).await?;
    let start_source = if spec.follows().is_some() { source.as_ref() } else { None };
    match prov.start(spec, start_source).await {
        Ok(()) => {
            ctx.restarts.lock().expect("restarts lock").remove(&spec.name);
            // Set-up commits asynchronously; make sure it survived.
            if let Err(e) = prov.set_up_owner(spec).await {
                tracing::warn!(db = %spec.name, error = %e, "could not re-apply the owner set-up");
            }
            ctx.recorder
                .note(&spec.name, EventKind::Restarted, "the server had stopped; it was restarted".into())
                .await?;
            ctx.recorder.transition(&spec.name, Phase::Available, None).await
        }
        Err(e) => {
            let (after, attempts) = {
                let mut restarts = ctx.restarts.lock().expect("restarts lock");
                let r = restarts.entry(spec.name.clone()).or_insert_with(|| Restarts::new(now));
                (r.failed(Instant::now()), r.attempts)
            };
            tracing::warn!(db = %spec.name, attempts, error = %e, "restart failed");
            match after {
                AfterFailure::RetryIn(wait) => {
                    let message = format!(
                        "its server stopped and does not start yet ({attempts} tries): {e}; trying again in {}",
                        app::format::duration(wait.as_secs_f64())
                    );
                    ctx.recorder.transition(&spec.name, Phase::Restarting, Some(message)).await
                }
                AfterFailure::GiveUp => {
                    let minutes = super::restarts::GIVE_UP_AFTER.as_secs() / 60;
                    ctx.restarts.lock().expect("restarts lock").remove(&spec.name);
                    fail(ctx, spec, format!("the server stopped and could not be restarted in {minutes} minutes: {e}"))
                        .await
                }
            }
        }
    }
}

async fn probe_info(ctx: &Ctx, spec: &Spec) -> Result<(), StoreError> {
    match ctx.provisioner.info(spec).await {
        Ok(info) => ctx.recorder.info(&spec.name, info).await,
        Err(e) => {
            tracing::debug!(db = %spec.name, error = %e, "info probe failed");
            Ok(())
        }
    }
}

async fn fail(ctx: &Ctx, spec: &Spec, reason: String) -> Result<(), StoreError> {
    // A failed follower would hold its source's WAL until the cap.
    if spec.follows().is_some() {
        if let Some(src) = source_of(ctx, spec).await? {
            if let Err(e) = ctx.provisioner.release_follower(spec, &src).await {
                tracing::warn!(db = %spec.name, error = %e, "could not release a failed follower yet");
            }
        }
    }
    ctx.recorder.progress(&spec.name, None).await?;
    ctx.recorder.transition(&spec.name, Phase::Failed, Some(reason)).await
}

/// Deletion does not give up: it says what blocks it and is tried again.
async fn keep_trying(ctx: &Ctx, spec: &Spec, reason: String) -> Result<(), StoreError> {
    let view = ctx.store.view(&spec.name).await?;
    if view.and_then(|v| v.message).as_deref() != Some(reason.as_str()) {
        ctx.recorder.transition(&spec.name, Phase::Deleting, Some(reason)).await?;
    }
    Ok(())
}

/// Has every source let go of what no follower needs any more (a promoted
/// or deleted follower whose source was unreachable at the time, or a crash
/// between the backend taking hold and the follower being recorded).
async fn sweep_followers(ctx: &Ctx) {
    let Ok(specs) = ctx.store.specs().await else { return };
    for source in specs.iter().filter(|s| s.desired == Desired::Running) {
        if !ctx.provisioner.is_running(source).await.unwrap_or(false) {
            continue;
        }
        let followers: Vec<&Spec> = specs
            .iter()
            .filter(|f| f.follows() == Some(source.name.as_str()) && f.desired == Desired::Running)
            .collect();
        if let Err(e) = ctx.provisioner.sweep_followers(source, &followers).await {
            tracing::warn!(source = %source.name, error = %e, "could not sweep what no follower needs");
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn spec(origin: Origin) -> Spec {
        Spec::example("amber", "mini", origin, (origin != Origin::Empty).then_some("prod"))
    }

    fn running(phase: Phase, work: Work) -> Seen {
        Seen { running: Some(work), ..Seen::new(phase) }
    }

    #[test]
    fn each_phase_has_its_work() {
        let empty = spec(Origin::Empty);
        assert_eq!(next_step(&empty, Seen::new(Phase::Provisioning)), Step::Start(Work::Provision));
        assert_eq!(next_step(&empty, Seen::new(Phase::Available)), Step::Start(Work::Supervise));
        assert_eq!(next_step(&empty, Seen::new(Phase::Restarting)), Step::Start(Work::Supervise));
        assert_eq!(next_step(&empty, Seen::new(Phase::Failed)), Step::Nothing, "a failed database waits for retry");
        let follower = spec(Origin::Follow);
        assert_eq!(next_step(&follower, Seen::new(Phase::CatchingUp)), Step::Start(Work::CatchUp));
        // A masking that a restart of pgfleet cut short is taken up by the
        // provisioning, which makes the fork again.
        let fork = spec(Origin::Fork);
        assert_eq!(next_step(&fork, Seen::new(Phase::Masking)), Step::Start(Work::Provision));
        assert_eq!(next_step(&fork, running(Phase::Masking, Work::Provision)), Step::Nothing);
    }

    #[test]
    fn one_work_at_a_time_except_deletion_which_replaces_it() {
        let mut db = spec(Origin::Fork);
        assert_eq!(next_step(&db, running(Phase::Provisioning, Work::Provision)), Step::Nothing);
        db.desired = Desired::Deleted;
        assert_eq!(next_step(&db, running(Phase::Provisioning, Work::Provision)), Step::Replace(Work::Delete));
        assert_eq!(next_step(&db, running(Phase::Deleting, Work::Delete)), Step::Nothing);
        assert_eq!(next_step(&db, Seen::new(Phase::Failed)), Step::Start(Work::Delete), "failed ones go too");
    }

    #[test]
    fn a_promotion_is_finished_until_it_no_longer_follows() {
        let mut db = spec(Origin::Follow);
        db.promote = true;
        assert_eq!(next_step(&db, Seen::new(Phase::CatchingUp)), Step::Start(Work::Promote));
        assert_eq!(next_step(&db, Seen::new(Phase::Promoting)), Step::Start(Work::Promote));
        let follows = Seen { still_follows: true, ..Seen::new(Phase::Available) };
        assert_eq!(next_step(&db, follows), Step::Start(Work::Promote));
        assert_eq!(next_step(&db, Seen::new(Phase::Available)), Step::Start(Work::Supervise));
    }

    #[test]
    fn stale_data_is_made_again_whatever_watched_over_it() {
        let mut db = spec(Origin::Fork);
        db.reset_generation = 1;
        let stale = |seen: Seen| Seen { stale: true, ..seen };
        // Asked for while it served: its supervision gives way.
        assert_eq!(next_step(&db, stale(Seen::new(Phase::Available))), Step::Start(Work::Provision));
        assert_eq!(next_step(&db, stale(running(Phase::Available, Work::Supervise))), Step::Replace(Work::Provision));
        // The request already says provisioning, or a restart said
        // restarting or available again meanwhile: made again all the same.
        assert_eq!(
            next_step(&db, stale(running(Phase::Provisioning, Work::Supervise))),
            Step::Replace(Work::Provision)
        );
        assert_eq!(next_step(&db, stale(running(Phase::Restarting, Work::Supervise))), Step::Replace(Work::Provision));
        assert_eq!(next_step(&db, stale(running(Phase::Provisioning, Work::Provision))), Step::Nothing);
        // A reset that failed waits for a retry; a deletion still wins.
        assert_eq!(next_step(&db, stale(Seen::new(Phase::Failed))), Step::Nothing);
        db.desired = Desired::Deleted;
        assert_eq!(next_step(&db, stale(running(Phase::Provisioning, Work::Provision))), Step::Replace(Work::Delete));
    }
}
