//! Credentials against real PostgreSQL. Rotation: the old password stops
//! opening sessions and the new one works; the owner's open sessions are
//! ended unless kept; a follower gets the new password and keeps
//! replicating; a fork keeps its own; who may rotate; the CLI; and a
//! change that died between storing and applying is applied by the next
//! control plane. Additional roles: read-only cannot write, read-write
//! cannot change the schema; followers carry them, forks drop them;
//! rotation, removal, who may, the CLI and the audit log.

mod common;

use std::time::{Duration, Instant};

use app::accounts::UserRole;
use app::model::{Phase, Rotated};
use app::roles::{RoleAccess, RoleUrl, RoleView};
use common::pg::{exec, scalar, TestEngine};
use reqwest::Method;
use serde_json::{json, Value};
use sqlx::Connection;

async fn opens(url: &str) -> bool {
    sqlx::PgConnection::connect(url).await.is_ok()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn rotation_changes_the_password_everywhere_it_is_carried() {
    let app = common::spawn_app().await;
    let documented = common::openapi::Documented::fetch(&app).await;
    app.create_available(json!({"name": "vault"})).await;
    let old = app.api().credentials("vault").await.unwrap();
    let mut data = sqlx::PgConnection::connect(&old).await.unwrap();
    exec(&mut data, "CREATE TABLE t (id int); INSERT INTO t VALUES (1)").await;
    app.create_available(json!({"name": "vault-f", "follow": "vault"})).await;
    app.create_available(json!({"name": "vault-k", "fork": "vault"})).await;
    let follower_old = app.api().credentials("vault-f").await.unwrap();
    let fork_url = app.api().credentials("vault-k").await.unwrap();
    assert!(opens(&follower_old).await);
    let mut on_follower = sqlx::PgConnection::connect(&follower_old).await.unwrap();

    // Rotate: the open sessions (on the database and its follower) end.
    let r = app.authed(Method::POST, "/api/v1/databases/vault/credentials/rotate").send().await.unwrap();
    assert_eq!(r.status(), 200);
    let body: Value = r.json().await.unwrap();
    documented.conforms("Rotated", &body).unwrap();
    let rotated: Rotated = serde_json::from_value(body).unwrap();
    assert_eq!(rotated.followers, vec!["vault-f".to_string()]);
    assert!(rotated.ended_sessions >= 2, "{rotated:?}");
    assert_ne!(rotated.url, old);
    assert_eq!(rotated.url, app.api().credentials("vault").await.unwrap());
    assert!(!opens(&old).await, "the old password still opens sessions");
    let mut fresh = sqlx::PgConnection::connect(&rotated.url).await.unwrap();
    assert!(sqlx::query("SELECT 1").execute(&mut data).await.is_err(), "the open session was not ended");
    assert!(sqlx::query("SELECT 1").execute(&mut on_follower).await.is_err(), "the follower's session stayed");

    // The follower has the new password once it replays it, and keeps
    // replicating.
    let follower_new = app.api().credentials("vault-f").await.unwrap();
    let deadline = Instant::now() + Duration::from_secs(30);
    while opens(&follower_old).await || !opens(&follower_new).await {
        assert!(Instant::now() < deadline, "the follower never took the new password");
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    let mut replica = sqlx::PgConnection::connect(&follower_new).await.unwrap();
    exec(&mut fresh, "INSERT INTO t VALUES (2)").await;
    let deadline = Instant::now() + Duration::from_secs(30);
    while scalar(&mut replica, "SELECT count(*) FROM t").await != 2 {
        assert!(Instant::now() < deadline, "the follower stopped replicating");
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    // The fork has passwords of its own.
    assert_eq!(app.api().credentials("vault-k").await.unwrap(), fork_url);
    assert!(opens(&fork_url).await);

    // Kept sessions stay open.
    let r =
        app.authed(Method::POST, "/api/v1/databases/vault/credentials/rotate?keep_sessions=true").send().await.unwrap();
    let kept: Rotated = r.json().await.unwrap();
    assert_eq!(kept.ended_sessions, 0);
    exec(&mut fresh, "SELECT 1").await;
    assert!(!opens(&rotated.url).await && opens(&kept.url).await);

    // Who may: not viewers, not members on others' databases; a follower
    // is rotated through its source.
    let viewer = app.user_with_token("vera", UserRole::Viewer).await;
    let member = app.user_with_token("max", UserRole::Member).await;
    let post = |token: &str, path: &str| app.client.post(app.url(path)).bearer_auth(token.to_string()).send();
    assert_eq!(post(&viewer, "/api/v1/databases/vault/credentials/rotate").await.unwrap().status(), 403);
    assert_eq!(post(&member, "/api/v1/databases/vault/credentials/rotate").await.unwrap().status(), 403);
    let r = app.authed(Method::POST, "/api/v1/databases/vault-f/credentials/rotate").send().await.unwrap();
    assert_eq!(r.status(), 422);
    let e: Value = r.json().await.unwrap();
    assert!(e["error"]["message"].as_str().unwrap().contains("vault-f follows vault"), "{e}");
    let r = app.authed(Method::POST, "/api/v1/databases/vault/credentials/rotate?keep_sessions=maybe").send().await;
    assert_eq!(r.unwrap().status(), 400);
    assert_eq!(kept.url, app.api().credentials("vault").await.unwrap(), "refusals change nothing");

    // The CLI prints the new URL, which works.
    let out = common::cli::run(&app, &["credentials:rotate", "vault", "--keep-sessions"]).await;
    assert!(out.status.success());
    let url = String::from_utf8_lossy(&out.stdout).trim().to_string();
    assert!(opens(&url).await && !opens(&kept.url).await);
    assert!(String::from_utf8_lossy(&out.stderr).contains("the URL of vault-f changed too"));

    // Audited, refusals included.
    let audit: Value =
        app.authed(Method::GET, "/api/v1/audit?database=vault").send().await.unwrap().json().await.unwrap();
    let rows: Vec<&Value> = audit.as_array().unwrap().iter().filter(|e| e["action"] == "credentials.rotate").collect();
    assert!(rows.iter().filter(|e| e["outcome"] == "ok").count() >= 3, "{rows:?}");
    assert!(rows.iter().any(|e| e["outcome"] == "denied" && e["actor"] == "vera"), "{rows:?}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_password_or_role_stored_but_not_applied_is_applied_after_a_restart() {
    let t = TestEngine::start().await;
    t.create_named("ledger").await;
    t.wait_for("ledger", Phase::Available, Duration::from_secs(120)).await;
    let before = t.engine.credentials("ledger").await.unwrap();
    // What a rotation leaves when pgfleet dies between its two steps.
    t.store.set_owner_password(&["ledger".to_string()], "stored-not-applied").await.unwrap();
    let after = t.engine.credentials("ledger").await.unwrap();
    assert!(after.contains("stored-not-applied"));
    // And a role stored but never made.
    let late = pgfleet::engine::spec::ExtraRole {
        name: "late".into(),
        access: RoleAccess::ReadOnly,
        password: "late-password".into(),
        created_at: chrono::Utc::now(),
        created_by: None,
        password_set_at: chrono::Utc::now(),
        dropped: false,
    };
    t.store.set_roles("ledger", &[late]).await.unwrap();
    let late_url = t.engine.role_url("ledger", "late").await.unwrap().url;
    let (home, config) = t.crash().await;
    let t = TestEngine::start_in(home, config).await;
    let deadline = Instant::now() + Duration::from_secs(60);
    while !opens(&after).await || !opens(&late_url).await {
        assert!(Instant::now() < deadline, "the stored password or role was never applied");
        tokio::time::sleep(Duration::from_millis(200)).await;
    }
    assert!(!opens(&before).await);
    drop(t);
}

/// Whether `url` opens a session and `sql` runs there.
async fn runs(url: &str, sql: &str) -> Result<(), String> {
    let mut conn = sqlx::PgConnection::connect(url).await.map_err(|e| e.to_string())?;
    sqlx::raw_sql(sql).execute(&mut conn).await.map(|_| ()).map_err(|e| e.to_string())
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn additional_roles_read_or_write_and_stay_their_databases_own() {
    let app = common::spawn_app().await;
    let documented = common::openapi::Documented::fetch(&app).await;
    let post = |path: &str, body: Value| app.authed(Method::POST, path).json(&body).send();
    let r = post("/api/v1/databases", json!({"name": "shop"})).await.unwrap();
    assert_eq!(r.status(), 202);
    app.wait_phase("shop", Phase::Available).await;
    let owner = app.api().credentials("shop").await.unwrap();
    let mut data = sqlx::PgConnection::connect(&owner).await.unwrap();
    exec(&mut data, "CREATE TABLE orders (id int); INSERT INTO orders VALUES (1)").await;

    // Read-only: reads every table, made before or after it; writes none.
    let r = post("/api/v1/databases/shop/roles", json!({"name": "analyst", "access": "read_only"})).await.unwrap();
    assert_eq!(r.status(), 201);
    let body: Value = r.json().await.unwrap();
    documented.conforms("RoleUrl", &body).unwrap();
    let analyst: RoleUrl = serde_json::from_value(body).unwrap();
    assert!(analyst.url.starts_with("postgres://analyst:"), "{}", analyst.url);
    exec(&mut data, "CREATE TABLE later (id int); INSERT INTO later VALUES (7)").await;
    let mut reader = sqlx::PgConnection::connect(&analyst.url).await.unwrap();
    assert_eq!(scalar(&mut reader, "SELECT count(*) FROM orders").await, 1);
    assert_eq!(scalar(&mut reader, "SELECT sum(id)::bigint FROM later").await, 7);
    let refused = runs(&analyst.url, "INSERT INTO orders VALUES (2)").await.unwrap_err();
    assert!(refused.contains("permission denied"), "{refused}");

    // Read-write: writes rows, never the schema.
    let r = post("/api/v1/databases/shop/roles", json!({"name": "etl", "access": "read_write"})).await.unwrap();
    assert_eq!(r.status(), 201);
    let etl: RoleUrl = r.json().await.unwrap();
    runs(&etl.url, "INSERT INTO orders VALUES (2); UPDATE later SET id = 8").await.unwrap();
    let refused = runs(&etl.url, "CREATE TABLE mine (id int)").await.unwrap_err();
    assert!(refused.contains("permission denied"), "{refused}");
    assert_eq!(scalar(&mut data, "SELECT count(*) FROM orders").await, 2);

    // Listed without passwords; refusals are clear and change nothing.
    let r = app.authed(Method::GET, "/api/v1/databases/shop/roles").send().await.unwrap();
    let text = r.text().await.unwrap();
    let list: Vec<RoleView> = serde_json::from_str(&text).unwrap();
    assert_eq!(
        list.iter().map(|r| (r.name.as_str(), r.access)).collect::<Vec<_>>(),
        [("analyst", RoleAccess::ReadOnly), ("etl", RoleAccess::ReadWrite)]
    );
    assert!(list.iter().all(|r| r.created_by.as_deref() == Some("admin")), "{list:?}");
    let password = |url: &str| app::connection::Connection::parse(url).unwrap().password;
    assert!(!text.contains(&password(&analyst.url)), "{text}");
    for (body, status, says) in [
        (json!({"name": "analyst", "access": "read_only"}), 409, "already has a role named analyst"),
        (json!({"name": "Bad-Name", "access": "read_only"}), 422, "lowercase letter"),
        (json!({"name": "pg_x", "access": "read_only"}), 422, "belong to PostgreSQL"),
        (json!({"name": "x", "access": "superuser"}), 422, "access"),
    ] {
        let r = post("/api/v1/databases/shop/roles", body.clone()).await.unwrap();
        assert_eq!(r.status(), status, "{body}");
        let e: Value = r.json().await.unwrap();
        assert!(e["error"]["message"].as_str().unwrap().contains(says), "{body}: {e}");
    }
    let owner_name = app::connection::Connection::parse(&owner).unwrap().user;
    let r = post("/api/v1/databases/shop/roles", json!({"name": owner_name, "access": "read_only"})).await.unwrap();
    assert_eq!(r.status(), 409, "the owner's name is taken");
    assert_eq!(app.api().roles("shop").await.unwrap().len(), 2);

    // Who may: everyone lists; viewers reveal nothing; members change only
    // their own databases.
    let viewer = app.user_with_token("vera", UserRole::Viewer).await;
    let member = app.user_with_token("max", UserRole::Member).await;
    let as_user = |token: &str, method: Method, path: &str| {
        app.client
            .request(method, app.url(path))
            .bearer_auth(token.to_string())
            .json(&json!({"name": "mine", "access": "read_only"}))
            .send()
    };
    assert_eq!(as_user(&viewer, Method::GET, "/api/v1/databases/shop/roles").await.unwrap().status(), 200);
    assert_eq!(
        as_user(&viewer, Method::GET, "/api/v1/databases/shop/roles/analyst/credentials").await.unwrap().status(),
        403
    );
    assert_eq!(as_user(&member, Method::POST, "/api/v1/databases/shop/roles").await.unwrap().status(), 403);
    assert_eq!(as_user(&member, Method::DELETE, "/api/v1/databases/shop/roles/analyst").await.unwrap().status(), 403);
    assert_eq!(
        app.authed(Method::GET, "/api/v1/databases/shop/roles/nobody/credentials").send().await.unwrap().status(),
        404
    );

    // A follower carries them: listed, and its URL reaches the follower.
    let r = post("/api/v1/databases", json!({"name": "shop-f", "follow": "shop"})).await.unwrap();
    assert_eq!(r.status(), 202);
    app.wait_phase("shop-f", Phase::Available).await;
    assert_eq!(app.api().roles("shop-f").await.unwrap().len(), 2);
    let on_follower = app.api().role_url("shop-f", "analyst").await.unwrap();
    assert_ne!(on_follower.url, analyst.url);
    let mut replica = sqlx::PgConnection::connect(&on_follower.url).await.unwrap();
    assert_eq!(scalar(&mut replica, "SELECT count(*) FROM orders").await, 2);
    let r = post("/api/v1/databases/shop-f/roles", json!({"name": "mine", "access": "read_only"})).await.unwrap();
    assert_eq!(r.status(), 422);

    // A fork has none: its copies of the source's roles are dropped.
    let r = post("/api/v1/databases", json!({"name": "shop-k", "fork": "shop"})).await.unwrap();
    assert_eq!(r.status(), 202);
    app.wait_phase("shop-k", Phase::Available).await;
    assert!(app.api().roles("shop-k").await.unwrap().is_empty());
    let mut fork = sqlx::PgConnection::connect(&app.api().credentials("shop-k").await.unwrap()).await.unwrap();
    assert_eq!(scalar(&mut fork, "SELECT count(*) FROM pg_roles WHERE rolname IN ('analyst', 'etl')").await, 0);
    assert_eq!(scalar(&mut fork, "SELECT count(*) FROM orders").await, 2, "the fork has the data");

    // Rotation: the old password stops working, open sessions end.
    let rotated = app.api().rotate_role("shop", "analyst", false).await.unwrap();
    assert_ne!(password(&rotated.url), password(&analyst.url));
    assert!(runs(&analyst.url, "SELECT 1").await.is_err(), "the old password still opens sessions");
    assert!(sqlx::query("SELECT 1").execute(&mut reader).await.is_err(), "the open session was not ended");
    runs(&rotated.url, "SELECT count(*) FROM orders").await.unwrap();

    // Removal: gone from the server, and from its follower once replayed.
    let r = app.authed(Method::DELETE, "/api/v1/databases/shop/roles/etl").send().await.unwrap();
    assert_eq!(r.status(), 204);
    assert!(runs(&etl.url, "SELECT 1").await.is_err());
    assert_eq!(scalar(&mut data, "SELECT count(*) FROM pg_roles WHERE rolname = 'etl'").await, 0);
    assert_eq!(app.api().roles("shop").await.unwrap().len(), 1);
    let r = app.authed(Method::GET, "/api/v1/databases/shop/roles/etl/credentials").send().await.unwrap();
    assert_eq!(r.status(), 404);
    let r = app.authed(Method::DELETE, "/api/v1/databases/shop/roles/etl").send().await.unwrap();
    assert_eq!(r.status(), 404);
    // (The rotation above ended analyst's session on the follower too.)
    assert!(sqlx::query("SELECT 1").execute(&mut replica).await.is_err(), "the follower's session stayed");
    let mut replica = sqlx::PgConnection::connect(&app.api().credentials("shop-f").await.unwrap()).await.unwrap();
    let deadline = Instant::now() + Duration::from_secs(30);
    while scalar(&mut replica, "SELECT count(*) FROM pg_roles WHERE rolname = 'etl'").await != 0 {
        assert!(Instant::now() < deadline, "the follower kept the dropped role");
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    // The name is free again.
    let r = post("/api/v1/databases/shop/roles", json!({"name": "etl", "access": "read_only"})).await.unwrap();
    assert_eq!(r.status(), 201);

    // The CLI: create, list, reveal, destroy (confirmed).
    let out = common::cli::run(&app, &["credentials:create", "shop", "--role", "cli_reader"]).await;
    assert!(out.status.success(), "{}", String::from_utf8_lossy(&out.stderr));
    let url = String::from_utf8_lossy(&out.stdout).trim().to_string();
    runs(&url, "SELECT count(*) FROM orders").await.unwrap();
    let out = common::cli::run(&app, &["credentials:list", "shop"]).await;
    let text = String::from_utf8_lossy(&out.stdout);
    assert!(text.contains("cli_reader") && text.contains("read-only"), "{text}");
    let out = common::cli::run(&app, &["credentials", "shop", "--role", "cli_reader"]).await;
    assert_eq!(String::from_utf8_lossy(&out.stdout).trim(), url);
    let out =
        common::cli::run(&app, &["credentials:destroy", "shop", "--role", "cli_reader", "--confirm", "nope"]).await;
    assert!(!out.status.success());
    assert!(String::from_utf8_lossy(&out.stderr).contains("nothing was dropped"));
    runs(&url, "SELECT 1").await.unwrap();
    let out =
        common::cli::run(&app, &["credentials:destroy", "shop", "--role", "cli_reader", "--confirm", "cli_reader"])
            .await;
    assert!(out.status.success());
    assert!(runs(&url, "SELECT 1").await.is_err());

    // Audited, refusals included.
    let audit: Value =
        app.authed(Method::GET, "/api/v1/audit?database=shop").send().await.unwrap().json().await.unwrap();
    let actions: Vec<(&str, &str)> = audit
        .as_array()
        .unwrap()
        .iter()
        .map(|e| (e["action"].as_str().unwrap(), e["outcome"].as_str().unwrap()))
        .collect();
    for wanted in [
        ("role.create", "ok"),
        ("role.create", "failed"),
        ("role.create", "denied"),
        ("role.rotate", "ok"),
        ("role.destroy", "ok"),
        ("role.destroy", "denied"),
        ("role.reveal", "ok"),
        ("role.reveal", "denied"),
    ] {
        assert!(actions.contains(&wanted), "{wanted:?} not in {actions:?}");
    }
}
