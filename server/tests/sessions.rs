//! Console sessions: cookies and their flags, CSRF refusal, the one-time
//! password flow, sign-out, rate-limited sign-in, and the gate in front of
//! pages.

mod common;

use app::accounts::UserRole;
use reqwest::header::{COOKIE, LOCATION, SET_COOKIE};
use serde_json::{json, Value};

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn state_changes_without_the_csrf_token_are_refused() {
    let app = common::spawn_app().await;
    let once = app.add_user("mia", UserRole::Member).await;
    let session = app.sign_in_and_choose("mia", &once, "a long new password").await;

    // A server function with the session cookie but no token: refused.
    let bare = app
        .client
        .post(app.url("/api/create_database"))
        .header(COOKIE, session.cookie_header())
        .form(&[("request[name]", "sneaky")])
        .send()
        .await
        .unwrap();
    assert_eq!(bare.status(), 403);
    let body: Value = bare.json().await.unwrap();
    assert!(body["message"].as_str().unwrap().contains("CSRF"), "{body}");
    // A wrong token is as good as none.
    let wrong = app
        .client
        .post(app.url("/api/create_database"))
        .header(COOKIE, session.cookie_header())
        .header("x-csrf-token", "not-the-token")
        .form(&[("request[name]", "sneaky")])
        .send()
        .await
        .unwrap();
    assert_eq!(wrong.status(), 403);
    // The API with the session cookie: state changes need the header too.
    let api = app
        .client
        .post(app.url("/api/v1/databases"))
        .header(COOKIE, session.cookie_header())
        .json(&json!({"name": "sneaky"}))
        .send()
        .await
        .unwrap();
    assert_eq!(api.status(), 403);
    assert!(app.api().list().await.unwrap().is_empty(), "nothing was created");

    // With the token, the same session works.
    let listed = app.function(&session, "list_databases", &[]).await;
    assert_eq!(listed.status(), 200);
    let api = app
        .client
        .post(app.url("/api/v1/databases"))
        .header(COOKIE, session.cookie_header())
        .header("x-csrf-token", &session.csrf)
        .json(&json!({"plan": "gigantic"}))
        .send()
        .await
        .unwrap();
    assert_eq!(api.status(), 422, "allowed through, refused only for the plan");

    // Sign-in from another site's page is refused.
    let cross = app
        .client
        .post(app.url("/api/sign_in"))
        .header("origin", "http://evil.example")
        .form(&[("name", "mia"), ("password", "a long new password")])
        .send()
        .await
        .unwrap();
    assert_eq!(cross.status(), 403);
    app.shutdown().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn sessions_sign_in_change_password_and_sign_out() {
    let app = common::spawn_app().await;
    let once = app.add_user("sam", UserRole::Viewer).await;

    // Pages send signed-out browsers to the sign-in page.
    let no_redirects = reqwest::Client::builder().redirect(reqwest::redirect::Policy::none()).build().unwrap();
    let page = no_redirects.get(app.url("/databases/prod")).send().await.unwrap();
    assert_eq!(page.status(), 303);
    assert_eq!(page.headers()[LOCATION], "/sign-in?next=/databases/prod");
    assert_eq!(no_redirects.get(app.url("/sign-in")).send().await.unwrap().status(), 200);
    assert_eq!(app.client.get(app.url("/console/events")).send().await.unwrap().status(), 401);

    // The cookies' flags.
    let response = app.try_sign_in("sam", &once).await;
    assert_eq!(response.status(), 200);
    let cookies: Vec<String> =
        response.headers().get_all(SET_COOKIE).iter().map(|v| v.to_str().unwrap().to_string()).collect();
    let session_cookie = cookies.iter().find(|c| c.starts_with("pgfleet_session=")).expect("session cookie");
    assert!(session_cookie.contains("HttpOnly") && session_cookie.contains("SameSite=Lax"), "{session_cookie}");
    assert!(!session_cookie.contains("Secure"), "plain HTTP here");
    let csrf_cookie = cookies.iter().find(|c| c.starts_with("pgfleet_csrf=")).expect("csrf cookie");
    assert!(!csrf_cookie.contains("HttpOnly"), "the console's script reads it");
    let behind_tls = app
        .client
        .post(app.url("/api/sign_in"))
        .header("x-forwarded-proto", "https")
        .form(&[("name", "sam"), ("password", once.as_str())])
        .send()
        .await
        .unwrap();
    assert!(behind_tls.headers().get_all(SET_COOKIE).iter().all(|c| c.to_str().unwrap().contains("Secure")));

    // A one-time password only lets its owner choose a new one.
    let session = app.sign_in("sam", &once).await;
    let blocked = app.function(&session, "list_databases", &[]).await;
    assert_eq!(blocked.status(), 403);
    let weak =
        app.function(&session, "change_password", &[("current", &once), ("new", "short"), ("repeat", "short")]).await;
    assert_eq!(weak.status(), 400);
    let good = "correct horse battery";
    let changed =
        app.function(&session, "change_password", &[("current", &once), ("new", good), ("repeat", good)]).await;
    assert_eq!(changed.status(), 200);
    assert_eq!(app.function(&session, "list_databases", &[]).await.status(), 200);
    assert_eq!(app.try_sign_in("sam", &once).await.status(), 401, "the one-time password is spent");

    // Signing out ends the session on the server, not just in the browser.
    let page = no_redirects.get(app.url("/")).header(COOKIE, session.cookie_header()).send().await.unwrap();
    assert_eq!(page.status(), 200);
    assert_eq!(app.function(&session, "sign_out", &[]).await.status(), 200);
    assert_eq!(app.function(&session, "list_databases", &[]).await.status(), 401);
    let page = no_redirects.get(app.url("/")).header(COOKIE, session.cookie_header()).send().await.unwrap();
    assert_eq!(page.status(), 303);

    // The sign-ins, the change and the sign-out are audited.
    let audit: Vec<app::accounts::AuditEntry> =
        app.authed(reqwest::Method::GET, "/api/v1/audit").send().await.unwrap().json().await.unwrap();
    for action in ["session.sign_in", "user.change_password", "session.sign_out"] {
        assert!(audit.iter().any(|e| e.action == action && e.actor == "sam" && e.outcome == "ok"), "{action}");
    }
    app.shutdown().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn failed_sign_ins_are_rate_limited() {
    let app = common::spawn_app().await;
    let once = app.add_user("rob", UserRole::Member).await;
    for _ in 0..pgfleet::access::limiter::MAX_FAILURES {
        let r = app.try_sign_in("rob", "guess").await;
        assert_eq!(r.status(), 401);
        let body: Value = r.json().await.unwrap();
        assert_eq!(body["message"], "wrong name or password");
    }
    // Locked out now, even with the right password.
    let r = app.try_sign_in("rob", &once).await;
    assert_eq!(r.status(), 429);
    let body: Value = r.json().await.unwrap();
    assert!(body["message"].as_str().unwrap().contains("try again in"), "{body}");
    // Unknown names answer exactly like wrong passwords.
    let other = app.try_sign_in("nobody-here", "guess").await;
    assert_eq!(other.status(), 429, "the address is locked out too");
    let audit: Vec<app::accounts::AuditEntry> =
        app.authed(reqwest::Method::GET, "/api/v1/audit").send().await.unwrap().json().await.unwrap();
    assert!(audit.iter().any(|e| e.action == "session.sign_in" && e.detail.as_deref() == Some("rate limited")));
    app.shutdown().await;
}
