//! The authorization matrix: every API route, called by every kind of
//! caller (admin, member, viewer, nobody, an expired session, a revoked
//! token), answers with the status the rules in `app::policy` imply.

mod common;

use app::accounts::UserRole;
use app::model::{ForkPolicy, Phase};
use chrono::{Duration, Utc};
use reqwest::header::COOKIE;
use reqwest::Method;
use serde_json::{json, Value};

#[derive(Clone, Copy, Debug, PartialEq)]
enum Caller {
    Nobody,
    ExpiredSession,
    RevokedToken,
    Viewer,
    Member,
    Admin,
}

const CALLERS: [Caller; 6] =
    [Caller::Nobody, Caller::ExpiredSession, Caller::RevokedToken, Caller::Viewer, Caller::Member, Caller::Admin];

struct Row {
    method: Method,
    path: String,
    body: Option<Value>,
    /// Expected for viewer, member, admin; the three signed-out callers get
    /// 401 on every route but the OpenAPI document.
    expect: [u16; 3],
}

fn row(method: Method, path: &str, body: Option<Value>, expect: [u16; 3]) -> Row {
    Row { method, path: path.to_string(), body, expect }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn every_route_for_every_caller() {
    let app = common::spawn_app().await;
    let admin = app.token();
    let viewer = app.user_with_token("vera", UserRole::Viewer).await;
    let member = app.user_with_token("max", UserRole::Member).await;

    // A revoked token and an expired session, both once valid.
    let revoked = app.token_for("max").await;
    let store = app.store();
    let revoked_id = store.tokens(Some("max")).await.unwrap().last().unwrap().id;
    store.revoke_token(revoked_id).await.unwrap();
    let password = app.add_user("eve", UserRole::Admin).await;
    let expired = app.sign_in("eve", &password).await;
    store.set_session_expiry(&expired.secret, Utc::now() - Duration::minutes(1)).await.unwrap();

    // prod: the admin's, protected, forks need approval. mine: the member's.
    let r = app.authed(Method::POST, "/api/v1/databases").json(&json!({"name": "prod"})).send().await.unwrap();
    assert_eq!(r.status(), 202);
    let r = app.client.post(app.url("/api/v1/databases")).bearer_auth(&member).json(&json!({"name": "mine"}));
    assert_eq!(r.send().await.unwrap().status(), 202);
    app.wait_phase("prod", Phase::Available).await;
    app.wait_phase("mine", Phase::Available).await;
    let r = app
        .authed(Method::PATCH, "/api/v1/databases/prod")
        .json(&json!({"protected": true, "fork_policy": ForkPolicy::Approval}))
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 200);
    let throwaway: Value = app
        .authed(Method::POST, "/api/v1/tokens")
        .json(&json!({"name": "throwaway"}))
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    let throwaway = throwaway["view"]["id"].as_i64().unwrap();

    // A bad plan is refused (422) only after the caller was allowed to ask,
    // so these rows test the rules without making databases.
    let bad_plan = |extra: Value| {
        let mut body = json!({"plan": "gigantic"});
        body.as_object_mut().unwrap().extend(extra.as_object().unwrap().clone());
        Some(body)
    };
    let nowhere = json!({"rules": [{"table": "nowhere", "column": "x", "method": "hash"}]});
    let sql_rule = json!({"rules": [{"table": "nowhere", "column": "x", "method": "sql", "sql": "1"}]});
    let rows = vec![
        row(Method::GET, "/api/v1/databases", None, [200, 200, 200]),
        row(Method::GET, "/api/v1/databases/prod", None, [200, 200, 200]),
        row(Method::GET, "/api/v1/databases/prod/credentials", None, [403, 403, 200]),
        row(Method::GET, "/api/v1/databases/mine/credentials", None, [403, 200, 200]),
        row(Method::POST, "/api/v1/databases", bad_plan(json!({})), [403, 422, 422]),
        row(Method::POST, "/api/v1/databases", bad_plan(json!({"fork": "prod"})), [403, 403, 422]),
        row(Method::POST, "/api/v1/databases", bad_plan(json!({"fork": "mine"})), [403, 422, 422]),
        row(Method::POST, "/api/v1/databases", bad_plan(json!({"follow": "prod"})), [403, 403, 422]),
        row(Method::POST, "/api/v1/databases", bad_plan(json!({"follow": "mine"})), [403, 422, 422]),
        row(Method::POST, "/api/v1/databases/prod/promote", None, [403, 403, 422]),
        row(Method::POST, "/api/v1/databases/mine/promote", None, [403, 422, 422]),
        // Neither is failed: allowed callers hear so.
        row(Method::POST, "/api/v1/databases/prod/retry", None, [403, 403, 409]),
        row(Method::POST, "/api/v1/databases/mine/retry", None, [403, 409, 409]),
        row(Method::POST, "/api/v1/databases/mine/extend", Some(json!({"seconds": 60})), [403, 409, 409]),
        row(
            Method::PATCH,
            "/api/v1/databases/prod",
            Some(json!({"protected": true, "fork_policy": "approval"})),
            [403, 403, 200],
        ),
        row(Method::GET, "/api/v1/databases/prod/metrics", None, [200, 200, 200]),
        row(Method::GET, "/api/v1/databases/prod/metrics?step=0", None, [422, 422, 422]),
        row(Method::GET, "/api/v1/databases/nothing/metrics", None, [404, 404, 404]),
        row(Method::GET, "/api/v1/databases/prod/sessions", None, [200, 200, 200]),
        row(Method::GET, "/api/v1/databases/nothing/sessions", None, [404, 404, 404]),
        row(Method::GET, "/api/v1/databases/prod/locks", None, [200, 200, 200]),
        row(Method::GET, "/api/v1/databases/prod/statements", None, [200, 200, 200]),
        row(Method::GET, "/api/v1/databases/prod/sizes", None, [200, 200, 200]),
        row(Method::POST, "/api/v1/databases/prod/credentials/rotate?keep_sessions=true", None, [403, 403, 200]),
        row(Method::POST, "/api/v1/databases/mine/credentials/rotate?keep_sessions=true", None, [403, 200, 200]),
        row(Method::POST, "/api/v1/databases/nothing/credentials/rotate", None, [404, 404, 404]),
        // Neither is a fork: past the rules, the engine refuses.
        row(Method::POST, "/api/v1/databases/prod/reset", None, [403, 403, 422]),
        row(Method::POST, "/api/v1/databases/mine/reset", None, [403, 422, 422]),
        row(Method::POST, "/api/v1/databases/nothing/reset", None, [404, 404, 404]),
        row(Method::GET, "/api/v1/databases/prod/diff/mine", None, [200, 200, 200]),
        row(Method::GET, "/api/v1/databases/prod/diff", None, [422, 422, 422]),
        row(Method::GET, "/api/v1/databases/nothing/diff", None, [404, 404, 404]),
        row(Method::GET, "/api/v1/databases/prod/diff/nothing", None, [404, 404, 404]),
        row(Method::GET, "/api/v1/databases/prod/roles", None, [200, 200, 200]),
        row(Method::GET, "/api/v1/databases/nothing/roles", None, [404, 404, 404]),
        // Viewer, member, admin in turn: the admin's try finds the name taken.
        row(
            Method::POST,
            "/api/v1/databases/prod/roles",
            Some(json!({"name": "ro_prod", "access": "read_only"})),
            [403, 403, 201],
        ),
        row(
            Method::POST,
            "/api/v1/databases/mine/roles",
            Some(json!({"name": "ro_mine", "access": "read_only"})),
            [403, 201, 409],
        ),
        row(Method::POST, "/api/v1/databases/mine/roles", Some(json!({"name": "ro_mine"})), [422, 422, 422]),
        row(Method::GET, "/api/v1/databases/prod/roles/ro_prod/credentials", None, [403, 403, 200]),
        row(Method::GET, "/api/v1/databases/mine/roles/ro_mine/credentials", None, [403, 200, 200]),
        row(Method::GET, "/api/v1/databases/mine/roles/nobody/credentials", None, [403, 404, 404]),
        row(Method::POST, "/api/v1/databases/prod/roles/ro_prod/rotate?keep_sessions=true", None, [403, 403, 200]),
        row(Method::POST, "/api/v1/databases/mine/roles/ro_mine/rotate", None, [403, 200, 200]),
        row(Method::DELETE, "/api/v1/databases/prod/roles/ro_prod", None, [403, 403, 204]),
        row(Method::DELETE, "/api/v1/databases/mine/roles/ro_mine", None, [403, 204, 404]),
        row(Method::GET, "/api/v1/databases/nothing/sizes", None, [404, 404, 404]),
        row(Method::GET, "/api/v1/databases/prod/masking", None, [200, 200, 200]),
        row(Method::GET, "/api/v1/databases/nothing/masking", None, [404, 404, 404]),
        // A rule on a table neither has: past the rules, the check refuses.
        row(Method::PUT, "/api/v1/databases/prod/masking", Some(nowhere.clone()), [403, 403, 422]),
        row(Method::PUT, "/api/v1/databases/mine/masking", Some(nowhere.clone()), [403, 422, 422]),
        row(Method::PUT, "/api/v1/databases/mine/masking", Some(sql_rule.clone()), [403, 403, 422]),
        row(Method::PUT, "/api/v1/databases/nothing/masking", Some(nowhere), [404, 404, 404]),
        row(Method::GET, "/api/v1/databases/prod/masking/preview", None, [403, 200, 200]),
        row(Method::GET, "/api/v1/databases/nothing/masking/preview", None, [404, 404, 404]),
        row(Method::GET, "/api/v1/databases/prod/diagnose", None, [200, 200, 200]),
        row(Method::GET, "/api/v1/databases/nothing/diagnose", None, [404, 404, 404]),
        row(Method::GET, "/api/v1/databases/prod/statements?limit=0", None, [422, 422, 422]),
        row(Method::GET, "/api/v1/databases/prod/statements?order=slowest", None, [400, 400, 400]),
        // No session has the largest pid: allowed callers hear so.
        row(Method::POST, "/api/v1/databases/prod/sessions/2147483647/cancel", None, [403, 403, 404]),
        row(Method::POST, "/api/v1/databases/mine/sessions/2147483647/terminate", None, [403, 404, 404]),
        row(Method::POST, "/api/v1/databases/mine/sessions/0/cancel", None, [403, 422, 422]),
        row(Method::POST, "/api/v1/databases/mine/sessions/many/cancel", None, [404, 404, 404]),
        row(Method::POST, "/api/v1/databases/prod/statements/reset", None, [403, 403, 204]),
        row(Method::POST, "/api/v1/databases/mine/statements/reset", None, [403, 204, 204]),
        row(Method::GET, "/api/v1/databases/prod/events", None, [200, 200, 200]),
        row(Method::GET, "/api/v1/events", None, [200, 200, 200]),
        row(Method::GET, "/api/v1/fork-requests", None, [200, 200, 200]),
        row(
            Method::POST,
            "/api/v1/fork-requests",
            Some(json!({"source": "prod", "reason": "matrix", "ttl_seconds": 0})),
            [403, 422, 422],
        ),
        row(Method::GET, "/api/v1/fork-requests/999", None, [404, 404, 404]),
        row(Method::POST, "/api/v1/fork-requests/999/approve", Some(json!({})), [403, 403, 404]),
        row(Method::POST, "/api/v1/fork-requests/999/reject", Some(json!({"reason": "no"})), [403, 403, 404]),
        row(Method::GET, "/api/v1/me", None, [200, 200, 200]),
        row(Method::GET, "/api/v1/users", None, [403, 403, 200]),
        row(Method::POST, "/api/v1/users", Some(json!({"name": "newbie", "role": "viewer"})), [403, 403, 201]),
        row(Method::PATCH, "/api/v1/users/vera", Some(json!({"role": "viewer"})), [403, 403, 200]),
        row(Method::GET, "/api/v1/tokens", None, [200, 200, 200]),
        row(Method::POST, "/api/v1/tokens", Some(json!({"name": "laptop"})), [201, 201, 201]),
        row(Method::DELETE, &format!("/api/v1/tokens/{throwaway}"), None, [404, 404, 204]),
        row(Method::GET, "/api/v1/settings", None, [200, 200, 200]),
        row(
            Method::PUT,
            "/api/v1/settings",
            Some(serde_json::to_value(app::accounts::Settings::default()).unwrap()),
            [403, 403, 200],
        ),
        row(Method::GET, "/api/v1/audit", None, [403, 403, 200]),
        row(Method::GET, "/api/v1/openapi.json", None, [200, 200, 200]),
        // Destructive rows last: the member destroys their own, then the
        // admin the protected one.
        row(Method::DELETE, "/api/v1/databases/prod", None, [403, 403, 202]),
        row(Method::DELETE, "/api/v1/databases/mine", None, [403, 202, 202]),
    ];

    let documented = common::openapi::Documented::fetch(&app).await;
    let mut failures = Vec::new();
    for r in &rows {
        for caller in CALLERS {
            let mut request = app.client.request(r.method.clone(), app.url(&r.path));
            request = match caller {
                Caller::Nobody => request,
                Caller::ExpiredSession => {
                    request.header(COOKIE, expired.cookie_header()).header("x-csrf-token", &expired.csrf)
                }
                Caller::RevokedToken => request.bearer_auth(&revoked),
                Caller::Viewer => request.bearer_auth(&viewer),
                Caller::Member => request.bearer_auth(&member),
                Caller::Admin => request.bearer_auth(&admin),
            };
            if let Some(body) = &r.body {
                request = request.json(body);
            }
            let response = request.send().await.expect("answered");
            let got = response.status().as_u16();
            if let Err(e) = documented.check(&r.method, &r.path, got) {
                failures.push(format!("as {caller:?}: {e}"));
            }
            let want = match caller {
                _ if r.path.ends_with("openapi.json") => 200,
                Caller::Nobody | Caller::ExpiredSession | Caller::RevokedToken => 401,
                Caller::Viewer => r.expect[0],
                Caller::Member => r.expect[1],
                Caller::Admin => r.expect[2],
            };
            if got != want {
                let body = response.text().await.unwrap_or_default();
                failures.push(format!("{} {} as {caller:?}: got {got}, want {want}: {body}", r.method, r.path));
            } else if got >= 400 {
                // Every refusal is the API's JSON error with a message.
                let body: Value = response.json().await.expect("error is JSON");
                assert!(body["error"]["message"].as_str().is_some_and(|m| !m.is_empty()), "{body}");
            }
        }
    }
    assert!(failures.is_empty(), "{} of {} cells differ:\n{}", failures.len(), rows.len() * 6, failures.join("\n"));

    // Every refusal and every reveal landed in the audit log.
    let audit: Vec<app::accounts::AuditEntry> =
        app.authed(Method::GET, "/api/v1/audit").send().await.unwrap().json().await.unwrap();
    let reveals = audit.iter().filter(|e| e.action == "credentials.reveal").count();
    assert_eq!(reveals, 6, "three callers asked for two databases' credentials");
    assert!(audit.iter().any(|e| e.action == "credentials.reveal" && e.outcome == "denied" && e.actor == "vera"));
    assert!(audit.iter().all(|e| e.address.as_deref().is_some_and(|a| a == "127.0.0.1")
        || e.actor == "pgfleet"
        || e.action == "user.add"));
    app.shutdown().await;
}
