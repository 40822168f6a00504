//! `/status`, `/embed` and `/embed/{name}`: server-rendered HTML that a
//! few lines of script (`/status.js`) keep live. On every `status` event
//! the script fetches the page's own fragment (`?fragment=1`) again, so the
//! markup is written in one place only, here.

use app::format;
use app::status::StatusComponent;
use axum::extract::{Path, Query, State};
use axum::http::{header, StatusCode};
use axum::response::{Html, IntoResponse, Response};
use chrono::{DateTime, Duration, Utc};
use serde::Deserialize;

use super::{escape, summary};
use crate::web::AppState;

#[derive(Debug, Default, Deserialize)]
pub struct View {
    /// Only the live part, for the script.
    #[serde(default)]
    fragment: Option<String>,
}

pub async fn status(State(state): State<AppState>, Query(view): Query<View>) -> Response {
    let summary = match summary::summary(&state.store).await {
        Ok(s) => s,
        Err(e) => return unavailable(e),
    };
    let body = list(&summary.components, true);
    let live = format!(
        r#"<p class="overall overall-{indicator}" data-testid="overall">{description}</p>{body}{updated}"#,
        indicator = escape(&summary.status.indicator),
        description = escape(&summary.status.description),
        updated = updated(Utc::now()),
    );
    page(&state, view, "Database status", "status-page", None, &live, true)
}

pub async fn embed_all(State(state): State<AppState>, Query(view): Query<View>) -> Response {
    match summary::summary(&state.store).await {
        Ok(summary) => {
            let live = format!("{}{}", list(&summary.components, false), updated(Utc::now()));
            page(&state, view, "Database status", "embed", None, &live, false)
        }
        Err(e) => unavailable(e),
    }
}

pub async fn embed_one(State(state): State<AppState>, Path(name): Path<String>, Query(view): Query<View>) -> Response {
    match summary::one(&state.store, &name).await {
        Ok(Some(c)) => {
            let one = format!(r#"<ul class="components">{}</ul>{}"#, row(&c, false, true), updated(Utc::now()));
            page(&state, view, &format!("{} status", c.name), "embed", Some(&c), &one, false)
        }
        Ok(None) => (StatusCode::NOT_FOUND, Html(not_found_page())).into_response(),
        Err(e) => unavailable(e),
    }
}

/// The script that keeps a page live.
pub async fn script() -> Response {
    ([(header::CONTENT_TYPE, "text/javascript; charset=utf-8"), (header::CACHE_CONTROL, "public, max-age=300")], SCRIPT)
        .into_response()
}

const SCRIPT: &str = r#"(function () {
  var root = document.querySelector("[data-status-root]");
  if (!root) return;
  var pending = false, again = false;
  function refresh() {
    if (pending) { again = true; return; }
    pending = true;
    var url = location.pathname + "?fragment=1";
    fetch(url, { credentials: "omit", cache: "no-store" }).then(function (r) {
      if (r.status === 404) {
        root.setAttribute("data-state", "unknown");
        root.innerHTML = '<p class="gone">This database is no longer public.</p>';
        return;
      }
      return r.text().then(function (html) {
        root.innerHTML = html;
        var first = root.querySelector("[data-component]");
        root.setAttribute("data-state", root.getAttribute("data-only") ? (first ? first.getAttribute("data-state") : "unknown") : "list");
      });
    }).catch(function () {}).then(function () {
      pending = false;
      if (again) { again = false; refresh(); }
    });
  }
  var source = new EventSource("/api/v1/status/events");
  source.addEventListener("status", function () {
    root.setAttribute("data-live", "true");
    refresh();
  });
  source.onerror = function () { root.setAttribute("data-live", "false"); };
})();
"#;

/// The whole page around `live`; `only` is the one database an embed shows.
fn page(
    app: &AppState,
    view: View,
    title: &str,
    class: &str,
    only: Option<&StatusComponent>,
    live: &str,
    heading: bool,
) -> Response {
    if view.fragment.is_some() {
        return ([(header::CACHE_CONTROL, "no-store")], Html(live.to_string())).into_response();
    }
    // The one component's phase, for scripts and tests that watch it.
    let (only, state) = match only {
        Some(c) => (c.name.as_str(), c.phase.as_str()),
        None => ("", "list"),
    };
    let heading = if heading { format!("<h1>{}</h1>", escape(title)) } else { String::new() };
    let html = format!(
        r#"<!DOCTYPE html>
<html lang="en">
<head>
<meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<meta name="referrer" content="no-referrer">
<title>{title}</title>
<link rel="stylesheet" href="{stylesheet}">
<script src="/status.js" defer></script>
</head>
<body class="{class}">
<main class="public">
{heading}
<div data-status-root data-only="{only}" data-state="{state}" data-live="false" aria-live="polite">{live}</div>
</main>
</body>
</html>"#,
        title = escape(title),
        only = escape(only),
        stylesheet = app.assets.stylesheet(),
    );
    ([(header::CACHE_CONTROL, "no-cache")], Html(html)).into_response()
}

fn list(components: &[StatusComponent], wide: bool) -> String {
    if components.is_empty() {
        return r#"<p class="muted" data-testid="no-public">No databases are public yet.</p>"#.into();
    }
    let rows: String = components.iter().map(|c| row(c, wide, wide)).collect();
    format!(r#"<ul class="components">{rows}</ul>"#)
}

/// When the page's figures were read, for the reader of a page left open.
fn updated(now: DateTime<Utc>) -> String {
    format!(
        r#"<p class="updated" data-testid="updated">Last updated <time datetime="{}">{}</time></p>"#,
        now.to_rfc3339(),
        now.format("%H:%M:%S UTC")
    )
}

/// Uptime as far back as it means something: from the first availability
/// when that is within the window, so a database made three minutes ago
/// does not claim seven days.
fn uptime_words(c: &StatusComponent, wide: bool, now: DateTime<Utc>) -> String {
    let percent = |u: Option<f64>| u.map(|u| format!("{:.2}%", u * 100.0)).unwrap_or_else(|| "–".into());
    let Some(since) = c.available_since else { return "not available yet".into() };
    let age = now - since;
    let ago = format::ago(age.num_seconds());
    if age < Duration::hours(24) {
        format!("{} since {ago}", percent(c.uptime_24h))
    } else if !wide {
        format!("24 h {}", percent(c.uptime_24h))
    } else if age < Duration::days(7) {
        format!("24 h {} · {} since {ago}", percent(c.uptime_24h), percent(c.uptime_7d))
    } else {
        format!("24 h {} · 7 d {}", percent(c.uptime_24h), percent(c.uptime_7d))
    }
}

/// The last day as 24 bars, each titled with its hour and uptime.
fn bars(c: &StatusComponent) -> String {
    let mut counts = std::collections::BTreeMap::new();
    let bars: String = c
        .last_24h
        .iter()
        .map(|bar| {
            let (class, words) = match (bar.status, bar.uptime) {
                (Some(status), Some(up)) => {
                    counts.entry(status.severity()).or_insert((status.words(), 0)).1 += 1;
                    (status.words().replace(' ', "-"), format!("{}, {:.2}% available", status.words(), up * 100.0))
                }
                _ => ("none".to_string(), "not in service yet".to_string()),
            };
            format!(
                r#"<span class="bar bar-{class}" title="{hour}: {words}"></span>"#,
                hour = bar.start.format("%H:00 UTC"),
            )
        })
        .collect();
    let summary: Vec<String> = counts.values().rev().map(|(words, n)| format!("{n} h {words}")).collect();
    let summary = if summary.is_empty() { "not in service yet".to_string() } else { summary.join(", ") };
    format!(
        r#"<span class="bars" role="img" aria-label="Last 24 hours: {summary}" data-testid="history-bars">{bars}</span>"#
    )
}

fn row(c: &StatusComponent, wide: bool, with_bars: bool) -> String {
    let lag = match c.lag_seconds {
        Some(s) if s >= 1.0 => format!(r#"<span class="lag">{} behind</span>"#, format::duration(s)),
        Some(_) => r#"<span class="lag">up to date</span>"#.to_string(),
        None => String::new(),
    };
    let uptime = format!(
        r#"<span class="uptime" data-testid="uptime" title="share of the time it was available">{}</span>"#,
        uptime_words(c, wide, Utc::now())
    );
    let bars = if with_bars { bars(c) } else { String::new() };
    format!(
        r#"<li class="component" data-component="{name}" data-state="{phase}" data-status="{status}"><span class="badge phase-{phase}"><span aria-hidden="true">{shape}</span> {label}</span> <strong class="name">{name}</strong> <span class="role">{role}</span> {lag} {uptime}{bars}</li>"#,
        name = escape(&c.name),
        phase = c.phase.as_str(),
        status = serde_json::to_value(c.status).ok().and_then(|v| v.as_str().map(str::to_string)).unwrap_or_default(),
        label = c.phase.label(),
        shape = c.phase.symbol(),
        role = c.role.as_str(),
    )
}

fn not_found_page() -> String {
    r#"<!DOCTYPE html><html lang="en"><head><meta charset="utf-8"><title>Not found</title></head><body><p>There is no public database by that name.</p></body></html>"#.into()
}

fn unavailable(e: crate::store::StoreError) -> Response {
    tracing::error!(error = %e, "public page: store failed");
    (StatusCode::SERVICE_UNAVAILABLE, "the status is not available right now").into_response()
}
