//! The cheap statistics a database is sampled from every few seconds, and
//! how two readings become a [`Sample`]: gauges as read, counters as rates
//! over the time between the readings. A reading from another run of the
//! server (a restart zeroes its counters) or with a counter gone backwards
//! (statistics were reset) yields no rates rather than nonsense.

use app::metrics::{Metric, Sample};
use chrono::{DateTime, Utc};
use sqlx::postgres::PgConnection;
use sqlx::Row;

use crate::provisioner::probe::sql_err;
use crate::provisioner::ProvisionError;

/// One reading of a database's statistics.
#[derive(Clone, Debug, PartialEq)]
pub struct Counters {
    pub at: DateTime<Utc>,
    /// When the server started (its counters count from then).
    pub started: f64,
    pub commits: i64,
    pub rollbacks: i64,
    pub blocks_hit: i64,
    pub blocks_read: i64,
    pub inserted: i64,
    pub updated: i64,
    pub deleted: i64,
    pub deadlocks: i64,
    pub temp_bytes: i64,
    /// The WAL position written (a primary) or replayed (a follower).
    pub wal_position: u64,
    pub size_bytes: i64,
    pub active: i64,
    pub idle: i64,
    pub idle_in_transaction: i64,
    pub waiting: i64,
    pub max_connections: i64,
}

/// Reads `conn`'s database's counters and the server's client sessions
/// (pgfleet's own left out).
pub async fn read(conn: &mut PgConnection) -> Result<Counters, ProvisionError> {
    let row = sqlx::query(
        "SELECT d.xact_commit AS commits, d.xact_rollback AS rollbacks, d.blks_hit, d.blks_read, \
                d.tup_inserted, d.tup_updated, d.tup_deleted, d.deadlocks, d.temp_bytes, \
                pg_database_size(current_database()) AS size_bytes, \
                current_setting('max_connections')::int8 AS max_connections, \
                extract(epoch FROM pg_postmaster_start_time())::float8 AS started, \
                (CASE WHEN pg_is_in_recovery() THEN pg_last_wal_replay_lsn() \
                      ELSE pg_current_wal_lsn() END)::text AS lsn, \
                a.active, a.idle, a.idle_in_transaction, a.waiting \
         FROM pg_stat_database d, \
              (SELECT count(*) FILTER (WHERE state = 'active' AND wait_event_type IS DISTINCT FROM 'Lock') AS active, \
                      count(*) FILTER (WHERE state = 'idle') AS idle, \
                      count(*) FILTER (WHERE state IN ('idle in transaction', 'idle in transaction (aborted)')) \
                          AS idle_in_transaction, \
                      count(*) FILTER (WHERE state = 'active' AND wait_event_type = 'Lock') AS waiting \
               FROM pg_stat_activity \
               WHERE backend_type = 'client backend' AND application_name <> 'pgfleet') a \
         WHERE d.datname = current_database()",
    )
    .fetch_one(conn)
    .await
    .map_err(sql_err)?;
    let int = |col: &str| -> Result<i64, ProvisionError> {
        Ok(row.try_get::<Option<i64>, _>(col).map_err(sql_err)?.unwrap_or(0))
    };
    let lsn: Option<String> = row.try_get("lsn").map_err(sql_err)?;
    Ok(Counters {
        at: Utc::now(),
        started: row.try_get::<Option<f64>, _>("started").map_err(sql_err)?.unwrap_or(0.0),
        commits: int("commits")?,
        rollbacks: int("rollbacks")?,
        blocks_hit: int("blks_hit")?,
        blocks_read: int("blks_read")?,
        inserted: int("tup_inserted")?,
        updated: int("tup_updated")?,
        deleted: int("tup_deleted")?,
        deadlocks: int("deadlocks")?,
        temp_bytes: int("temp_bytes")?,
        wal_position: lsn.as_deref().and_then(app::model::parse_lsn).unwrap_or(0),
        size_bytes: int("size_bytes")?,
        active: int("active")?,
        idle: int("idle")?,
        idle_in_transaction: int("idle_in_transaction")?,
        waiting: int("waiting")?,
        max_connections: int("max_connections")?,
    })
}

/// The sample `now` makes after `before` (the reading before it, if any).
pub fn sample(before: Option<&Counters>, now: &Counters) -> Sample {
    let mut values = vec![
        (Metric::ConnectionsActive, now.active as f64),
        (Metric::ConnectionsIdle, now.idle as f64),
        (Metric::ConnectionsIdleInTransaction, now.idle_in_transaction as f64),
        (Metric::ConnectionsWaiting, now.waiting as f64),
        (Metric::MaxConnections, now.max_connections as f64),
        (Metric::SizeBytes, now.size_bytes as f64),
    ];
    let comparable = before.filter(|b| b.started == now.started && now.at > b.at);
    if let Some(before) = comparable {
        let seconds = (now.at - before.at).num_milliseconds() as f64 / 1000.0;
        // None when the counter went backwards (its statistics were reset).
        let delta = |old: i64, new: i64| (new >= old).then(|| (new - old) as f64);
        let rates = [
            (Metric::CommitsPerSecond, before.commits, now.commits),
            (Metric::RollbacksPerSecond, before.rollbacks, now.rollbacks),
            (Metric::InsertsPerSecond, before.inserted, now.inserted),
            (Metric::UpdatesPerSecond, before.updated, now.updated),
            (Metric::DeletesPerSecond, before.deleted, now.deleted),
            (Metric::TempBytesPerSecond, before.temp_bytes, now.temp_bytes),
        ];
        for (metric, old, new) in rates {
            if let Some(d) = delta(old, new) {
                values.push((metric, d / seconds));
            }
        }
        if now.wal_position >= before.wal_position {
            values.push((Metric::WalBytesPerSecond, (now.wal_position - before.wal_position) as f64 / seconds));
        }
        if let Some(d) = delta(before.deadlocks, now.deadlocks) {
            values.push((Metric::Deadlocks, d));
        }
        // Of the blocks asked for in the interval; an idle interval has no
        // ratio rather than a perfect one.
        if let (Some(hit), Some(read)) =
            (delta(before.blocks_hit, now.blocks_hit), delta(before.blocks_read, now.blocks_read))
        {
            if hit + read > 0.0 {
                values.push((Metric::CacheHitRatio, hit / (hit + read)));
            }
        }
    }
    Sample { at: now.at, values }
}

#[cfg(test)]
mod tests {
    use chrono::Duration;

    use super::*;

    fn reading(at: DateTime<Utc>) -> Counters {
        Counters {
            at,
            started: 1000.0,
            commits: 100,
            rollbacks: 2,
            blocks_hit: 900,
            blocks_read: 100,
            inserted: 10,
            updated: 5,
            deleted: 1,
            deadlocks: 0,
            temp_bytes: 0,
            wal_position: 1 << 20,
            size_bytes: 8 << 20,
            active: 1,
            idle: 3,
            idle_in_transaction: 1,
            waiting: 0,
            max_connections: 20,
        }
    }

    fn value(s: &Sample, m: Metric) -> Option<f64> {
        s.values.iter().find(|(k, _)| *k == m).map(|(_, v)| *v)
    }

    #[test]
    fn the_first_reading_gives_gauges_only() {
        let s = sample(None, &reading(Utc::now()));
        assert_eq!(value(&s, Metric::ConnectionsIdle), Some(3.0));
        assert_eq!(value(&s, Metric::MaxConnections), Some(20.0));
        assert_eq!(value(&s, Metric::SizeBytes), Some((8 << 20) as f64));
        assert_eq!(value(&s, Metric::CommitsPerSecond), None);
        assert_eq!(value(&s, Metric::CacheHitRatio), None);
    }

    #[test]
    fn counters_become_rates_over_the_interval() {
        let t = Utc::now();
        let a = reading(t);
        let mut b = reading(t + Duration::seconds(10));
        b.commits += 500;
        b.inserted += 1000;
        b.deadlocks += 1;
        b.wal_position += 10 << 20;
        b.blocks_hit += 99;
        b.blocks_read += 1;
        let s = sample(Some(&a), &b);
        assert_eq!(value(&s, Metric::CommitsPerSecond), Some(50.0));
        assert_eq!(value(&s, Metric::RollbacksPerSecond), Some(0.0));
        assert_eq!(value(&s, Metric::InsertsPerSecond), Some(100.0));
        assert_eq!(value(&s, Metric::WalBytesPerSecond), Some((1 << 20) as f64));
        assert_eq!(value(&s, Metric::Deadlocks), Some(1.0), "a count, not a rate");
        assert_eq!(value(&s, Metric::CacheHitRatio), Some(0.99), "of the interval's blocks, not since start");
        assert_eq!(s.at, b.at);
    }

    #[test]
    fn a_restart_or_a_reset_gives_no_rates() {
        let t = Utc::now();
        let a = reading(t);
        let mut restarted = reading(t + Duration::seconds(10));
        restarted.started = 2000.0;
        restarted.commits = 3;
        assert_eq!(value(&sample(Some(&a), &restarted), Metric::CommitsPerSecond), None);
        let mut reset = reading(t + Duration::seconds(10));
        reset.commits = 3;
        reset.inserted += 20;
        let s = sample(Some(&a), &reset);
        assert_eq!(value(&s, Metric::CommitsPerSecond), None, "a counter gone backwards");
        assert_eq!(value(&s, Metric::InsertsPerSecond), Some(2.0), "the others still count");
        let idle = sample(Some(&a), &reading(t + Duration::seconds(10)));
        assert_eq!(value(&idle, Metric::CacheHitRatio), None, "no blocks asked for: no ratio");
        assert_eq!(value(&sample(Some(&a), &reading(t)), Metric::CommitsPerSecond), None, "no time passed");
    }
}
