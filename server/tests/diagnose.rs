//! `pg:diagnose` and sizes against real PostgreSQL: a fresh database is
//! green (or skipped) throughout; staging each condition (connections near
//! the limit, a session idle in a transaction, a blocked update, cold
//! reads, dead rows, an unused and a duplicate index, a slot holding WAL)
//! turns its check yellow or red with advice; putting things right turns
//! them green again. The checks that would need minutes or billions of
//! transactions to stage (long queries, wraparound) or a lagging follower
//! and broken archiving are judged by the same pure function, unit-tested
//! in `server/src/insights/diagnose.rs`.

mod common;

use std::collections::BTreeMap;
use std::time::{Duration, Instant};

use app::accounts::UserRole;
use app::diagnose::{Check, Diagnosis, Sizes, Status};
use app::model::Phase;
use common::pg::exec;
use reqwest::Method;
use serde_json::{json, Value};
use sqlx::Connection;

const STAGED: [Check; 7] = [
    Check::Connections,
    Check::IdleInTransaction,
    Check::CacheHit,
    Check::Blocked,
    Check::Bloat,
    Check::UnusedIndexes,
    Check::ReplicationSlots,
];

fn statuses(d: &Diagnosis) -> BTreeMap<String, (Status, String)> {
    d.findings.iter().map(|f| (format!("{:?}", f.check), (f.status, f.value.clone()))).collect()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn each_check_turns_when_its_condition_is_staged() {
    let app = common::spawn_app().await;
    let documented = common::openapi::Documented::fetch(&app).await;
    let r = app.authed(Method::POST, "/api/v1/databases").json(&json!({"name": "ward"})).send().await.unwrap();
    assert_eq!(r.status(), 202);
    app.wait_phase("ward", Phase::Available).await;
    let url = app.api().credentials("ward").await.unwrap();
    let mut owner = sqlx::PgConnection::connect(&url).await.unwrap();
    exec(&mut owner, "CREATE TABLE items (id int PRIMARY KEY, v int); INSERT INTO items VALUES (1, 1)").await;
    let diagnose = || async {
        let r = app.authed(Method::GET, "/api/v1/databases/ward/diagnose").send().await.unwrap();
        assert_eq!(r.status(), 200);
        let body: Value = r.json().await.unwrap();
        documented.conforms("Diagnosis", &body).unwrap();
        serde_json::from_value::<Diagnosis>(body).unwrap()
    };

    // Fresh: nothing to worry about.
    let calm = diagnose().await;
    assert_eq!(calm.findings.len(), 11, "{calm:?}");
    for f in &calm.findings {
        assert!(matches!(f.status, Status::Green | Status::Skipped), "{:?} on a fresh database: {f:?}", f.check);
    }
    assert_eq!(calm.finding(Check::FollowerLag).unwrap().status, Status::Skipped);
    assert_eq!(calm.overall, Status::Green);

    // pgfleet's superuser, into the owner's database: statistics resets,
    // slots and WAL switches are a superuser's.
    let port = url.rsplit_once(':').unwrap().1.split('/').next().unwrap().to_string();
    let dbname = url.rsplit_once('/').unwrap().1.split('?').next().unwrap().to_string();
    let run = app.home().join("databases").join("ward").join("run");
    let su_url = format!("postgres://pgfleet@localhost:{port}/{dbname}?host={}&application_name=stager", run.display());
    let mut su = sqlx::PgConnection::connect(&su_url).await.unwrap();
    exec(
        &mut su,
        "CREATE TABLE big AS SELECT g AS id, repeat(md5(g::text), 2) AS pad FROM generate_series(1, 400000) g",
    )
    .await;
    exec(
        &mut su,
        "CREATE TABLE dead (id int, pad text) WITH (autovacuum_enabled = off); \
         INSERT INTO dead SELECT g, repeat(md5(g::text), 3) FROM generate_series(1, 30000) g; \
         CREATE INDEX dead_pad ON dead (pad); CREATE INDEX dead_pad_again ON dead (pad)",
    )
    .await;
    // Counted from here: reads of a table larger than a quarter of
    // shared_buffers go through a small ring, so they miss the cache.
    exec(&mut su, "SELECT pg_stat_reset()").await;
    exec(&mut su, "SELECT count(*) FROM big; SELECT count(*) FROM big").await;
    exec(&mut su, "DELETE FROM dead WHERE id % 10 <> 0").await;
    exec(&mut su, "SELECT pg_create_physical_replication_slot('stale', true)").await;
    for i in 0..20 {
        exec(&mut su, &format!("INSERT INTO big VALUES ({i}, 'z'); SELECT pg_switch_wal()")).await;
    }
    let mut idle = sqlx::PgConnection::connect(&url).await.unwrap();
    exec(&mut idle, "BEGIN; SELECT 1").await;
    let mut blocker = sqlx::PgConnection::connect(&url).await.unwrap();
    exec(&mut blocker, "BEGIN; UPDATE items SET v = 2 WHERE id = 1").await;
    let waiter_url = url.clone();
    let waiter = tokio::spawn(async move {
        let mut c = sqlx::PgConnection::connect(&waiter_url).await.unwrap();
        sqlx::query("UPDATE items SET v = 3 WHERE id = 1").execute(&mut c).await.map(|r| r.rows_affected())
    });
    let mut crowd = Vec::new();
    for _ in 0..10 {
        crowd.push(sqlx::PgConnection::connect(&url).await.unwrap());
    }

    // Idle in a transaction counts from a minute, so this takes that long.
    let deadline = Instant::now() + Duration::from_secs(150);
    let staged = loop {
        let d = diagnose().await;
        let turned =
            STAGED.iter().all(|c| matches!(d.finding(*c).map(|f| f.status), Some(Status::Yellow | Status::Red)));
        if turned {
            break d;
        }
        assert!(Instant::now() < deadline, "not every staged check turned: {:#?}", statuses(&d));
        tokio::time::sleep(Duration::from_millis(500)).await;
    };
    for check in STAGED {
        let f = staged.finding(check).unwrap();
        assert!(f.advice.as_deref().is_some_and(|a| !a.is_empty()), "{f:?}");
    }
    assert!(staged.overall >= Status::Yellow);
    assert!(staged.finding(Check::Bloat).unwrap().value.contains("public.dead"), "{staged:?}");
    assert!(staged.finding(Check::ReplicationSlots).unwrap().value.contains("stale"), "{staged:?}");
    assert!(staged.finding(Check::UnusedIndexes).unwrap().value.contains("dead_pad"), "{staged:?}");
    // The ones not staged stay as they were.
    assert_eq!(staged.finding(Check::LongQueries).unwrap().status, Status::Green, "{staged:?}");
    assert_eq!(staged.finding(Check::Wraparound).unwrap().status, Status::Green, "{staged:?}");

    // Sizes say the same, in detail.
    let r = app.authed(Method::GET, "/api/v1/databases/ward/sizes").send().await.unwrap();
    assert_eq!(r.status(), 200);
    let body: Value = r.json().await.unwrap();
    documented.conforms("Sizes", &body).unwrap();
    let sizes: Sizes = serde_json::from_value(body).unwrap();
    assert_eq!(sizes.tables[0].name, "public.big", "largest first: {sizes:?}");
    let big = &sizes.tables[0];
    assert!(big.seq_scans >= 2 && big.total_bytes >= big.table_bytes && big.table_bytes > 20 << 20, "{big:?}");
    let dead = sizes.tables.iter().find(|t| t.name == "public.dead").unwrap();
    assert_eq!(dead.dead_rows, 27_000, "{dead:?}");
    assert!(dead.bloat_bytes > dead.table_bytes / 2, "{dead:?}");
    let index =
        |name: &str| sizes.indexes.iter().find(|i| i.name == name).unwrap_or_else(|| panic!("{name}: {sizes:?}"));
    assert!(index("public.dead_pad").unused && index("public.dead_pad").table == "public.dead");
    assert_eq!(index("public.dead_pad").duplicate_of.as_deref(), Some("public.dead_pad_again"));
    assert_eq!(index("public.dead_pad_again").duplicate_of.as_deref(), Some("public.dead_pad"));
    assert!(!index("public.items_pkey").unused, "a primary key enforces something");
    assert!(index("public.dead_pad").definition.contains("btree (pad)"));

    // A viewer reads both; the CLI prints them.
    let viewer = app.user_with_token("val", UserRole::Viewer).await;
    let r = app.client.get(app.url("/api/v1/databases/ward/diagnose")).bearer_auth(&viewer).send().await.unwrap();
    assert_eq!(r.status(), 200);
    let out = common::cli::run(&app, &["diagnose", "ward"]).await;
    assert!(out.status.success());
    let text = String::from_utf8_lossy(&out.stdout);
    assert!(text.lines().any(|l| l.starts_with("YELLOW") || l.starts_with("RED")), "{text}");
    assert!(text.contains("→ "), "advice under the bad ones: {text}");
    assert!(text.lines().any(|l| l.starts_with("SKIPPED  Follower lag")), "{text}");
    let out = common::cli::run(&app, &["diagnose", "ward", "--json"]).await;
    let parsed: Diagnosis = serde_json::from_slice(&out.stdout).unwrap();
    assert_eq!(parsed.findings.len(), 11);
    let out = common::cli::run(&app, &["sizes", "ward"]).await;
    let text = String::from_utf8_lossy(&out.stdout);
    assert!(text.contains("public.dead_pad") && text.contains("duplicate of public.dead_pad_again"), "{text}");

    // Put right: the staged checks (but the cache's, which counts since
    // the reset) turn green again.
    exec(&mut blocker, "ROLLBACK").await;
    assert_eq!(waiter.await.unwrap().unwrap(), 1);
    exec(&mut idle, "ROLLBACK").await;
    for c in crowd {
        c.close().await.unwrap();
    }
    idle.close().await.unwrap();
    blocker.close().await.unwrap();
    exec(&mut su, "SELECT pg_drop_replication_slot('stale'); DROP INDEX dead_pad, dead_pad_again").await;
    exec(&mut su, "VACUUM dead").await;
    let deadline = Instant::now() + Duration::from_secs(60);
    loop {
        let d = diagnose().await;
        let green = STAGED
            .iter()
            .filter(|c| **c != Check::CacheHit)
            .all(|c| d.finding(*c).map(|f| f.status) == Some(Status::Green));
        if green {
            break;
        }
        assert!(Instant::now() < deadline, "not green again: {:#?}", statuses(&d));
        tokio::time::sleep(Duration::from_millis(500)).await;
    }
}
