//! A time chart of series that share a unit, drawn as SVG by us (no
//! charting library in the WASM): a value axis in round numbers of the
//! unit, a time axis relative to now, a legend with each line's newest
//! value, and, under the pointer, the time and every line's value there.

use chrono::{DateTime, Duration, Utc};
use leptos::prelude::*;

use crate::format;
use crate::metrics::{Metrics, Unit};

const W: f64 = 600.0;
const H: f64 = 160.0;
const LEFT: f64 = 70.0;
const RIGHT: f64 = 10.0;
const TOP: f64 = 10.0;
const BOTTOM: f64 = 24.0;

/// One line of a chart.
#[derive(Clone, Debug, PartialEq)]
pub struct Line {
    pub label: &'static str,
    /// Oldest first.
    pub points: Vec<(DateTime<Utc>, f64)>,
}

/// The lines `metrics` has for each of `wanted`, in that order.
pub fn lines(metrics: &Metrics, wanted: &[crate::metrics::Metric]) -> Vec<Line> {
    wanted
        .iter()
        .filter_map(|m| {
            let series = metrics.series(*m)?;
            Some(Line { label: m.title(), points: series.points.iter().map(|p| (p.at, p.value)).collect() })
        })
        .collect()
}

#[component]
pub fn Chart(
    title: &'static str,
    unit: Unit,
    #[prop(into)] lines: Signal<Vec<Line>>,
    /// The window: from `since` to `until`, in steps of `step` seconds.
    #[prop(into)]
    window: Signal<(DateTime<Utc>, DateTime<Utc>, i64)>,
    /// A line drawn across, e.g. `max_connections`.
    #[prop(into, optional)]
    limit: Signal<Option<f64>>,
    testid: &'static str,
) -> impl IntoView {
    // Where the pointer is, as a fraction of the plot's width.
    let hover = RwSignal::new(None::<f64>);
    let plot = Memo::new(move |_| {
        let (since, until, step) = window.get();
        lines.with(|l| Plot::new(l, unit, since, until, step, limit.get()))
    });
    let on_move = move |ev: leptos::ev::MouseEvent| {
        #[cfg(feature = "hydrate")]
        {
            let width = event_target::<web_sys::Element>(&ev).client_width() as f64;
            if width > 0.0 {
                let x = ev.offset_x() as f64 / width * W;
                hover.set(Some(((x - LEFT) / (W - LEFT - RIGHT)).clamp(0.0, 1.0)));
            }
        }
        #[cfg(not(feature = "hydrate"))]
        let _ = ev;
    };
    let readout = move || {
        let fraction = hover.get()?;
        let (since, until, step) = window.get();
        let at = since + Duration::milliseconds(((until - since).num_milliseconds() as f64 * fraction) as i64);
        let near = Duration::seconds(step.max(1) * 3 / 2);
        let values: Vec<String> = lines.with(|lines| {
            lines
                .iter()
                .filter_map(|l| {
                    let (t, v) = l.points.iter().min_by_key(|(t, _)| (*t - at).num_milliseconds().abs())?;
                    ((*t - at).abs() <= near).then(|| format!("{} {}", l.label, format::measure(unit, *v)))
                })
                .collect()
        });
        let clock = if until - since > Duration::days(1) { format::Clock::DateMinutes } else { format::Clock::Seconds };
        Some(format!(
            "{}: {}",
            format::utc(at, clock),
            if values.is_empty() { "no sample".to_string() } else { values.join(" · ") }
        ))
    };
    view! {
        <figure class="metric-chart" data-testid=testid>
            <figcaption>
                <span class="chart-title">{title}</span>
                <span class="legend">
                    {move || plot.with(|p| p.legend.iter().enumerate().map(|(i, (label, now))| view! {
                        <span class=format!("key s{i}")>{format!("{label} {now}")}</span>
                    }).collect_view())}
                </span>
            </figcaption>
            {move || plot.with(|plot| {
                let cursor = hover.get().map(|f| LEFT + f * (W - LEFT - RIGHT));
                view! {
                    <svg class="chart" viewBox=format!("0 0 {W} {H}") role="img" aria-label=plot.summary(title)
                        on:mousemove=on_move on:mouseleave=move |_| hover.set(None)>
                        {plot.y_ticks.iter().map(|(y, text)| view! {
                            <line class="grid" x1=LEFT x2=W - RIGHT y1=*y y2=*y/>
                            <text class="axis" x=LEFT - 6.0 y=y + 4.0 text-anchor="end">{text.clone()}</text>
                        }).collect_view()}
                        {plot.x_ticks.iter().map(|(x, text)| view! {
                            <text class="axis" x=*x y=H - 6.0 text-anchor="middle">{text.clone()}</text>
                        }).collect_view()}
                        <line class="axis-line" x1=LEFT x2=LEFT y1=TOP y2=H - BOTTOM/>
                        <line class="axis-line" x1=LEFT x2=W - RIGHT y1=H - BOTTOM y2=H - BOTTOM/>
                        {plot.limit.map(|y| view! { <line class="limit" x1=LEFT x2=W - RIGHT y1=y y2=y/> })}
                        {plot.paths.iter().enumerate().map(|(i, d)| view! {
                            <path class=format!("line s{i}") d=d.clone() data-testid="chart-line"/>
                        }).collect_view()}
                        {cursor.map(|x| view! { <line class="cursor" x1=x x2=x y1=TOP y2=H - BOTTOM/> })}
                    </svg>
                }
            })}
            <p class="chart-readout muted small" aria-live="polite">
                {move || readout().unwrap_or_else(|| {
                    if plot.with(|p| p.paths.iter().all(String::is_empty)) { "No samples in this window yet.".into() } else { "\u{a0}".into() }
                })}
            </p>
        </figure>
    }
}

/// A chart's geometry, apart from the view so it is tested without a
/// browser.
#[derive(Debug, PartialEq)]
struct Plot {
    /// One path per line ("" for a line with no point in the window); a
    /// gap of more than two steps between samples breaks the line.
    paths: Vec<String>,
    y_ticks: Vec<(f64, String)>,
    x_ticks: Vec<(f64, String)>,
    limit: Option<f64>,
    top: f64,
    /// Each line's label and newest value, in words.
    legend: Vec<(&'static str, String)>,
}

impl Plot {
    fn new(
        lines: &[Line],
        unit: Unit,
        since: DateTime<Utc>,
        until: DateTime<Utc>,
        step: i64,
        limit: Option<f64>,
    ) -> Plot {
        let span = (until - since).num_milliseconds().max(1) as f64;
        let x = |at: DateTime<Utc>| {
            LEFT + ((at - since).num_milliseconds() as f64 / span).clamp(0.0, 1.0) * (W - LEFT - RIGHT)
        };
        let inside = |l: &Line| -> Vec<(DateTime<Utc>, f64)> {
            l.points.iter().copied().filter(|(at, v)| *at >= since && *at <= until && v.is_finite()).collect()
        };
        let highest = lines.iter().flat_map(|l| inside(l).into_iter().map(|(_, v)| v)).chain(limit).fold(0.0, f64::max);
        // At least a scale whose half still reads in the unit's words.
        let top = match unit {
            Unit::Ratio => 1.0,
            Unit::Bytes | Unit::BytesPerSecond => nice_ceiling(highest.max(1000.0)),
            Unit::Count => nice_ceiling(highest.max(2.0)),
            Unit::PerSecond | Unit::Seconds => nice_ceiling(highest),
        };
        let y = |v: f64| TOP + (1.0 - (v / top).clamp(0.0, 1.0)) * (H - TOP - BOTTOM);
        let gap = Duration::seconds(step.max(1) * 2);
        let paths = lines
            .iter()
            .map(|l| {
                let mut d = String::new();
                let mut last: Option<DateTime<Utc>> = None;
                for (at, v) in inside(l) {
                    let verb = if last.is_some_and(|t| at - t <= gap) { 'L' } else { 'M' };
                    if !d.is_empty() {
                        d.push(' ');
                    }
                    d.push_str(&format!("{verb}{:.1},{:.1}", x(at), y(v)));
                    // A lone sample still shows: a zero-length stroke with
                    // round caps is a dot.
                    if verb == 'M' {
                        d.push_str(" h0");
                    }
                    last = Some(at);
                }
                d
            })
            .collect();
        let y_ticks = [0.0, top / 2.0, top].into_iter().map(|v| (y(v), format::measure(unit, v))).collect();
        let x_ticks = (0..=3)
            .map(|i| {
                let at = since + Duration::milliseconds((span * i as f64 / 3.0) as i64);
                (x(at), ago_label(until - at))
            })
            .collect();
        let legend = lines
            .iter()
            .map(|l| (l.label, inside(l).last().map_or("–".to_string(), |(_, v)| format::measure(unit, *v))))
            .collect();
        Plot { paths, y_ticks, x_ticks, limit: limit.map(y), top, legend }
    }

    fn summary(&self, title: &str) -> String {
        let values: Vec<String> = self.legend.iter().map(|(label, v)| format!("{label} {v}")).collect();
        format!("{title}; latest: {}", if values.is_empty() { "none".to_string() } else { values.join(", ") })
    }
}

/// `"now"`, `"-20 min"`, `"-8 h"`, `"-2 d"`.
fn ago_label(before: Duration) -> String {
    let minutes = (before.num_seconds() as f64 / 60.0).round() as i64;
    match minutes {
        0 => "now".into(),
        1..=120 => format!("-{minutes} min"),
        121..=2880 => format!("-{} h", (minutes as f64 / 60.0).round() as i64),
        _ => format!("-{} d", (minutes as f64 / 1440.0).round() as i64),
    }
}

/// The smallest of 1, 2 or 5 times a power of ten at or above `v` (at
/// least 1), so an axis reads in round numbers.
pub fn nice_ceiling(v: f64) -> f64 {
    if !v.is_finite() || v <= 1.0 {
        return 1.0;
    }
    let base = 10f64.powi(v.log10().floor() as i32);
    [1.0, 2.0, 5.0, 10.0].into_iter().map(|m| m * base).find(|c| *c >= v).unwrap_or(10.0 * base)
}

#[cfg(test)]
mod tests {
    use chrono::TimeZone;

    use super::*;

    fn now() -> DateTime<Utc> {
        Utc.with_ymd_and_hms(2026, 12, 4, 12, 0, 0).unwrap()
    }

    #[test]
    fn axes_round_up() {
        assert_eq!(nice_ceiling(0.0), 1.0);
        assert_eq!(nice_ceiling(3.0), 5.0);
        assert_eq!(nice_ceiling(22e6), 50e6);
        assert_eq!(nice_ceiling(1000.0), 1000.0);
        assert_eq!(nice_ceiling(101.0), 200.0);
    }

    #[test]
    fn lines_break_at_gaps_and_read_in_their_unit() {
        let at = |m: i64| now() - Duration::minutes(m);
        let commits =
            Line { label: "Commits", points: vec![(at(70), 1.0), (at(50), 10.0), (at(49), 90.0), (at(20), 40.0)] };
        let lines = [commits, Line { label: "Rollbacks", points: vec![] }];
        let plot = Plot::new(&lines, Unit::PerSecond, at(60), now(), 60, Some(20.0));
        assert_eq!(plot.top, 100.0);
        assert_eq!(plot.paths[0].matches('M').count(), 2, "{}", plot.paths[0]);
        assert_eq!(plot.paths[0].matches('L').count(), 1, "{}", plot.paths[0]);
        assert_eq!(plot.paths[1], "", "no points, no line");
        let labels: Vec<&str> = plot.y_ticks.iter().map(|(_, t)| t.as_str()).collect();
        assert_eq!(labels, vec!["0/s", "50/s", "100/s"]);
        let times: Vec<&str> = plot.x_ticks.iter().map(|(_, t)| t.as_str()).collect();
        assert_eq!(times, vec!["-60 min", "-40 min", "-20 min", "now"]);
        assert!(plot.limit.is_some());
        assert_eq!(plot.legend, vec![("Commits", "40/s".to_string()), ("Rollbacks", "–".to_string())]);
        let quiet = Plot::new(&[], Unit::BytesPerSecond, at(60), now(), 60, None);
        let labels: Vec<&str> = quiet.y_ticks.iter().map(|(_, t)| t.as_str()).collect();
        assert_eq!(labels, vec!["0 B/s", "500 B/s", "1.0 KB/s"], "no axis of 0, 1 and 1 bytes");
        let week = Plot::new(&[], Unit::Ratio, now() - Duration::days(7), now(), 1800, None);
        assert_eq!(week.top, 1.0, "a ratio's axis is 0 to 100%");
        let times: Vec<&str> = week.x_ticks.iter().map(|(_, t)| t.as_str()).collect();
        assert_eq!(times, vec!["-7 d", "-5 d", "-2 d", "now"]);
    }
}
