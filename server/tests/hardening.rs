//! Hardening against real PostgreSQL: protection that followers inherit,
//! passwords of their own after promotion, the one-time-password session
//! on the API, values out of range on every numeric field, a store row
//! that cannot be read, and the API's error shape for every kind of bad
//! request. Each test fails without the fix it names.

mod common;

use app::accounts::UserRole;
use app::model::{Health, LoopState, Phase};
use reqwest::header::COOKIE;
use reqwest::Method;
use serde_json::{json, Value};
use sqlx::Connection;

async fn error_of(response: reqwest::Response) -> (u16, String, String) {
    let status = response.status().as_u16();
    let text = response.text().await.unwrap();
    let body: Value = serde_json::from_str(&text).unwrap_or_else(|_| panic!("not the JSON error shape: {text}"));
    let code = body["error"]["code"].as_str().unwrap_or_else(|| panic!("no error.code: {body}")).to_string();
    let message = body["error"]["message"].as_str().unwrap_or_else(|| panic!("no error.message: {body}")).to_string();
    (status, code, message)
}

async fn healthz(app: &common::TestApp) -> Health {
    app.client.get(app.url("/healthz")).send().await.unwrap().json().await.unwrap()
}

/// Whether `url` opens a session (the password is right).
async fn opens(url: &str) -> bool {
    sqlx::PgConnection::connect(url).await.is_ok()
}

fn with_password(url: &str, password: &str) -> String {
    let (scheme_user, rest) = url.split_once('@').unwrap();
    let (scheme, user_pass) = scheme_user.split_once("://").unwrap();
    let user = user_pass.split(':').next().unwrap();
    format!("{scheme}://{user}:{password}@{rest}")
}

fn password_of(url: &str) -> String {
    let user_pass = url.split_once("://").unwrap().1.split_once('@').unwrap().0;
    user_pass.split_once(':').unwrap().1.to_string()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_follower_of_a_protected_database_is_protected_and_gets_its_own_password_when_promoted() {
    let app = common::spawn_app().await;
    let member = app.user_with_token("mia", UserRole::Member).await;
    let as_member = |method: Method, path: &str| app.client.request(method, app.url(path)).bearer_auth(&member);

    app.protected_database("prod").await;
    // The admin gives it a follower; the member must not reach the data
    // through it.
    let r = app.authed(Method::POST, "/api/v1/databases").json(&json!({"name": "reader", "follow": "prod"})).send();
    assert_eq!(r.await.unwrap().status(), 202);
    let reader = app.wait_phase("reader", Phase::Available).await;
    assert!(reader.protected, "a follower of a protected database is protected: {reader:?}");
    assert_eq!(reader.fork_policy, app::model::ForkPolicy::Approval);

    let (status, code, message) =
        error_of(as_member(Method::GET, "/api/v1/databases/reader/credentials").send().await.unwrap()).await;
    assert_eq!((status, code.as_str()), (403, "forbidden"), "{message}");
    // Forking it directly would hand over the data too.
    let r = as_member(Method::POST, "/api/v1/databases").json(&json!({"fork": "reader"})).send().await.unwrap();
    assert_eq!(r.status(), 403);
    let r = as_member(Method::POST, "/api/v1/databases").json(&json!({"follow": "reader"})).send().await.unwrap();
    assert_eq!(r.status(), 403);
    let r = as_member(Method::POST, "/api/v1/databases/reader/promote").send().await.unwrap();
    assert_eq!(r.status(), 403);

    // Promoted, it keeps the protection and no longer shares a password
    // with its former source.
    let api = app.api();
    let prod_url = api.credentials("prod").await.unwrap();
    let before = api.credentials("reader").await.unwrap();
    assert_eq!(password_of(&before), password_of(&prod_url), "a follower replicates its source's roles");
    let r = app.authed(Method::POST, "/api/v1/databases/reader/promote").send().await.unwrap();
    assert_eq!(r.status(), 202);
    let promoted = app
        .wait_until("reader", "promoted", std::time::Duration::from_secs(120), |db| {
            assert!(db.phase != Phase::Failed, "{db:?}");
            db.phase == Phase::Available && db.following.is_none()
        })
        .await;
    assert!(promoted.protected, "promoted, it keeps the rules it had: {promoted:?}");
    let after = api.credentials("reader").await.unwrap();
    assert_ne!(password_of(&after), password_of(&prod_url));
    assert!(opens(&after).await, "its new password works");
    assert!(!opens(&with_password(&after, &password_of(&prod_url))).await, "the source's password no longer opens it");
    assert!(!opens(&with_password(&prod_url, &password_of(&after))).await, "its password does not open the source");
    assert!(opens(&prod_url).await, "the source is untouched");
    app.shutdown().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_session_on_a_one_time_password_can_only_choose_a_new_one_on_the_api_too() {
    let app = common::spawn_app().await;
    let once = app.add_user("mia", UserRole::Member).await;
    let session = app.sign_in("mia", &once).await;
    let cookie = session.cookie_header();

    for (method, path) in [
        (Method::GET, "/api/v1/databases"),
        (Method::GET, "/api/v1/tokens"),
        (Method::POST, "/api/v1/tokens"),
        (Method::POST, "/api/v1/databases"),
    ] {
        let r = app
            .client
            .request(method.clone(), app.url(path))
            .header(COOKIE, &cookie)
            .header("x-csrf-token", &session.csrf)
            .json(&json!({"name": "sneaky"}))
            .send()
            .await
            .unwrap();
        let (status, _, message) = error_of(r).await;
        assert_eq!(status, 403, "{method} {path}: {message}");
        assert!(message.contains("choose a new password"), "{message}");
    }
    let me = app.client.get(app.url("/api/v1/me")).header(COOKIE, &cookie).send().await.unwrap();
    assert_eq!(me.status(), 200, "who am I stays open, so the console can ask for the password");
    assert!(app.api().list().await.unwrap().is_empty(), "nothing was created");

    // Once a password is chosen, the same session works.
    let new = "mia's own password";
    let r = app.function(&session, "change_password", &[("current", &once), ("new", new), ("repeat", new)]).await;
    assert!(r.status().is_success());
    let r = app.client.get(app.url("/api/v1/databases")).header(COOKIE, &cookie).send().await.unwrap();
    assert_eq!(r.status(), 200);
    app.shutdown().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn numbers_out_of_range_are_refused_and_the_fleet_keeps_answering() {
    let app = common::spawn_app().await;
    let member = app.user_with_token("mia", UserRole::Member).await;
    let as_member = |method: Method, path: &str| app.client.request(method, app.url(path)).bearer_auth(&member);
    app.authed(Method::POST, "/api/v1/databases").json(&json!({"name": "prod"})).send().await.unwrap();
    app.wait_phase("prod", Phase::Available).await;
    let r = as_member(Method::POST, "/api/v1/databases").json(&json!({"name": "mine", "fork": "prod"})).send();
    assert_eq!(r.await.unwrap().status(), 202);
    app.wait_phase("mine", Phase::Available).await;

    let huge = [i64::MAX, i64::MAX / 1000, 10_i64.pow(12), 366 * 24 * 3600 + 1];
    for seconds in huge.into_iter().chain([0, -1, i64::MIN]) {
        for (who, token) in [("admin", app.token()), ("member", member.clone())] {
            let r = app
                .client
                .post(app.url("/api/v1/databases/mine/extend"))
                .bearer_auth(&token)
                .json(&json!({ "seconds": seconds }))
                .send()
                .await
                .unwrap();
            let (status, code, message) = error_of(r).await;
            assert_eq!((status, code.as_str()), (422, "unprocessable"), "{who} extend {seconds}: {message}");
        }
    }
    for ttl in huge.into_iter().chain([0, -5]) {
        let r = app
            .authed(Method::POST, "/api/v1/fork-requests")
            .json(&json!({"source": "prod", "reason": "testing", "ttl_seconds": ttl}))
            .send()
            .await
            .unwrap();
        let (status, _, message) = error_of(r).await;
        assert_eq!(status, 422, "ttl {ttl}: {message}");
        assert!(message.contains("ttl_seconds") || message.contains("live"), "{message}");
    }
    let settings = [
        json!({"fork_ttl_default_seconds": 3600, "fork_ttl_max_seconds": i64::MAX, "member_fork_quota": 3}),
        json!({"fork_ttl_default_seconds": 59, "fork_ttl_max_seconds": 3600, "member_fork_quota": 3}),
        json!({"fork_ttl_default_seconds": 7200, "fork_ttl_max_seconds": 3600, "member_fork_quota": 3}),
        json!({"fork_ttl_default_seconds": 3600, "fork_ttl_max_seconds": 7200, "member_fork_quota": -1}),
        json!({"fork_ttl_default_seconds": 3600, "fork_ttl_max_seconds": 7200, "member_fork_quota": 1_000_001}),
    ];
    for body in settings {
        let r = app.authed(Method::PUT, "/api/v1/settings").json(&body).send().await.unwrap();
        let (status, _, message) = error_of(r).await;
        assert_eq!(status, 422, "{body}: {message}");
    }
    // Ids that cannot be ids, in every path that takes one.
    for path in [
        "/api/v1/fork-requests/99999999999999999999999",
        "/api/v1/fork-requests/x",
        "/api/v1/fork-requests/-1",
        "/api/v1/fork-requests/0",
    ] {
        let (status, code, message) = error_of(app.authed(Method::GET, path).send().await.unwrap()).await;
        assert_eq!((status, code.as_str()), (404, "not_found"), "{path}: {message}");
    }
    let r = app.authed(Method::DELETE, "/api/v1/tokens/99999999999999999999999").send().await.unwrap();
    assert_eq!(error_of(r).await.0, 404);
    let r = app.authed(Method::POST, "/api/v1/fork-requests/1e400/approve").json(&json!({})).send().await.unwrap();
    assert_eq!(error_of(r).await.0, 404);

    // A legal extension still works, and everything still answers.
    let r = as_member(Method::POST, "/api/v1/databases/mine/extend").json(&json!({"seconds": 60})).send();
    assert_eq!(r.await.unwrap().status(), 200);
    assert_eq!(app.api().list().await.unwrap().len(), 2);
    let r = app.client.get(app.url("/api/v1/status.json")).send().await.unwrap();
    assert_eq!(r.status(), 200);
    let health = healthz(&app).await;
    assert_eq!(health.status, "ok", "{health:?}");
    assert!(health.loops.iter().all(|l| l.state == LoopState::Running && l.restarts == 0), "{health:?}");
    app.shutdown().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_row_that_cannot_be_read_does_not_stop_the_fleet() {
    let app = common::spawn_app().await;
    for name in ["good", "broken"] {
        app.authed(Method::POST, "/api/v1/databases").json(&json!({ "name": name })).send().await.unwrap();
        app.wait_phase(name, Phase::Available).await;
    }
    // As a large extension once did: a time no reader can parse.
    sqlx::query("UPDATE databases SET expires_at = '+262143-12-31T23:59:59+00:00' WHERE name = 'broken'")
        .execute(app.store().pool())
        .await
        .unwrap();

    let list = app.api().list().await.expect("the list still answers");
    let names: Vec<&str> = list.iter().map(|d| d.name.as_str()).collect();
    assert_eq!(names, ["broken", "good"]);
    let broken = &list[0];
    assert_eq!(broken.phase, Phase::Failed);
    assert!(broken.message.as_deref().unwrap_or("").contains("cannot read"), "{broken:?}");
    assert_eq!(list[1].phase, Phase::Available);
    let r = app.client.get(app.url("/api/v1/status.json")).send().await.unwrap();
    assert_eq!(r.status(), 200);
    let health = healthz(&app).await;
    assert_eq!(health.status, "degraded");
    assert!(!health.unreadable_rows.is_empty(), "{health:?}");
    assert!(health.unreadable_rows.iter().all(|r| r.row.ends_with("/broken")), "only the broken one: {health:?}");

    // The reconciler goes on for everyone else.
    app.authed(Method::POST, "/api/v1/databases").json(&json!({"name": "after"})).send().await.unwrap();
    app.wait_phase("after", Phase::Available).await;
    app.shutdown().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn every_kind_of_bad_request_gets_the_json_error_shape() {
    let app = common::spawn_app().await;
    let documented = common::openapi::Documented::fetch(&app).await;
    let post = |status: u16| documented.check(&Method::POST, "/api/v1/databases", status);
    for status in [413, 415, 400, 422] {
        post(status).unwrap();
    }
    documented.check(&Method::GET, "/api/v1/databases/x", 404).unwrap();
    let big = json!({ "name": "x".repeat(200 * 1024) });
    // On a connection of its own: the server does not read a body it
    // refuses and closes that connection, which a pooled client could
    // otherwise pick for the next request (IncompleteMessage).
    let r = reqwest::Client::new()
        .post(app.url("/api/v1/databases"))
        .bearer_auth(app.token())
        .json(&big)
        .send()
        .await
        .unwrap();
    let (status, code, message) = error_of(r).await;
    assert_eq!((status, code.as_str()), (413, "payload_too_large"), "{message}");
    assert!(message.contains("KiB"), "{message}");

    let r = app.authed(Method::POST, "/api/v1/databases").body("{\"name\": \"a\"}").send().await.unwrap();
    assert_eq!(error_of(r).await.0, 415, "no JSON content type");
    let r = app.authed(Method::POST, "/api/v1/databases").header("content-type", "application/json").body("{").send();
    assert_eq!(error_of(r.await.unwrap()).await.0, 400);
    let r = app.authed(Method::POST, "/api/v1/databases").json(&json!({"name": 5})).send().await.unwrap();
    assert_eq!(error_of(r).await.0, 422);
    let r = app.authed(Method::GET, "/api/v1/no-such-route").send().await.unwrap();
    assert_eq!(error_of(r).await.0, 404);
    let r = app.authed(Method::PUT, "/api/v1/databases").send().await.unwrap();
    assert_eq!(error_of(r).await.0, 405);
    let r = app.authed(Method::GET, "/api/v1/databases/%FF%FE").send().await.unwrap();
    assert_eq!(error_of(r).await.0, 404);
    let r = app.authed(Method::DELETE, "/api/v1/databases/x?take_followers=maybe").send().await.unwrap();
    assert_eq!(error_of(r).await.0, 400);
    app.shutdown().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn idempotency_keys_belong_to_their_caller_and_to_one_request() {
    let app = common::spawn_app().await;
    let mia = app.user_with_token("mia", UserRole::Member).await;
    let leo = app.user_with_token("leo", UserRole::Member).await;
    let create = |token: &str, body: Value| {
        app.client
            .post(app.url("/api/v1/databases"))
            .bearer_auth(token)
            .header("Idempotency-Key", "deploy-1")
            .json(&body)
            .send()
    };
    let first = create(&mia, json!({"plan": "mini"})).await.unwrap();
    assert_eq!(first.status(), 202);
    let first: app::model::DatabaseView = first.json().await.unwrap();
    let again: app::model::DatabaseView = create(&mia, json!({"plan": "mini"})).await.unwrap().json().await.unwrap();
    assert_eq!(again.name, first.name, "the same caller, key and body: the same database");

    // Another caller's key of the same text is another key.
    let theirs = create(&leo, json!({"plan": "mini"})).await.unwrap();
    assert_eq!(theirs.status(), 202);
    let theirs: app::model::DatabaseView = theirs.json().await.unwrap();
    assert_ne!(theirs.name, first.name, "leo never gets mia's database");
    assert_eq!(theirs.owner.as_deref(), Some("leo"));

    // The same key with another body is refused, and makes nothing.
    let (status, code, message) = error_of(create(&mia, json!({"plan": "standard"})).await.unwrap()).await;
    assert_eq!((status, code.as_str()), (422, "unprocessable"), "{message}");
    assert!(message.contains("deploy-1") && message.contains("different request"), "{message}");
    assert_eq!(app.api().list().await.unwrap().len(), 2);

    // Destroyed, the key still answers what it answered, and makes nothing.
    app.wait_phase(&first.name, Phase::Available).await;
    let r = app.client.delete(app.url(&format!("/api/v1/databases/{}", first.name))).bearer_auth(&mia).send();
    assert_eq!(r.await.unwrap().status(), 202);
    let deadline = std::time::Instant::now() + std::time::Duration::from_secs(60);
    while app.api().list().await.unwrap().iter().any(|d| d.name == first.name) {
        assert!(std::time::Instant::now() < deadline, "not destroyed");
        tokio::time::sleep(std::time::Duration::from_millis(50)).await;
    }
    let replay = create(&mia, json!({"plan": "mini"})).await.unwrap();
    assert_eq!(replay.status(), 202);
    let replay: app::model::DatabaseView = replay.json().await.unwrap();
    assert_eq!(replay.name, first.name);
    assert_eq!(app.api().list().await.unwrap().len(), 1, "only leo's is left; the replay made nothing");
    app.shutdown().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn concurrent_forks_never_exceed_the_quota_and_a_requested_name_is_held() {
    let app = common::spawn_app().await;
    let mia = app.user_with_token("mia", UserRole::Member).await;
    app.authed(Method::POST, "/api/v1/databases").json(&json!({"name": "prod"})).send().await.unwrap();
    app.wait_phase("prod", Phase::Available).await;
    let r = app
        .authed(Method::PUT, "/api/v1/settings")
        .json(&json!({"fork_ttl_default_seconds": 3600, "fork_ttl_max_seconds": 7200, "member_fork_quota": 3}))
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 200);

    // Ten at once, half direct forks and half fork requests (open policy:
    // approved on the spot): exactly three get through.
    let mut attempts = Vec::new();
    for i in 0..10 {
        let (path, body) = if i % 2 == 0 {
            ("/api/v1/databases", json!({"fork": "prod"}))
        } else {
            ("/api/v1/fork-requests", json!({"source": "prod", "reason": "a test"}))
        };
        attempts.push(app.client.post(app.url(path)).bearer_auth(&mia).json(&body).send());
    }
    let mut accepted = 0;
    for attempt in futures::future::join_all(attempts).await {
        let r = attempt.unwrap();
        match r.status().as_u16() {
            201 | 202 => accepted += 1,
            409 => {
                let (_, _, message) = error_of(r).await;
                assert!(message.contains("of your 3 forks"), "{message}");
            }
            other => panic!("unexpected {other}: {}", r.text().await.unwrap()),
        }
    }
    assert_eq!(accepted, 3, "exactly the quota");

    // A pending request's name cannot be taken by a direct create.
    let r = app
        .authed(Method::PATCH, "/api/v1/databases/prod")
        .json(&json!({"fork_policy": "approval"}))
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 200);
    let leo = app.user_with_token("leo", UserRole::Member).await;
    let r = app
        .client
        .post(app.url("/api/v1/fork-requests"))
        .bearer_auth(&leo)
        .json(&json!({"source": "prod", "name": "leos-copy", "reason": "a test"}))
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 201);
    let r = app.authed(Method::POST, "/api/v1/databases").json(&json!({"name": "leos-copy"})).send().await.unwrap();
    let (status, _, message) = error_of(r).await;
    assert_eq!(status, 409, "{message}");
    assert!(message.contains("held by fork request"), "{message}");
    app.shutdown().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn names_of_the_longest_valid_length_run_under_a_long_home() {
    // The home below is 71 bytes, the longest pgfleet accepts (one longer
    // is refused at start, below); a name of 63 characters would put its
    // socket at about 170 bytes, past the 107 a Unix socket path may have.
    let app = common::spawn_app_with(|config| {
        let home = config.home.join("h".repeat(71 - config.home.as_os_str().len() - 1));
        let fresh = pgfleet::config::Config::new(home);
        *config = pgfleet::config::Config { engine: config.engine.clone(), listen: config.listen, ..fresh };
    })
    .await;
    let long = |c: char| format!("a{}", c.to_string().repeat(62));
    let (source, follower, fork) = (long('s'), long('f'), long('k'));
    let create = |body: Value| app.authed(Method::POST, "/api/v1/databases").json(&body).send();
    assert_eq!(create(json!({ "name": source })).await.unwrap().status(), 202);
    app.wait_phase(&source, Phase::Available).await;
    assert_eq!(create(json!({ "name": follower, "follow": source })).await.unwrap().status(), 202);
    assert_eq!(create(json!({ "name": fork, "fork": source })).await.unwrap().status(), 202);
    for name in [&follower, &fork] {
        app.wait_phase(name, Phase::Available).await;
    }
    let url = app.api().credentials(&fork).await.unwrap();
    let mut conn = sqlx::PgConnection::connect(&url).await.expect("the fork answers");
    let one: i32 = sqlx::query_scalar("SELECT 1").fetch_one(&mut conn).await.unwrap();
    assert_eq!(one, 1);
    app.shutdown().await;

    // A home too long for any socket is refused up front, with the reason.
    let home = common::TestHome::new();
    let too_long = home.path().join("x".repeat(90));
    let mut config = pgfleet::config::Config::new(&too_long);
    config.listen = std::net::SocketAddr::from(([127, 0, 0, 1], 0));
    let refused = pgfleet::serve::start(config).await.err().expect("a home too long is refused");
    let message = refused.to_string();
    assert!(message.contains("too long a path for PostgreSQL's sockets"), "{message}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn one_client_failing_to_sign_in_never_locks_out_the_team() {
    let app = common::spawn_app_with(|c| {
        c.trusted_proxies = pgfleet::web::client::TrustedProxies::parse("127.0.0.1").unwrap();
    })
    .await;
    let once = app.add_user("mia", UserRole::Member).await;
    let sign_in = |from: &str, name: &str, password: &str| {
        app.client
            .post(app.url("/api/sign_in"))
            .header("x-forwarded-for", from)
            .form(&[("name", name), ("password", password)])
            .send()
    };
    // An anonymous client behind the proxy guesses mia's password.
    for _ in 0..5 {
        assert_eq!(sign_in("198.51.100.66", "mia", "guess").await.unwrap().status(), 401);
    }
    assert_eq!(sign_in("198.51.100.66", "mia", &once).await.unwrap().status(), 429, "the guesser is locked out");
    // Forged hops left of the proxy's own do not help it.
    let forged = sign_in("203.0.113.1, 198.51.100.66", "mia", &once).await.unwrap();
    assert_eq!(forged.status(), 429);
    // Mia, from her own address behind the same proxy, signs in.
    assert_eq!(sign_in("198.51.100.7", "mia", &once).await.unwrap().status(), 200);
    let audit = app.authed(Method::GET, "/api/v1/audit").send().await.unwrap().text().await.unwrap();
    assert!(audit.contains("198.51.100.66"), "the audit log names the real client");
    app.shutdown().await;

    // Without trusted proxies the header is nobody's word: a client cannot
    // shed its lock by claiming to be someone else.
    let app = common::spawn_app().await;
    app.add_user("leo", UserRole::Member).await;
    for n in 0..5 {
        let r = app
            .client
            .post(app.url("/api/sign_in"))
            .header("x-forwarded-for", format!("198.51.100.{n}"))
            .form(&[("name", "leo"), ("password", "guess")])
            .send()
            .await
            .unwrap();
        assert_eq!(r.status(), 401);
    }
    let r = app
        .client
        .post(app.url("/api/sign_in"))
        .header("x-forwarded-for", "198.51.100.99")
        .form(&[("name", "leo"), ("password", "guess")])
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 429);
    app.shutdown().await;
}
