//! How the console is delivered: hashed file names in the page, the
//! build's brotli or gzip copy chosen by `Accept-Encoding`, a year's cache
//! for hashed files and revalidation for pages, pages compressed as they
//! are made, and event streams never compressed (a compressor would hold
//! events back until its buffer filled).
//!
//! The site here is one the test writes, with known bytes in each copy, so
//! what is checked is which copy was chosen; Playwright checks the real
//! build's sizes.

mod common;

use std::path::Path;

use reqwest::header::{ACCEPT_ENCODING, CACHE_CONTROL, CONTENT_ENCODING, CONTENT_TYPE, COOKIE, VARY};

const WASM: &str = "pgfleet.0123456789abcdef.wasm";
const JS: &str = "pgfleet.1111111111111111.js";
const CSS: &str = "pgfleet.2222222222222222.css";

fn write_site(root: &Path) {
    let pkg = root.join("pkg");
    std::fs::create_dir_all(&pkg).unwrap();
    std::fs::write(pkg.join("hash.txt"), "wasm: 0123456789abcdef\njs: 1111111111111111\ncss: 2222222222222222\n")
        .unwrap();
    for name in [WASM, JS, CSS] {
        std::fs::write(pkg.join(name), format!("plain {name}")).unwrap();
        std::fs::write(pkg.join(format!("{name}.br")), format!("brotli {name}")).unwrap();
        std::fs::write(pkg.join(format!("{name}.gz")), format!("gzip {name}")).unwrap();
    }
}

/// pgfleet serving a site the test wrote (kept in `home`).
async fn serve_written_site(home: &common::TestHome) -> common::TestApp {
    let site = home.path().join("site");
    write_site(&site);
    common::spawn_app_with(|c| c.site_root = site.clone()).await
}

async fn get(app: &common::TestApp, path: &str, encoding: Option<&str>) -> reqwest::Response {
    let mut request = app.client.get(app.url(path));
    if let Some(encoding) = encoding {
        request = request.header(ACCEPT_ENCODING, encoding);
    }
    request.send().await.unwrap()
}

fn header(response: &reqwest::Response, name: reqwest::header::HeaderName) -> &str {
    response.headers().get(name).and_then(|v| v.to_str().ok()).unwrap_or("")
}

#[tokio::test]
async fn hashed_files_are_served_precompressed_and_kept_a_year() {
    let home = common::TestHome::new();
    let app = serve_written_site(&home).await;

    for (accept, encoding, body) in
        [(Some("br, gzip"), "br", "brotli"), (Some("gzip"), "gzip", "gzip"), (None, "", "plain")]
    {
        let response = get(&app, &format!("/pkg/{WASM}"), accept).await;
        assert_eq!(response.status(), 200, "{accept:?}");
        assert_eq!(header(&response, CONTENT_ENCODING), encoding, "{accept:?}");
        assert_eq!(header(&response, CONTENT_TYPE), "application/wasm", "{accept:?}");
        assert_eq!(header(&response, CACHE_CONTROL), "public, max-age=31536000, immutable", "{accept:?}");
        assert!(header(&response, VARY).to_ascii_lowercase().contains("accept-encoding"), "{accept:?}");
        assert_eq!(response.text().await.unwrap(), format!("{body} {WASM}"));
    }
    let css = get(&app, &format!("/pkg/{CSS}"), Some("gzip")).await;
    assert_eq!(header(&css, CONTENT_TYPE), "text/css");
    assert_eq!(header(&css, CONTENT_ENCODING), "gzip");

    // The unhashed list itself is revalidated.
    let list = get(&app, "/pkg/hash.txt", Some("br")).await;
    assert_eq!(list.status(), 200);
    assert_eq!(header(&list, CACHE_CONTROL), "no-cache");

    // A name that is not there is the 404 page, linking the hashed stylesheet.
    let missing = get(&app, "/pkg/pgfleet.ffffffffffffffff.wasm", None).await;
    assert_eq!(missing.status(), 404);
    assert!(missing.text().await.unwrap().contains(&format!("/pkg/{CSS}")));
    app.shutdown().await;
}

#[tokio::test]
async fn pages_link_hashed_names_are_revalidated_and_compressed() {
    let home = common::TestHome::new();
    let app = serve_written_site(&home).await;

    let plain = get(&app, "/sign-in", None).await;
    assert_eq!(plain.status(), 200);
    assert_eq!(header(&plain, CACHE_CONTROL), "no-cache");
    assert_eq!(header(&plain, CONTENT_ENCODING), "");
    let html = plain.text().await.unwrap();
    for name in [WASM, JS, CSS] {
        assert!(html.contains(&format!("/pkg/{name}")), "{name} is linked: {html}");
    }
    assert!(!html.contains("/pkg/pgfleet.css"), "{html}");

    for encoding in ["br", "gzip"] {
        let response = get(&app, "/sign-in", Some(encoding)).await;
        assert_eq!(header(&response, CONTENT_ENCODING), encoding);
        assert_eq!(header(&response, CACHE_CONTROL), "no-cache");
        let packed = response.bytes().await.unwrap();
        assert!(packed.len() < html.len(), "{encoding}: {} bytes for {}", packed.len(), html.len());
    }

    // The public status page links the same stylesheet.
    let status = get(&app, "/status", Some("gzip")).await;
    assert_eq!(header(&status, CONTENT_ENCODING), "gzip");
    let plain_status = get(&app, "/status", None).await.text().await.unwrap();
    assert!(plain_status.contains(&format!("/pkg/{CSS}")), "{plain_status}");

    // API answers are compressed too.
    let session = app.admin_session().await;
    let api =
        app.authed(reqwest::Method::GET, "/api/v1/openapi.json").header(ACCEPT_ENCODING, "br").send().await.unwrap();
    assert_eq!(api.status(), 200);
    assert_eq!(header(&api, CONTENT_ENCODING), "br");

    // An event stream is never compressed: each event must leave at once.
    let stream = app
        .client
        .get(app.url("/console/events"))
        .header(COOKIE, session.cookie_header())
        .header(ACCEPT_ENCODING, "br, gzip")
        .send()
        .await
        .unwrap();
    assert_eq!(stream.status(), 200);
    assert!(header(&stream, CONTENT_TYPE).starts_with("text/event-stream"));
    assert_eq!(header(&stream, CONTENT_ENCODING), "");
    drop(stream);
    app.shutdown().await;
}
