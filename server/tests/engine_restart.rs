//! Restart safety: the control plane stops abruptly in the middle of a
//! fork, a follow, a promotion and a deletion (its tasks die where they
//! are, copies are killed, servers keep running, as after a crash), and a
//! new control plane over the same home finishes the work.

mod common;

use std::path::Path;
use std::time::{Duration, Instant};

use app::model::{EventKind, Phase};
use common::pg::{pgbench_load, scalar, slots, TestEngine, INVARIANT};
use pgfleet::engine::CreateRequest;

const READY: Duration = Duration::from_secs(180);

/// Live postmasters per data dir under `home`, from `/proc`.
fn postmasters_per_data_dir(home: &Path) -> std::collections::HashMap<String, usize> {
    let mut counts = std::collections::HashMap::new();
    for entry in std::fs::read_dir("/proc").unwrap().flatten() {
        let Ok(pid) = entry.file_name().to_string_lossy().parse::<i32>() else { continue };
        let Ok(cmdline) = std::fs::read(format!("/proc/{pid}/cmdline")) else { continue };
        let args: Vec<String> = cmdline.split(|b| *b == 0).map(|a| String::from_utf8_lossy(a).into_owned()).collect();
        if !args.first().is_some_and(|a| a.ends_with("/postgres")) || !common::pg::alive(pid) {
            continue;
        }
        if let Some(pos) = args.iter().position(|a| a == "-D") {
            if let Some(dir) = args.get(pos + 1).filter(|d| d.starts_with(&*home.to_string_lossy())) {
                *counts.entry(dir.clone()).or_insert(0) += 1;
            }
        }
    }
    counts
}

/// Entries of the databases dir that are not a database's own dir.
fn leftovers(home: &Path) -> Vec<String> {
    std::fs::read_dir(home.join("databases"))
        .unwrap()
        .flatten()
        .map(|e| e.file_name().to_string_lossy().into_owned())
        .filter(|n| n.contains('.'))
        .collect()
}

async fn wait_for_copy_to_begin(
    t: &TestEngine,
    events: &mut tokio::sync::broadcast::Receiver<app::model::Event>,
    name: &str,
) {
    let deadline = Instant::now() + Duration::from_secs(60);
    loop {
        assert!(Instant::now() < deadline, "{name}'s copy never started");
        let Ok(Ok(event)) = tokio::time::timeout(Duration::from_secs(1), events.recv()).await else { continue };
        let copying = event.database == name
            && event.kind == EventKind::Progress
            && event
                .view
                .as_ref()
                .and_then(|v| v.progress.as_ref())
                .is_some_and(|p| p.bytes_done > 0 && p.step != "copied");
        if copying {
            assert!(t.home().join("databases").join(format!("{name}.partial")).exists());
            return;
        }
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_crash_mid_fork_and_mid_follow_is_resumed() {
    let t = TestEngine::start().await;
    t.create_named("prod").await;
    t.wait_for("prod", Phase::Available, READY).await;
    let url = t.engine.credentials("prod").await.unwrap();
    let _load = pgbench_load(&url, 30).await;
    let prod_pid = std::fs::read_to_string(t.data_dir("prod").join("postmaster.pid")).unwrap();

    // Crash in the middle of a fork's copy.
    let mut events = t.engine.subscribe();
    t.create(CreateRequest { name: Some("trial".into()), fork: Some("prod".into()), ..Default::default() }).await;
    wait_for_copy_to_begin(&t, &mut events, "trial").await;
    let (home, config) = t.crash().await;

    let t = TestEngine::start_in(home, config).await;
    t.wait_for("trial", Phase::Available, READY).await;
    let mut fork = t.connect("trial").await;
    assert_eq!(scalar(&mut fork, INVARIANT).await, 1, "the resumed fork is consistent");
    assert!(slots(&t, "prod").await.is_empty(), "a fork leaves no slot on its source");
    assert_eq!(
        std::fs::read_to_string(t.data_dir("prod").join("postmaster.pid")).unwrap(),
        prod_pid,
        "the source's server was adopted, not restarted"
    );

    // Crash in the middle of a follower's copy.
    let mut events = t.engine.subscribe();
    t.create(CreateRequest { name: Some("reader".into()), follow: Some("prod".into()), ..Default::default() }).await;
    wait_for_copy_to_begin(&t, &mut events, "reader").await;
    let (home, config) = t.crash().await;

    let t = TestEngine::start_in(home, config).await;
    t.wait_for("reader", Phase::Available, READY).await;
    assert_eq!(slots(&t, "prod").await, vec!["pgfleet_reader".to_string()], "exactly the follower's slot");
    assert!(leftovers(t.home()).is_empty(), "no partial copies: {:?}", leftovers(t.home()));
    let counts = postmasters_per_data_dir(t.home());
    assert_eq!(counts.len(), 3, "{counts:?}");
    assert!(counts.values().all(|n| *n == 1), "no server runs twice: {counts:?}");
    let mut ports = t.store.used_ports().await.unwrap();
    ports.sort();
    ports.dedup();
    assert_eq!(ports.len(), 3, "one port per database");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_crash_right_after_promote_or_destroy_is_finished_after_restart() {
    let t = TestEngine::start().await;
    t.create_named("main").await;
    t.wait_for("main", Phase::Available, READY).await;
    for name in ["f-keep", "f-gone"] {
        t.create(CreateRequest { name: Some(name.into()), follow: Some("main".into()), ..Default::default() }).await;
    }
    t.wait_for("f-keep", Phase::Available, READY).await;
    t.wait_for("f-gone", Phase::Available, READY).await;

    t.engine.promote("f-keep").await.unwrap();
    t.engine.destroy("f-gone", false).await.unwrap();
    let (home, config) = t.crash().await;

    let t = TestEngine::start_in(home, config).await;
    t.wait_until_gone("f-gone", READY).await;
    let deadline = Instant::now() + READY;
    loop {
        let view = t.engine.get("f-keep").await.unwrap();
        if view.phase == Phase::Available && view.following.is_none() {
            break;
        }
        assert!(Instant::now() < deadline, "promotion not finished: {view:?}");
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    let deadline = Instant::now() + READY;
    while !slots(&t, "main").await.is_empty() {
        assert!(Instant::now() < deadline, "slots left on main: {:?}", slots(&t, "main").await);
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    assert!(!t.home().join("databases").join("f-gone").exists());
    assert!(leftovers(t.home()).is_empty(), "{:?}", leftovers(t.home()));
    let mut promoted = t.connect("f-keep").await;
    common::pg::exec(&mut promoted, "CREATE TABLE now_writable (id int)").await;
}
