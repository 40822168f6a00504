//! Supervision that does not give up, against real PostgreSQL: a slow
//! start is waited for (pg_ctl's own 60 s bound is not pgfleet's), a
//! postmaster killed while a backend still holds its shared memory comes
//! back once it can and is shown `restarting` meanwhile, a port taken
//! before a database's first start moves it, a port taken later is waited
//! out with the holder named, and a failed database is retried (a failed
//! follower's slot is dropped when it fails).
//!
//! Every test here runs with `PGCTLTIMEOUT=1`, so a start that leaned on
//! `pg_ctl -w` would fail after one second.

mod common;

use std::path::{Path, PathBuf};
use std::time::{Duration, Instant};

use app::model::Phase;
use reqwest::Method;
use serde_json::json;
use sqlx::Connection;

/// A PostgreSQL bin dir whose `postgres` sleeps `delay` before starting a
/// server (not for `-V` or initdb's bootstrap), so every start is slow.
/// `pg_ctl` is copied, not linked: it looks for `postgres` beside its own
/// resolved path.
struct SlowBin {
    dir: tempfile::TempDir,
}

impl SlowBin {
    fn new(delay: Duration) -> SlowBin {
        let real = pgfleet::provisioner::local::os::find_pg_bin(None).expect("PostgreSQL is installed");
        let dir = tempfile::Builder::new().prefix("pgfleet-slow-bin-").tempdir().unwrap();
        use std::os::unix::fs::PermissionsExt;
        std::fs::set_permissions(dir.path(), std::fs::Permissions::from_mode(0o755)).unwrap();
        for entry in std::fs::read_dir(&real).unwrap().flatten() {
            let name = entry.file_name();
            let target = dir.path().join(&name);
            match name.to_str() {
                Some("pg_ctl") => {
                    std::fs::copy(entry.path(), &target).unwrap();
                }
                Some("postgres") => {
                    let script = format!(
                        "#!/bin/sh\nif [ \"$1\" = \"-D\" ]; then sleep {}; fi\nexec {} \"$@\"\n",
                        delay.as_secs_f64(),
                        entry.path().display()
                    );
                    std::fs::write(&target, script).unwrap();
                    std::fs::set_permissions(&target, std::fs::Permissions::from_mode(0o755)).unwrap();
                }
                _ => std::os::unix::fs::symlink(entry.path(), &target).unwrap(),
            }
        }
        SlowBin { dir }
    }

    fn path(&self) -> PathBuf {
        self.dir.path().to_path_buf()
    }
}

fn pg_ctl_waits_one_second_at_most() {
    // SAFETY (edition 2021: safe): set before any server of this binary
    // starts, to the same value by every test.
    std::env::set_var("PGCTLTIMEOUT", "1");
}

fn postmaster_pid(home: &Path, name: &str) -> i32 {
    let text = std::fs::read_to_string(home.join("databases").join(name).join("data").join("postmaster.pid")).unwrap();
    text.lines().next().unwrap().trim().parse().unwrap()
}

async fn port_of(app: &common::TestApp, name: &str) -> u16 {
    app.store().spec(name).await.unwrap().expect("spec").port
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_start_slower_than_pg_ctl_waits_is_waited_for() {
    pg_ctl_waits_one_second_at_most();
    let slow = SlowBin::new(Duration::from_secs(3));
    let app = common::spawn_app_with(|c| c.local.pg_bin = Some(slow.path())).await;
    let started = Instant::now();
    app.authed(Method::POST, "/api/v1/databases").json(&json!({"name": "slow"})).send().await.unwrap();
    let db = app.wait_phase("slow", Phase::Available).await;
    assert!(started.elapsed() >= Duration::from_secs(3), "the start really was slow");
    assert!(db.message.is_none(), "{db:?}");
    app.shutdown().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_postmaster_killed_under_a_long_query_comes_back_and_is_shown_down_meanwhile() {
    pg_ctl_waits_one_second_at_most();
    let app = common::spawn_app().await;
    app.authed(Method::POST, "/api/v1/databases").json(&json!({"name": "busy"})).send().await.unwrap();
    app.wait_phase("busy", Phase::Available).await;
    let url = app.api().credentials("busy").await.unwrap();
    let mut conn = sqlx::PgConnection::connect(&url).await.unwrap();
    sqlx::query("CREATE TABLE kept AS SELECT 42 AS answer").execute(&mut conn).await.unwrap();
    let backend: i32 = sqlx::query_scalar("SELECT pg_backend_pid()").fetch_one(&mut conn).await.unwrap();
    // A query that never waits on a latch, so it never notices its
    // postmaster die and keeps the shared memory attached.
    let running = tokio::spawn(async move {
        let _ = sqlx::query("DO $$ BEGIN LOOP PERFORM 1; END LOOP; END $$").execute(&mut conn).await;
    });
    tokio::time::sleep(Duration::from_millis(300)).await;
    let postmaster = postmaster_pid(app.home(), "busy");
    // SAFETY: killing the test database's own postmaster.
    unsafe { libc::kill(postmaster, libc::SIGKILL) };

    let down = app.wait_until("busy", "restarting", Duration::from_secs(30), |d| d.phase == Phase::Restarting).await;
    assert!(down.message.is_some(), "{down:?}");
    // Five tries in five seconds used to end it `failed`; it must hold on.
    let held_since = Instant::now();
    let mut last = down;
    while held_since.elapsed() < Duration::from_secs(8) {
        last = app.api().get("busy").await.unwrap();
        assert_eq!(last.phase, Phase::Restarting, "still down, and shown down: {last:?}");
        tokio::time::sleep(Duration::from_millis(200)).await;
    }
    let why = last.message.unwrap_or_default();
    assert!(why.contains("shared memory"), "the reason is PostgreSQL's: {why}");
    let listed = app.api().list().await.unwrap();
    assert_eq!(listed[0].phase, Phase::Restarting, "the list shows it down too");

    // SAFETY: killing the orphaned backend of the test's own database.
    unsafe { libc::kill(backend, libc::SIGKILL) };
    running.abort();
    app.wait_until("busy", "available", Duration::from_secs(60), |d| d.phase == Phase::Available).await;
    let mut conn = sqlx::PgConnection::connect(&url).await.expect("back with the same URL");
    let answer: i32 = sqlx::query_scalar("SELECT answer FROM kept").fetch_one(&mut conn).await.unwrap();
    assert_eq!(answer, 42);
    app.shutdown().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_port_taken_before_the_first_start_moves_and_one_taken_later_is_waited_out() {
    pg_ctl_waits_one_second_at_most();
    // Two seconds between pg_ctl and the postmaster binding its port: the
    // test takes the port in that window.
    let slow = SlowBin::new(Duration::from_secs(2));
    let app = common::spawn_app_with(|c| c.local.pg_bin = Some(slow.path())).await;
    app.authed(Method::POST, "/api/v1/databases").json(&json!({"name": "moved"})).send().await.unwrap();
    let first = port_of(&app, "moved").await;
    let squatter = std::net::TcpListener::bind(("127.0.0.1", first)).expect("the port is still free");
    let db = app.wait_phase("moved", Phase::Available).await;
    let now = port_of(&app, "moved").await;
    assert_ne!(now, first, "it moved off the taken port");
    let url = app.api().credentials("moved").await.unwrap();
    assert!(url.contains(&format!(":{now}/")), "{url}");
    sqlx::PgConnection::connect(&url).await.expect("it answers on its new port");
    assert!(db.message.is_none(), "{db:?}");
    drop(squatter);

    // Once it has served, its port stays; a squatter is waited out.
    let postmaster = postmaster_pid(app.home(), "moved");
    // SAFETY: killing the test database's own postmaster.
    unsafe { libc::kill(postmaster, libc::SIGKILL) };
    let deadline = Instant::now() + Duration::from_secs(10);
    let squatter = loop {
        if let Ok(l) = std::net::TcpListener::bind(("127.0.0.1", now)) {
            break l;
        }
        assert!(Instant::now() < deadline, "the dead postmaster's port never came free");
        tokio::time::sleep(Duration::from_millis(5)).await;
    };
    let me = format!("pid {}", std::process::id());
    let down = app
        .wait_until("moved", "waiting for its port", Duration::from_secs(30), |d| {
            d.phase == Phase::Restarting && d.message.as_deref().is_some_and(|m| m.contains(&me))
        })
        .await;
    assert!(down.message.unwrap().contains(&format!("port {now}")));
    drop(squatter);
    app.wait_until("moved", "available", Duration::from_secs(60), |d| d.phase == Phase::Available).await;
    assert_eq!(port_of(&app, "moved").await, now, "the port it served on is kept");
    sqlx::PgConnection::connect(&url).await.expect("the same URL works again");
    app.shutdown().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_failed_database_is_retried_and_a_failed_followers_slot_is_dropped() {
    pg_ctl_waits_one_second_at_most();
    let slow = SlowBin::new(Duration::from_secs(2));
    // Two ports: nowhere to move to once the follower's is taken.
    let app = common::spawn_app_with(|c| {
        c.local.pg_bin = Some(slow.path());
        let base = *c.engine.ports.start();
        c.engine.ports = base..=base + 1;
    })
    .await;
    app.authed(Method::POST, "/api/v1/databases").json(&json!({"name": "src"})).send().await.unwrap();
    app.wait_phase("src", Phase::Available).await;
    let src_url = app.api().credentials("src").await.unwrap();
    let mut src = sqlx::PgConnection::connect(&src_url).await.unwrap();
    sqlx::query("CREATE TABLE marks (n int)").execute(&mut src).await.unwrap();

    let r = app.authed(Method::POST, "/api/v1/databases").json(&json!({"name": "reader", "follow": "src"})).send();
    assert_eq!(r.await.unwrap().status(), 202);
    let port = port_of(&app, "reader").await;
    let squatter = std::net::TcpListener::bind(("127.0.0.1", port)).expect("free until its first start");
    let failed = app.wait_until("reader", "failed", Duration::from_secs(120), |d| d.phase == Phase::Failed).await;
    assert!(failed.message.as_deref().unwrap_or("").contains("no other is free"), "{failed:?}");
    let slots: Vec<String> = sqlx::query_scalar("SELECT slot_name::text FROM pg_replication_slots")
        .fetch_all(&mut sqlx::PgConnection::connect(&superuser_url(&app, "src").await).await.unwrap())
        .await
        .unwrap();
    assert!(slots.is_empty(), "a failed follower holds no slot on its source: {slots:?}");

    // Only a failed database is retried.
    let r = app.authed(Method::POST, "/api/v1/databases/src/retry").send().await.unwrap();
    assert_eq!(r.status(), 409);
    drop(squatter);
    let r = app.authed(Method::POST, "/api/v1/databases/reader/retry").send().await.unwrap();
    assert_eq!(r.status(), 202);
    let reader = app.wait_phase("reader", Phase::Available).await;
    assert_eq!(reader.following.as_deref(), Some("src"));
    sqlx::query("INSERT INTO marks VALUES (7)").execute(&mut src).await.unwrap();
    let reader_url = app.api().credentials("reader").await.unwrap();
    let mut follower = sqlx::PgConnection::connect(&reader_url).await.unwrap();
    let deadline = Instant::now() + Duration::from_secs(30);
    loop {
        let n: i64 = sqlx::query_scalar("SELECT count(*) FROM marks").fetch_one(&mut follower).await.unwrap();
        if n == 1 {
            break;
        }
        assert!(Instant::now() < deadline, "the retried follower does not stream");
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    let audit = app.authed(Method::GET, "/api/v1/audit").send().await.unwrap().text().await.unwrap();
    assert!(audit.contains("database.retry"), "retries are audited");
    app.shutdown().await;
}

/// The source's superuser, over its private socket.
async fn superuser_url(app: &common::TestApp, name: &str) -> String {
    let port = port_of(app, name).await;
    let dir = app.home().join("databases").join(name).join("run");
    format!("postgres://pgfleet@localhost:{port}/postgres?host={}", dir.display())
}
