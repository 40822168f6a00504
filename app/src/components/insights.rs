//! The Insights tab's charts: a database's sampled metrics over the last
//! hour, day or week. The whole window is fetched when the database or the
//! range changes; after that each `metrics` event on the stream fetches
//! only the newest steps and merges them in ([`Metrics::merge`]), so the
//! charts move live without fetching an hour of points every ten seconds.

use chrono::{DateTime, Duration, Utc};
use leptos::prelude::*;

use super::chart::{lines, Chart};
use crate::api::database_metrics;
use crate::live::use_live;
use crate::metrics::{Metric, Metrics, MetricsQuery, Unit};

/// How far back the charts look.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Range {
    Hour,
    Day,
    Week,
}

impl Range {
    pub const ALL: [Range; 3] = [Range::Hour, Range::Day, Range::Week];

    pub fn label(self) -> &'static str {
        match self {
            Range::Hour => "1 h",
            Range::Day => "24 h",
            Range::Week => "7 d",
        }
    }

    pub fn span(self) -> Duration {
        match self {
            Range::Hour => Duration::hours(1),
            Range::Day => Duration::days(1),
            // A minute short of what is kept, so the query is never refused
            // for reaching past it.
            Range::Week => Duration::days(crate::metrics::KEEP_DAYS) - Duration::minutes(1),
        }
    }

    /// One point per sample over an hour; past a day samples are thinned
    /// to one in five minutes, so the longer ranges step by that or more.
    pub fn step_seconds(self) -> i64 {
        match self {
            Range::Hour => 10,
            Range::Day => 300,
            Range::Week => 1800,
        }
    }
}

/// The charts, in the order they are shown: title, unit, lines.
const CHARTS: [(&str, Unit, &[Metric], &str); 8] = [
    ("Transactions", Unit::PerSecond, &[Metric::CommitsPerSecond, Metric::RollbacksPerSecond], "chart-transactions"),
    (
        "Connections",
        Unit::Count,
        &[
            Metric::ConnectionsActive,
            Metric::ConnectionsIdle,
            Metric::ConnectionsIdleInTransaction,
            Metric::ConnectionsWaiting,
        ],
        "chart-connections",
    ),
    ("Cache hit ratio", Unit::Ratio, &[Metric::CacheHitRatio], "chart-cache"),
    (
        "Rows written",
        Unit::PerSecond,
        &[Metric::InsertsPerSecond, Metric::UpdatesPerSecond, Metric::DeletesPerSecond],
        "chart-rows",
    ),
    ("WAL", Unit::BytesPerSecond, &[Metric::WalBytesPerSecond], "chart-wal"),
    ("Database size", Unit::Bytes, &[Metric::SizeBytes], "chart-size"),
    ("Temporary files", Unit::BytesPerSecond, &[Metric::TempBytesPerSecond], "chart-temp"),
    ("Deadlocks", Unit::Count, &[Metric::Deadlocks], "chart-deadlocks"),
];

#[component]
pub fn InsightsCharts(name: Memo<String>, #[prop(into)] follower: Signal<bool>) -> impl IntoView {
    let live = use_live();
    let range = RwSignal::new(Range::Hour);
    let data = RwSignal::new(None::<Metrics>);
    let error = RwSignal::new(None::<String>);
    // Which fetch of the whole window the answers belong to: an answer for
    // another database or range is dropped.
    let generation = StoredValue::new(0u64);
    Effect::new(move |_| {
        let (name, range) = (name.get(), range.get());
        let this = generation.get_value() + 1;
        generation.set_value(this);
        data.set(None);
        leptos::task::spawn_local(async move {
            let query = MetricsQuery { since: Some(Utc::now() - range.span()), step: Some(range.step_seconds()) };
            let answer = database_metrics(name, query).await;
            if generation.try_get_value() == Some(this) {
                match answer {
                    Ok(m) => {
                        error.set(None);
                        data.set(Some(m));
                    }
                    Err(e) => error.set(Some(e.message)),
                }
            }
        });
    });
    let sampled = Memo::new(move |_| live.sampled.with(|s| s.get(&name.get()).copied()));
    Effect::new(move |_| {
        if sampled.get().is_none() {
            return;
        }
        let Some(newest) = data.with_untracked(|d| d.as_ref().map(newest_step)) else { return };
        let (name, range, this) = (name.get_untracked(), range.get_untracked(), generation.get_value());
        leptos::task::spawn_local(async move {
            let query = MetricsQuery { since: Some(newest), step: Some(range.step_seconds()) };
            let Ok(newer) = database_metrics(name, query).await else { return };
            if generation.try_get_value() == Some(this) {
                data.update(|d| {
                    if let Some(d) = d {
                        d.merge(newer, Utc::now() - range.span());
                    }
                });
            }
        });
    });
    let window = Signal::derive(move || {
        data.with(|d| match d {
            Some(m) => (m.since, m.until, m.step_seconds),
            None => (Utc::now() - range.get().span(), Utc::now(), range.get().step_seconds()),
        })
    });
    let series = move |wanted: &'static [Metric]| {
        Signal::derive(move || data.with(|d| d.as_ref().map(|m| lines(m, wanted)).unwrap_or_default()))
    };
    let limit = Signal::derive(move || {
        data.with(|d| d.as_ref()?.series(Metric::MaxConnections)?.points.last().map(|p| p.value))
    });
    view! {
        <div class="insights" data-testid="insights">
            <div class="range" role="group" aria-label="Time range">
                {Range::ALL.into_iter().map(|r| view! {
                    <button type="button" class="button secondary small" aria-pressed=move || (range.get() == r).to_string()
                        on:click=move |_| range.set(r)>{r.label()}</button>
                }).collect_view()}
                <span class="muted small" data-testid="insights-state">
                    {move || match (error.get(), data.with(Option::is_some)) {
                        (Some(e), _) => e,
                        (None, false) => "Loading…".into(),
                        (None, true) => "Live: sampled every 10 s".into(),
                    }}
                </span>
            </div>
            <div class="chart-grid">
                <Show when=move || follower.get()>
                    <Chart title="Replication lag" unit=Unit::Bytes lines=series(&[Metric::LagBytes]) window testid="chart-lag"/>
                </Show>
                {CHARTS.into_iter().map(|(title, unit, wanted, testid)| {
                    let limit = if wanted.contains(&Metric::ConnectionsIdle) { limit } else { Signal::derive(|| None) };
                    view! { <Chart title unit lines=series(wanted) window limit testid/> }
                }).collect_view()}
            </div>
        </div>
    }
}

/// The start of the newest step any series has: a fetch from there
/// replaces that step (it may have grown) and adds what came after.
fn newest_step(m: &Metrics) -> DateTime<Utc> {
    m.series.iter().filter_map(|s| s.points.last().map(|p| p.at)).max().unwrap_or(m.since)
}
