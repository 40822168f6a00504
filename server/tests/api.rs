//! The HTTP API on port 0 against real PostgreSQL: every operation, every
//! error's status and shape, tokens, the OpenAPI document.

mod common;

use std::time::{Duration, Instant};

use app::model::{DatabaseView, Phase};
use reqwest::Method;
use serde_json::{json, Value};

async fn error_of(response: reqwest::Response) -> (u16, String, String) {
    let status = response.status().as_u16();
    let body: Value = response.json().await.expect("error bodies are JSON");
    let code = body["error"]["code"].as_str().expect("error.code").to_string();
    let message = body["error"]["message"].as_str().expect("error.message").to_string();
    assert!(!message.is_empty());
    (status, code, message)
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn create_follow_fork_promote_destroy_over_http() {
    let app = common::spawn_app().await;
    let post = |body: Value| app.authed(Method::POST, "/api/v1/databases").json(&body).send();

    let r = post(json!({"name": "prod"})).await.unwrap();
    assert_eq!(r.status(), 202);
    let created: DatabaseView = r.json().await.unwrap();
    assert_eq!(created.phase, Phase::Provisioning);
    app.wait_phase("prod", Phase::Available).await;

    assert_eq!(post(json!({"name": "reader", "follow": "prod"})).await.unwrap().status(), 202);
    assert_eq!(post(json!({"name": "trial", "fork": "prod", "plan": "standard"})).await.unwrap().status(), 202);
    let reader = app.wait_phase("reader", Phase::Available).await;
    assert_eq!(reader.following.as_deref(), Some("prod"));
    let trial = app.wait_phase("trial", Phase::Available).await;
    assert_eq!(trial.forked_from.as_deref(), Some("prod"));
    assert_eq!(trial.plan, "standard");

    let list: Vec<DatabaseView> =
        app.authed(Method::GET, "/api/v1/databases").send().await.unwrap().json().await.unwrap();
    assert_eq!(list.iter().map(|d| d.name.as_str()).collect::<Vec<_>>(), vec!["prod", "reader", "trial"]);
    let prod = list.iter().find(|d| d.name == "prod").unwrap();
    assert_eq!(prod.followers, vec!["reader".to_string()]);

    // The follower's lag is sampled from its catch-up on; the chart's
    // history reads it back in steps.
    let deadline = Instant::now() + Duration::from_secs(60);
    let metrics = loop {
        let r = app.authed(Method::GET, "/api/v1/databases/reader/metrics?step=5").send().await.unwrap();
        assert_eq!(r.status(), 200);
        let m: app::metrics::Metrics = r.json().await.unwrap();
        if m.series(app::metrics::Metric::LagBytes).is_some_and(|s| !s.points.is_empty()) {
            break m;
        }
        assert!(Instant::now() < deadline, "no lag sampled: {m:?}");
        tokio::time::sleep(Duration::from_millis(100)).await;
    };
    assert_eq!(metrics.step_seconds, 5);
    let lag = metrics.series(app::metrics::Metric::LagBytes).unwrap();
    assert_eq!(lag.unit, app::metrics::Unit::Bytes);
    for p in &lag.points {
        assert!(p.at >= metrics.since && p.at <= metrics.until && p.value >= 0.0, "{p:?} in {metrics:?}");
    }
    let (status, code, message) = error_of(
        app.authed(Method::GET, "/api/v1/databases/reader/metrics?since=2001-01-01T00:00:00Z").send().await.unwrap(),
    )
    .await;
    assert_eq!((status, code.as_str()), (422, "unprocessable"), "{message}");
    let (status, _, message) =
        error_of(app.authed(Method::GET, "/api/v1/databases/reader/metrics?step=often").send().await.unwrap()).await;
    assert_eq!(status, 400, "{message}");

    let creds: Value =
        app.authed(Method::GET, "/api/v1/databases/trial/credentials").send().await.unwrap().json().await.unwrap();
    assert!(creds["url"].as_str().unwrap().starts_with("postgres://"));

    // Destroying a source with followers needs the explicit flag.
    let (status, code, message) =
        error_of(app.authed(Method::DELETE, "/api/v1/databases/prod").send().await.unwrap()).await;
    assert_eq!((status, code.as_str()), (409, "conflict"));
    assert!(message.contains("reader"), "{message}");

    let r = app.authed(Method::POST, "/api/v1/databases/reader/promote").send().await.unwrap();
    assert_eq!(r.status(), 202);
    let deadline = Instant::now() + Duration::from_secs(120);
    loop {
        let db = app.api().get("reader").await.unwrap();
        if db.phase == Phase::Available && db.following.is_none() {
            break;
        }
        assert!(Instant::now() < deadline, "not promoted: {db:?}");
        tokio::time::sleep(Duration::from_millis(50)).await;
    }

    assert_eq!(app.authed(Method::DELETE, "/api/v1/databases/trial").send().await.unwrap().status(), 202);
    let deadline = Instant::now() + Duration::from_secs(120);
    loop {
        let r = app.authed(Method::GET, "/api/v1/databases/trial").send().await.unwrap();
        if r.status() == 404 {
            break;
        }
        assert!(Instant::now() < deadline, "trial was not destroyed");
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn errors_have_the_right_status_and_shape() {
    let app = common::spawn_app().await;
    let post = |body: Value| app.authed(Method::POST, "/api/v1/databases").json(&body).send();

    // Without a token, or with a wrong one: 401, and /healthz stays open.
    let (status, code, _) = error_of(app.client.get(app.url("/api/v1/databases")).send().await.unwrap()).await;
    assert_eq!((status, code.as_str()), (401, "unauthorized"));
    let r = app.client.get(app.url("/api/v1/events")).bearer_auth("nope").send().await.unwrap();
    assert_eq!(error_of(r).await.0, 401);
    assert_eq!(app.client.get(app.url("/healthz")).send().await.unwrap().status(), 200);

    let cases = [
        (json!({"follow": "a", "fork": "b"}), 400, "bad_request"),
        (json!({"name": "Not OK"}), 400, "bad_request"),
        (json!({"follow": "ghost"}), 422, "unprocessable"),
        (json!({"plan": "gigantic"}), 422, "unprocessable"),
        (json!({"colour": "red"}), 422, "unprocessable"),
    ];
    for (body, want_status, want_code) in cases {
        let (status, code, message) = error_of(post(body.clone()).await.unwrap()).await;
        assert_eq!((status, code.as_str()), (want_status, want_code), "{body}: {message}");
    }
    let r = app
        .authed(Method::POST, "/api/v1/databases")
        .header("content-type", "application/json")
        .body("{")
        .send()
        .await
        .unwrap();
    assert_eq!(error_of(r).await.0, 400);

    assert_eq!(post(json!({"name": "src"})).await.unwrap().status(), 202);
    let (status, _, _) = error_of(post(json!({"name": "src"})).await.unwrap()).await;
    assert_eq!(status, 409, "name taken");
    let (status, _, message) = error_of(post(json!({"follow": "src"})).await.unwrap()).await;
    assert_eq!(status, 409, "source not yet available: {message}");
    app.wait_phase("src", Phase::Available).await;
    let (status, _, _) =
        error_of(app.authed(Method::POST, "/api/v1/databases/src/promote").send().await.unwrap()).await;
    assert_eq!(status, 422, "promoting a primary");
    let (status, code, _) = error_of(app.authed(Method::GET, "/api/v1/databases/ghost").send().await.unwrap()).await;
    assert_eq!((status, code.as_str()), (404, "not_found"));
    assert_eq!(error_of(app.authed(Method::GET, "/api/v1/nothing-here").send().await.unwrap()).await.0, 404);

    // The same Idempotency-Key twice makes one database.
    let keyed =
        || app.authed(Method::POST, "/api/v1/databases").header("idempotency-key", "abc").json(&json!({})).send();
    let a: DatabaseView = keyed().await.unwrap().json().await.unwrap();
    let b: DatabaseView = keyed().await.unwrap().json().await.unwrap();
    assert_eq!(a.name, b.name);
    assert_eq!(app.api().list().await.unwrap().len(), 2);
}

#[tokio::test]
async fn the_openapi_document_describes_the_routes() {
    let app = common::spawn_app().await;
    let doc: Value = app.client.get(app.url("/api/v1/openapi.json")).send().await.unwrap().json().await.unwrap();
    assert!(doc["openapi"].as_str().unwrap().starts_with("3."));
    for path in [
        "/api/v1/databases",
        "/api/v1/databases/{name}",
        "/api/v1/databases/{name}/promote",
        "/api/v1/databases/{name}/credentials",
        "/api/v1/events",
        "/api/v1/databases/{name}/events",
    ] {
        assert!(doc["paths"][path].is_object(), "{path} is documented");
    }
    let create = &doc["paths"]["/api/v1/databases"]["post"];
    assert!(create["responses"]["202"].is_object());
    assert!(doc["components"]["schemas"]["DatabaseView"].is_object());
    assert!(doc["components"]["schemas"]["Phase"]["enum"].as_array().unwrap().iter().any(|v| v == "catching_up"));
    app.shutdown().await;
}
