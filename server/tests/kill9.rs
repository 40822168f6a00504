//! Restart safety with the real binary: `pgfleet serve` is killed with
//! SIGKILL mid-fork, mid-follow, mid-reset of a fork, mid point-in-time
//! fork, mid-masking of a fork, right after a promote and right after a destroy; each time a new `pgfleet serve` on the same home finishes the
//! work, with no copy left running, no server running twice, no slot left
//! behind and no data dir lost.

mod common;

use std::path::Path;
use std::time::{Duration, Instant};

use app::model::NewDatabase as CreateBody;
use app::model::{DatabaseView, EventKind, Phase};
use pgfleet::client::Client;

/// The binary on `home`, with the store the suite runs on.
async fn serve(home: &Path) -> common::binary::Server {
    common::binary::serve(home, &common::store_for(home).url(), "pgfleet").await
}

async fn wait_until(client: &Client, name: &str, what: &str, ok: impl Fn(&DatabaseView) -> bool) -> DatabaseView {
    // A first full backup of a source under load waits for its queued WAL
    // to be archived: minutes on two busy cores.
    let deadline = Instant::now() + Duration::from_secs(600);
    loop {
        if let Ok(db) = client.get(name).await {
            assert!(db.phase != Phase::Failed, "{name} failed: {:?}", db.message);
            if ok(&db) {
                return db;
            }
        }
        assert!(Instant::now() < deadline, "{name} never {what}");
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
}

/// Waits for a copy of `name` to be under way, from the event stream.
async fn copy_under_way(client: &Client, name: &str) {
    let mut found = false;
    let watch = client.follow_events(
        |m| {
            if let Ok(event) = serde_json::from_str::<app::model::Event>(&m.data) {
                found = event.database == name
                    && event.kind == EventKind::Progress
                    && event.view.and_then(|v| v.progress).is_some_and(|p| p.bytes_done > 0 && p.step != "copied");
            }
            !found
        },
        |_| {},
    );
    tokio::time::timeout(Duration::from_secs(120), watch).await.expect("a copy started").unwrap();
}

fn processes_mentioning(home: &Path, program: &str) -> Vec<i32> {
    let home = home.to_string_lossy().to_string();
    std::fs::read_dir("/proc")
        .unwrap()
        .flatten()
        .filter_map(|e| e.file_name().to_string_lossy().parse::<i32>().ok())
        .filter(|pid| common::pg::alive(*pid))
        .filter(|pid| {
            let cmdline = std::fs::read(format!("/proc/{pid}/cmdline")).unwrap_or_default();
            let args: Vec<String> =
                cmdline.split(|b| *b == 0).map(|a| String::from_utf8_lossy(a).into_owned()).collect();
            args.first().is_some_and(|a| a.ends_with(program)) && args.iter().any(|a| a.contains(&home))
        })
        .collect()
}

/// Stops every server under the home when the test ends, however it ends.
struct Cleanup<'a>(&'a Path);

impl Drop for Cleanup<'_> {
    fn drop(&mut self) {
        common::pg::stop_all_servers(self.0);
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn sigkill_at_any_step_ends_available_with_nothing_leaked() {
    common::init_logs();
    let home = common::TestHome::new();
    let _cleanup = Cleanup(home.path());
    let available = |db: &DatabaseView| db.phase == Phase::Available;

    let server = serve(home.path()).await;
    server.client.create(&CreateBody { name: Some("prod".into()), ..Default::default() }).await.unwrap();
    wait_until(&server.client, "prod", "available", available).await;
    let url = server.client.credentials("prod").await.unwrap();
    let _load = common::pg::pgbench_load(&url, 30).await;

    // Mid-fork.
    server
        .client
        .create(&CreateBody { name: Some("trial".into()), fork: Some("prod".into()), ..Default::default() })
        .await
        .unwrap();
    copy_under_way(&server.client, "trial").await;
    server.kill9().await;
    let server = serve(home.path()).await;
    wait_until(&server.client, "trial", "available", available).await;
    assert!(processes_mentioning(home.path(), "pg_basebackup").is_empty(), "no copy is left running");
    let mut fork = sqlx::Connection::connect(&server.client.credentials("trial").await.unwrap()).await.unwrap();
    assert_eq!(common::pg::scalar(&mut fork, common::pg::INVARIANT).await, 1);

    // Mid-follow.
    server
        .client
        .create(&CreateBody { name: Some("reader".into()), follow: Some("prod".into()), ..Default::default() })
        .await
        .unwrap();
    copy_under_way(&server.client, "reader").await;
    server.kill9().await;
    let server = serve(home.path()).await;
    wait_until(&server.client, "reader", "available", available).await;

    // Mid-reset: the fork is made again from prod, its URL kept.
    let trial_url = server.client.credentials("trial").await.unwrap();
    common::pg::exec(&mut fork, "CREATE TABLE before_reset (i int)").await;
    drop(fork);
    server.client.reset("trial", &Default::default()).await.unwrap();
    copy_under_way(&server.client, "trial").await;
    server.kill9().await;
    let server = serve(home.path()).await;
    wait_until(&server.client, "trial", "available", available).await;
    assert!(processes_mentioning(home.path(), "pg_basebackup").is_empty(), "no copy is left running");
    assert_eq!(server.client.credentials("trial").await.unwrap(), trial_url, "the URL is kept");
    let mut fork: sqlx::PgConnection = sqlx::Connection::connect(&trial_url).await.unwrap();
    assert_eq!(common::pg::scalar(&mut fork, common::pg::INVARIANT).await, 1);
    let gone = "SELECT count(*) FROM pg_class WHERE relname = 'before_reset'";
    assert_eq!(common::pg::scalar(&mut fork, gone).await, 0, "the fork's own change is gone");
    drop(fork);

    // Mid point-in-time fork: restoring prod's backup or replaying its WAL.
    wait_until(&server.client, "prod", "backed up", |db| db.restore_window.is_some()).await;
    let moment = chrono::Utc::now();
    let then =
        CreateBody { name: Some("then".into()), fork: Some("prod".into()), at: Some(moment), ..Default::default() };
    server.client.create(&then).await.unwrap();
    copy_under_way(&server.client, "then").await;
    server.kill9().await;
    let server = serve(home.path()).await;
    wait_until(&server.client, "then", "available", available).await;
    assert!(processes_mentioning(home.path(), "--type=none").is_empty(), "no restore is left running");
    let mut then = sqlx::Connection::connect(&server.client.credentials("then").await.unwrap()).await.unwrap();
    assert_eq!(common::pg::scalar(&mut then, common::pg::INVARIANT).await, 1, "a consistent past moment");
    assert_eq!(server.client.get("then").await.unwrap().fork_point, Some(app::model::ForkPoint::Time(moment)));

    // Right after a promote and a destroy.
    server.client.promote("reader").await.unwrap();
    server.client.destroy("trial", false).await.unwrap();
    server.kill9().await;
    let server = serve(home.path()).await;
    wait_until(&server.client, "reader", "promoted", |db| available(db) && db.following.is_none()).await;
    let deadline = Instant::now() + Duration::from_secs(120);
    while server.client.get("trial").await.is_ok() {
        assert!(Instant::now() < deadline, "trial was not destroyed");
        tokio::time::sleep(Duration::from_millis(50)).await;
    }

    // What is left: three databases, each served once, no slot, no stray dirs.
    let names: Vec<String> = server.client.list().await.unwrap().into_iter().map(|d| d.name).collect();
    let left = vec!["prod".to_string(), "reader".to_string(), "then".to_string()];
    assert_eq!(names, left);
    assert!(processes_mentioning(home.path(), "postgres").len() >= 3);
    for name in ["prod", "reader", "then"] {
        let data = home.path().join("databases").join(name).join("data");
        let pid: i32 =
            std::fs::read_to_string(data.join("postmaster.pid")).unwrap().lines().next().unwrap().parse().unwrap();
        assert!(common::pg::alive(pid), "{name} runs");
    }
    let dirs: Vec<String> = std::fs::read_dir(home.path().join("databases"))
        .unwrap()
        .flatten()
        .map(|e| e.file_name().to_string_lossy().into_owned())
        .collect();
    let mut dirs = dirs;
    dirs.sort();
    assert_eq!(dirs, left);
    let mut admin = sqlx::postgres::PgConnectOptions::new()
        .socket(home.path().join("databases").join("prod").join("run"))
        .port(url.rsplit(':').next().unwrap().split('/').next().unwrap().parse().unwrap())
        .username("pgfleet")
        .database("postgres");
    admin = admin.application_name("test");
    let mut admin = sqlx::ConnectOptions::connect(&admin).await.unwrap();
    let deadline = Instant::now() + Duration::from_secs(60);
    while common::pg::scalar(&mut admin, "SELECT count(*) FROM pg_replication_slots").await != 0 {
        assert!(Instant::now() < deadline, "a slot was left on prod");
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    server.kill9().await;
}

/// Killed while a fork's table is half masked: the new pgfleet makes the
/// fork again and masks every value exactly once (the values equal what
/// the rules' preview computes from the source).
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn sigkill_mid_masking_masks_a_fresh_copy_once() {
    common::init_logs();
    let home = common::TestHome::new();
    let _cleanup = Cleanup(home.path());
    let server = serve(home.path()).await;
    server.client.create(&CreateBody { name: Some("prod".into()), ..Default::default() }).await.unwrap();
    wait_until(&server.client, "prod", "available", |db| db.phase == Phase::Available).await;
    let url = server.client.credentials("prod").await.unwrap();
    let mut prod: sqlx::PgConnection = sqlx::Connection::connect(&url).await.unwrap();
    // Big enough that its masking reports progress more than once.
    common::pg::exec(
        &mut prod,
        "CREATE TABLE people (id int PRIMARY KEY, email text); \
         INSERT INTO people SELECT g, format('person%s@realmail.test', g) FROM generate_series(1, 1500000) g",
    )
    .await;
    let rules: app::masking::MaskRules = serde_json::from_value(serde_json::json!({"rules": [
        {"table": "people", "column": "id", "method": "keep"},
        {"table": "people", "column": "email", "method": "hash"}
    ]}))
    .unwrap();
    server.client.set_masking("prod", &rules).await.unwrap();
    let preview = server.client.masking_preview("prod").await.unwrap();

    let fork = CreateBody { name: Some("masked".into()), fork: Some("prod".into()), ..Default::default() };
    server.client.create(&fork).await.unwrap();
    let mut found = false;
    let watch = server.client.follow_events(
        |m| {
            if let Ok(event) = serde_json::from_str::<app::model::Event>(&m.data) {
                found = event.database == "masked"
                    && event.view.and_then(|v| v.progress).is_some_and(|p| {
                        p.unit == app::model::ProgressUnit::Rows
                            && p.bytes_done > 0
                            && p.bytes_total > Some(p.bytes_done)
                    });
            }
            !found
        },
        |_| {},
    );
    tokio::time::timeout(Duration::from_secs(180), watch).await.expect("masking under way").unwrap();
    server.kill9().await;

    let server = serve(home.path()).await;
    let db = wait_until(&server.client, "masked", "available", |db| db.phase == Phase::Available).await;
    assert_eq!(db.masking, Some(app::masking::ForkMasking::Masked { version: 1 }));
    let mut fork: sqlx::PgConnection =
        sqlx::Connection::connect(&server.client.credentials("masked").await.unwrap()).await.unwrap();
    assert_eq!(common::pg::scalar(&mut fork, "SELECT count(*) FROM people WHERE email LIKE '%@%'").await, 0);
    assert_eq!(common::pg::scalar(&mut fork, "SELECT count(*) FROM people").await, 1_500_000);
    for row in &preview.tables[0].rows {
        let (id, email) = (row[0].clone().unwrap(), row[1].clone().unwrap());
        let got: String = sqlx::query_scalar(&format!("SELECT email FROM people WHERE id = {id}"))
            .fetch_one(&mut fork)
            .await
            .unwrap();
        assert_eq!(got, email, "person {id} is masked once");
    }
    server.kill9().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn sigkill_mid_clone_on_a_reflink_home_leaks_no_slot_backup_or_snapshot() {
    common::init_logs();
    let fs = common::reflink::ReflinkFs::new(6);
    let home = fs.path().join("home");
    std::fs::create_dir_all(&home).unwrap();
    let _cleanup = Cleanup(&home);
    let available = |db: &DatabaseView| db.phase == Phase::Available;

    let server = serve(&home).await;
    server.client.create(&CreateBody { name: Some("prod".into()), ..Default::default() }).await.unwrap();
    wait_until(&server.client, "prod", "available", available).await;
    let url = server.client.credentials("prod").await.unwrap();
    let _load = common::pg::pgbench_load(&url, 20).await;

    // Mid clone fork (and, likely, mid the backup loop's first snapshot).
    let trial = CreateBody { name: Some("trial".into()), fork: Some("prod".into()), ..Default::default() };
    server.client.create(&trial).await.unwrap();
    copy_under_way(&server.client, "trial").await;
    server.kill9().await;
    let server = serve(&home).await;
    let trial = wait_until(&server.client, "trial", "available", available).await;
    assert_eq!(trial.copy.map(|c| c.method), Some(app::model::CopyMethod::Clone));
    let mut fork = sqlx::Connection::connect(&server.client.credentials("trial").await.unwrap()).await.unwrap();
    assert_eq!(common::pg::scalar(&mut fork, common::pg::INVARIANT).await, 1);

    // Nothing half-made stays: no partial copy or snapshot, no slot (a
    // killed session's backup and temporary slot end with it); the backup
    // loop goes on to make a whole snapshot.
    let port: u16 = url.rsplit(':').next().unwrap().split('/').next().unwrap().parse().unwrap();
    let admin = sqlx::postgres::PgConnectOptions::new()
        .socket(home.join("databases").join("prod").join("run"))
        .port(port)
        .username("pgfleet")
        .database("postgres")
        .application_name("test");
    let mut admin = sqlx::ConnectOptions::connect(&admin).await.unwrap();
    let snapshots = home.join("snapshots").join("prod");
    // The backup loop's first backups of a source under load: minutes on
    // two busy cores, as in wait_until.
    let deadline = Instant::now() + Duration::from_secs(600);
    loop {
        let slots = common::pg::scalar(&mut admin, "SELECT count(*) FROM pg_replication_slots").await;
        let partial_copies = std::fs::read_dir(home.join("databases"))
            .unwrap()
            .flatten()
            .filter(|e| e.file_name().to_string_lossy().ends_with(".partial"))
            .count();
        let partial_snapshots = std::fs::read_dir(&snapshots)
            .into_iter()
            .flatten()
            .flatten()
            .filter(|e| e.file_name().to_string_lossy().ends_with(".partial"))
            .count();
        let complete_snapshots = std::fs::read_dir(&snapshots).into_iter().flatten().count() - partial_snapshots;
        if slots == 0 && partial_copies == 0 && partial_snapshots == 0 && complete_snapshots >= 1 {
            break;
        }
        assert!(
            Instant::now() < deadline,
            "left behind: {slots} slots, {partial_copies} partial copies, {partial_snapshots} partial snapshots \
             ({complete_snapshots} complete)"
        );
        tokio::time::sleep(Duration::from_millis(200)).await;
    }
    server.kill9().await;
}
