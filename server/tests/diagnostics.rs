//! Diagnostics against real PostgreSQL over the API and the CLI: a query
//! run N times shows N calls in the statements; a blocked query shows in
//! the locks with its blocker; terminating the blocker frees it and is
//! audited; a viewer sees sessions without their text and may not end
//! them, and reads statements with their literals hidden; pgfleet's own
//! sessions are neither listed nor ended.

mod common;

use std::time::{Duration, Instant};

use app::accounts::UserRole;
use app::insights::{Blocking, Ended, Session, Statements};
use app::model::Phase;
use common::pg::exec;
use reqwest::Method;
use serde_json::{json, Value};
use sqlx::Connection;

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn statements_locks_and_ending_a_blocker() {
    let app = common::spawn_app().await;
    let documented = common::openapi::Documented::fetch(&app).await;
    let r = app.authed(Method::POST, "/api/v1/databases").json(&json!({"name": "shop"})).send().await.unwrap();
    assert_eq!(r.status(), 202);
    app.wait_phase("shop", Phase::Available).await;
    let url = app.api().credentials("shop").await.unwrap();
    let mut conn = sqlx::PgConnection::connect(&url).await.unwrap();
    exec(&mut conn, "CREATE TABLE items (id int PRIMARY KEY, name text)").await;
    exec(&mut conn, "INSERT INTO items VALUES (1, 'one'), (2, 'two')").await;

    // Statements: the table has been asked for, so the extension exists;
    // reset, run one query seven times, and it shows seven calls.
    let statements = |query: &'static str| {
        let app = &app;
        async move {
            let r = app.authed(Method::GET, &format!("/api/v1/databases/shop/statements{query}")).send().await.unwrap();
            assert_eq!(r.status(), 200);
            r.json::<Value>().await.unwrap()
        }
    };
    let first: Statements = serde_json::from_value(statements("").await).unwrap();
    assert!(first.loaded, "pgfleet preloads pg_stat_statements: {first:?}");
    let r = app.authed(Method::POST, "/api/v1/databases/shop/statements/reset").send().await.unwrap();
    assert_eq!(r.status(), 204);
    for i in 0..7 {
        sqlx::query("SELECT name FROM items WHERE id = $1").bind(i).fetch_optional(&mut conn).await.unwrap();
    }
    let body = statements("?order=calls&limit=50").await;
    documented.conforms("Statements", &body).unwrap();
    let listed: Statements = serde_json::from_value(body).unwrap();
    let ours = listed.statements.iter().find(|s| s.query.contains("FROM items WHERE id = $1")).expect("listed");
    assert_eq!(ours.calls, 7, "{listed:?}");
    assert!(ours.total_ms >= 0.0 && ours.share > 0.0 && ours.share <= 1.0, "{ours:?}");
    assert!(!listed.statements.iter().any(|s| s.user.as_deref() == Some("pgfleet")), "pgfleet's own are left out");
    // A utility statement keeps its text, literals and all.
    exec(&mut conn, "COMMENT ON TABLE items IS 'hush-hush'").await;
    let as_admin: Statements = serde_json::from_value(statements("?order=calls&limit=500").await).unwrap();
    assert!(as_admin.statements.iter().any(|s| s.query.contains("'hush-hush'")), "{as_admin:?}");

    // A blocker holds a row lock in an open transaction; another session
    // waits on it.
    let mut blocker = sqlx::PgConnection::connect(&url).await.unwrap();
    exec(&mut blocker, "BEGIN; UPDATE items SET name = 'held' WHERE id = 1").await;
    let blocker_pid: i32 = sqlx::query_scalar("SELECT pg_backend_pid()").fetch_one(&mut blocker).await.unwrap();
    let waiter_url = url.clone();
    let waiter = tokio::spawn(async move {
        let mut c = sqlx::PgConnection::connect(&waiter_url).await.unwrap();
        sqlx::query("UPDATE items SET name = 'waited' WHERE id = 1").execute(&mut c).await.map(|r| r.rows_affected())
    });
    let deadline = Instant::now() + Duration::from_secs(30);
    let locks: Vec<Blocking> = loop {
        let r = app.authed(Method::GET, "/api/v1/databases/shop/locks").send().await.unwrap();
        assert_eq!(r.status(), 200);
        let body: Value = r.json().await.unwrap();
        let list: Vec<Blocking> = serde_json::from_value(body.clone()).unwrap();
        if !list.is_empty() {
            for item in body.as_array().unwrap() {
                documented.conforms("Blocking", item).unwrap();
            }
            break list;
        }
        assert!(Instant::now() < deadline, "no one waits yet");
        tokio::time::sleep(Duration::from_millis(100)).await;
    };
    assert_eq!(locks[0].blocking_pid, blocker_pid, "{locks:?}");
    assert!(locks[0].blocked_query.as_deref().is_some_and(|q| q.contains("'waited'")), "{locks:?}");
    assert_eq!(locks[0].blocking_state.as_deref(), Some("idle in transaction"));
    assert_eq!(locks[0].relation.as_deref(), Some("items"), "{locks:?}");

    // The sessions list shows both, the waiter waiting on the blocker.
    let sessions: Vec<Session> =
        app.authed(Method::GET, "/api/v1/databases/shop/sessions").send().await.unwrap().json().await.unwrap();
    let waiting = sessions.iter().find(|s| s.blocked_by.contains(&blocker_pid)).expect("the waiter is listed");
    assert!(waiting.wait_event.as_deref().is_some_and(|w| w.starts_with("Lock")), "{waiting:?}");
    assert!(sessions.iter().all(|s| s.application != "pgfleet"), "{sessions:?}");

    // A viewer reads the sessions without their text, and may not end one.
    let viewer = app.user_with_token("vic", UserRole::Viewer).await;
    let as_viewer = |method: Method, path: &str| app.client.request(method, app.url(path)).bearer_auth(&viewer).send();
    let seen: Vec<Session> =
        as_viewer(Method::GET, "/api/v1/databases/shop/sessions").await.unwrap().json().await.unwrap();
    assert!(!seen.is_empty() && seen.iter().all(|s| s.query.is_none()), "{seen:?}");
    let r = as_viewer(Method::GET, "/api/v1/databases/shop/statements?order=calls&limit=500").await.unwrap();
    let seen: Statements = r.json().await.unwrap();
    assert!(seen.statements.iter().any(|s| s.query.contains("FROM items WHERE id = $1")), "{seen:?}");
    assert!(seen.statements.iter().any(|s| s.query == "COMMENT ON TABLE items IS '…'"), "{seen:?}");
    assert!(!seen.statements.iter().any(|s| s.query.contains("hush")), "{seen:?}");
    let path = format!("/api/v1/databases/shop/sessions/{blocker_pid}/terminate");
    assert_eq!(as_viewer(Method::POST, &path).await.unwrap().status(), 403);

    // pgfleet's own sessions (its superuser, over its socket) are neither
    // listed nor ended; a client merely named "pgfleet" is both.
    let port = url.rsplit_once(':').unwrap().1.split('/').next().unwrap().to_string();
    let run = app.home().join("databases").join("shop").join("run");
    let own_url =
        format!("postgres://pgfleet@localhost:{port}/postgres?host={}&application_name=pgfleet", run.display());
    let mut own = sqlx::PgConnection::connect(&own_url).await.unwrap();
    let own_pid: i32 = sqlx::query_scalar("SELECT pg_backend_pid()").fetch_one(&mut own).await.unwrap();
    let mut named = sqlx::PgConnection::connect(&format!("{url}?application_name=pgfleet")).await.unwrap();
    let named_pid: i32 = sqlx::query_scalar("SELECT pg_backend_pid()").fetch_one(&mut named).await.unwrap();
    let sessions: Vec<Session> =
        app.authed(Method::GET, "/api/v1/databases/shop/sessions").send().await.unwrap().json().await.unwrap();
    assert!(!sessions.iter().any(|s| s.pid == own_pid), "{sessions:?}");
    assert!(sessions.iter().any(|s| s.pid == named_pid), "{sessions:?}");
    let r = app.authed(Method::POST, &format!("/api/v1/databases/shop/sessions/{own_pid}/terminate")).send().await;
    assert_eq!(r.unwrap().status(), 422);
    assert!(sqlx::query("SELECT 1").execute(&mut own).await.is_ok(), "pgfleet's session lives on");
    let r = app.authed(Method::POST, &format!("/api/v1/databases/shop/sessions/{named_pid}/terminate")).send().await;
    let ended: Ended = r.unwrap().json().await.unwrap();
    assert_eq!(ended, Ended { pid: named_pid, how: "terminate".into(), signalled: true });

    // The owner (the admin) terminates the blocker with the CLI: the
    // waiter goes through, the blocker's connection is gone, and it is audited.
    let out = common::cli::run(&app, &["kill", "shop", &blocker_pid.to_string(), "--force"]).await;
    assert!(out.status.success(), "{out:?}");
    assert!(String::from_utf8_lossy(&out.stdout).contains(&format!("Terminated session {blocker_pid}")), "{out:?}");
    let updated = tokio::time::timeout(Duration::from_secs(30), waiter).await.expect("the waiter is freed").unwrap();
    assert_eq!(updated.unwrap(), 1);
    assert!(sqlx::query("SELECT 1").execute(&mut blocker).await.is_err(), "the blocker's session was ended");
    let audit: Value = app.authed(Method::GET, "/api/v1/audit").send().await.unwrap().json().await.unwrap();
    let entries = audit.as_array().expect("audit entries");
    assert!(
        entries.iter().any(|e| e["action"] == "session.terminate"
            && e["outcome"] == "ok"
            && e["detail"].as_str().is_some_and(|d| d.contains(&blocker_pid.to_string()))),
        "{audit}"
    );
    assert!(
        entries.iter().any(|e| e["action"] == "session.terminate" && e["outcome"] == "denied" && e["actor"] == "vic"),
        "{audit}"
    );
    let r = app.authed(Method::POST, &format!("/api/v1/databases/shop/sessions/{blocker_pid}/cancel")).send().await;
    assert_eq!(r.unwrap().status(), 404, "an ended session is not there to cancel");

    // The CLI's tables.
    let ps = common::cli::run(&app, &["ps", "shop"]).await;
    assert!(String::from_utf8_lossy(&ps.stdout).starts_with("PID"), "{ps:?}");
    let outliers = common::cli::run(&app, &["outliers", "shop", "--order", "calls"]).await;
    assert!(String::from_utf8_lossy(&outliers.stdout).contains("FROM items WHERE id = $1"), "{outliers:?}");
    let locks = common::cli::run(&app, &["locks", "shop"]).await;
    assert!(String::from_utf8_lossy(&locks.stdout).contains("No session waits"), "{locks:?}");
    app.shutdown().await;
}
