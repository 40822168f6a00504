//! Several pgfleet servers on one PostgreSQL store (the real binary, a
//! real PostgreSQL for the store): one leads and does the background work,
//! a leader killed with SIGKILL mid-fork is replaced by the standby, which
//! finishes the fork, and the event stream of the survivor carries every
//! event the store logged, once and in order; servers started at once on
//! an empty store both start, and requests to both at once get names and
//! ports of their own.

mod common;

use std::path::Path;
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use app::model::NewDatabase as CreateBody;
use app::model::{DatabaseView, Event, EventKind, Health, LoopState, Phase};
use pgfleet::client::Client;
use sqlx::Connection;

async fn until<T>(what: &str, within: Duration, mut check: impl AsyncFnMut() -> Option<T>) -> T {
    let deadline = Instant::now() + within;
    loop {
        if let Some(value) = check().await {
            return value;
        }
        assert!(Instant::now() < deadline, "not {what} within {within:?}");
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
}

async fn phase(client: &Client, name: &str, phase: Phase) -> DatabaseView {
    until(&format!("{name} {}", phase.as_str()), Duration::from_secs(300), async || {
        let db = client.get(name).await.ok()?;
        assert!(db.phase != Phase::Failed, "{name} failed: {:?}", db.message);
        (db.phase == phase).then_some(db)
    })
    .await
}

fn loop_state(health: &Health, name: &str) -> LoopState {
    health.loops.iter().find(|l| l.name == name).unwrap_or_else(|| panic!("no loop {name}: {health:?}")).state
}

/// The store: a real PostgreSQL server, made by a pgfleet of its own (kept
/// while the test runs), and its URL. Two servers' pools, listeners and
/// leadership connections outgrow the 20 connections of the default plan.
async fn shared_store() -> (common::pg::TestEngine, String) {
    let keeper = common::pg::TestEngine::start().await;
    let plan = Some("standard".to_string());
    keeper.create(pgfleet::engine::CreateRequest { name: Some("store".into()), plan, ..Default::default() }).await;
    keeper.wait_for("store", Phase::Available, Duration::from_secs(120)).await;
    let store = keeper.engine.credentials("store").await.unwrap();
    (keeper, store)
}

/// Stops every server under the home when the test ends, however it ends.
struct Cleanup<'a>(&'a Path);

impl Drop for Cleanup<'_> {
    fn drop(&mut self) {
        common::pg::stop_all_servers(self.0);
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_killed_leader_is_replaced_mid_fork_and_the_survivors_stream_sees_every_event() {
    let (_keeper, store) = shared_store().await;

    let home = common::TestHome::new();
    let _cleanup = Cleanup(home.path());
    let first = common::binary::serve(home.path(), &store, "first").await;
    until("the first server leading", Duration::from_secs(30), async || first.health().await.leader.then_some(()))
        .await;
    let second = common::binary::serve(home.path(), &store, "second").await;
    let health = second.health().await;
    assert!(!health.leader, "one leader: {health:?}");
    assert_eq!(health.status, "ok", "standing by is healthy: {health:?}");
    for name in ["reconciler", "backups", "metrics", "lease-keeper"] {
        assert_eq!(loop_state(&health, name), LoopState::Standby, "{name}");
    }

    // The second server's stream, from before anything happens.
    let seen: Arc<Mutex<Vec<Event>>> = Default::default();
    let reconnects = Arc::new(Mutex::new(0u32));
    let opened = Arc::new(tokio::sync::Notify::new());
    let stream = {
        let (client, seen, reconnects, opened) =
            (second.client.clone(), seen.clone(), reconnects.clone(), opened.clone());
        tokio::spawn(async move {
            client
                .follow_events(
                    |m| {
                        opened.notify_one();
                        if let Ok(event) = serde_json::from_str::<Event>(&m.data) {
                            seen.lock().unwrap().push(event);
                        }
                        true
                    },
                    |_| *reconnects.lock().unwrap() += 1,
                )
                .await
        })
    };
    tokio::time::timeout(Duration::from_secs(30), opened.notified()).await.expect("the stream opens");
    let mut log = sqlx::PgConnection::connect(&store).await.unwrap();
    let start: i64 = sqlx::query_scalar("SELECT coalesce(max(id), 0) FROM events").fetch_one(&mut log).await.unwrap();

    // Asked of the standby, done by the leader.
    second.client.create(&CreateBody { name: Some("prod".into()), ..Default::default() }).await.unwrap();
    phase(&first.client, "prod", Phase::Available).await;
    let prod = first.client.credentials("prod").await.unwrap();
    let _load = common::pg::pgbench_load(&prod, 30).await;

    first
        .client
        .create(&CreateBody { name: Some("trial".into()), fork: Some("prod".into()), ..Default::default() })
        .await
        .unwrap();
    until("trial's copy under way", Duration::from_secs(120), async || {
        let db = second.client.get("trial").await.ok()?;
        db.progress.filter(|p| p.bytes_done > 0 && p.step != "copied").map(|_| ())
    })
    .await;
    first.kill9().await;

    until("the second server leading", Duration::from_secs(30), async || second.health().await.leader.then_some(()))
        .await;
    let health = second.health().await;
    for name in ["reconciler", "backups", "metrics", "lease-keeper"] {
        assert_eq!(loop_state(&health, name), LoopState::Running, "{name} runs on the new leader");
    }
    let trial = phase(&second.client, "trial", Phase::Available).await;
    assert_eq!(trial.forked_from.as_deref(), Some("prod"));
    let mut fork = sqlx::PgConnection::connect(&second.client.credentials("trial").await.unwrap()).await.unwrap();
    assert_eq!(common::pg::scalar(&mut fork, common::pg::INVARIANT).await, 1, "a consistent copy");

    // Every event the store logged since the stream opened reached it,
    // once each and in order, without a reconnect's replay.
    let logged: Vec<i64> = sqlx::query_scalar("SELECT id FROM events WHERE id > $1 ORDER BY id")
        .bind(start)
        .fetch_all(&mut log)
        .await
        .unwrap();
    let newest = *logged.last().expect("events were logged");
    until("the stream reaching the newest event", Duration::from_secs(30), async || {
        seen.lock().unwrap().iter().any(|e| e.id >= newest).then_some(())
    })
    .await;
    let ids: Vec<i64> = seen.lock().unwrap().iter().map(|e| e.id).filter(|id| *id > start && *id <= newest).collect();
    assert_eq!(ids, logged, "the stream carried the log");
    assert_eq!(*reconnects.lock().unwrap(), 0);
    let events = seen.lock().unwrap().clone();
    let became = |name: &str, to: Phase| {
        events
            .iter()
            .any(|e| e.database == name && e.kind == EventKind::Phase && e.view.as_ref().is_some_and(|v| v.phase == to))
    };
    assert!(became("prod", Phase::Available) && became("trial", Phase::Available), "{events:?}");
    stream.abort();
    second.kill9().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn creates_on_two_servers_at_once_get_names_and_ports_of_their_own() {
    let (_keeper, store) = shared_store().await;

    // Two servers with the same ports to give, as replicas of one
    // deployment have; each admits what it is asked.
    let home = common::TestHome::new();
    let _cleanup = Cleanup(home.path());
    // Started at once on the empty store: one first admin, two servers up.
    let ports = common::pg::port_block();
    let (first, second) = tokio::join!(
        common::binary::serve_on(home.path(), &store, "first", ports.clone()),
        common::binary::serve_on(home.path(), &store, "second", ports),
    );

    // Unnamed, so each server picks the first free name and port: read at
    // the same moment, the same ones, unless admission is one at a time
    // across servers.
    let asks = (0..6).map(|i| {
        let client = if i % 2 == 0 { first.client.clone() } else { second.client.clone() };
        async move { client.create(&CreateBody::default()).await }
    });
    let created: Vec<DatabaseView> = futures::future::join_all(asks)
        .await
        .into_iter()
        .map(|r| r.unwrap_or_else(|e| panic!("a create refused: {e}")))
        .collect();
    let mut names: Vec<&str> = created.iter().map(|d| d.name.as_str()).collect();
    names.sort();
    names.dedup();
    assert_eq!(names.len(), 6, "six names: {names:?}");
    for db in &created {
        phase(&first.client, &db.name, Phase::Available).await;
    }
    let mut urls = Vec::new();
    for db in &created {
        urls.push(first.client.credentials(&db.name).await.unwrap());
    }
    let mut db_ports: Vec<&str> =
        urls.iter().map(|u| u.rsplit(':').next().unwrap().split('/').next().unwrap()).collect();
    db_ports.sort();
    db_ports.dedup();
    assert_eq!(db_ports.len(), 6, "six ports: {urls:?}");
    for url in &urls {
        let mut conn = sqlx::PgConnection::connect(url).await.unwrap_or_else(|e| panic!("{url}: {e}"));
        assert_eq!(common::pg::scalar(&mut conn, "SELECT 1::int8").await, 1);
    }
}
