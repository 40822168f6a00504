//! Reset from the source against real PostgreSQL: a fork made again keeps
//! its URL (name, port, owner, password), ends the sessions open on it
//! with PostgreSQL's notice, loses its own changes and has its source's
//! current data; its source's roles are dropped again; who may reset,
//! what is refused (not a fork, followers, a busy fork, a bad body), the
//! CLI and the audit log. SIGKILL mid-reset is in `kill9.rs`.

mod common;

use app::accounts::UserRole;
use app::model::Phase;
use common::pg::{exec, scalar};
use reqwest::Method;
use serde_json::{json, Value};
use sqlx::Connection;

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_reset_fork_has_its_sources_data_under_the_same_url() {
    let app = common::spawn_app().await;
    let documented = common::openapi::Documented::fetch(&app).await;
    app.create_available(json!({"name": "prod"})).await;
    let mut prod = sqlx::PgConnection::connect(&app.api().credentials("prod").await.unwrap()).await.unwrap();
    exec(&mut prod, "CREATE TABLE t (i int); INSERT INTO t VALUES (1)").await;
    app.create_available(json!({"name": "trial", "fork": "prod"})).await;
    let url = app.api().credentials("trial").await.unwrap();
    let mut open = sqlx::PgConnection::connect(&url).await.unwrap();
    exec(&mut open, "INSERT INTO t VALUES (99); CREATE TABLE mine (i int)").await;
    // Since the fork: a new row and a role on the source.
    exec(&mut prod, "INSERT INTO t VALUES (2)").await;
    let r = app
        .authed(Method::POST, "/api/v1/databases/prod/roles")
        .json(&json!({"name": "analyst", "access": "read_only"}));
    assert_eq!(r.send().await.unwrap().status(), 201);

    // Backed up, so it has a restore window of its own to lose.
    app.wait_until("trial", "backed up", std::time::Duration::from_secs(300), |db| db.restore_window.is_some()).await;
    let asked = chrono::Utc::now();
    let r = app.authed(Method::POST, "/api/v1/databases/trial/reset").send().await.unwrap();
    assert_eq!(r.status(), 202);
    let body: Value = r.json().await.unwrap();
    documented.conforms("DatabaseView", &body).unwrap();
    assert_eq!(body["phase"], "provisioning", "{body}");
    let ended = sqlx::query("SELECT 1").execute(&mut open).await.unwrap_err().to_string();
    assert!(
        ended.contains("terminating connection due to administrator command") || ended.contains("closed"),
        "{ended}"
    );
    let r = app.authed(Method::POST, "/api/v1/databases/trial/reset").send().await.unwrap();
    assert_eq!(r.status(), 409, "one reset at a time");

    let db = app.wait_phase("trial", Phase::Available).await;
    assert_eq!(db.forked_from.as_deref(), Some("prod"));
    // Its old backups went with its old data: a window it shows is new.
    assert!(db.restore_window.as_ref().is_none_or(|w| w.from >= asked), "{:?}", db.restore_window);
    assert_eq!(app.api().credentials("trial").await.unwrap(), url, "the same URL");
    let mut trial = sqlx::PgConnection::connect(&url).await.unwrap();
    let rows: String =
        sqlx::query_scalar("SELECT string_agg(i::text, ',' ORDER BY i) FROM t").fetch_one(&mut trial).await.unwrap();
    assert_eq!(rows, "1,2", "the source's data now, without the fork's own row");
    assert_eq!(scalar(&mut trial, "SELECT count(*) FROM pg_class WHERE relname = 'mine'").await, 0);
    assert_eq!(
        scalar(&mut trial, "SELECT count(*) FROM pg_roles WHERE rolname = 'analyst'").await,
        0,
        "the source's role is dropped"
    );
    exec(&mut trial, "INSERT INTO t VALUES (3)").await;

    // Refusals, each clear, none changing anything.
    let post = |path: &str, body: Option<Value>| {
        let mut r = app.authed(Method::POST, path);
        if let Some(body) = body {
            r = r.json(&body);
        }
        r.send()
    };
    let says = |r: reqwest::Response, status: u16, words: &'static str| async move {
        assert_eq!(r.status(), status);
        let e: Value = r.json().await.unwrap();
        assert!(e["error"]["message"].as_str().unwrap().contains(words), "{e}");
    };
    says(post("/api/v1/databases/prod/reset", None).await.unwrap(), 422, "prod is not a fork").await;
    says(post("/api/v1/databases/trial/reset", Some(json!({"at": "soon"}))).await.unwrap(), 422, "not a reset request")
        .await;
    let both = json!({"at": "2026-01-01T00:00:00Z", "at_lsn": "0/3000060"});
    says(post("/api/v1/databases/trial/reset", Some(both)).await.unwrap(), 422, "not both").await;
    let future = json!({"at": (chrono::Utc::now() + chrono::Duration::hours(1)).to_rfc3339()});
    says(post("/api/v1/databases/trial/reset", Some(future)).await.unwrap(), 422, "in the future").await;
    app.create_available(json!({"name": "trial-f", "follow": "trial"})).await;
    says(post("/api/v1/databases/trial/reset", None).await.unwrap(), 409, "has followers (trial-f)").await;
    app.api().destroy("trial-f", false).await.unwrap();
    let viewer = app.user_with_token("vera", UserRole::Viewer).await;
    let member = app.user_with_token("max", UserRole::Member).await;
    for token in [&viewer, &member] {
        let r = app.client.post(app.url("/api/v1/databases/trial/reset")).bearer_auth(token).send().await.unwrap();
        assert_eq!(r.status(), 403);
    }
    assert_eq!(post("/api/v1/databases/nothing/reset", None).await.unwrap().status(), 404);
    assert_eq!(app.api().get("trial").await.unwrap().phase, Phase::Available, "refusals change nothing");
    assert_eq!(scalar(&mut trial, "SELECT count(*) FROM t").await, 3);

    // The CLI: confirmed, and followed to the end.
    let out = common::cli::run(&app, &["reset", "trial", "--confirm", "nope"]).await;
    assert!(!out.status.success());
    assert!(String::from_utf8_lossy(&out.stderr).contains("nothing was reset"));
    let out = common::cli::run(&app, &["reset", "trial", "--confirm", "trial", "--wait"]).await;
    assert!(out.status.success(), "{}", String::from_utf8_lossy(&out.stderr));
    assert!(String::from_utf8_lossy(&out.stdout).contains("ready"));
    let mut trial = sqlx::PgConnection::connect(&url).await.unwrap();
    assert_eq!(scalar(&mut trial, "SELECT count(*) FROM t").await, 2);

    // Audited, refusals included.
    let audit: Value =
        app.authed(Method::GET, "/api/v1/audit?database=trial").send().await.unwrap().json().await.unwrap();
    let resets: Vec<&str> = audit
        .as_array()
        .unwrap()
        .iter()
        .filter(|e| e["action"] == "database.reset")
        .map(|e| e["outcome"].as_str().unwrap())
        .collect();
    assert_eq!(resets.iter().filter(|o| **o == "ok").count(), 2, "{resets:?}");
    assert!(resets.contains(&"denied") && resets.contains(&"failed"), "{resets:?}");
}
