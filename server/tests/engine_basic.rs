//! The engine against real PostgreSQL: create, follow, promote, destroy,
//! and requests that must be refused.

mod common;

use std::time::Duration;

use app::model::{Phase, Role};
use common::pg::{exec, scalar, slots, TestEngine};
use pgfleet::engine::{CreateRequest, EngineError};

const READY: Duration = Duration::from_secs(120);

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn create_gives_a_database_that_takes_writes() {
    let t = TestEngine::start().await;
    let created = t.create(CreateRequest::default()).await;
    assert_eq!(created.name, "amber", "the first free colour name");
    assert_eq!(created.phase, Phase::Provisioning);
    let view = t.wait_for("amber", Phase::Available, READY).await;
    assert_eq!(view.role, Role::Primary);
    assert_eq!(view.plan, "mini");

    let url = t.engine.credentials("amber").await.unwrap();
    assert!(url.starts_with("postgres://u"), "{url}");
    let mut conn = t.connect("amber").await;
    exec(&mut conn, "CREATE TABLE notes (id int PRIMARY KEY, body text)").await;
    exec(&mut conn, "INSERT INTO notes VALUES (1, 'hello')").await;
    let body: String = sqlx::query_scalar("SELECT body FROM notes WHERE id = 1").fetch_one(&mut conn).await.unwrap();
    assert_eq!(body, "hello");

    // The second database gets the next colour and a port of its own.
    let second = t.create(CreateRequest::default()).await;
    assert_eq!(second.name, "aqua");
    t.wait_for("aqua", Phase::Available, READY).await;
    let a = t.store.spec("amber").await.unwrap().unwrap();
    let b = t.store.spec("aqua").await.unwrap().unwrap();
    assert_ne!(a.port, b.port);

    // Info is probed: version, tables, connections.
    let deadline = std::time::Instant::now() + READY;
    loop {
        let view = t.engine.get("amber").await.unwrap();
        if let Some(info) = view.info.filter(|i| i.tables == 1) {
            assert!(info.pg_version.starts_with("15"), "{info:?}");
            assert!(info.data_size_bytes > 1_000_000);
            assert_eq!(info.max_connections, 20);
            break;
        }
        assert!(std::time::Instant::now() < deadline, "info never showed the table");
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_follower_replicates_is_read_only_reports_lag_and_can_be_promoted() {
    let t = TestEngine::start().await;
    t.create_named("prod").await;
    t.wait_for("prod", Phase::Available, READY).await;
    let mut primary = t.connect("prod").await;
    exec(&mut primary, "CREATE TABLE items (id int PRIMARY KEY)").await;
    exec(&mut primary, "INSERT INTO items VALUES (1)").await;

    let follower = t
        .create(CreateRequest { name: Some("reader".into()), follow: Some("prod".into()), ..Default::default() })
        .await;
    assert_eq!(follower.role, Role::Follower);
    assert_eq!(follower.following.as_deref(), Some("prod"));
    let view = t.wait_for("reader", Phase::Available, READY).await;
    assert!(view.lag.is_some(), "lag is reported: {view:?}");
    assert_eq!(t.engine.get("prod").await.unwrap().followers, vec!["reader".to_string()]);
    assert_eq!(slots(&t, "prod").await, vec!["pgfleet_reader".to_string()]);

    let mut replica = t.connect("reader").await;
    assert_eq!(scalar(&mut replica, "SELECT count(*) FROM items").await, 1);
    exec(&mut primary, "INSERT INTO items VALUES (2)").await;
    let deadline = std::time::Instant::now() + Duration::from_secs(30);
    while scalar(&mut replica, "SELECT count(*) FROM items").await != 2 {
        assert!(std::time::Instant::now() < deadline, "the row never reached the follower");
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
    let err = sqlx::raw_sql("INSERT INTO items VALUES (3)").execute(&mut replica).await.unwrap_err();
    let code = err.as_database_error().and_then(|e| e.code()).map(|c| c.to_string());
    assert_eq!(code.as_deref(), Some("25006"), "read-only transaction: {err}");

    // A primary cannot be promoted; the follower can.
    assert!(matches!(t.engine.promote("prod").await, Err(EngineError::NotAFollower(_))));
    // Destroying a database with followers is refused.
    assert!(matches!(t.engine.destroy("prod", false).await, Err(EngineError::HasFollowers { .. })));

    let asked = chrono::Utc::now();
    t.engine.promote("reader").await.unwrap();
    let deadline = std::time::Instant::now() + READY;
    loop {
        let v = t.engine.get("reader").await.unwrap();
        if v.phase == Phase::Available && v.following.is_none() {
            assert_eq!(v.role, Role::Primary);
            // Its lineage keeps whom it followed and until when.
            let followed = v.followed.clone().expect("a promoted follower keeps its past");
            assert_eq!(followed.source, "prod");
            assert!(followed.until >= asked && followed.until <= chrono::Utc::now(), "{followed:?}");
            assert!(followed.describe(followed.until).starts_with("followed prod until "), "{followed:?}");
            break;
        }
        assert!(std::time::Instant::now() < deadline, "promotion did not finish: {v:?}");
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    drop(replica);
    let mut promoted = t.connect("reader").await;
    exec(&mut promoted, "INSERT INTO items VALUES (3)").await;
    assert!(slots(&t, "prod").await.is_empty(), "the promoted follower's slot is dropped");
    // Now independent: the primary does not see the promoted database's write.
    assert_eq!(scalar(&mut primary, "SELECT count(*) FROM items").await, 2);
    // It archives from its promotion on (its new timeline's history file
    // first), never refused: a refused archive_command idles PostgreSQL's
    // archiver for a minute, and its first backup waits that out.
    let deadline = std::time::Instant::now() + READY;
    while scalar(&mut promoted, "SELECT archived_count FROM pg_stat_archiver").await == 0 {
        assert!(std::time::Instant::now() < deadline, "the promoted database archived nothing");
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    assert_eq!(scalar(&mut promoted, "SELECT failed_count FROM pg_stat_archiver").await, 0);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn destroy_leaves_no_process_files_or_slot_and_can_take_followers() {
    let t = TestEngine::start().await;
    t.create_named("base").await;
    t.wait_for("base", Phase::Available, READY).await;
    t.create(CreateRequest { name: Some("f1".into()), follow: Some("base".into()), ..Default::default() }).await;
    t.wait_for("f1", Phase::Available, READY).await;
    let pid_of = |name: &str| -> i32 {
        let text = std::fs::read_to_string(t.data_dir(name).join("postmaster.pid")).unwrap();
        text.lines().next().unwrap().trim().parse().unwrap()
    };
    let base_pid = pid_of("base");
    let f1_pid = pid_of("f1");

    // Destroying just the follower drops its slot on the source.
    t.engine.destroy("f1", false).await.unwrap();
    t.wait_until_gone("f1", READY).await;
    assert!(!common::pg::alive(f1_pid), "f1's server is stopped");
    assert!(!t.home().join("databases").join("f1").exists(), "f1's files are gone");
    assert!(slots(&t, "base").await.is_empty(), "f1's slot is gone");

    t.create(CreateRequest { name: Some("f2".into()), follow: Some("base".into()), ..Default::default() }).await;
    t.wait_for("f2", Phase::Available, READY).await;
    t.engine.destroy("base", true).await.unwrap();
    t.wait_until_gone("base", READY).await;
    t.wait_until_gone("f2", READY).await;
    assert!(!common::pg::alive(base_pid), "base's server is stopped");
    let left: Vec<_> =
        std::fs::read_dir(t.home().join("databases")).unwrap().flatten().map(|e| e.file_name()).collect();
    assert!(left.is_empty(), "nothing left behind: {left:?}");
    assert!(t.store.used_ports().await.unwrap().is_empty(), "ports are released");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn bad_requests_are_refused_and_leave_nothing_behind() {
    let t = TestEngine::start().await;
    let req = |name: &str| CreateRequest { name: Some(name.into()), ..Default::default() };
    assert!(matches!(t.engine.create(req("Bad_Name")).await, Err(EngineError::InvalidName(_))));
    assert!(matches!(
        t.engine.create(CreateRequest { follow: Some("ghost".into()), ..Default::default() }).await,
        Err(EngineError::UnknownSource(..))
    ));
    assert!(matches!(
        t.engine.create(CreateRequest { plan: Some("gigantic".into()), ..Default::default() }).await,
        Err(EngineError::UnknownPlan { .. })
    ));
    assert!(matches!(
        t.engine.create(CreateRequest { follow: Some("x".into()), fork: Some("x".into()), ..Default::default() }).await,
        Err(EngineError::FollowAndFork)
    ));
    t.create_named("src").await;
    // Not yet available: it cannot be followed or forked.
    let early = t.engine.create(CreateRequest { follow: Some("src".into()), ..Default::default() }).await;
    assert!(matches!(early, Err(EngineError::SourceNotAvailable { .. })), "{early:?}");
    assert!(matches!(t.engine.create(req("src")).await, Err(EngineError::NameTaken(_))));
    t.wait_for("src", Phase::Available, READY).await;
    assert!(matches!(t.engine.promote("src").await, Err(EngineError::NotAFollower(_))));
    assert!(matches!(t.engine.promote("ghost").await, Err(EngineError::NotFound(_))));

    t.engine.destroy("src", false).await.unwrap();
    let late = t.engine.create(CreateRequest { fork: Some("src".into()), ..Default::default() }).await;
    assert!(matches!(late, Err(EngineError::SourceDeleting(_))), "{late:?}");
    t.wait_until_gone("src", READY).await;

    let names: Vec<String> = t.store.specs().await.unwrap().into_iter().map(|s| s.name).collect();
    assert!(names.is_empty(), "refused requests left {names:?}");

    // The same idempotency key twice makes one database.
    let key = pgfleet::engine::admission::IdempotencyKey { caller: "mia".into(), key: "k1".into() };
    let keyed = CreateRequest { idempotency: Some(key), ..Default::default() };
    let a = t.create(keyed.clone()).await;
    let b = t.create(keyed).await;
    assert_eq!(a.name, b.name);
    assert_eq!(t.store.specs().await.unwrap().len(), 1);
}
