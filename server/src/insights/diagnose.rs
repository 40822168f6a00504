//! `pg:diagnose`: what is read from a database ([`observe`]) and how it is
//! judged ([`judge`], a pure function of the observation, unit-tested on
//! its own). Every threshold is a constant here and in the README.

use app::diagnose::{Check, Finding, Sizes, Status};
use app::format;
use app::model::{Archiving, Lag};
use sqlx::postgres::PgConnection;
use sqlx::Row;

use super::{sizes, InsightError};
use crate::provisioner::probe::sql_err;

/// Connections: yellow from this share of `max_connections`, red from the next.
pub const CONNECTIONS_YELLOW: f64 = 0.7;
pub const CONNECTIONS_RED: f64 = 0.9;
/// An active query running longer than this (seconds).
pub const LONG_QUERY_YELLOW: f64 = 5.0 * 60.0;
pub const LONG_QUERY_RED: f64 = 30.0 * 60.0;
/// A session idle in a transaction longer than this (seconds).
pub const IDLE_IN_TRANSACTION_YELLOW: f64 = 60.0;
pub const IDLE_IN_TRANSACTION_RED: f64 = 10.0 * 60.0;
/// Cache hit ratio of the user's tables and their indexes (as
/// `pg:cache-hit`: the catalogs a new database reads once would make a
/// fresh one look cold) below these; judged only past
/// [`CACHE_MIN_BLOCKS`] reads.
pub const CACHE_YELLOW: f64 = 0.99;
pub const CACHE_RED: f64 = 0.95;
pub const CACHE_MIN_BLOCKS: i64 = 1000;
/// A query waiting on a lock: any is yellow, this long (seconds) red.
pub const BLOCKED_RED: f64 = 60.0;
/// Tables smaller than this are not judged for bloat.
pub const BLOAT_MIN_TABLE: i64 = 1 << 20;
/// Dead rows' share of a table above this is yellow; red when the dead
/// rows also hold [`BLOAT_RED_BYTES`].
pub const BLOAT_YELLOW: f64 = 0.5;
pub const BLOAT_RED_BYTES: i64 = 1 << 30;
/// Unused indexes smaller than this are not worth a word.
pub const UNUSED_INDEX_MIN: i64 = 1 << 20;
/// A follower behind by this many bytes or seconds.
pub const LAG_YELLOW_BYTES: u64 = 16 << 20;
pub const LAG_YELLOW_SECONDS: f64 = 60.0;
pub const LAG_RED_BYTES: u64 = 1 << 30;
pub const LAG_RED_SECONDS: f64 = 600.0;
/// WAL a replication slot holds back.
pub const SLOT_YELLOW_BYTES: i64 = 256 << 20;
pub const SLOT_RED_BYTES: i64 = 4 << 30;
/// Transaction ID age: yellow past this multiple of
/// `autovacuum_freeze_max_age` (autovacuum is not keeping up), red past
/// [`WRAPAROUND_RED`] (PostgreSQL stops taking writes near 2^31).
pub const WRAPAROUND_YELLOW: f64 = 1.25;
pub const WRAPAROUND_RED: i64 = 1_500_000_000;

/// What one diagnosis reads from the server.
#[derive(Clone, Debug, Default, PartialEq)]
pub struct Observation {
    pub connections: i64,
    pub max_connections: i64,
    /// The longest-running active query: pid and seconds.
    pub longest_query: Option<(i32, f64)>,
    /// The session longest idle in a transaction: pid and seconds.
    pub longest_idle_in_transaction: Option<(i32, f64)>,
    pub blocks_hit: i64,
    pub blocks_read: i64,
    /// Sessions waiting on a lock, and the longest wait: pid and seconds.
    pub blocked: i64,
    pub longest_blocked: Option<(i32, f64)>,
    pub sizes: Sizes,
    /// Each replication slot: name, in use, WAL bytes it holds back.
    pub slots: Vec<(String, bool, i64)>,
    pub xid_age: i64,
    pub freeze_max_age: i64,
}

/// What pgfleet already knows of the database: whether it follows
/// another, how far behind, how its archiving stands.
#[derive(Clone, Debug, Default, PartialEq)]
pub struct Known {
    pub follower: bool,
    pub lag: Option<Lag>,
    pub archiving: Option<Archiving>,
}

/// Reads everything [`judge`] needs; pgfleet's own sessions are left out
/// of the session checks but count against the connection limit.
pub async fn observe(conn: &mut PgConnection) -> Result<Observation, InsightError> {
    let row = sqlx::query(
        "WITH s AS (SELECT * FROM pg_stat_activity WHERE backend_type = 'client backend' AND pid <> pg_backend_pid()), \
              mine AS (SELECT * FROM s WHERE NOT (application_name = 'pgfleet' AND usename = current_user)) \
         SELECT (SELECT count(*) FROM s) + 1 AS connections, \
                current_setting('max_connections')::int8 AS max_connections, \
                (SELECT pid FROM mine WHERE state = 'active' ORDER BY query_start LIMIT 1) AS long_pid, \
                (SELECT extract(epoch FROM now() - min(query_start))::float8 FROM mine WHERE state = 'active') AS long_s, \
                (SELECT pid FROM mine WHERE state LIKE 'idle in transaction%' ORDER BY state_change LIMIT 1) AS idle_pid, \
                (SELECT extract(epoch FROM now() - min(state_change))::float8 FROM mine \
                    WHERE state LIKE 'idle in transaction%') AS idle_s, \
                (SELECT count(*) FROM mine WHERE wait_event_type = 'Lock') AS blocked, \
                (SELECT pid FROM mine WHERE wait_event_type = 'Lock' ORDER BY query_start LIMIT 1) AS blocked_pid, \
                (SELECT extract(epoch FROM now() - min(query_start))::float8 FROM mine \
                    WHERE wait_event_type = 'Lock') AS blocked_s, \
                io.hit AS blks_hit, io.read AS blks_read, \
                (SELECT max(age(datfrozenxid))::int8 FROM pg_database) AS xid_age, \
                current_setting('autovacuum_freeze_max_age')::int8 AS freeze_max_age \
         FROM (SELECT coalesce(sum(heap_blks_hit + coalesce(idx_blks_hit, 0) + coalesce(toast_blks_hit, 0) \
                                   + coalesce(tidx_blks_hit, 0)), 0)::int8 AS hit, \
                      coalesce(sum(heap_blks_read + coalesce(idx_blks_read, 0) + coalesce(toast_blks_read, 0) \
                                   + coalesce(tidx_blks_read, 0)), 0)::int8 AS read \
               FROM pg_statio_user_tables) io"
    )
    .fetch_one(&mut *conn)
    .await
    .map_err(sql_err)?;
    let pair = |pid: &str, secs: &str| -> Result<Option<(i32, f64)>, InsightError> {
        let pid: Option<i32> = row.try_get(pid).map_err(sql_err)?;
        let secs: Option<f64> = row.try_get(secs).map_err(sql_err)?;
        Ok(pid.zip(secs))
    };
    let slots = sqlx::query(
        "SELECT slot_name::text AS name, active, \
                pg_wal_lsn_diff(CASE WHEN pg_is_in_recovery() THEN pg_last_wal_replay_lsn() \
                    ELSE pg_current_wal_lsn() END, restart_lsn)::int8 AS held \
         FROM pg_replication_slots WHERE restart_lsn IS NOT NULL ORDER BY held DESC",
    )
    .fetch_all(&mut *conn)
    .await
    .map_err(sql_err)?
    .iter()
    .map(|r| {
        Ok((
            r.try_get("name").map_err(sql_err)?,
            r.try_get("active").map_err(sql_err)?,
            r.try_get::<Option<i64>, _>("held").map_err(sql_err)?.unwrap_or(0),
        ))
    })
    .collect::<Result<Vec<_>, InsightError>>()?;
    Ok(Observation {
        connections: row.try_get("connections").map_err(sql_err)?,
        max_connections: row.try_get("max_connections").map_err(sql_err)?,
        longest_query: pair("long_pid", "long_s")?,
        longest_idle_in_transaction: pair("idle_pid", "idle_s")?,
        blocks_hit: row.try_get("blks_hit").map_err(sql_err)?,
        blocks_read: row.try_get("blks_read").map_err(sql_err)?,
        blocked: row.try_get("blocked").map_err(sql_err)?,
        longest_blocked: pair("blocked_pid", "blocked_s")?,
        sizes: sizes::read(conn, i64::from(i32::MAX)).await?,
        slots,
        xid_age: row.try_get::<Option<i64>, _>("xid_age").map_err(sql_err)?.unwrap_or(0),
        freeze_max_age: row.try_get("freeze_max_age").map_err(sql_err)?,
    })
}

/// Every check's finding, in [`Check`]'s order.
pub fn judge(o: &Observation, known: &Known) -> Vec<Finding> {
    vec![
        connections(o),
        long_queries(o),
        idle_in_transaction(o),
        cache_hit(o),
        blocked(o),
        bloat(o),
        unused_indexes(o),
        follower_lag(known),
        archiving(known),
        slots(o),
        wraparound(o),
    ]
}

fn finding(check: Check, status: Status, value: String, advice: &str) -> Finding {
    let advice = matches!(status, Status::Yellow | Status::Red).then(|| advice.to_string());
    Finding { check, status, value, advice }
}

/// Worse of two thresholds: red past `red`, yellow past `yellow`.
fn over<T: PartialOrd>(value: T, yellow: T, red: T) -> Status {
    if value >= red {
        Status::Red
    } else if value >= yellow {
        Status::Yellow
    } else {
        Status::Green
    }
}

fn connections(o: &Observation) -> Finding {
    let share = if o.max_connections > 0 { o.connections as f64 / o.max_connections as f64 } else { 0.0 };
    finding(
        Check::Connections,
        over(share, CONNECTIONS_YELLOW, CONNECTIONS_RED),
        format!("{} of {} ({:.0}%)", o.connections, o.max_connections, share * 100.0),
        "Close idle connections or put a pooler (PgBouncer) in front; a larger plan allows more.",
    )
}

fn long_queries(o: &Observation) -> Finding {
    let (status, value) = match o.longest_query {
        Some((pid, s)) => {
            (over(s, LONG_QUERY_YELLOW, LONG_QUERY_RED), format!("longest {} (pid {pid})", format::duration(s)))
        }
        None => (Status::Green, "none running".into()),
    };
    finding(
        Check::LongQueries,
        status,
        value,
        "See it with `pgfleet ps`; cancel it with `pgfleet kill NAME PID` if it is stuck.",
    )
}

fn idle_in_transaction(o: &Observation) -> Finding {
    let (status, value) = match o.longest_idle_in_transaction {
        Some((pid, s)) => (
            over(s, IDLE_IN_TRANSACTION_YELLOW, IDLE_IN_TRANSACTION_RED),
            format!("longest {} (pid {pid})", format::duration(s)),
        ),
        None => (Status::Green, "none".into()),
    };
    finding(
        Check::IdleInTransaction,
        status,
        value,
        "An open transaction holds locks and keeps VACUUM from cleaning; commit it, or end it with `pgfleet kill NAME PID --force`.",
    )
}

fn cache_hit(o: &Observation) -> Finding {
    let reads = o.blocks_hit.max(0) + o.blocks_read.max(0);
    if reads < CACHE_MIN_BLOCKS {
        return finding(Check::CacheHit, Status::Skipped, format!("{reads} blocks read, too few to judge"), "");
    }
    let ratio = o.blocks_hit.max(0) as f64 / reads as f64;
    let status = if ratio < CACHE_RED {
        Status::Red
    } else if ratio < CACHE_YELLOW {
        Status::Yellow
    } else {
        Status::Green
    };
    finding(
        Check::CacheHit,
        status,
        format!("{:.1}%", ratio * 100.0),
        "The working set does not fit in memory: add indexes for sequential scans on large tables, or move to a larger plan.",
    )
}

fn blocked(o: &Observation) -> Finding {
    let (status, value) = match o.longest_blocked {
        Some((pid, s)) if o.blocked > 0 => (
            if s >= BLOCKED_RED { Status::Red } else { Status::Yellow },
            format!("{} waiting, longest {} (pid {pid})", o.blocked, format::duration(s)),
        ),
        _ => (Status::Green, "none".into()),
    };
    finding(
        Check::Blocked,
        status,
        value,
        "See who holds the lock with `pgfleet locks`; end the blocker if it is stuck.",
    )
}

fn bloat(o: &Observation) -> Finding {
    let worst = o
        .sizes
        .tables
        .iter()
        .filter(|t| t.table_bytes >= BLOAT_MIN_TABLE)
        .map(|t| (t, t.bloat_bytes as f64 / t.table_bytes as f64))
        .max_by(|a, b| a.1.total_cmp(&b.1));
    let (status, value) = match worst {
        Some((t, share)) if share > BLOAT_YELLOW => (
            if t.bloat_bytes >= BLOAT_RED_BYTES { Status::Red } else { Status::Yellow },
            format!("{} is {:.0}% dead rows (about {})", t.name, share * 100.0, format::bytes(t.bloat_bytes as u64)),
        ),
        Some((t, share)) => (Status::Green, format!("at most {:.0}% ({})", share * 100.0, t.name)),
        None => (Status::Green, "no table over 1 MB".into()),
    };
    finding(
        Check::Bloat,
        status,
        value,
        "Run VACUUM on it, and check that autovacuum is enabled for it and not blocked.",
    )
}

fn unused_indexes(o: &Observation) -> Finding {
    let unused: Vec<_> = o.sizes.indexes.iter().filter(|i| i.unused && i.bytes >= UNUSED_INDEX_MIN).collect();
    let (status, value) = match unused.as_slice() {
        [] => (Status::Green, "none over 1 MB".into()),
        list => {
            let bytes: i64 = list.iter().map(|i| i.bytes).sum();
            let names: Vec<&str> = list.iter().take(3).map(|i| i.name.as_str()).collect();
            let more = if list.len() > 3 { format!(" and {} more", list.len() - 3) } else { String::new() };
            (Status::Yellow, format!("{} ({}{more}), {}", list.len(), names.join(", "), format::bytes(bytes as u64)))
        }
    };
    finding(
        Check::UnusedIndexes,
        status,
        value,
        "Never scanned since statistics were reset, yet every write updates them: drop them if no query needs them.",
    )
}

fn follower_lag(k: &Known) -> Finding {
    if !k.follower {
        return finding(Check::FollowerLag, Status::Skipped, "not a follower".into(), "");
    }
    let Some(lag) = &k.lag else {
        return finding(Check::FollowerLag, Status::Skipped, "not measured yet".into(), "");
    };
    let status = if lag.bytes >= LAG_RED_BYTES || lag.seconds >= LAG_RED_SECONDS {
        Status::Red
    } else if lag.bytes >= LAG_YELLOW_BYTES || lag.seconds >= LAG_YELLOW_SECONDS {
        Status::Yellow
    } else {
        Status::Green
    };
    finding(
        Check::FollowerLag,
        status,
        format::lag(lag),
        "The follower cannot keep up: check its source's write rate and the follower's disk, or give it a larger plan.",
    )
}

fn archiving(k: &Known) -> Finding {
    let Some(a) = &k.archiving else {
        return finding(Check::Archiving, Status::Skipped, "not archived here".into(), "");
    };
    let (status, value) = match (&a.failing, &a.warning) {
        (Some(f), _) => (Status::Red, format!("failing: {}", format::short_reason(f))),
        (None, Some(w)) => (Status::Yellow, w.clone()),
        (None, None) => (Status::Green, format!("{} segment(s) waiting", a.pending_segments)),
    };
    finding(
        Check::Archiving,
        status,
        value,
        "Until WAL is archived, forks from a moment and restores cannot reach past it; see the server's log for pgBackRest's error.",
    )
}

fn slots(o: &Observation) -> Finding {
    let (status, value) = match o.slots.first() {
        None => (Status::Green, "none".into()),
        Some((name, active, held)) => (
            over(*held, SLOT_YELLOW_BYTES, SLOT_RED_BYTES),
            format!(
                "{name} holds back {}{}",
                format::bytes((*held).max(0) as u64),
                if *active { "" } else { " (no one reads it)" }
            ),
        ),
    };
    finding(
        Check::ReplicationSlots,
        status,
        value,
        "A slot keeps WAL until its reader takes it; drop slots no follower uses, or fix the follower that fell behind.",
    )
}

fn wraparound(o: &Observation) -> Finding {
    let yellow = (o.freeze_max_age as f64 * WRAPAROUND_YELLOW) as i64;
    let status = over(o.xid_age, yellow.min(WRAPAROUND_RED), WRAPAROUND_RED);
    finding(
        Check::Wraparound,
        status,
        format!("oldest unfrozen transaction is {} old", o.xid_age),
        "Autovacuum is not freezing fast enough: look for long transactions or VACUUM held up by locks, then run VACUUM (FREEZE).",
    )
}

#[cfg(test)]
mod tests {
    use super::*;
    use app::diagnose::{IndexSize, TableSize};

    fn calm() -> Observation {
        Observation {
            connections: 3,
            max_connections: 20,
            blocks_hit: 99_900,
            blocks_read: 100,
            xid_age: 1000,
            freeze_max_age: 200_000_000,
            ..Default::default()
        }
    }

    fn status(o: &Observation, k: &Known, check: Check) -> Status {
        judge(o, k).into_iter().find(|f| f.check == check).map(|f| f.status).unwrap_or(Status::Skipped)
    }

    #[test]
    fn a_calm_primary_is_green_or_skipped_throughout() {
        let findings = judge(&calm(), &Known::default());
        assert_eq!(findings.len(), 11);
        for f in &findings {
            let expected = match f.check {
                Check::FollowerLag | Check::Archiving => Status::Skipped,
                _ => Status::Green,
            };
            assert_eq!(f.status, expected, "{:?}: {}", f.check, f.value);
            assert_eq!(f.advice, None);
        }
    }

    #[test]
    fn connections_turn_yellow_then_red() {
        let k = Known::default();
        let at = |n| status(&Observation { connections: n, ..calm() }, &k, Check::Connections);
        assert_eq!(at(13), Status::Green);
        assert_eq!(at(14), Status::Yellow);
        assert_eq!(at(18), Status::Red);
    }

    #[test]
    fn sessions_are_judged_by_how_long() {
        let k = Known::default();
        let long = |s| status(&Observation { longest_query: Some((7, s)), ..calm() }, &k, Check::LongQueries);
        assert_eq!(long(299.0), Status::Green);
        assert_eq!(long(301.0), Status::Yellow);
        assert_eq!(long(1801.0), Status::Red);
        let idle = |s| {
            status(&Observation { longest_idle_in_transaction: Some((7, s)), ..calm() }, &k, Check::IdleInTransaction)
        };
        assert_eq!(idle(59.0), Status::Green);
        assert_eq!(idle(61.0), Status::Yellow);
        assert_eq!(idle(601.0), Status::Red);
        let blocked =
            |s| status(&Observation { blocked: 1, longest_blocked: Some((7, s)), ..calm() }, &k, Check::Blocked);
        assert_eq!(blocked(0.5), Status::Yellow);
        assert_eq!(blocked(61.0), Status::Red);
    }

    #[test]
    fn the_cache_is_judged_only_once_it_has_been_read() {
        let k = Known::default();
        let at = |hit, read| status(&Observation { blocks_hit: hit, blocks_read: read, ..calm() }, &k, Check::CacheHit);
        assert_eq!(at(10, 500), Status::Skipped);
        assert_eq!(at(995, 5), Status::Green);
        assert_eq!(at(980, 20), Status::Yellow);
        assert_eq!(at(900, 100), Status::Red);
    }

    fn table(bytes: i64, live: i64, dead: i64) -> TableSize {
        TableSize {
            name: "public.t".into(),
            total_bytes: bytes,
            table_bytes: bytes,
            index_bytes: 0,
            toast_bytes: 0,
            live_rows: live,
            dead_rows: dead,
            bloat_bytes: sizes::bloat(bytes, live, dead),
            seq_scans: 0,
            index_scans: 0,
        }
    }

    #[test]
    fn bloat_counts_in_tables_worth_the_word() {
        let k = Known::default();
        let at =
            |t| status(&Observation { sizes: Sizes { tables: vec![t], indexes: vec![] }, ..calm() }, &k, Check::Bloat);
        assert_eq!(at(table(100 << 10, 1, 9)), Status::Green);
        assert_eq!(at(table(4 << 20, 60, 40)), Status::Green);
        assert_eq!(at(table(4 << 20, 20, 80)), Status::Yellow);
        assert_eq!(at(table(4 << 30, 20, 80)), Status::Red);
    }

    #[test]
    fn only_large_unused_indexes_are_mentioned() {
        let k = Known::default();
        let index = |bytes, unused| IndexSize {
            name: "public.i".into(),
            table: "public.t".into(),
            bytes,
            scans: 0,
            unused,
            duplicate_of: None,
            definition: String::new(),
        };
        let at = |i| {
            status(
                &Observation { sizes: Sizes { tables: vec![], indexes: vec![i] }, ..calm() },
                &k,
                Check::UnusedIndexes,
            )
        };
        assert_eq!(at(index(8192, true)), Status::Green);
        assert_eq!(at(index(2 << 20, false)), Status::Green);
        assert_eq!(at(index(2 << 20, true)), Status::Yellow);
    }

    #[test]
    fn a_follower_is_judged_by_its_lag() {
        let o = calm();
        let at = |bytes, seconds| {
            status(
                &o,
                &Known { follower: true, lag: Some(Lag { bytes, seconds }), archiving: None },
                Check::FollowerLag,
            )
        };
        assert_eq!(at(0, 0.0), Status::Green);
        assert_eq!(at(20 << 20, 0.0), Status::Yellow);
        assert_eq!(at(0, 90.0), Status::Yellow);
        assert_eq!(at(2 << 30, 0.0), Status::Red);
        assert_eq!(
            status(&o, &Known { follower: true, lag: None, archiving: None }, Check::FollowerLag),
            Status::Skipped
        );
    }

    #[test]
    fn archiving_failing_is_red_and_behind_is_yellow() {
        let o = calm();
        let a = Archiving {
            last_archived_wal: None,
            last_archived_at: None,
            failing: None,
            pending_segments: 0,
            warning: None,
            backups: 1,
            last_backup_at: None,
            stored_bytes: 0,
        };
        let at =
            |a: &Archiving| status(&o, &Known { archiving: Some(a.clone()), ..Default::default() }, Check::Archiving);
        assert_eq!(at(&a), Status::Green);
        assert_eq!(at(&Archiving { warning: Some("12 WAL segments wait".into()), ..a.clone() }), Status::Yellow);
        assert_eq!(
            at(&Archiving { failing: Some("no repository".into()), warning: Some("x".into()), ..a }),
            Status::Red
        );
    }

    #[test]
    fn slots_and_transaction_age_are_judged_by_size() {
        let k = Known::default();
        let slot = |held| {
            status(&Observation { slots: vec![("s".into(), false, held)], ..calm() }, &k, Check::ReplicationSlots)
        };
        assert_eq!(slot(1 << 20), Status::Green);
        assert_eq!(slot(300 << 20), Status::Yellow);
        assert_eq!(slot(5 << 30), Status::Red);
        let age = |xid_age| status(&Observation { xid_age, ..calm() }, &k, Check::Wraparound);
        assert_eq!(age(200_000_000), Status::Green);
        assert_eq!(age(260_000_000), Status::Yellow);
        assert_eq!(age(1_600_000_000), Status::Red);
    }
}
