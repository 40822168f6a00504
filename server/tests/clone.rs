//! Copy-on-write forks and followers against real PostgreSQL, on a reflink
//! XFS the test makes itself (and on the plain file system, where copies
//! stay `pg_basebackup`s and say why).

mod common;

use app::model::{CopyMethod, Phase};
use reqwest::Method;
use serde_json::json;
use sqlx::Connection;

async fn app_in(home: std::path::PathBuf) -> common::TestApp {
    common::spawn_app_with(move |config| {
        let fresh = pgfleet::config::Config::new(home);
        *config = pgfleet::config::Config { engine: config.engine.clone(), listen: config.listen, ..fresh };
    })
    .await
}

fn apparent_size(dir: &std::path::Path) -> u64 {
    let mut total = 0;
    for entry in std::fs::read_dir(dir).unwrap().flatten() {
        let meta = entry.metadata().unwrap();
        total += if meta.is_dir() { apparent_size(&entry.path()) } else { meta.len() };
    }
    total
}

async fn scalar(url: &str, sql: &str) -> i64 {
    let mut conn = sqlx::PgConnection::connect(url).await.unwrap();
    common::pg::scalar(&mut conn, sql).await
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn on_a_reflink_file_system_forks_and_followers_are_clones() {
    let fs = common::reflink::ReflinkFs::new(8);
    let app = app_in(fs.path().join("home")).await;
    let api = app.api();
    let create = |body: serde_json::Value| app.authed(Method::POST, "/api/v1/databases").json(&body).send();
    assert_eq!(create(json!({"name": "prod"})).await.unwrap().status(), 202);
    app.wait_phase("prod", Phase::Available).await;
    let prod = api.credentials("prod").await.unwrap();
    let load = common::pg::pgbench_load(&prod, 5).await;

    assert_eq!(create(json!({"name": "trial", "fork": "prod"})).await.unwrap().status(), 202);
    let trial = app.wait_phase("trial", Phase::Available).await;
    let copy = trial.copy.expect("the technique is recorded");
    assert_eq!(copy.method, CopyMethod::Clone, "{copy:?}");
    assert!(copy.why.contains("xfs clones files"), "{copy:?}");
    let trial_url = api.credentials("trial").await.unwrap();
    assert_eq!(scalar(&trial_url, common::pg::INVARIANT).await, 1, "a consistent copy of a source under load");
    let timeline = scalar(&trial_url, "SELECT timeline_id::int8 FROM pg_control_checkpoint()").await;
    assert!(timeline >= 2, "promoted onto a timeline of its own: {timeline}");
    // It costs what it no longer shares, far less than its size.
    let measured = |db: &app::model::DatabaseView| db.info.as_ref().is_some_and(|i| i.unshared_bytes.is_some());
    let info = app
        .wait_until("trial", "measured for space of its own", std::time::Duration::from_secs(30), measured)
        .await
        .info
        .unwrap();
    let own = info.unshared_bytes.unwrap();
    let apparent = apparent_size(&fs.path().join("home/databases/trial/data"));
    assert!(own > 0 && own < apparent / 2, "a fresh clone shares most of its blocks: {own} of {apparent} bytes");
    // Independent both ways.
    let mut t = sqlx::PgConnection::connect(&trial_url).await.unwrap();
    common::pg::exec(&mut t, "CREATE TABLE only_in_trial (n int)").await;
    let mut p = sqlx::PgConnection::connect(&prod).await.unwrap();
    common::pg::exec(&mut p, "CREATE TABLE only_in_prod (n int)").await;
    let has = |table: &str| format!("SELECT count(*) FROM pg_tables WHERE tablename = '{table}'");
    assert_eq!(scalar(&prod, &has("only_in_trial")).await, 0);
    assert_eq!(scalar(&trial_url, &has("only_in_prod")).await, 0);

    // A follower, cloned: it streams, and it is read-only.
    assert_eq!(create(json!({"name": "reader", "follow": "prod"})).await.unwrap().status(), 202);
    let reader = app.wait_phase("reader", Phase::Available).await;
    assert_eq!(reader.copy.map(|c| c.method), Some(CopyMethod::Clone));
    common::pg::exec(&mut p, "CREATE TABLE marks AS SELECT 7 AS n").await;
    let reader_url = api.credentials("reader").await.unwrap();
    let mut r = sqlx::PgConnection::connect(&reader_url).await.unwrap();
    let deadline = std::time::Instant::now() + std::time::Duration::from_secs(60);
    loop {
        let seen: i64 = sqlx::query_scalar(&has("marks")).fetch_one(&mut r).await.unwrap();
        if seen == 1 {
            break;
        }
        assert!(std::time::Instant::now() < deadline, "the cloned follower does not stream");
        tokio::time::sleep(std::time::Duration::from_millis(50)).await;
    }
    let write = sqlx::query("CREATE TABLE nope (n int)").execute(&mut r).await.unwrap_err();
    assert!(write.to_string().contains("read-only"), "{write}");
    drop(load);
    app.shutdown().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn where_files_cannot_be_cloned_copies_are_basebackups_that_say_why() {
    let app = common::spawn_app().await;
    let create = |body: serde_json::Value| app.authed(Method::POST, "/api/v1/databases").json(&body).send();
    assert_eq!(create(json!({"name": "prod"})).await.unwrap().status(), 202);
    app.wait_phase("prod", Phase::Available).await;
    assert_eq!(create(json!({"name": "trial", "fork": "prod"})).await.unwrap().status(), 202);
    let trial = app.wait_phase("trial", Phase::Available).await;
    let copy = trial.copy.expect("the technique is recorded");
    // The test home is under /tmp: ext4 or tmpfs here, neither clones.
    assert_eq!(copy.method, CopyMethod::Basebackup, "{copy:?}");
    assert!(copy.why.contains("cannot clone files") && copy.why.contains("XFS"), "{copy:?}");
    let body: serde_json::Value =
        app.authed(Method::GET, "/api/v1/databases/trial").send().await.unwrap().json().await.unwrap();
    assert_eq!(body["copy"]["method"], "basebackup", "{body}");
    assert!(body["copy"]["why"].as_str().is_some_and(|w| !w.is_empty()), "{body}");
    let prod: serde_json::Value =
        app.authed(Method::GET, "/api/v1/databases/prod").send().await.unwrap().json().await.unwrap();
    assert!(prod["copy"].is_null(), "a database made empty was not copied: {prod}");
    app.shutdown().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn on_a_reflink_file_system_point_in_time_forks_start_from_clone_snapshots() {
    let fs = common::reflink::ReflinkFs::new(4);
    let app = app_in(fs.path().join("home")).await;
    let api = app.api();
    let create = |body: serde_json::Value| app.authed(Method::POST, "/api/v1/databases").json(&body).send();
    assert_eq!(create(json!({"name": "prod"})).await.unwrap().status(), 202);
    app.wait_phase("prod", Phase::Available).await;
    // A full backup first, then a snapshot: both are starting points.
    let long = std::time::Duration::from_secs(180);
    let snapshotted = |db: &app::model::DatabaseView| db.archiving.as_ref().is_some_and(|a| a.backups >= 2);
    let prod = app.wait_until("prod", "a backup and a snapshot", long, snapshotted).await;
    let window = prod.restore_window.expect("a restore window");
    let backups = api.backups("prod").await.unwrap();
    assert!(backups.iter().any(|b| b.kind == app::model::BackupKind::Snapshot), "{backups:?}");
    assert!(backups.iter().any(|b| b.kind == app::model::BackupKind::Full), "{backups:?}");

    let url = api.credentials("prod").await.unwrap();
    let mut source = sqlx::PgConnection::connect(&url).await.unwrap();
    common::pg::exec(&mut source, "CREATE TABLE marks (i int); INSERT INTO marks VALUES (1)").await;
    let (moment,): (chrono::DateTime<chrono::Utc>,) =
        sqlx::query_as("SELECT clock_timestamp()").fetch_one(&mut source).await.unwrap();
    common::pg::exec(&mut source, "INSERT INTO marks VALUES (2)").await;

    let body = json!({"name": "then", "fork": "prod", "at": moment.to_rfc3339()});
    assert_eq!(create(body).await.unwrap().status(), 202);
    let then = app.wait_phase("then", Phase::Available).await;
    assert_eq!(then.fork_point, Some(app::model::ForkPoint::Time(moment)));
    let then_url = api.credentials("then").await.unwrap();
    assert_eq!(scalar(&then_url, "SELECT count(*) FROM marks WHERE i = 1").await, 1);
    assert_eq!(scalar(&then_url, "SELECT count(*) FROM marks WHERE i = 2").await, 0, "nothing after the moment");

    // Before the window: a JSON 422 that names it.
    let early = window.from - chrono::Duration::minutes(5);
    let refused = create(json!({"name": "early", "fork": "prod", "at": early.to_rfc3339()})).await.unwrap();
    assert_eq!(refused.status(), 422);
    let error: serde_json::Value = refused.json().await.unwrap();
    let message = error["error"]["message"].as_str().unwrap_or_default();
    assert!(
        message.contains("restore window") && message.contains(&window.from.format("%H:%M:%S").to_string()),
        "{error}"
    );
    app.shutdown().await;
}
