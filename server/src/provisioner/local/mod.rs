//! The local provisioner: each database is a PostgreSQL server process on
//! this machine, run as an unprivileged OS user, with its files under the
//! pgfleet home (see [`layout`]).
//!
//! Servers are started with `pg_ctl` and so outlive pgfleet: a restart of
//! pgfleet adopts them through their pidfiles instead of starting them
//! twice. Copies (`pg_basebackup`, `cp`) are children that die with pgfleet.

use std::os::unix::fs::PermissionsExt;
use std::path::{Path, PathBuf};
use std::time::Duration;

use app::model::{Archiving, Backup, BackupKind, CopyMethod, CopyTechnique, ForkPoint, Info, Progress};

use self::layout::Layout;
use self::os::OsUser;
use crate::engine::plans;
use crate::engine::spec::{Origin, Spec};
use crate::provisioner::{probe, slot_name, ProgressSink, ProvisionError, Provisioner, Recovery, ReplicaState};

pub mod backrest;
pub mod clone;
pub mod copy;
pub mod layout;
pub mod masked;
pub mod os;
pub mod pitr;
pub mod roles;
pub mod snapshots;
pub mod sql;

/// How the local provisioner is set up.
#[derive(Clone, Debug)]
pub struct LocalConfig {
    pub home: PathBuf,
    /// PostgreSQL's binaries; found automatically when `None`.
    pub pg_bin: Option<PathBuf>,
    /// The OS user to run PostgreSQL as when pgfleet is root.
    pub pg_user: Option<String>,
    /// PostgreSQL's `listen_addresses` for every server.
    pub listen_addresses: String,
    /// The host name put in connection URLs.
    pub public_host: String,
    /// Where pgBackRest keeps backups and WAL (default `<home>/backups/repo`).
    pub backup_repo: Option<backrest::Repo>,
}

impl LocalConfig {
    pub fn new(home: impl Into<PathBuf>) -> Self {
        LocalConfig {
            home: home.into(),
            pg_bin: None,
            pg_user: None,
            listen_addresses: "127.0.0.1".into(),
            public_host: "127.0.0.1".into(),
            backup_repo: None,
        }
    }
}

/// How long a server may take to accept connections after `pg_ctl start`
/// (a long crash recovery counts): while its postmaster runs and says
/// `starting`, pgfleet waits this long.
const START_DEADLINE: Duration = Duration::from_secs(600);
/// A postmaster writes its pidfile at once; none after this means it never
/// started.
const PIDFILE_DEADLINE: Duration = Duration::from_secs(10);

/// Room for [`crate::engine::MAX_FOLLOWERS`] streams and
/// [`copy::COPIES_AT_ONCE`] copies (two senders each), with some to spare.
const MAX_WAL_SENDERS: usize = 16;
const _: () = assert!(crate::engine::MAX_FOLLOWERS + 2 * copy::COPIES_AT_ONCE < MAX_WAL_SENDERS);

pub struct LocalProvisioner {
    bin: PathBuf,
    user: OsUser,
    layout: Layout,
    template: PathBuf,
    listen_addresses: String,
    public_host: String,
    /// One template build at a time.
    template_lock: tokio::sync::Mutex<()>,
    /// Whether the home clones files, found out at start.
    technique: app::model::CopyTechnique,
    copy_gates: copy::CopyGates,
    backrest: backrest::Backrest,
    snapshots: snapshots::Snapshots,
    /// One WAL switch-and-wait at a time: two at once made pgBackRest's
    /// async push miss a segment's status until its 120 s timeout.
    archive_turn: tokio::sync::Mutex<()>,
}

impl LocalProvisioner {
    pub fn new(config: LocalConfig) -> Result<Self, ProvisionError> {
        let bin = os::find_pg_bin(config.pg_bin.as_deref())?;
        let user = OsUser::resolve(config.pg_user.as_deref())?;
        let home = config.home.to_string_lossy();
        // Paths go into server options a shell reads (archive_command).
        if home.contains(['\'', '"', '\\', '$', '`']) {
            return Err(ProvisionError::Invalid(format!(
                "the pgfleet home {home:?} has a quote, $, ` or backslash in its path"
            )));
        }
        let layout = Layout::new(&config.home);
        layout.check_fits().map_err(ProvisionError::Invalid)?;
        std::fs::create_dir_all(layout.root())?;
        let technique = clone::probe(layout.root());
        tracing::info!(method = technique.method.as_str(), why = %technique.why, "how forks and followers are copied");
        let backups = config.home.join("backups");
        let repo = config.backup_repo.unwrap_or_else(|| backrest::Repo::Local(backups.join("repo")));
        let backrest = backrest::Backrest::new(backups, repo, user.clone())?;
        Ok(LocalProvisioner {
            backrest,
            snapshots: snapshots::Snapshots::new(&config.home),
            archive_turn: tokio::sync::Mutex::new(()),
            bin,
            user,
            layout,
            template: config.home.join("templates").join("data"),
            listen_addresses: config.listen_addresses,
            public_host: config.public_host,
            template_lock: tokio::sync::Mutex::new(()),
            technique,
            copy_gates: copy::CopyGates::default(),
        })
    }

    pub fn layout(&self) -> &Layout {
        &self.layout
    }

    /// The clone snapshots (for the benchmark's by-hand side).
    pub fn snapshots(&self) -> &snapshots::Snapshots {
        &self.snapshots
    }

    pub fn pg_bin(&self) -> &Path {
        &self.bin
    }

    pub fn os_user(&self) -> &OsUser {
        &self.user
    }

    /// A directory only PostgreSQL's user can enter.
    fn private_dir(&self, path: &Path) -> Result<(), ProvisionError> {
        std::fs::create_dir_all(path)?;
        std::fs::set_permissions(path, std::fs::Permissions::from_mode(0o700))?;
        self.user.own(path)
    }

    /// A file only PostgreSQL's user can read.
    fn private_file(&self, path: &Path, contents: &str) -> Result<(), ProvisionError> {
        std::fs::write(path, contents)?;
        std::fs::set_permissions(path, std::fs::Permissions::from_mode(0o600))?;
        self.user.own(path)
    }

    /// Lets PostgreSQL's user reach the databases dir through the home.
    fn ensure_root(&self) -> Result<(), ProvisionError> {
        let root = self.layout.root();
        std::fs::create_dir_all(root)?;
        if self.user.switch {
            for dir in [root.parent().unwrap_or(root), root] {
                let mode = std::fs::metadata(dir)?.permissions().mode();
                if mode & 0o001 == 0 {
                    std::fs::set_permissions(dir, std::fs::Permissions::from_mode(mode | 0o711))?;
                }
            }
        }
        Ok(())
    }

    /// The host a follower dials to reach its source.
    fn replication_host(&self) -> String {
        let first = self.listen_addresses.split(',').next().unwrap_or("").trim();
        match first {
            "" | "*" | "0.0.0.0" | "localhost" => "127.0.0.1".into(),
            "::" => "::1".into(),
            other => other.into(),
        }
    }

    fn server_options(&self, db: &Spec, source: Option<&Spec>) -> Result<String, ProvisionError> {
        let plan = plans::find(&db.plan).ok_or_else(|| ProvisionError::Invalid(format!("unknown plan {}", db.plan)))?;
        let mut opts = vec![
            format!("-p {}", db.port),
            format!("-k '{}'", self.layout.run(&db.name).display()),
            format!("-c listen_addresses='{}'", self.listen_addresses),
            "-c unix_socket_permissions=0700".into(),
            format!("-c max_connections={}", plan.max_connections),
            format!("-c shared_buffers={}", plan.shared_buffers),
            format!("-c work_mem={}", plan.work_mem),
            "-c wal_level=replica".into(),
            // Every follower's stream plus two per running copy.
            format!("-c max_wal_senders={}", MAX_WAL_SENDERS),
            format!("-c max_replication_slots={}", MAX_WAL_SENDERS),
            // A forgotten slot must not fill the disk.
            "-c max_slot_wal_keep_size=4GB".into(),
            "-c hot_standby=on".into(),
            "-c hot_standby_feedback=on".into(),
            // Every server archives into its own stanza; a follower's
            // archiver idles until it is promoted.
            "-c archive_mode=on".into(),
            format!("-c \"archive_command={}\"", self.backrest.archive_command(&db.name)),
            // An idle server still closes a segment a minute, so the
            // restore window reaches close to now.
            "-c archive_timeout=60".into(),
            // Startup after a copy syncs the file system once, not file by file.
            "-c recovery_init_sync_method=syncfs".into(),
            format!("-c cluster_name='pgfleet-{}'", db.name),
            "-c password_encryption=scram-sha-256".into(),
        ];
        // Query statistics for the Insights tab; a server started before
        // this loads it at its next start (the tab says so).
        if self.pg_bin().join("../lib/pg_stat_statements.so").exists() {
            opts.push("-c shared_preload_libraries=pg_stat_statements".into());
        }
        if let (Some(_), Some(src)) = (db.follows(), source) {
            let conninfo = format!(
                "host={} port={} user={} passfile={} application_name={}",
                self.replication_host(),
                src.port,
                sql::REPLICATION_ROLE,
                self.layout.pgpass(&db.name).display(),
                db.name
            );
            opts.push(format!("-c primary_conninfo='{conninfo}'"));
            opts.push(format!("-c primary_slot_name={}", slot_name(&db.name)));
        }
        let data = self.layout.data(&db.name);
        if data.join("recovery.signal").exists() {
            // A fork: recover, then become a primary on a timeline of its own.
            opts.push("-c recovery_target_action=promote".into());
            match (&db.fork_point, &db.source) {
                (Some(point), Some(src)) => {
                    // To the moment asked for, reading the source's archive.
                    opts.push(format!("-c \"restore_command={}\"", self.backrest.restore_command(src, &data)));
                    opts.push(match point {
                        ForkPoint::Time(t) => format!("-c \"recovery_target_time={}\"", t.to_rfc3339()),
                        ForkPoint::Lsn(lsn) => format!("-c recovery_target_lsn='{lsn}'"),
                    });
                }
                _ => {
                    // To the copy's consistent point; everything needed is
                    // in pg_wal already.
                    opts.push("-c recovery_target=immediate".into());
                    opts.push("-c restore_command=false".into());
                }
            }
        }
        Ok(opts.join(" "))
    }

    fn postmaster_pid(&self, name: &str) -> Option<i32> {
        let text = std::fs::read_to_string(self.layout.data(name).join("postmaster.pid")).ok()?;
        text.lines().next()?.trim().parse().ok()
    }

    /// Copies `source` into the partial dir. A copy that lost its WAL
    /// stream is tried again: that failure is a race, not a fault of the
    /// source.
    async fn make_copy(
        &self,
        db: &Spec,
        source: &Spec,
        slot: Option<&str>,
        sink: &dyn ProgressSink,
    ) -> Result<PathBuf, ProvisionError> {
        const ATTEMPTS: u32 = 3;
        let mut attempt = 1;
        loop {
            match self.copy_once(db, source, slot, sink).await {
                Err(e) if attempt < ATTEMPTS && copy::lost_wal_stream(&e) => {
                    tracing::warn!(db = %db.name, source = %source.name, attempt, error = %e, "copy lost its WAL stream; copying again");
                    if let Some(slot) = slot {
                        self.drop_slot(source, slot).await?;
                    }
                    attempt += 1;
                }
                other => return other,
            }
        }
    }

    async fn copy_once(
        &self,
        db: &Spec,
        source: &Spec,
        slot: Option<&str>,
        sink: &dyn ProgressSink,
    ) -> Result<PathBuf, ProvisionError> {
        let (partial, label) = self.fresh_partial(db, source).await?;
        let gates = self.copy_gates.of(&source.name);
        let waiting = |what: &str| {
            sink.progress(Progress {
                step: format!("waiting for other copies of {} to {what}", source.name),
                bytes_done: 0,
                bytes_total: None,
                eta_seconds: None,
                unit: app::model::ProgressUnit::Bytes,
            })
        };
        let _running = match gates.running.clone().try_acquire_owned() {
            Ok(permit) => permit,
            Err(_) => {
                waiting("finish");
                gates.running.acquire_owned().await.expect("copy gates are never closed")
            }
        };
        let start_gate = match gates.starting.clone().try_lock_owned() {
            Ok(guard) => guard,
            Err(_) => {
                waiting("start");
                gates.starting.lock_owned().await
            }
        };
        copy::base_backup(
            copy::BaseBackup {
                bin: &self.bin,
                user: &self.user,
                source_run: &self.layout.run(&source.name),
                source_port: source.port,
                target: &partial.join("data"),
                slot,
                label: &label,
                start_gate,
            },
            sink,
        )
        .await?;
        Ok(partial)
    }

    /// An empty partial dir for a copy of `source`, and the copy's label.
    async fn fresh_partial(&self, db: &Spec, source: &Spec) -> Result<(PathBuf, String), ProvisionError> {
        self.ensure_root()?;
        self.discard_partial(db).await?;
        let partial = self.layout.partial(&db.name);
        self.private_dir(&partial)?;
        Ok((partial, format!("pgfleet {} of {}", db.origin.as_str(), source.name)))
    }

    /// Clones `source` into the partial dir (see [`clone`]); a follower's
    /// `slot` is made on the source first.
    async fn clone_copy(
        &self,
        db: &Spec,
        source: &Spec,
        slot: Option<&str>,
        sink: &dyn ProgressSink,
    ) -> Result<PathBuf, ProvisionError> {
        let (partial, label) = self.fresh_partial(db, source).await?;
        clone::clone_running(
            clone::CloneCopy {
                user: &self.user,
                source_data: &self.layout.data(&source.name),
                source_run: &self.layout.run(&source.name),
                source_port: source.port,
                target: &partial.join("data"),
                slot,
                label: &label,
            },
            sink,
        )
        .await?;
        Ok(partial)
    }

    fn commit_partial(&self, db: &Spec) -> Result<(), ProvisionError> {
        let partial = self.layout.partial(&db.name);
        let dir = self.layout.dir(&db.name);
        self.private_dir(&partial.join("run"))?;
        std::fs::rename(&partial, &dir)
            .map_err(|e| ProvisionError::Io(format!("cannot move {} into place: {e}", partial.display())))
    }
}

#[async_trait::async_trait]
impl Provisioner for LocalProvisioner {
    async fn prepare(&self) -> Result<(), ProvisionError> {
        let _one_at_a_time = self.template_lock.lock().await;
        self.ensure_root()?;
        let templates = self.template.parent().unwrap_or(&self.template).to_path_buf();
        std::fs::create_dir_all(&templates)?;
        self.user.own(&templates)?;
        let socket_dir = self.layout.template_run();
        self.private_dir(&socket_dir)?;
        copy::ensure_template(&self.bin, &self.user, &self.template, &socket_dir).await
    }

    async fn is_made(&self, db: &Spec) -> Result<bool, ProvisionError> {
        Ok(self.layout.data(&db.name).join("PG_VERSION").exists())
    }

    async fn make_empty(&self, db: &Spec) -> Result<(), ProvisionError> {
        self.prepare().await?;
        self.discard_partial(db).await?;
        let partial = self.layout.partial(&db.name);
        self.private_dir(&partial)?;
        os::copy_tree(&self.template, &partial.join("data")).await?;
        self.commit_partial(db)
    }

    async fn copy_technique(&self, source: &Spec) -> CopyTechnique {
        match (self.technique.method, source.follows()) {
            (CopyMethod::Clone, Some(_)) => CopyTechnique {
                method: CopyMethod::Basebackup,
                why: format!("{} is a follower; copies of followers are made with pg_basebackup", source.name),
            },
            _ => self.technique.clone(),
        }
    }

    async fn make_follower(&self, db: &Spec, source: &Spec, sink: &dyn ProgressSink) -> Result<(), ProvisionError> {
        let slot = slot_name(&db.name);
        // An interrupted attempt may have left a copy running (holding the
        // slot) and the slot itself, which would make `-C` fail.
        self.discard_partial(db).await?;
        self.drop_slot(source, &slot).await?;
        let partial = match self.copy_technique(source).await.method {
            CopyMethod::Clone => self.clone_copy(db, source, Some(&slot), sink).await?,
            CopyMethod::Basebackup => self.make_copy(db, source, Some(&slot), sink).await?,
        };
        self.private_file(&partial.join("data").join("standby.signal"), "")?;
        // The password goes in a private passfile, never into the data dir's
        // config (which forks and backups would carry along).
        let pgpass = format!("*:*:*:{}:{}\n", sql::REPLICATION_ROLE, source.replication_password);
        self.private_file(&partial.join("replication.pgpass"), &pgpass)?;
        self.commit_partial(db)
    }

    async fn make_fork(&self, db: &Spec, source: &Spec, sink: &dyn ProgressSink) -> Result<(), ProvisionError> {
        if let Some(point) = &db.fork_point {
            return self.make_point_in_time_fork(db, source, point, sink).await;
        }
        let partial = match self.copy_technique(source).await.method {
            CopyMethod::Clone => self.clone_copy(db, source, None, sink).await?,
            CopyMethod::Basebackup => self.make_copy(db, source, None, sink).await?,
        };
        self.private_file(&partial.join("data").join("recovery.signal"), "")?;
        self.commit_partial(db)
    }

    async fn discard_partial(&self, db: &Spec) -> Result<(), ProvisionError> {
        let partial = self.layout.partial(&db.name);
        if partial.exists() {
            os::kill_processes_using(&partial).await;
            tokio::fs::remove_dir_all(&partial).await?;
        }
        Ok(())
    }

    async fn is_running(&self, db: &Spec) -> Result<bool, ProvisionError> {
        Ok(self.postmaster_pid(&db.name).is_some_and(os::process_alive))
    }

    async fn start(&self, db: &Spec, source: Option<&Spec>) -> Result<(), ProvisionError> {
        self.start_server(db, source).await
    }

    async fn stop(&self, db: &Spec) -> Result<(), ProvisionError> {
        self.stop_server(db, "fast").await
    }

    /// Immediate: a fast stop waits for the archiver to push the last WAL,
    /// minutes when archiving fails (a stanza never made), and that WAL
    /// is deleted with the database's backups anyway.
    async fn stop_for_removal(&self, db: &Spec) -> Result<(), ProvisionError> {
        self.stop_server(db, "immediate").await
    }

    async fn remove(&self, db: &Spec) -> Result<(), ProvisionError> {
        let dir = self.layout.dir(&db.name);
        let deleting = self.layout.deleting(&db.name);
        if dir.exists() {
            if deleting.exists() {
                tokio::fs::remove_dir_all(&deleting).await?;
            }
            std::fs::rename(&dir, &deleting)?;
        }
        if deleting.exists() {
            tokio::fs::remove_dir_all(&deleting).await?;
        }
        // A socket dir kept outside the database's dir (its path was long).
        let run = self.layout.run(&db.name);
        if !run.starts_with(&dir) && run.exists() {
            tokio::fs::remove_dir_all(&run).await?;
        }
        // Its backups go with it: a name used again starts afresh.
        self.backrest.remove_stanza(&db.name).await?;
        self.snapshots.remove_all(&db.name).await?;
        self.discard_partial(db).await
    }

    async fn forget_unmasked_wal(&self, db: &Spec) -> Result<(), ProvisionError> {
        let mut conn = self.connect(db).await?;
        let keep_from = probe::close_wal(&mut conn).await?;
        let pg_wal = self.layout.data(&db.name).join("pg_wal");
        let gone = tokio::task::spawn_blocking(move || masked::delete_segments_before(&pg_wal, &keep_from))
            .await
            .map_err(|e| ProvisionError::Io(e.to_string()))??;
        tracing::info!(db = %db.name, segments = gone, "deleted the WAL written before masking");
        Ok(())
    }

    async fn set_up_owner(&self, db: &Spec) -> Result<(), ProvisionError> {
        let mut conn = sql::connect(&self.layout.run(&db.name), db.port, "postgres").await?;
        if probe::in_recovery(&mut conn).await? {
            // A follower: its roles are its source's, replicated.
            return Ok(());
        }
        // One set-up at a time on a server: the reconciler converging a
        // change while the request that made it applies it too would
        // have two sessions alter one role ("tuple concurrently
        // updated"). A session lock, so it holds across pgfleet servers
        // and goes with the connection.
        sqlx::query("SELECT pg_advisory_lock(hashtext('pgfleet owner set-up'))")
            .execute(&mut conn)
            .await
            .map_err(sql::sql_err)?;
        // Waiting for each catalog commit to reach disk would queue behind
        // the just-copied data dir's dirty pages. Set-up is redone after
        // every restart, so a crash cannot lose it for good.
        sqlx::query("SET synchronous_commit = off").execute(&mut conn).await.map_err(sql::sql_err)?;
        sql::upsert_role(&mut conn, &db.pg_user, &db.pg_password, false).await?;
        sql::upsert_role(&mut conn, sql::REPLICATION_ROLE, &db.replication_password, true).await?;
        sql::ensure_database(&mut conn, &db.pg_database, &db.pg_user).await?;
        roles::converge(&mut conn, &self.layout.run(&db.name), db).await
    }

    async fn promote(&self, db: &Spec) -> Result<(), ProvisionError> {
        let mut conn = sql::connect(&self.layout.run(&db.name), db.port, "postgres").await?;
        if !probe::in_recovery(&mut conn).await? {
            return Ok(());
        }
        // Its stanza is there before its first archive_command, at the
        // promotion: pgBackRest refuses to archive into none, and three
        // refusals keep PostgreSQL's archiver idle for a minute, which the
        // first backup's wait for its WAL then sits out (two minutes seen).
        self.configure_backups(db)?;
        self.backrest.ensure_stanza(&db.name, false).await?;
        let promoted: bool =
            sqlx::query_scalar("SELECT pg_promote(true, 60)").fetch_one(&mut conn).await.map_err(sql::sql_err)?;
        if !promoted || probe::in_recovery(&mut conn).await? {
            return Err(ProvisionError::Sql("the server did not leave recovery within 60 s".into()));
        }
        Ok(())
    }

    async fn can_resume_follower(&self, db: &Spec, source: &Spec) -> Result<bool, ProvisionError> {
        Ok(self.list_slots(source).await?.contains(&slot_name(&db.name)))
    }

    async fn release_follower(&self, db: &Spec, source: &Spec) -> Result<(), ProvisionError> {
        self.drop_slot(source, &slot_name(&db.name)).await
    }

    async fn sweep_followers(&self, source: &Spec, followers: &[&Spec]) -> Result<(), ProvisionError> {
        // One slot that cannot be dropped yet does not keep the others.
        for slot in self.list_slots(source).await? {
            if !followers.iter().any(|f| slot_name(&f.name) == slot) {
                match self.drop_slot(source, &slot).await {
                    Ok(()) => tracing::info!(source = %source.name, %slot, "dropped an unused replication slot"),
                    Err(e) => tracing::warn!(source = %source.name, %slot, error = %e, "could not drop an unused slot"),
                }
            }
        }
        Ok(())
    }

    async fn recovery(&self, db: &Spec) -> Recovery {
        self.recovery_of(db).await
    }

    async fn ensure_archiving(&self, db: &Spec) -> Result<(), ProvisionError> {
        self.ensure_archiving_now(db).await
    }

    async fn archiving(&self, db: &Spec, backups: &[Backup]) -> Result<Archiving, ProvisionError> {
        self.archiving_of(db, backups).await
    }

    async fn backups(&self, db: &Spec) -> Result<Vec<Backup>, ProvisionError> {
        self.list_backups(db).await
    }

    fn backup_kinds(&self) -> Vec<BackupKind> {
        match self.technique.method {
            CopyMethod::Clone => vec![BackupKind::Full, BackupKind::Snapshot],
            CopyMethod::Basebackup => vec![BackupKind::Full],
        }
    }

    async fn take_backup(&self, db: &Spec, kind: BackupKind, sink: &dyn ProgressSink) -> Result<(), ProvisionError> {
        self.take(db, kind, sink).await
    }

    async fn expire(&self, db: &Spec, keep: chrono::Duration) -> Result<bool, ProvisionError> {
        self.expire_snapshots(db, keep).await
    }

    async fn replica_state(&self, db: &Spec, source: Option<&Spec>) -> Result<ReplicaState, ProvisionError> {
        let mut source_conn = match source {
            Some(src) => Some(sql::connect(&self.layout.run(&src.name), src.port, "postgres").await?),
            None => None,
        };
        let mut conn = sql::connect(&self.layout.run(&db.name), db.port, "postgres").await?;
        probe::replica_state(source_conn.as_mut(), &mut conn).await
    }

    async fn info(&self, db: &Spec) -> Result<Info, ProvisionError> {
        let mut conn = sql::connect(&self.layout.run(&db.name), db.port, &db.pg_database).await?;
        let mut info = crate::provisioner::probe::server_info(&mut conn).await?;
        // What a clone really costs: only for copies, where files can share
        // blocks.
        if let (CopyMethod::Clone, Some(_)) = (self.technique.method, &db.source) {
            let data = self.layout.data(&db.name);
            info.unshared_bytes =
                tokio::task::spawn_blocking(move || clone::unshared_bytes(&data)).await.ok().flatten();
        }
        Ok(info)
    }

    async fn connect(&self, db: &Spec) -> Result<sqlx::postgres::PgConnection, ProvisionError> {
        sql::connect(&self.layout.run(&db.name), db.port, &db.pg_database).await
    }

    async fn connection_url(&self, db: &Spec) -> Result<String, ProvisionError> {
        Ok(format!("postgres://{}:{}@{}:{}/{}", db.pg_user, db.pg_password, self.public_host, db.port, db.pg_database))
    }

    async fn log_tail(&self, db: &Spec) -> String {
        let text = tokio::fs::read_to_string(self.layout.log(&db.name)).await.unwrap_or_default();
        let lines: Vec<&str> = text.lines().map(str::trim).filter(|l| !l.is_empty()).collect();
        // The last fatal line, with what PostgreSQL logged just before it
        // (which usually names the actual culprit).
        let Some(fatal) = lines.iter().rposition(|l| l.contains("FATAL:") || l.contains("PANIC:")) else {
            return os::last_lines(&text, 2);
        };
        let from = fatal.saturating_sub(2);
        lines[from..=fatal]
            .iter()
            .filter(|l| ["LOG:", "ERROR:", "FATAL:", "PANIC:", "DETAIL:", "HINT:"].iter().any(|k| l.contains(k)))
            .map(|l| l.split_once("] ").map(|(_, rest)| rest).unwrap_or(l))
            .collect::<Vec<_>>()
            .join(" / ")
    }
}

impl LocalProvisioner {
    /// Drops the replication slot `slot` on `source`, if it exists.
    pub async fn drop_slot(&self, source: &Spec, slot: &str) -> Result<(), ProvisionError> {
        let mut conn = sql::connect(&self.layout.run(&source.name), source.port, "postgres").await?;
        let deadline = tokio::time::Instant::now() + Duration::from_secs(30);
        loop {
            let active: Option<bool> =
                sqlx::query_scalar("SELECT active FROM pg_replication_slots WHERE slot_name = $1")
                    .bind(slot)
                    .fetch_optional(&mut conn)
                    .await
                    .map_err(sql::sql_err)?;
            match active {
                None => return Ok(()),
                Some(false) => {
                    let dropped =
                        sqlx::query("SELECT pg_drop_replication_slot($1)").bind(slot).execute(&mut conn).await;
                    match dropped {
                        Ok(_) => return Ok(()),
                        // It became active again, or vanished: look again.
                        Err(e) if tokio::time::Instant::now() < deadline => {
                            tracing::debug!(%slot, error = %e, "retrying slot drop");
                        }
                        Err(e) => return Err(sql::sql_err(e)),
                    }
                }
                // Its user (a follower being stopped or promoted) has not let go yet.
                Some(true) if tokio::time::Instant::now() < deadline => {}
                Some(true) => {
                    return Err(ProvisionError::Sql(format!("slot {slot} on {} is still in use", source.name)))
                }
            }
            tokio::time::sleep(Duration::from_millis(100)).await;
        }
    }

    /// The pgfleet slots that exist on `source`.
    pub async fn list_slots(&self, source: &Spec) -> Result<Vec<String>, ProvisionError> {
        let mut conn = sql::connect(&self.layout.run(&source.name), source.port, "postgres").await?;
        sqlx::query_scalar("SELECT slot_name::text FROM pg_replication_slots WHERE slot_name LIKE 'pgfleet\\_%'")
            .fetch_all(&mut conn)
            .await
            .map_err(sql::sql_err)
    }

    /// `pg_ctl stop` in `mode` (fast or immediate), if the server runs.
    async fn stop_server(&self, db: &Spec, mode: &str) -> Result<(), ProvisionError> {
        if !self.is_running(db).await? {
            return Ok(());
        }
        let mut cmd = os::tool(&self.bin, "pg_ctl", &self.user);
        cmd.arg("stop").arg("-D").arg(self.layout.data(&db.name)).args(["-m", mode, "-w", "-t", "60", "-s"]);
        match os::run("pg_ctl stop", cmd).await {
            Ok(_) => Ok(()),
            Err(e) if !self.is_running(db).await? => {
                tracing::debug!(db = %db.name, error = %e, "pg_ctl stop complained, but the server is gone");
                Ok(())
            }
            Err(e) => Err(e),
        }
    }

    async fn start_server(&self, db: &Spec, source: Option<&Spec>) -> Result<(), ProvisionError> {
        if self.is_running(db).await? {
            return Ok(());
        }
        let data = self.layout.data(&db.name);
        if !data.join("PG_VERSION").exists() {
            return Err(ProvisionError::Start(format!("{} has no data dir", db.name)));
        }
        if db.origin == Origin::Follow && db.follows().is_some() && source.is_none() {
            return Err(ProvisionError::Start(format!("{} follows a database that is gone", db.name)));
        }
        // A postmaster that was killed leaves its pidfile; if its pid is a
        // zombie nobody reaped (or was reused), postgres would refuse to
        // start, so the stale file goes.
        let pidfile = data.join("postmaster.pid");
        if pidfile.exists() && !self.postmaster_pid(&db.name).is_some_and(os::process_alive) {
            tracing::info!(db = %db.name, "removing a stale postmaster.pid and socket lock");
            let _ = std::fs::remove_file(&pidfile);
            // The socket dir is this database's alone.
            for entry in std::fs::read_dir(self.layout.run(&db.name)).into_iter().flatten().flatten() {
                if entry.file_name().to_string_lossy().starts_with(".s.PGSQL.") {
                    let _ = std::fs::remove_file(entry.path());
                }
            }
        }
        self.private_dir(&self.layout.run(&db.name))?;
        // Its archive_command reads this; written before the server starts
        // so archiving works from its first segment.
        self.configure_backups(db)?;
        let log = self.layout.log(&db.name);
        let options = self.server_options(db, source)?;
        // The postmaster must outlive pgfleet, so pg_ctl runs detached.
        let mut cmd = os::detached_tool(&self.bin, "pg_ctl", &self.user);
        // -W: pg_ctl 15 waits by default, for at most its own 60 s
        // (PGCTLTIMEOUT); the postmaster's status line is read here instead,
        // far more often and up to pgfleet's own deadline.
        cmd.arg("start").arg("-W").arg("-D").arg(&data).arg("-l").arg(&log).args(["-s", "-o", &options]);
        let log_before = std::fs::metadata(&log).map(|m| m.len()).unwrap_or(0);
        let started = match os::run("pg_ctl start", cmd).await {
            Ok(_) => self.wait_until_accepting(db, log_before).await,
            Err(e) => Err(ProvisionError::Start(format!("{e}; {}", self.log_tail(db).await))),
        };
        match started {
            // PostgreSQL's words (a few lines above its FATAL) for a port
            // someone else listens on.
            Err(ProvisionError::Start(_)) if self.logged_since(db, log_before, &["Address already in use"]) => {
                Err(ProvisionError::PortTaken { port: db.port, holder: os::port_holder(db.port) })
            }
            Err(ProvisionError::Start(_)) if self.logged_since(db, log_before, &[pitr::TARGET_UNREACHED]) => {
                Err(ProvisionError::Start(pitr::target_unreached(db)))
            }
            other => other,
        }
    }

    /// Whether the log got any of `words` after byte `from` (one read).
    fn logged_since(&self, db: &Spec, from: u64, words: &[&str]) -> bool {
        use std::io::{Read, Seek, SeekFrom};
        let Ok(mut file) = std::fs::File::open(self.layout.log(&db.name)) else { return false };
        let mut text = String::new();
        if file.seek(SeekFrom::Start(from)).is_err() || file.read_to_string(&mut text).is_err() {
            return false;
        }
        words.iter().any(|w| text.contains(w))
    }

    /// Polls the postmaster's pidfile until it says `ready` or `standby`.
    async fn wait_until_accepting(&self, db: &Spec, log_before: u64) -> Result<(), ProvisionError> {
        let pidfile = self.layout.data(&db.name).join("postmaster.pid");
        let started = tokio::time::Instant::now();
        let deadline = started + START_DEADLINE;
        let mut seen_pid = false;
        loop {
            if let Ok(text) = std::fs::read_to_string(&pidfile) {
                let lines: Vec<&str> = text.lines().collect();
                let pid = lines.first().and_then(|l| l.trim().parse::<i32>().ok());
                seen_pid |= pid.is_some();
                match lines.get(7).map(|l| l.trim()) {
                    Some("ready") | Some("standby") => return Ok(()),
                    Some("stopping") => return Err(ProvisionError::Start(self.log_tail(db).await)),
                    _ => {}
                }
                if pid.is_some_and(|p| !os::process_alive(p)) {
                    return Err(ProvisionError::Start(self.log_tail(db).await));
                }
            } else if seen_pid
                || self.logged_since(db, log_before, &["FATAL:", "PANIC:"])
                || started.elapsed() > PIDFILE_DEADLINE
            {
                // The pidfile vanished (the postmaster exited) or never
                // appeared within 10 s: it did not start.
                return Err(ProvisionError::Start(self.log_tail(db).await));
            }
            if tokio::time::Instant::now() > deadline {
                let within = START_DEADLINE.as_secs() / 60;
                return Err(ProvisionError::Start(format!(
                    "not ready within {within} minutes: {}",
                    self.log_tail(db).await
                )));
            }
            tokio::time::sleep(Duration::from_millis(10)).await;
        }
    }
}
