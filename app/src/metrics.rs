//! Measurements of a database over time, on the wire: what the lag chart
//! draws and `GET /api/v1/databases/{name}/metrics` serves. The server
//! samples and keeps them (`server/src/store/samples.rs`); this module owns
//! the query's ranges and how samples become evenly stepped points, so the
//! API and the console's server function answer the same thing.

use chrono::{DateTime, Duration, Utc};
use serde::{Deserialize, Serialize};

use crate::model::{ApiError, ErrorCode};

/// How far back samples are kept and can be asked for.
pub const KEEP_DAYS: i64 = 7;
/// The most points one answer carries per series.
pub const MAX_POINTS: i64 = 2_000;
/// The step when none is asked for.
pub const DEFAULT_STEP_SECONDS: i64 = 10;
/// How far back an answer goes when `since` is not given.
pub const DEFAULT_WINDOW_MINUTES: i64 = 15;

/// One measured quantity. Rates are per second over the interval since
/// the sample before; counts and sizes are what the server reported then.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
#[cfg_attr(feature = "ssr", derive(utoipa::ToSchema))]
#[serde(rename_all = "snake_case")]
pub enum Metric {
    /// WAL bytes a follower has not replayed yet.
    LagBytes,
    /// How old the follower's last replayed change is (0 when caught up).
    LagSeconds,
    /// Transactions committed in its database.
    CommitsPerSecond,
    RollbacksPerSecond,
    /// Client connections running a query (not waiting on a lock).
    ConnectionsActive,
    ConnectionsIdle,
    ConnectionsIdleInTransaction,
    /// Client connections waiting on a lock.
    ConnectionsWaiting,
    /// The server's `max_connections`, the line the counts are read against.
    MaxConnections,
    /// Blocks found in shared buffers over all blocks read (0 to 1).
    CacheHitRatio,
    /// Its database's size.
    SizeBytes,
    InsertsPerSecond,
    UpdatesPerSecond,
    DeletesPerSecond,
    /// WAL written (a primary) or replayed (a follower).
    WalBytesPerSecond,
    /// Deadlocks detected since the sample before.
    Deadlocks,
    /// Bytes written to temporary files by queries that ran out of `work_mem`.
    TempBytesPerSecond,
}

impl Metric {
    pub const ALL: [Metric; 17] = [
        Metric::LagBytes,
        Metric::LagSeconds,
        Metric::CommitsPerSecond,
        Metric::RollbacksPerSecond,
        Metric::ConnectionsActive,
        Metric::ConnectionsIdle,
        Metric::ConnectionsIdleInTransaction,
        Metric::ConnectionsWaiting,
        Metric::MaxConnections,
        Metric::CacheHitRatio,
        Metric::SizeBytes,
        Metric::InsertsPerSecond,
        Metric::UpdatesPerSecond,
        Metric::DeletesPerSecond,
        Metric::WalBytesPerSecond,
        Metric::Deadlocks,
        Metric::TempBytesPerSecond,
    ];

    pub fn as_str(self) -> &'static str {
        match self {
            Metric::LagBytes => "lag_bytes",
            Metric::LagSeconds => "lag_seconds",
            Metric::CommitsPerSecond => "commits_per_second",
            Metric::RollbacksPerSecond => "rollbacks_per_second",
            Metric::ConnectionsActive => "connections_active",
            Metric::ConnectionsIdle => "connections_idle",
            Metric::ConnectionsIdleInTransaction => "connections_idle_in_transaction",
            Metric::ConnectionsWaiting => "connections_waiting",
            Metric::MaxConnections => "max_connections",
            Metric::CacheHitRatio => "cache_hit_ratio",
            Metric::SizeBytes => "size_bytes",
            Metric::InsertsPerSecond => "inserts_per_second",
            Metric::UpdatesPerSecond => "updates_per_second",
            Metric::DeletesPerSecond => "deletes_per_second",
            Metric::WalBytesPerSecond => "wal_bytes_per_second",
            Metric::Deadlocks => "deadlocks",
            Metric::TempBytesPerSecond => "temp_bytes_per_second",
        }
    }

    /// What a chart calls it.
    pub fn title(self) -> &'static str {
        match self {
            Metric::LagBytes => "Lag",
            Metric::LagSeconds => "Lag (time)",
            Metric::CommitsPerSecond => "Commits",
            Metric::RollbacksPerSecond => "Rollbacks",
            Metric::ConnectionsActive => "Active",
            Metric::ConnectionsIdle => "Idle",
            Metric::ConnectionsIdleInTransaction => "Idle in transaction",
            Metric::ConnectionsWaiting => "Waiting on a lock",
            Metric::MaxConnections => "Limit",
            Metric::CacheHitRatio => "Cache hit ratio",
            Metric::SizeBytes => "Database size",
            Metric::InsertsPerSecond => "Inserted",
            Metric::UpdatesPerSecond => "Updated",
            Metric::DeletesPerSecond => "Deleted",
            Metric::WalBytesPerSecond => "WAL",
            Metric::Deadlocks => "Deadlocks",
            Metric::TempBytesPerSecond => "Temporary files",
        }
    }

    pub fn unit(self) -> Unit {
        match self {
            Metric::LagBytes | Metric::SizeBytes => Unit::Bytes,
            Metric::LagSeconds => Unit::Seconds,
            Metric::CommitsPerSecond
            | Metric::RollbacksPerSecond
            | Metric::InsertsPerSecond
            | Metric::UpdatesPerSecond
            | Metric::DeletesPerSecond => Unit::PerSecond,
            Metric::WalBytesPerSecond | Metric::TempBytesPerSecond => Unit::BytesPerSecond,
            Metric::ConnectionsActive
            | Metric::ConnectionsIdle
            | Metric::ConnectionsIdleInTransaction
            | Metric::ConnectionsWaiting
            | Metric::MaxConnections
            | Metric::Deadlocks => Unit::Count,
            Metric::CacheHitRatio => Unit::Ratio,
        }
    }

    pub fn parse(s: &str) -> Option<Metric> {
        Metric::ALL.into_iter().find(|m| m.as_str() == s)
    }
}

#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "ssr", derive(utoipa::ToSchema))]
#[serde(rename_all = "snake_case")]
pub enum Unit {
    Bytes,
    Seconds,
    /// Events a second (transactions, rows).
    PerSecond,
    BytesPerSecond,
    Count,
    /// A fraction from 0 to 1.
    Ratio,
}

/// What a caller asks for: `since` (RFC 3339, at most [`KEEP_DAYS`] ago;
/// default the last [`DEFAULT_WINDOW_MINUTES`]) and `step` in seconds.
#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "ssr", derive(utoipa::IntoParams))]
pub struct MetricsQuery {
    pub since: Option<DateTime<Utc>>,
    pub step: Option<i64>,
}

/// A checked [`MetricsQuery`].
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct Window {
    pub since: DateTime<Utc>,
    pub until: DateTime<Utc>,
    pub step: Duration,
}

impl MetricsQuery {
    /// The window asked for, or why it cannot be served.
    pub fn window(&self, now: DateTime<Utc>) -> Result<Window, ApiError> {
        let oldest = now - Duration::days(KEEP_DAYS);
        let since = self.since.unwrap_or(now - Duration::minutes(DEFAULT_WINDOW_MINUTES));
        if since < oldest || since >= now {
            return Err(ApiError::new(
                ErrorCode::Unprocessable,
                format!("since must lie within the last {KEEP_DAYS} days and before now"),
            ));
        }
        let step = crate::limits::in_range("step", self.step.unwrap_or(DEFAULT_STEP_SECONDS), 1, 86_400)?;
        let points = (now - since).num_seconds() / step + 1;
        if points > MAX_POINTS {
            return Err(ApiError::new(
                ErrorCode::Unprocessable,
                format!("that is {points} points a series; ask for at most {MAX_POINTS} with a longer step"),
            ));
        }
        Ok(Window { since, until: now, step: Duration::seconds(step) })
    }
}

/// One point: the largest value sampled in the step starting at `at`, so
/// a peak stays visible however long the step (for lag, the worst it was).
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "ssr", derive(utoipa::ToSchema))]
pub struct Point {
    pub at: DateTime<Utc>,
    pub value: f64,
}

#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "ssr", derive(utoipa::ToSchema))]
pub struct Series {
    pub metric: Metric,
    pub unit: Unit,
    /// Oldest first; steps without a sample are absent.
    pub points: Vec<Point>,
}

/// A database's measurements in a window.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "ssr", derive(utoipa::ToSchema))]
pub struct Metrics {
    pub name: String,
    pub since: DateTime<Utc>,
    pub until: DateTime<Utc>,
    pub step_seconds: i64,
    pub series: Vec<Series>,
}

/// One stored sample: the time and each metric measured then.
#[derive(Clone, Debug, PartialEq)]
pub struct Sample {
    pub at: DateTime<Utc>,
    pub values: Vec<(Metric, f64)>,
}

impl Metrics {
    /// Buckets `samples` (any order) into `window`'s steps, one series per
    /// metric that has a value in it.
    pub fn from_samples(name: &str, window: Window, samples: &[Sample]) -> Metrics {
        let step_ms = window.step.num_milliseconds().max(1);
        let start = window.since.timestamp_millis();
        let mut buckets: std::collections::BTreeMap<(Metric, i64), f64> = Default::default();
        for sample in samples.iter().filter(|s| s.at >= window.since && s.at <= window.until) {
            let bucket = (sample.at.timestamp_millis() - start) / step_ms;
            for (metric, value) in sample.values.iter().filter(|(_, v)| v.is_finite()) {
                let slot = buckets.entry((*metric, bucket)).or_insert(*value);
                *slot = slot.max(*value);
            }
        }
        let series = Metric::ALL
            .into_iter()
            .filter_map(|metric| {
                let points: Vec<Point> = buckets
                    .range((metric, i64::MIN)..=(metric, i64::MAX))
                    .filter_map(|((_, bucket), value)| {
                        let at = DateTime::from_timestamp_millis(start + bucket * step_ms)?;
                        Some(Point { at, value: *value })
                    })
                    .collect();
                (!points.is_empty()).then_some(Series { metric, unit: metric.unit(), points })
            })
            .collect();
        Metrics {
            name: name.to_string(),
            since: window.since,
            until: window.until,
            step_seconds: window.step.num_seconds(),
            series,
        }
    }

    pub fn series(&self, metric: Metric) -> Option<&Series> {
        self.series.iter().find(|s| s.metric == metric)
    }

    /// Takes in `newer` (asked for since a step of this answer, with the
    /// same step): its points replace this answer's from where they start,
    /// and points that fell out of a window starting at `since` go.
    pub fn merge(&mut self, newer: Metrics, since: DateTime<Utc>) {
        for fresh in newer.series {
            let first = fresh.points.first().map(|p| p.at);
            match self.series.iter_mut().find(|s| s.metric == fresh.metric) {
                Some(kept) => {
                    kept.points.retain(|p| first.is_none_or(|f| p.at < f));
                    kept.points.extend(fresh.points);
                }
                None => self.series.push(fresh),
            }
        }
        for series in &mut self.series {
            series.points.retain(|p| p.at >= since);
        }
        self.series.retain(|s| !s.points.is_empty());
        self.series.sort_by_key(|s| s.metric);
        self.since = since;
        self.until = self.until.max(newer.until);
    }
}

#[cfg(test)]
mod tests {
    use chrono::TimeZone;

    use super::*;

    fn now() -> DateTime<Utc> {
        Utc.with_ymd_and_hms(2026, 12, 2, 12, 0, 0).unwrap()
    }

    #[test]
    fn the_window_defaults_to_fifteen_minutes_in_ten_second_steps() {
        let w = MetricsQuery::default().window(now()).unwrap();
        assert_eq!(w.since, now() - Duration::minutes(15));
        assert_eq!(w.step, Duration::seconds(10));
    }

    #[test]
    fn windows_out_of_range_are_refused_with_the_reason() {
        let old = MetricsQuery { since: Some(now() - Duration::days(8)), step: None };
        assert!(old.window(now()).unwrap_err().message.contains("7 days"));
        let future = MetricsQuery { since: Some(now() + Duration::minutes(1)), step: None };
        assert_eq!(future.window(now()).unwrap_err().code, ErrorCode::Unprocessable);
        let fine = MetricsQuery { since: Some(now() - Duration::days(1)), step: Some(1) };
        assert!(fine.window(now()).unwrap_err().message.contains("at most 2000"));
        for step in [0, -5, 86_401] {
            let q = MetricsQuery { since: None, step: Some(step) };
            assert!(q.window(now()).unwrap_err().message.contains("step"), "{step}");
        }
        assert!(MetricsQuery { since: Some(now() - Duration::days(7)), step: Some(3600) }.window(now()).is_ok());
    }

    #[test]
    fn a_newer_answer_replaces_the_tail_and_the_window_slides() {
        let at = |s: i64| now() - Duration::seconds(s);
        let series = |metric, points: &[(i64, f64)]| Series {
            metric,
            unit: metric.unit(),
            points: points.iter().map(|(s, v)| Point { at: at(*s), value: *v }).collect(),
        };
        let answer = |since: i64, series: Vec<Series>| Metrics {
            name: "r".into(),
            since: at(since),
            until: at(0),
            step_seconds: 10,
            series,
        };
        let mut kept = answer(60, vec![series(Metric::CommitsPerSecond, &[(60, 1.0), (50, 2.0), (40, 3.0)])]);
        let newer = answer(
            40,
            vec![series(Metric::CommitsPerSecond, &[(40, 4.0), (30, 5.0)]), series(Metric::SizeBytes, &[(30, 9.0)])],
        );
        kept.merge(newer, at(50));
        let values = |m: Metric| kept.series(m).unwrap().points.iter().map(|p| p.value).collect::<Vec<_>>();
        assert_eq!(values(Metric::CommitsPerSecond), vec![2.0, 4.0, 5.0], "the step at 40 s is the newer one's");
        assert_eq!(values(Metric::SizeBytes), vec![9.0]);
        assert_eq!(kept.since, at(50));
    }

    #[test]
    fn samples_become_the_worst_value_of_each_step() {
        let w = Window { since: now() - Duration::seconds(60), until: now(), step: Duration::seconds(20) };
        let at = |s: i64| now() - Duration::seconds(s);
        let samples = vec![
            Sample { at: at(55), values: vec![(Metric::LagBytes, 10.0), (Metric::LagSeconds, 1.0)] },
            Sample { at: at(45), values: vec![(Metric::LagBytes, 30.0), (Metric::LagSeconds, 0.5)] },
            Sample { at: at(5), values: vec![(Metric::LagBytes, 0.0)] },
            // Outside the window: left out.
            Sample { at: at(90), values: vec![(Metric::LagBytes, 99.0)] },
        ];
        let m = Metrics::from_samples("r", w, &samples);
        let bytes = m.series(Metric::LagBytes).unwrap();
        assert_eq!(bytes.unit, Unit::Bytes);
        assert_eq!(
            bytes.points,
            vec![Point { at: at(60), value: 30.0 }, Point { at: at(20), value: 0.0 }],
            "the empty middle step is absent"
        );
        assert_eq!(m.series(Metric::LagSeconds).unwrap().points, vec![Point { at: at(60), value: 1.0 }]);
        assert_eq!(m.step_seconds, 20);
    }
}
