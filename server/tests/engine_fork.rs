//! Forks of a source under write load, and supervision of servers that die.

mod common;

use std::time::{Duration, Instant};

use app::model::{EventKind, Phase};
use common::pg::{exec, pgbench_load, scalar, TestEngine, INVARIANT};
use pgfleet::engine::{CreateRequest, EngineError, MAX_FOLLOWERS};
use sqlx::Connection;

const READY: Duration = Duration::from_secs(180);

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_fork_of_a_source_under_load_is_consistent_and_independent() {
    let t = TestEngine::start().await;
    t.create_named("prod").await;
    t.wait_for("prod", Phase::Available, READY).await;
    let url = t.engine.credentials("prod").await.unwrap();
    let mut load = pgbench_load(&url, 4).await;
    let mut source = t.connect("prod").await;
    let deadline = Instant::now() + Duration::from_secs(30);
    while scalar(&mut source, "SELECT count(*) FROM pgbench_history").await < 100 {
        assert!(Instant::now() < deadline, "pgbench is not writing");
    }

    let mut events = t.engine.subscribe();
    let fork =
        t.create(CreateRequest { name: Some("trial".into()), fork: Some("prod".into()), ..Default::default() }).await;
    assert_eq!(fork.forked_from.as_deref(), Some("prod"));
    let view = t.wait_for("trial", Phase::Available, READY).await;
    assert!(view.following.is_none());
    assert!(load.try_wait().unwrap().is_none(), "the load ran throughout");

    // Progress was reported with bytes, then the phase reached available.
    let mut saw_progress = false;
    let mut phases = Vec::new();
    // Events are published just after the store changes: read until the
    // fork's available event arrives.
    let deadline = Instant::now() + Duration::from_secs(30);
    while phases.last() != Some(&Some(Phase::Available)) {
        assert!(Instant::now() < deadline, "no available event; phases so far {phases:?}");
        let Ok(Ok(event)) = tokio::time::timeout(Duration::from_secs(1), events.recv()).await else { continue };
        if event.database != "trial" {
            continue;
        }
        match event.kind {
            EventKind::Progress => {
                let p = event.view.and_then(|v| v.progress);
                if let Some(p) = p.filter(|p| p.bytes_total.is_some()) {
                    assert!(p.bytes_total >= Some(p.bytes_done), "{p:?}");
                    saw_progress = true;
                }
            }
            EventKind::Phase => phases.push(event.view.map(|v| v.phase)),
            _ => {}
        }
    }
    assert!(saw_progress, "progress events were published");
    assert_eq!(phases.last(), Some(&Some(Phase::Available)), "{phases:?}");

    let mut forked = t.connect("trial").await;
    assert_eq!(scalar(&mut forked, INVARIANT).await, 1, "the fork is a consistent moment of the source");
    let history = scalar(&mut forked, "SELECT count(*) FROM pgbench_history").await;
    assert!(history >= 100, "the fork has the source's data ({history} rows)");

    // Independent both ways.
    exec(&mut forked, "INSERT INTO pgbench_history (tid, bid, aid, delta, mtime) VALUES (-1, -1, -1, 0, now())").await;
    exec(&mut source, "INSERT INTO pgbench_history (tid, bid, aid, delta, mtime) VALUES (-2, -2, -2, 0, now())").await;
    assert_eq!(scalar(&mut source, "SELECT count(*) FROM pgbench_history WHERE tid = -1").await, 0);
    assert_eq!(scalar(&mut forked, "SELECT count(*) FROM pgbench_history WHERE tid = -2").await, 0);

    // A new identity: its own timeline and its own password.
    let tli = "SELECT ('x' || substr(pg_walfile_name(pg_current_wal_lsn()), 1, 8))::bit(32)::int::int8";
    assert!(scalar(&mut forked, tli).await > scalar(&mut source, tli).await);
    let fork_spec = t.store.spec("trial").await.unwrap().unwrap();
    let with_source_password = url
        .replace(&format!(":{}/", t.store.spec("prod").await.unwrap().unwrap().port), &format!(":{}/", fork_spec.port));
    assert!(
        sqlx::PgConnection::connect(&with_source_password).await.is_err(),
        "the source's password does not open the fork"
    );
    drop(load.kill().await);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_server_that_dies_is_restarted_and_one_that_cannot_start_says_why_until_it_can() {
    let t = TestEngine::start().await;
    t.create_named("sturdy").await;
    t.wait_for("sturdy", Phase::Available, READY).await;
    let mut events = t.engine.subscribe();
    let pid_of = || -> i32 {
        let text = std::fs::read_to_string(t.data_dir("sturdy").join("postmaster.pid")).unwrap();
        text.lines().next().unwrap().trim().parse().unwrap()
    };
    let first = pid_of();
    // SAFETY: killing the postmaster this test started.
    unsafe { libc::kill(first, libc::SIGKILL) };

    let deadline = Instant::now() + Duration::from_secs(60);
    loop {
        match tokio::time::timeout(Duration::from_secs(1), events.recv()).await {
            Ok(Ok(e)) if e.database == "sturdy" && e.kind == EventKind::Restarted => break,
            _ => assert!(Instant::now() < deadline, "no restart was recorded"),
        }
    }
    assert_ne!(pid_of(), first);
    let mut conn = t.connect("sturdy").await;
    assert_eq!(common::pg::scalar(&mut conn, "SELECT 1::int8").await, 1);
    drop(conn);

    // Break its configuration, then kill it: it cannot come back, and is
    // shown down with the reason from its log while pgfleet keeps trying.
    let auto_conf = t.data_dir("sturdy").join("postgresql.auto.conf");
    let good = std::fs::read_to_string(&auto_conf).unwrap();
    std::fs::write(&auto_conf, "no_such_setting = 1\n").unwrap();
    let second = pid_of();
    // SAFETY: as above.
    unsafe { libc::kill(second, libc::SIGKILL) };
    let deadline = Instant::now() + Duration::from_secs(60);
    let reason = loop {
        let view = t.engine.get("sturdy").await.unwrap();
        assert_ne!(view.phase, Phase::Failed, "it keeps trying: {view:?}");
        let message = view.message.clone().unwrap_or_default();
        if view.phase == Phase::Restarting && message.contains("no_such_setting") {
            break message;
        }
        assert!(Instant::now() < deadline, "not shown down with its reason: {view:?}");
        tokio::time::sleep(Duration::from_millis(50)).await;
    };
    assert!(reason.contains("trying again"), "{reason}");
    // Mended, it comes back by itself.
    std::fs::write(&auto_conf, good).unwrap();
    t.wait_for("sturdy", Phase::Available, Duration::from_secs(60)).await;
}

/// pg_basebackup pins its WAL only once its streamer has a slot; a second
/// copy's fast checkpoint in that moment used to break the first copy, and
/// many copies at once ran out of WAL senders.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_source_takes_its_most_followers_and_forks_at_once_and_refuses_one_more_follower() {
    let t = TestEngine::start().await;
    t.create_named("hub").await;
    t.wait_for("hub", Phase::Available, READY).await;
    let mut hub = t.connect("hub").await;
    exec(&mut hub, "CREATE TABLE marks AS SELECT g AS id FROM generate_series(1, 1000) g").await;

    let followers: Vec<String> = (1..=MAX_FOLLOWERS).map(|i| format!("hub-f{i}")).collect();
    let forks: Vec<String> = (1..=3).map(|i| format!("hub-k{i}")).collect();
    for name in &followers {
        t.create(CreateRequest { name: Some(name.clone()), follow: Some("hub".into()), ..Default::default() }).await;
    }
    for name in &forks {
        t.create(CreateRequest { name: Some(name.clone()), fork: Some("hub".into()), ..Default::default() }).await;
    }
    let one_more = CreateRequest { name: Some("hub-extra".into()), follow: Some("hub".into()), ..Default::default() };
    let refused = t.engine.create(one_more).await.unwrap_err();
    assert!(matches!(refused, EngineError::TooManyFollowers { .. }), "{refused:?}");
    assert!(t.engine.get("hub-extra").await.is_err(), "nothing is left of the refused follower");

    for name in followers.iter().chain(forks.iter()) {
        t.wait_for(name, Phase::Available, READY).await;
        let mut conn = t.connect(name).await;
        assert_eq!(scalar(&mut conn, "SELECT count(*) FROM marks").await, 1000, "{name} has the source's rows");
    }
    let mut held = common::pg::slots(&t, "hub").await;
    held.sort();
    let mut expected: Vec<String> = followers.iter().map(|f| format!("pgfleet_{}", f.replace('-', "_"))).collect();
    expected.sort();
    assert_eq!(held, expected, "one slot per follower, none lost");
}
