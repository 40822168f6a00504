//! Point-in-time forks on the plain file system: from pgBackRest backups,
//! replaying the source's archived WAL to a time or an LSN; the restore
//! window and the moments outside it; archiving across a crash of pgfleet
//! and a restart of the source; backups listed and taken on demand.

mod common;

use std::time::{Duration, Instant};

use app::model::{BackupKind, DatabaseView, ForkPoint, Phase};
use common::pg::{exec, pgbench_load, scalar, TestEngine, INVARIANT};
use pgfleet::engine::{CreateRequest, EngineError};
use sqlx::postgres::PgConnection;

const READY: Duration = Duration::from_secs(180);

/// Polls `name`'s view until `ok` holds, for at most [`READY`].
async fn wait_view(t: &TestEngine, name: &str, what: &str, ok: impl Fn(&DatabaseView) -> bool) -> DatabaseView {
    let deadline = Instant::now() + READY;
    loop {
        let view = t.store.view(name).await.unwrap().expect("exists");
        if ok(&view) {
            return view;
        }
        assert!(Instant::now() < deadline, "{name}: not {what}: {view:?}");
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
}

/// Waits until `name` has a restore window (its first backup is done).
async fn wait_for_window(t: &TestEngine, name: &str) -> DatabaseView {
    wait_view(t, name, "with a restore window", |v| v.restore_window.is_some()).await
}

/// Inserts marker `i` and answers a moment and an LSN right after its
/// commit (and before the next marker's).
async fn mark(conn: &mut PgConnection, i: i64) -> (chrono::DateTime<chrono::Utc>, String) {
    exec(conn, &format!("INSERT INTO marks VALUES ({i})")).await;
    let (at, lsn): (chrono::DateTime<chrono::Utc>, String) =
        sqlx::query_as("SELECT clock_timestamp(), pg_current_wal_insert_lsn()::text")
            .fetch_one(&mut *conn)
            .await
            .unwrap();
    // Commits one moment apart, so no clock granularity blurs them.
    let until = Instant::now() + Duration::from_millis(20);
    while Instant::now() < until {
        tokio::task::yield_now().await;
    }
    (at, lsn)
}

async fn marks(conn: &mut PgConnection) -> Vec<i32> {
    sqlx::query_scalar("SELECT i FROM marks ORDER BY i").fetch_all(conn).await.unwrap()
}

fn fork_at(name: &str, source: &str, point: ForkPoint) -> CreateRequest {
    CreateRequest { name: Some(name.into()), fork: Some(source.into()), fork_point: Some(point), ..Default::default() }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_point_in_time_fork_has_what_was_committed_before_its_moment_only() {
    let t = TestEngine::start().await;
    t.create_named("ledger").await;
    t.wait_for("ledger", Phase::Available, READY).await;
    let view = wait_for_window(&t, "ledger").await;
    let window = view.restore_window.clone().unwrap();
    assert!(window.from <= chrono::Utc::now());
    let archiving = view.archiving.expect("archiving is reported");
    assert!(archiving.warning.is_none(), "{archiving:?}");
    assert_eq!(archiving.backups, 1);

    let mut source = t.connect("ledger").await;
    exec(&mut source, "CREATE TABLE marks (i int)").await;
    let (_, _) = mark(&mut source, 1).await;
    let (after_two, lsn_two) = mark(&mut source, 2).await;
    let (_, _) = mark(&mut source, 3).await;

    t.create(fork_at("by-time", "ledger", ForkPoint::Time(after_two))).await;
    t.create(fork_at("by-lsn", "ledger", ForkPoint::Lsn(lsn_two.clone()))).await;
    let by_time = t.wait_for("by-time", Phase::Available, READY).await;
    assert_eq!(by_time.fork_point, Some(ForkPoint::Time(after_two)));
    assert!(by_time.copy.is_none(), "not a copy of the running source: {:?}", by_time.copy);
    t.wait_for("by-lsn", Phase::Available, READY).await;
    let mut fork = t.connect("by-time").await;
    assert_eq!(marks(&mut fork).await, vec![1, 2], "rows committed before the moment, none after");
    let mut fork_lsn = t.connect("by-lsn").await;
    assert_eq!(marks(&mut fork_lsn).await, vec![1, 2], "rows committed before the LSN, none after");

    // Writable, on a timeline of its own, independent of its source.
    exec(&mut fork, "INSERT INTO marks VALUES (100)").await;
    assert_eq!(scalar(&mut source, "SELECT count(*) FROM marks WHERE i = 100").await, 0);
    let tli = "SELECT ('x' || substr(pg_walfile_name(pg_current_wal_lsn()), 1, 8))::bit(32)::int::int8";
    assert!(scalar(&mut fork, tli).await > scalar(&mut source, tli).await);

    // Outside the window, and in the future: refused, naming the window.
    let before = window.from - chrono::Duration::hours(1);
    match t.engine.create(fork_at("too-early", "ledger", ForkPoint::Time(before))).await {
        Err(e @ EngineError::OutsideWindow { .. }) => {
            let api = app::model::ApiError::from(e);
            assert_eq!(api.code.http_status(), 422);
            assert!(api.message.contains("restore window") && api.message.contains("from "), "{}", api.message);
        }
        other => panic!("a moment before the window was not refused: {other:?}"),
    }
    let later = chrono::Utc::now() + chrono::Duration::hours(1);
    match t.engine.create(fork_at("too-late", "ledger", ForkPoint::Time(later))).await {
        Err(e @ EngineError::InTheFuture { .. }) => assert_eq!(app::model::ApiError::from(e).code.http_status(), 422),
        other => panic!("a moment in the future was not refused: {other:?}"),
    }
    assert!(t.store.view("too-early").await.unwrap().is_none(), "nothing was made");

    // The backup the forks started from is listed.
    let backups = t.engine.backups("ledger").await.unwrap();
    assert!(backups.iter().any(|b| b.kind == BackupKind::Full && b.size_bytes > 0), "{backups:?}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_point_in_time_fork_of_a_source_under_load_is_consistent() {
    let t = TestEngine::start().await;
    t.create_named("busy").await;
    t.wait_for("busy", Phase::Available, READY).await;
    let url = t.engine.credentials("busy").await.unwrap();
    let mut load = pgbench_load(&url, 2).await;
    wait_for_window(&t, "busy").await;
    let mut source = t.connect("busy").await;
    let deadline = Instant::now() + Duration::from_secs(30);
    while scalar(&mut source, "SELECT count(*) FROM pgbench_history").await < 200 {
        assert!(Instant::now() < deadline, "pgbench is not writing");
    }
    let (moment,): (chrono::DateTime<chrono::Utc>,) =
        sqlx::query_as("SELECT clock_timestamp()").fetch_one(&mut source).await.unwrap();
    let at_moment = scalar(&mut source, "SELECT count(*) FROM pgbench_history").await;
    let deadline = Instant::now() + Duration::from_secs(30);
    while scalar(&mut source, "SELECT count(*) FROM pgbench_history").await < at_moment + 200 {
        assert!(Instant::now() < deadline, "pgbench stopped writing");
    }
    t.create(fork_at("then", "busy", ForkPoint::Time(moment))).await;
    t.wait_for("then", Phase::Available, READY).await;
    assert!(load.try_wait().unwrap().is_none(), "the load ran throughout");
    let mut fork = t.connect("then").await;
    assert_eq!(scalar(&mut fork, INVARIANT).await, 1, "the fork is a consistent moment");
    let rows = scalar(&mut fork, "SELECT count(*) FROM pgbench_history").await;
    let now = scalar(&mut source, "SELECT count(*) FROM pgbench_history").await;
    assert!(rows < now, "the fork is of the past: {rows} rows, the source has {now}");
    let _ = load.kill().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn archiving_survives_a_crash_of_pgfleet_and_a_restart_of_the_source() {
    let t = TestEngine::start().await;
    t.create_named("steady").await;
    t.wait_for("steady", Phase::Available, READY).await;
    wait_for_window(&t, "steady").await;
    let mut source = t.connect("steady").await;
    exec(&mut source, "CREATE TABLE marks (i int)").await;
    mark(&mut source, 1).await;
    drop(source);

    // pgfleet dies; the server keeps archiving without it.
    let (home, config) = t.crash().await;
    let t = TestEngine::start_in(home, config).await;
    let mut source = t.connect("steady").await;
    mark(&mut source, 2).await;
    drop(source);

    // The source's server stops; pgfleet starts it again, archiving on.
    let pid: i32 = std::fs::read_to_string(t.data_dir("steady").join("postmaster.pid"))
        .unwrap()
        .lines()
        .next()
        .unwrap()
        .parse()
        .unwrap();
    // SAFETY: the postmaster of this test's database.
    unsafe { libc::kill(pid, libc::SIGINT) };
    let deadline = Instant::now() + READY;
    let mut source = loop {
        if let Ok(conn) = sqlx::Connection::connect(&t.engine.credentials("steady").await.unwrap()).await {
            let conn: PgConnection = conn;
            break conn;
        }
        assert!(Instant::now() < deadline, "the source was not restarted");
        tokio::time::sleep(Duration::from_millis(100)).await;
    };
    let (after_three, _) = mark(&mut source, 3).await;
    mark(&mut source, 4).await;

    t.create(fork_at("kept", "steady", ForkPoint::Time(after_three))).await;
    t.wait_for("kept", Phase::Available, READY).await;
    let mut fork = t.connect("kept").await;
    assert_eq!(marks(&mut fork).await, vec![1, 2, 3], "WAL from before, during and after both was archived");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_backup_asked_for_is_taken_and_listed() {
    let t = TestEngine::start().await;
    t.create_named("asked").await;
    t.wait_for("asked", Phase::Available, READY).await;
    wait_for_window(&t, "asked").await;
    let first = t.engine.backups("asked").await.unwrap();
    assert_eq!(first.len(), 1, "one full backup when it became available: {first:?}");
    t.engine.capture_backup("asked").await.unwrap();
    let deadline = Instant::now() + READY;
    loop {
        let list = t.engine.backups("asked").await.unwrap();
        if list.len() == 2 {
            assert!(list[1].started_at > first[0].started_at);
            assert!(list.iter().all(|b| b.kind == BackupKind::Full && b.stored_bytes > 0 && b.duration_seconds >= 0.0));
            break;
        }
        assert!(Instant::now() < deadline, "the backup asked for was not taken: {list:?}");
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    wait_view(&t, "asked", "counting the new backup", |v| v.archiving.as_ref().is_some_and(|a| a.backups == 2)).await;
    // A follower has no backups of its own.
    t.create(CreateRequest { name: Some("reader".into()), follow: Some("asked".into()), ..Default::default() }).await;
    t.wait_for("reader", Phase::Available, READY).await;
    assert!(matches!(t.engine.backups("reader").await, Err(EngineError::NotAPrimary(_))));
    assert!(matches!(t.engine.capture_backup("reader").await, Err(EngineError::NotAPrimary(_))));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_point_in_time_fork_interrupted_by_a_crash_is_finished_by_the_next_start() {
    let t = TestEngine::start().await;
    t.create_named("origin").await;
    t.wait_for("origin", Phase::Available, READY).await;
    wait_for_window(&t, "origin").await;
    let mut source = t.connect("origin").await;
    exec(&mut source, "CREATE TABLE marks (i int)").await;
    let (after_one, _) = mark(&mut source, 1).await;
    mark(&mut source, 2).await;
    t.create(fork_at("resumed", "origin", ForkPoint::Time(after_one))).await;
    // Crash while it is being made: restoring, replaying or just asked for.
    let deadline = Instant::now() + READY;
    loop {
        let view = t.store.view("resumed").await.unwrap().unwrap();
        if view.progress.is_some() || view.phase != Phase::Provisioning {
            break;
        }
        assert!(Instant::now() < deadline, "the fork never started: {view:?}");
        tokio::task::yield_now().await;
    }
    let (home, config) = t.crash().await;
    let t = TestEngine::start_in(home, config).await;
    t.wait_for("resumed", Phase::Available, READY).await;
    let mut fork = t.connect("resumed").await;
    assert_eq!(marks(&mut fork).await, vec![1]);
    // Nothing half-made is left, and the source holds nothing for it.
    let databases = t.home().join("databases");
    let leftovers: Vec<_> = std::fs::read_dir(&databases)
        .unwrap()
        .flatten()
        .map(|e| e.file_name().to_string_lossy().to_string())
        .filter(|n| n.ends_with(".partial") || n.ends_with(".deleting"))
        .collect();
    assert!(leftovers.is_empty(), "{leftovers:?}");
    assert!(common::pg::slots(&t, "origin").await.is_empty(), "no slot is left on the source");
    let labels = scalar(&mut source, "SELECT count(*) FROM pg_stat_activity WHERE backend_type = 'walsender'").await;
    assert_eq!(labels, 0, "no backup session is left open on the source");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn archiving_that_fails_is_a_warning_until_it_works_again() {
    use std::os::unix::fs::PermissionsExt;
    let t = TestEngine::start().await;
    t.create_named("fragile").await;
    t.wait_for("fragile", Phase::Available, READY).await;
    wait_for_window(&t, "fragile").await;
    let archive = t.home().join("backups").join("repo").join("archive").join("fragile");
    let mode = std::fs::metadata(&archive).unwrap().permissions().mode();
    std::fs::set_permissions(&archive, std::fs::Permissions::from_mode(0o000)).unwrap();
    let mut source = t.connect("fragile").await;
    // More than a segment of WAL, so the archiver has one to push.
    exec(&mut source, "CREATE TABLE marks (i int); INSERT INTO marks SELECT generate_series(1, 600000)").await;

    let warned = |v: &DatabaseView| v.archiving.as_ref().and_then(|a| a.warning.clone());
    let view = wait_view(&t, "fragile", "warned while archiving fails", |v| warned(v).is_some()).await;
    let warning = warned(&view).unwrap();
    assert!(warning.contains("failing"), "{warning}");
    let events = t.store.events_after(0).await.unwrap().expect("nothing pruned yet");
    assert!(
        events.iter().any(|e| e.database == "fragile"
            && e.kind == app::model::EventKind::Backup
            && e.message.as_deref() == Some(warning.as_str())),
        "the warning is an event"
    );

    std::fs::set_permissions(&archive, std::fs::Permissions::from_mode(mode)).unwrap();
    wait_view(&t, "fragile", "clear of the warning once archiving works", |v| warned(v).is_none()).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_moment_the_archive_does_not_reach_fails_clearly_instead_of_waiting() {
    let t = TestEngine::start().await;
    t.create_named("short").await;
    t.wait_for("short", Phase::Available, READY).await;
    wait_for_window(&t, "short").await;
    // A WAL position far past anything written: replay runs out first.
    t.create(fork_at("beyond", "short", ForkPoint::Lsn("7/0".into()))).await;
    let failed = t.wait_for("beyond", Phase::Failed, READY).await;
    let message = failed.message.unwrap_or_default();
    assert!(
        message.contains("the WAL archive of short ends before LSN 7/0"),
        "the failure says what happened: {message}"
    );
    // Its half-made copy is gone; the source is untouched.
    assert!(!t.home().join("databases").join("beyond.partial").exists());
    t.wait_for("short", Phase::Available, READY).await;
}

/// What a `pgbackrest stanza-create` killed part-way leaves in the repository
/// before `name` exists; `chown` hands it to PostgreSQL's OS user, as
/// pgBackRest would have written it.
fn leave_half_made_stanza(repo: &std::path::Path, name: &str, files: &[&str]) {
    for file in files {
        let path = repo.join(file.replace("NAME", name));
        if file.ends_with('/') {
            std::fs::create_dir_all(&path).unwrap();
        } else {
            std::fs::create_dir_all(path.parent().unwrap()).unwrap();
            std::fs::write(&path, "cut short\n").unwrap();
        }
    }
    let status = std::process::Command::new("chown").args(["-R", "postgres:postgres"]).arg(repo).status().unwrap();
    assert!(status.success(), "chown the repository");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_stanza_left_half_made_by_a_killed_stanza_create_is_made_again_unless_it_holds_backups() {
    let t = TestEngine::start().await;
    let repo = t.home().join("backups").join("repo");
    // Killed before the first rename: only a temporary file (pgBackRest: "[040] archive directory not empty").
    leave_half_made_stanza(&repo, "tmponly", &["archive/NAME/archive.info.pgbackrest.tmp"]);
    // Killed between the archive's info and the backups' ("[055] archive.info exists but backup.info is missing").
    leave_half_made_stanza(&repo, "halfway", &["archive/NAME/archive.info", "archive/NAME/archive.info.copy"]);
    // A backup set without its info file is not a cut-short create: left alone.
    leave_half_made_stanza(&repo, "kept", &["archive/NAME/archive.info", "backup/NAME/20261201-000000F/"]);
    for name in ["tmponly", "halfway", "kept"] {
        t.create_named(name).await;
    }
    for name in ["tmponly", "halfway"] {
        t.wait_for(name, Phase::Available, READY).await;
        let view = wait_for_window(&t, name).await;
        let archiving = view.archiving.expect("archiving is reported");
        assert_eq!(archiving.backups, 1, "{name}: {archiving:?}");
    }
    let warned = |v: &DatabaseView| v.archiving.as_ref().and_then(|a| a.warning.clone()).unwrap_or_default();
    let view = wait_view(&t, "kept", "warned", |v| warned(v).contains("backups cannot be set up yet")).await;
    assert!(warned(&view).contains("backup.info is missing"), "pgBackRest's reason is shown: {view:?}");
    assert!(repo.join("backup/kept/20261201-000000F").is_dir(), "a backup set is never deleted to make a stanza");
    assert!(view.restore_window.is_none(), "{view:?}");
}
