//! `GET /healthz` and start-up of the whole app.

mod common;

use app::model::Health;

#[tokio::test]
async fn healthz_reports_version_uptime_and_store() {
    let app = common::spawn_app().await;
    let response = app.client.get(app.url("/healthz")).send().await.unwrap();
    assert_eq!(response.status(), 200);
    let health: Health = response.json().await.unwrap();
    assert_eq!(health.status, "ok");
    assert_eq!(health.version, env!("CARGO_PKG_VERSION"));
    assert_eq!(health.metadata_store, "ok");
    match app.store().location() {
        pgfleet::store::StoreLocation::Sqlite(path) => {
            assert!(std::env::var_os("PGFLEET_TEST_STORE").is_none(), "the suite runs on PostgreSQL");
            assert!(path.exists());
        }
        pgfleet::store::StoreLocation::Postgres(_) => assert!(std::env::var_os("PGFLEET_TEST_STORE").is_some()),
    }
    app.shutdown().await;
}

#[tokio::test]
async fn console_is_server_rendered() {
    let app = common::spawn_app().await;
    // Signed out, the console is its sign-in page.
    let response = app.client.get(app.url("/")).send().await.unwrap();
    assert_eq!(response.status(), 200);
    assert_eq!(response.url().path(), "/sign-in");
    let html = response.text().await.unwrap();
    assert!(html.contains("Sign in to pgfleet"), "{html}");

    let session = app.admin_session().await;
    let response =
        app.client.get(app.url("/")).header(reqwest::header::COOKIE, session.cookie_header()).send().await.unwrap();
    assert_eq!(response.status(), 200);
    let html = response.text().await.unwrap();
    assert!(html.contains("<h1>Databases</h1>"), "{html}");
    assert!(html.contains("No databases yet"), "{html}");
    assert!(html.contains("/pkg/pgfleet.") && html.contains(".wasm"), "hydration scripts are linked: {html}");
    app.shutdown().await;
}

#[tokio::test]
async fn a_store_that_cannot_be_migrated_stops_start_up() {
    let home = common::TestHome::new();
    // A newer pgfleet's migration that this binary does not know.
    let store = pgfleet::store::Store::open(common::store_for(home.path())).await.unwrap();
    let checksum = match store.dialect() {
        pgfleet::store::Dialect::Sqlite => "x'00'",
        pgfleet::store::Dialect::Postgres => "'\\x00'::bytea",
    };
    sqlx::query(&format!(
        "INSERT INTO _sqlx_migrations (version, description, installed_on, success, checksum, execution_time) \
         VALUES (99999, 'from the future', CURRENT_TIMESTAMP, TRUE, {checksum}, 0)"
    ))
    .execute(store.pool())
    .await
    .unwrap();
    drop(store);

    let mut config = pgfleet::config::Config::new(home.path());
    config.store = common::store_for(home.path());
    config.listen = ([127, 0, 0, 1], 0).into();
    let err = match pgfleet::serve::start(config).await {
        Ok(_) => panic!("start-up must fail"),
        Err(e) => e.to_string(),
    };
    assert!(err.contains("could not be migrated"), "{err}");
    assert!(err.contains("99999"), "{err}");
}

#[tokio::test]
async fn the_metadata_store_is_private() {
    use std::os::unix::fs::PermissionsExt;
    let app = common::spawn_app().await;
    // A PostgreSQL store's access is its server's business.
    if let pgfleet::store::StoreLocation::Sqlite(path) = app.store().location() {
        let mode = std::fs::metadata(path).unwrap().permissions().mode();
        assert_eq!(mode & 0o077, 0, "the store holds passwords: {mode:o}");
    }
    let token_mode = std::fs::metadata(app.home().join("admin-token")).unwrap().permissions().mode();
    assert_eq!(token_mode & 0o077, 0, "{token_mode:o}");
    let password_mode = std::fs::metadata(app.home().join("admin-password")).unwrap().permissions().mode();
    assert_eq!(password_mode & 0o077, 0, "{password_mode:o}");
    app.shutdown().await;
}

#[tokio::test]
async fn a_token_from_before_accounts_becomes_the_first_admins() {
    // A home from before accounts: a token that belongs to nobody.
    let home = common::TestHome::new();
    let store = pgfleet::store::Store::open(common::store_for(home.path())).await.unwrap();
    store.add_token("admin", "pgf_from_before_accounts", None).await.unwrap();
    drop(store);

    let mut config = pgfleet::config::Config::new(home.path());
    config.store = common::store_for(home.path());
    config.listen = ([127, 0, 0, 1], 0).into();
    config.engine = common::pg::test_engine_config();
    let running = pgfleet::serve::start(config).await.expect("pgfleet starts");
    let me: app::accounts::Me = reqwest::Client::new()
        .get(format!("http://{}/api/v1/me", running.addr))
        .bearer_auth("pgf_from_before_accounts")
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    assert_eq!((me.name.as_str(), me.role), ("admin", app::accounts::UserRole::Admin));
    assert!(home.path().join("admin-password").exists());
    assert!(!home.path().join("admin-token").exists(), "the old token is kept; no second one is made");
    running.shutdown().await.unwrap();
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn unknown_pages_are_404_pages_and_the_favicon_is_served() {
    let app = common::spawn_app().await;
    let session = app.admin_session().await;
    let page = app
        .client
        .get(app.url("/no-such-page"))
        .header(reqwest::header::COOKIE, session.cookie_header())
        .send()
        .await
        .unwrap();
    assert_eq!(page.status(), 404);
    let html = page.text().await.unwrap();
    assert!(html.contains("This page does not exist"), "{html}");
    let icon = app.client.get(app.url("/favicon.ico")).send().await.unwrap();
    assert_eq!(icon.status(), 200);
    assert!(icon.headers()["content-type"].to_str().unwrap().starts_with("image/"), "{:?}", icon.headers());
    app.shutdown().await;
}
