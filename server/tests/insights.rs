//! Insights against real PostgreSQL under pgbench: the sampled rates and
//! connection counts agree with what the server's statistics say read
//! directly, the history outlives a restart of pgfleet, and the metrics
//! route serves every series in the shape its OpenAPI document gives.

mod common;

use std::time::{Duration, Instant};

use app::metrics::{Metric, Metrics, MetricsQuery};
use app::model::Phase;
use chrono::Utc;
use common::pg::{exec, pgbench_load, scalar, TestEngine};
use reqwest::Method;
use sqlx::Connection;

const READY: Duration = Duration::from_secs(120);

fn values(m: &Metrics, metric: Metric, after: chrono::DateTime<Utc>) -> Vec<f64> {
    m.series(metric).map(|s| s.points.iter().filter(|p| p.at >= after).map(|p| p.value).collect()).unwrap_or_default()
}

async fn metrics_since(t: &TestEngine, name: &str, since: chrono::DateTime<Utc>) -> Metrics {
    let window = MetricsQuery { since: Some(since), step: Some(1) }.window(Utc::now()).unwrap();
    t.engine.metrics(name, window).await.unwrap()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn sampled_rates_and_connections_agree_with_the_server_and_outlive_a_restart() {
    let t = TestEngine::start().await;
    t.create_named("busy").await;
    t.wait_for("busy", Phase::Available, READY).await;
    let url = t.engine.credentials("busy").await.unwrap();
    let _load = pgbench_load(&url, 1).await;
    let mut watcher = sqlx::PgConnection::connect(&url).await.unwrap();
    // One session held idle in a transaction.
    let mut held = sqlx::PgConnection::connect(&url).await.unwrap();
    exec(&mut held, "BEGIN; SELECT 1").await;

    let commits = "SELECT xact_commit FROM pg_stat_database WHERE datname = current_database()";
    let (c0, t0) = (scalar(&mut watcher, commits).await, Utc::now());
    // Six samples taken wholly after t0 (the sampler runs every second here).
    let deadline = Instant::now() + Duration::from_secs(60);
    let sampled = loop {
        let m = metrics_since(&t, "busy", t0).await;
        let rates = values(&m, Metric::CommitsPerSecond, t0 + chrono::Duration::seconds(1));
        if rates.len() >= 6 {
            break rates;
        }
        assert!(Instant::now() < deadline, "too few samples: {m:?}");
        tokio::time::sleep(Duration::from_millis(200)).await;
    };
    let (c1, t1) = (scalar(&mut watcher, commits).await, Utc::now());
    let direct = (c1 - c0) as f64 / ((t1 - t0).num_milliseconds() as f64 / 1000.0);
    let mean = sampled.iter().sum::<f64>() / sampled.len() as f64;
    assert!(direct > 50.0, "pgbench commits about 100 a second: {direct}");
    assert!((mean - direct).abs() / direct < 0.3, "sampled {mean:.1} tps, read directly {direct:.1} ({sampled:?})");

    // The latest sample's sessions by state, against pg_stat_activity.
    let sessions = "SELECT count(*) FROM pg_stat_activity WHERE backend_type = 'client backend' \
                    AND application_name <> 'pgfleet'";
    let deadline = Instant::now() + Duration::from_secs(30);
    loop {
        let since = Utc::now();
        let m = loop {
            let m = metrics_since(&t, "busy", since - chrono::Duration::seconds(1)).await;
            if m.series(Metric::ConnectionsIdle).is_some_and(|s| s.points.iter().any(|p| p.at >= since)) {
                break m;
            }
            tokio::time::sleep(Duration::from_millis(100)).await;
        };
        let last = |metric| *values(&m, metric, since).last().unwrap_or(&-1.0);
        let sampled_total = last(Metric::ConnectionsActive)
            + last(Metric::ConnectionsIdle)
            + last(Metric::ConnectionsIdleInTransaction)
            + last(Metric::ConnectionsWaiting);
        let direct = scalar(&mut watcher, sessions).await as f64;
        let in_transaction = last(Metric::ConnectionsIdleInTransaction);
        if sampled_total == direct && in_transaction == 1.0 {
            assert_eq!(last(Metric::MaxConnections), 20.0, "the default plan's limit");
            assert!(direct >= 4.0, "pgbench's two, the watcher and the held one: {direct}");
            break;
        }
        assert!(
            Instant::now() < deadline,
            "sampled {sampled_total} sessions ({in_transaction} idle in transaction), {direct} read directly"
        );
    }
    let size = values(&metrics_since(&t, "busy", t0).await, Metric::SizeBytes, t0);
    assert!(size.iter().all(|s| *s > 10e6), "pgbench's tables at scale 1 are ~16 MB: {size:?}");
    let hits = values(&metrics_since(&t, "busy", t0).await, Metric::CacheHitRatio, t0);
    assert!(!hits.is_empty() && hits.iter().all(|h| (0.0..=1.0).contains(h)), "{hits:?}");
    drop(held);

    // A restart of pgfleet keeps what was sampled.
    let before = metrics_since(&t, "busy", t0).await;
    let (home, config) = t.crash().await;
    let t = TestEngine::start_in(home, config).await;
    let after = metrics_since(&t, "busy", t0).await;
    let kept = values(&after, Metric::CommitsPerSecond, t0);
    assert!(kept.len() >= values(&before, Metric::CommitsPerSecond, t0).len(), "{after:?}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_metrics_route_serves_every_sampled_series_as_documented() {
    let app = common::spawn_app().await;
    let documented = common::openapi::Documented::fetch(&app).await;
    let r = app.authed(Method::POST, "/api/v1/databases").json(&serde_json::json!({"name": "shop"})).send().await;
    assert_eq!(r.unwrap().status(), 202);
    app.wait_phase("shop", Phase::Available).await;
    let deadline = Instant::now() + Duration::from_secs(60);
    let body = loop {
        let r = app.authed(Method::GET, "/api/v1/databases/shop/metrics?step=1").send().await.unwrap();
        assert_eq!(r.status(), 200);
        let body: serde_json::Value = r.json().await.unwrap();
        let m: Metrics = serde_json::from_value(body.clone()).unwrap();
        if m.series(Metric::CommitsPerSecond).is_some() {
            break body;
        }
        assert!(Instant::now() < deadline, "no rates sampled: {body}");
        tokio::time::sleep(Duration::from_millis(200)).await;
    };
    documented.conforms("Metrics", &body).unwrap();
    let mut wrong = body.clone();
    wrong["series"][0]["metric"] = "tps".into();
    assert!(documented.conforms("Metrics", &wrong).is_err(), "the check can fail");
    let m: Metrics = serde_json::from_value(body).unwrap();
    for metric in [Metric::ConnectionsIdle, Metric::MaxConnections, Metric::SizeBytes, Metric::WalBytesPerSecond] {
        assert!(m.series(metric).is_some(), "{metric:?} in {m:?}");
    }
    assert!(m.series(Metric::LagBytes).is_none(), "a primary has no lag");

    // Past a day, samples are thinned to about one in five minutes; past
    // seven days they are gone.
    let store = app.store();
    let now = Utc::now();
    let day_ago = now - chrono::Duration::days(1);
    let old: Vec<chrono::DateTime<Utc>> = (0..60)
        .map(|i| chrono::DateTime::from_timestamp(day_ago.timestamp() / 300 * 300 - 3600 + i * 10, 0).unwrap())
        .chain([now - chrono::Duration::days(8)])
        .collect();
    for at in &old {
        let sample = app::metrics::Sample { at: *at, values: vec![(Metric::SizeBytes, 1.0)] };
        store.append_sample("shop", &sample).await.unwrap();
    }
    store.prune_samples_at(now).await.unwrap();
    let window =
        app::metrics::Window { since: now - chrono::Duration::days(9), until: now, step: chrono::Duration::seconds(1) };
    let left: Vec<_> =
        store.samples("shop", &window).await.unwrap().into_iter().filter(|s| s.at < day_ago).map(|s| s.at).collect();
    // Ten minutes of 10 s samples starting on a five-minute mark: the
    // first 15 s of each of its two five-minute slots remain.
    assert_eq!(left.len(), 4, "{left:?}");
    assert!(left.iter().all(|at| at.timestamp() % 300 < 15), "{left:?}");
    let last_day = app::metrics::Window { since: day_ago, until: now, step: chrono::Duration::seconds(1) };
    assert!(!store.samples("shop", &last_day).await.unwrap().is_empty(), "the last day is whole");
    app.shutdown().await;
}
