//! The public status surfaces against real databases: only public ones
//! appear (others are 404, like names that don't exist), badges are
//! well-formed, the summary has the status-page shape, framing and CORS
//! headers are right, no cookie is set, and no response holds a secret.

mod common;

use std::time::{Duration, Instant};

use app::model::Phase;
use app::status::{ComponentStatus, StatusSummary};
use futures::StreamExt;
use reqwest::header::{
    ACCESS_CONTROL_ALLOW_ORIGIN, CACHE_CONTROL, CONTENT_SECURITY_POLICY, COOKIE, SET_COOKIE, X_FRAME_OPTIONS,
};
use reqwest::Method;
use serde_json::{json, Value};

/// Every public route's body, with the name of the route.
async fn public_bodies(app: &common::TestApp, names: &[&str], cookie: &str) -> Vec<(String, String)> {
    let mut paths =
        vec!["/status".to_string(), "/status?fragment=1".into(), "/embed".into(), "/api/v1/status.json".into()];
    for name in names {
        for p in ["/embed/{}", "/embed/{}?fragment=1", "/badge/{}.svg", "/badge/{}.json"] {
            paths.push(p.replace("{}", name));
        }
    }
    let mut bodies = Vec::new();
    for path in paths {
        let r = app.client.get(app.url(&path)).header(COOKIE, cookie).send().await.unwrap();
        assert!(r.headers().get(SET_COOKIE).is_none(), "{path} sets a cookie");
        bodies.push((path, r.text().await.unwrap()));
    }
    bodies.push(("/api/v1/status/events".into(), first_status_event(app).await));
    bodies
}

/// The data of the public stream's first `status` event.
async fn first_status_event(app: &common::TestApp) -> String {
    let r = app.client.get(app.url("/api/v1/status/events")).send().await.unwrap();
    assert_eq!(r.status(), 200);
    assert_eq!(r.headers()[ACCESS_CONTROL_ALLOW_ORIGIN], "*");
    assert!(r.headers().get(SET_COOKIE).is_none());
    let mut stream = r.bytes_stream();
    let mut seen = String::new();
    let deadline = Instant::now() + Duration::from_secs(30);
    while Instant::now() < deadline {
        let chunk =
            tokio::time::timeout(Duration::from_secs(30), stream.next()).await.expect("an event").unwrap().unwrap();
        seen.push_str(&String::from_utf8_lossy(&chunk));
        if let Some(start) = seen.find("event: status\ndata: ") {
            if let Some(end) = seen[start..].find("\n\n") {
                return seen[start + "event: status\ndata: ".len()..start + end].to_string();
            }
        }
    }
    panic!("no status event: {seen}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn only_public_databases_show_and_nothing_secret_does() {
    let app = common::spawn_app().await;
    for name in ["shown", "secretdb"] {
        let r = app.authed(Method::POST, "/api/v1/databases").json(&json!({ "name": name })).send().await.unwrap();
        assert_eq!(r.status(), 202);
    }
    app.wait_phase("shown", Phase::Available).await;
    app.wait_phase("secretdb", Phase::Available).await;

    // Before anything is public, nothing shows.
    let summary: StatusSummary =
        app.client.get(app.url("/api/v1/status.json")).send().await.unwrap().json().await.unwrap();
    assert!(summary.components.is_empty());
    assert_eq!(app.client.get(app.url("/embed/shown")).send().await.unwrap().status(), 404);

    // Only admins make a database public.
    let member = app.user_with_token("mo", app::accounts::UserRole::Member).await;
    let r = app.client.patch(app.url("/api/v1/databases/shown")).bearer_auth(&member).json(&json!({"public": true}));
    assert_eq!(r.send().await.unwrap().status(), 403);
    let r = app.authed(Method::PATCH, "/api/v1/databases/shown").json(&json!({"public": true})).send().await.unwrap();
    assert_eq!(r.status(), 200);
    let view: app::model::DatabaseView = r.json().await.unwrap();
    assert!(view.public && !view.protected, "other access settings are kept");

    // The summary: the status-page shape, the public database only.
    let r = app
        .client
        .get(app.url("/api/v1/status.json"))
        .header("origin", "https://status.example.com")
        .send()
        .await
        .unwrap();
    assert_eq!(r.headers()[ACCESS_CONTROL_ALLOW_ORIGIN], "*");
    let raw: Value = r.json().await.unwrap();
    for key in ["page", "status", "components"] {
        assert!(raw.get(key).is_some(), "{key} in {raw}");
    }
    let summary: StatusSummary = serde_json::from_value(raw).unwrap();
    assert_eq!(summary.components.len(), 1);
    let shown = &summary.components[0];
    assert_eq!((shown.name.as_str(), shown.status), ("shown", ComponentStatus::Operational));
    assert_eq!(summary.status.indicator, "none");
    let up = shown.uptime_24h.expect("uptime from the phase history");
    assert!(up > 0.0 && up <= 1.0, "{up}");
    // Counted from its first availability, a minute ago at most; the day
    // in hours, only the last in service.
    let since = shown.available_since.expect("it has been available");
    assert!(chrono::Utc::now() - since < chrono::Duration::minutes(5), "{since}");
    assert_eq!(shown.last_24h.len(), 24);
    assert_eq!(shown.last_24h[23].status, Some(ComponentStatus::Operational), "{:?}", shown.last_24h);
    assert!(shown.last_24h[..22].iter().all(|b| b.status.is_none()), "{:?}", shown.last_24h);
    let page = app.client.get(app.url("/status")).send().await.unwrap().text().await.unwrap();
    assert!(page.contains(" since ") && page.contains("s ago"), "uptime from its first availability: {page}");
    assert!(!page.contains("7 d "), "a young database claims no week: {page}");
    assert!(page.contains(r#"data-testid="history-bars""#) && page.contains("Last updated"), "{page}");
    assert_eq!(page.matches(r#"class="bar bar-"#).count(), 24, "{page}");

    // A private name and a missing one answer alike: 404 with the same body.
    for route in ["/embed/{}", "/badge/{}.svg", "/badge/{}.json"] {
        let secret = app.client.get(app.url(&route.replace("{}", "secretdb"))).send().await.unwrap();
        let ghost = app.client.get(app.url(&route.replace("{}", "ghost"))).send().await.unwrap();
        assert_eq!((secret.status().as_u16(), ghost.status().as_u16()), (404, 404), "{route}");
        assert_eq!(secret.text().await.unwrap(), ghost.text().await.unwrap(), "{route}");
    }

    // The badge: well-formed SVG saying the state; shields' endpoint JSON.
    let r = app.client.get(app.url("/badge/shown.svg")).send().await.unwrap();
    assert_eq!(r.headers()["content-type"], "image/svg+xml; charset=utf-8");
    assert!(r.headers()[CACHE_CONTROL].to_str().unwrap().contains("max-age="));
    let svg = r.text().await.unwrap();
    let doc = roxmltree::Document::parse(&svg).expect("well-formed SVG");
    assert_eq!(doc.root_element().tag_name().name(), "svg");
    assert_eq!(doc.root_element().tag_name().namespace(), Some("http://www.w3.org/2000/svg"));
    let texts: Vec<&str> = doc.descendants().filter(|n| n.has_tag_name("text")).filter_map(|n| n.text()).collect();
    assert_eq!(texts, ["shown", "available"]);
    let shields: Value = app.client.get(app.url("/badge/shown.json")).send().await.unwrap().json().await.unwrap();
    assert_eq!(shields, json!({"schemaVersion": 1, "label": "shown", "message": "available", "color": "brightgreen"}));

    // Framing: only the embeds may be framed; every other page forbids it.
    let embed = app.client.get(app.url("/embed/shown")).send().await.unwrap();
    assert_eq!(embed.headers()[CONTENT_SECURITY_POLICY], "frame-ancestors *");
    assert!(embed.headers().get(X_FRAME_OPTIONS).is_none());
    for path in ["/status", "/sign-in", "/", "/api/v1/status.json"] {
        let r = app.client.get(app.url(path)).send().await.unwrap();
        assert_eq!(r.headers()[CONTENT_SECURITY_POLICY], "frame-ancestors 'none'", "{path}");
        assert_eq!(r.headers()[X_FRAME_OPTIONS], "DENY", "{path}");
    }

    // No public response holds anything a stranger could connect with,
    // even when the browser sends a signed-in admin's cookies along.
    let session = app.admin_session().await;
    let mut secrets = Vec::new();
    for name in ["shown", "secretdb"] {
        let url = app.api().credentials(name).await.unwrap();
        let parsed = reqwest::Url::parse(&url).unwrap();
        secrets.push(url.clone());
        secrets.push(parsed.password().unwrap().to_string());
        secrets.push(parsed.username().to_string());
        secrets.push(parsed.path().trim_start_matches('/').to_string());
        secrets.push(parsed.port().unwrap().to_string());
        secrets.push(parsed.host_str().unwrap().to_string());
    }
    secrets.extend(["postgres://".into(), "secretdb".into(), "mini".into(), "admin".into(), "mo".into()]);
    let bodies = public_bodies(&app, &["shown", "secretdb"], &session.cookie_header()).await;
    for (path, body) in &bodies {
        for secret in &secrets {
            assert!(!body.contains(secret.as_str()), "{path} contains {secret:?}: {body}");
        }
    }
    assert!(bodies.iter().any(|(p, b)| p == "/status" && b.contains("shown")), "the scan saw real pages");
    app.shutdown().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_embed_allow_list_is_configurable_and_the_feed_is_live() {
    let app = common::spawn_app_with(|c| c.embed_ancestors = "https://status.example.com".into()).await;
    let r = app.client.get(app.url("/embed")).send().await.unwrap();
    assert_eq!(r.headers()[CONTENT_SECURITY_POLICY], "frame-ancestors https://status.example.com");
    assert!(r.text().await.unwrap().contains("No databases are public yet."));

    // The stream sends the summary again when a public database changes.
    app.authed(Method::POST, "/api/v1/databases").json(&json!({"name": "pulse"})).send().await.unwrap();
    app.wait_phase("pulse", Phase::Available).await;
    app.authed(Method::PATCH, "/api/v1/databases/pulse").json(&json!({"public": true})).send().await.unwrap();
    let r = app.client.get(app.url("/api/v1/status/events")).send().await.unwrap();
    let mut stream = r.bytes_stream();
    let mut seen = String::new();
    let mut deleted = false;
    let deadline = Instant::now() + Duration::from_secs(60);
    // Pulse shows up available; once it is, destroy it and watch it change.
    loop {
        let chunk =
            tokio::time::timeout(Duration::from_secs(60), stream.next()).await.expect("events").unwrap().unwrap();
        seen.push_str(&String::from_utf8_lossy(&chunk));
        let statuses: Vec<StatusSummary> = seen
            .split("\n\n")
            .filter_map(|e| e.strip_prefix("event: status\ndata: "))
            .filter_map(|d| serde_json::from_str(d).ok())
            .collect();
        let available =
            |s: &StatusSummary| s.components.iter().any(|c| c.name == "pulse" && c.phase == Phase::Available);
        if let Some(first_up) = statuses.iter().position(available) {
            if !deleted {
                app.authed(Method::DELETE, "/api/v1/databases/pulse").send().await.unwrap();
                deleted = true;
            }
            if statuses[first_up..].iter().any(|s| !available(s)) {
                break;
            }
        }
        assert!(Instant::now() < deadline, "no live change: {seen}");
    }
    app.shutdown().await;
}
