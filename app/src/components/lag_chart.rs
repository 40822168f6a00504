//! A follower's replication lag over the last 15 minutes: the history the
//! server kept (so a page load does not start from nothing), extended by
//! the lag events the stream brings, drawn as a step line with a bytes
//! axis, a time axis and the value now.

use chrono::{DateTime, Duration, Utc};
use leptos::prelude::*;

use crate::api::database_metrics;
use crate::format;
use crate::live::use_live;
use crate::metrics::{Metric, MetricsQuery};
use crate::model::Lag;

/// How much time the chart spans.
pub const WINDOW_MINUTES: i64 = 15;

const W: f64 = 600.0;
const H: f64 = 170.0;
const LEFT: f64 = 64.0;
const RIGHT: f64 = 10.0;
const TOP: f64 = 10.0;
const BOTTOM: f64 = 24.0;

#[component]
pub fn LagChart(name: Memo<String>, #[prop(into)] current: Signal<Option<Lag>>) -> impl IntoView {
    let live = use_live();
    let history = crate::fetched::fetched(move || {
        let name = name.get();
        async move {
            let query = MetricsQuery { since: None, step: Some(10) };
            database_metrics(name, query)
                .await
                .ok()
                .and_then(|m| m.series(Metric::LagBytes).cloned())
                .map(|s| s.points.into_iter().map(|p| (p.at, p.value.max(0.0) as u64)).collect::<Vec<_>>())
        }
    });
    // The window slides with time even when nothing is measured.
    let now = RwSignal::new(Utc::now());
    #[cfg(feature = "hydrate")]
    {
        let alive = std::sync::Arc::new(std::sync::atomic::AtomicBool::new(true));
        let running = alive.clone();
        on_cleanup(move || alive.store(false, std::sync::atomic::Ordering::Relaxed));
        leptos::task::spawn_local(async move {
            while running.load(std::sync::atomic::Ordering::Relaxed) {
                gloo_timers::future::TimeoutFuture::new(5_000).await;
                if running.load(std::sync::atomic::Ordering::Relaxed) {
                    now.set(Utc::now());
                }
            }
        });
    }
    let samples = Memo::new(move |_| {
        let mut all = history.get().flatten().unwrap_or_default();
        let newest = all.last().map(|(at, _)| *at);
        let seen = live.lag_history.with(|h| h.get(&name.get()).cloned().unwrap_or_default());
        all.extend(seen.into_iter().filter(|(at, _)| newest.is_none_or(|n| *at > n)));
        all
    });
    // The right edge is now, or the newest sample if the browser's clock
    // is behind the server's.
    let plot = move || {
        let now = now.get();
        samples.with(|s| Plot::new(s, s.last().map_or(now, |(at, _)| now.max(*at))))
    };
    let now_words = move || match current.get() {
        Some(lag) => format!("Now: {}", format::lag(&lag)),
        None => "Now: not measured".to_string(),
    };
    view! {
        <p class="chart-now" data-testid="lag-now">{now_words}</p>
        {move || {
            let plot = plot();
            let label = plot.summary();
            view! {
                <svg class="chart" viewBox=format!("0 0 {W} {H}") role="img" aria-label=label data-testid="lag-chart">
                    {plot.y_ticks.iter().map(|(y, text)| view! {
                        <line class="grid" x1=LEFT x2=W - RIGHT y1=*y y2=*y/>
                        <text class="axis" x=LEFT - 6.0 y=y + 4.0 text-anchor="end">{text.clone()}</text>
                    }).collect_view()}
                    {plot.x_ticks.iter().map(|(x, text)| view! {
                        <text class="axis" x=*x y=H - 6.0 text-anchor="middle">{text.clone()}</text>
                    }).collect_view()}
                    <line class="axis-line" x1=LEFT x2=LEFT y1=TOP y2=H - BOTTOM/>
                    <line class="axis-line" x1=LEFT x2=W - RIGHT y1=H - BOTTOM y2=H - BOTTOM/>
                    {plot.path.clone().map(|d| view! { <path class="line" d=d data-testid="lag-line"/> })}
                </svg>
                {plot.path.is_none().then(|| view! {
                    <p class="muted small" data-testid="lag-empty">{format!("No lag measured in the last {WINDOW_MINUTES} minutes.")}</p>
                })}
            }
        }}
    }
}

/// The chart's geometry, computed apart from the view so it is tested
/// without a browser.
#[derive(Debug, PartialEq)]
struct Plot {
    /// A step line through the samples, to the right edge; `None` without one.
    path: Option<String>,
    y_ticks: Vec<(f64, String)>,
    x_ticks: Vec<(f64, String)>,
    top: u64,
    newest: Option<u64>,
}

impl Plot {
    fn new(samples: &[(DateTime<Utc>, u64)], now: DateTime<Utc>) -> Plot {
        let start = now - Duration::minutes(WINDOW_MINUTES);
        let span = (now - start).num_milliseconds() as f64;
        let x = |at: DateTime<Utc>| {
            LEFT + ((at - start).num_milliseconds() as f64 / span).clamp(0.0, 1.0) * (W - LEFT - RIGHT)
        };
        // The value the window opens with is the last one before it.
        let before = samples.iter().rfind(|(at, _)| *at < start).map(|(_, v)| (start, *v));
        let inside: Vec<(DateTime<Utc>, u64)> =
            before.into_iter().chain(samples.iter().copied().filter(|(at, _)| *at >= start && *at <= now)).collect();
        let top = super::chart::nice_ceiling(inside.iter().map(|(_, v)| *v).max().unwrap_or(0) as f64) as u64;
        let y = |v: u64| TOP + (1.0 - v as f64 / top as f64) * (H - TOP - BOTTOM);
        let path = (!inside.is_empty()).then(|| {
            let mut d = String::new();
            for (i, (at, v)) in inside.iter().enumerate() {
                if i == 0 {
                    d.push_str(&format!("M{:.1},{:.1}", x(*at), y(*v)));
                } else {
                    d.push_str(&format!(" H{:.1} V{:.1}", x(*at), y(*v)));
                }
            }
            d.push_str(&format!(" H{:.1}", x(now)));
            d
        });
        let y_ticks = [0, top / 2, top].into_iter().map(|v| (y(v), format::bytes(v))).collect();
        let x_ticks = (0..=3)
            .map(|i| {
                let minutes = WINDOW_MINUTES - i * 5;
                let text = if minutes == 0 { "now".to_string() } else { format!("-{minutes} min") };
                (x(now - Duration::minutes(minutes)), text)
            })
            .collect();
        Plot { path, y_ticks, x_ticks, top, newest: inside.last().map(|(_, v)| *v) }
    }

    fn summary(&self) -> String {
        match self.newest {
            None => format!("replication lag over the last {WINDOW_MINUTES} minutes: not measured"),
            Some(v) => format!(
                "replication lag over the last {WINDOW_MINUTES} minutes, axis up to {}; latest {}",
                format::bytes(self.top),
                format::bytes(v)
            ),
        }
    }
}

#[cfg(test)]
mod tests {
    use chrono::TimeZone;

    use super::*;

    #[test]
    fn the_line_steps_through_the_window_to_now() {
        let now = Utc.with_ymd_and_hms(2026, 12, 2, 12, 0, 0).unwrap();
        let samples = vec![
            (now - Duration::minutes(20), 4_000_000),
            (now - Duration::minutes(10), 22_000_000),
            (now - Duration::minutes(5), 0),
        ];
        let plot = Plot::new(&samples, now);
        assert_eq!(plot.top, 50_000_000);
        assert_eq!(plot.newest, Some(0));
        let d = plot.path.unwrap();
        // Opens at the left edge with the value from before the window,
        // and ends at the right edge.
        assert!(d.starts_with(&format!("M{LEFT:.1},")), "{d}");
        assert!(d.ends_with(&format!(" H{:.1}", W - RIGHT)), "{d}");
        assert_eq!(d.matches(" V").count(), 2, "{d}");
        let labels: Vec<&str> = plot.y_ticks.iter().map(|(_, t)| t.as_str()).collect();
        assert_eq!(labels, vec!["0 B", "25 MB", "50 MB"]);
        let times: Vec<&str> = plot.x_ticks.iter().map(|(_, t)| t.as_str()).collect();
        assert_eq!(times, vec!["-15 min", "-10 min", "-5 min", "now"]);
        assert!(Plot::new(&[], now).path.is_none());
    }
}

#[cfg(all(test, feature = "ssr"))]
mod ssr_tests {
    use leptos::prelude::*;

    #[test]
    fn renders_on_the_server() {
        let owner = Owner::new();
        owner.set();
        crate::live::provide_live();
        let name = Memo::new(|_| "r".to_string());
        let html = view! { <super::LagChart name current=Signal::derive(|| None)/> }.to_html();
        assert!(html.contains("lag-chart"), "{html}");
    }
}
