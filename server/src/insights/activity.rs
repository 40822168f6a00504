//! What runs on a database now: its client sessions (`pg:ps`), who waits
//! on whose locks (`pg:locks`), and ending a query or a session
//! (`pg:kill`). pgfleet's own sessions (its role, its application name)
//! are neither listed nor ended; a client that only calls itself `pgfleet`
//! is listed and can be ended like any other.

use app::insights::{Blocking, Session};
use sqlx::postgres::PgConnection;
use sqlx::Row;

use super::InsightError;
use crate::provisioner::probe::sql_err;

/// The server's client sessions, longest-running first; `with_text` says
/// whether their queries' text is read.
pub async fn sessions(conn: &mut PgConnection, with_text: bool) -> Result<Vec<Session>, InsightError> {
    let rows = sqlx::query(
        "SELECT pid, usename::text AS usename, datname::text AS datname, application_name, \
                host(client_addr) AS client, state, \
                CASE WHEN wait_event_type IS NULL THEN NULL ELSE wait_event_type || ': ' || wait_event END \
                    AS wait_event, \
                query_start, \
                extract(epoch FROM now() - CASE WHEN state LIKE 'idle in transaction%' THEN xact_start \
                    WHEN state = 'active' THEN query_start END)::float8 AS duration, \
                query, pg_blocking_pids(pid) AS blocked_by \
         FROM pg_stat_activity \
         WHERE backend_type = 'client backend' AND pid <> pg_backend_pid() \
           AND NOT (application_name = 'pgfleet' AND usename = current_user) \
         ORDER BY duration DESC NULLS LAST, pid",
    )
    .fetch_all(conn)
    .await
    .map_err(sql_err)?;
    rows.iter()
        .map(|row| {
            Ok(Session {
                pid: row.try_get("pid").map_err(sql_err)?,
                user: row.try_get("usename").map_err(sql_err)?,
                database: row.try_get("datname").map_err(sql_err)?,
                application: row.try_get::<Option<String>, _>("application_name").map_err(sql_err)?.unwrap_or_default(),
                client: row.try_get("client").map_err(sql_err)?,
                state: row.try_get("state").map_err(sql_err)?,
                wait_event: row.try_get("wait_event").map_err(sql_err)?,
                query_start: row.try_get("query_start").map_err(sql_err)?,
                duration_seconds: row.try_get("duration").map_err(sql_err)?,
                query: if with_text { row.try_get("query").map_err(sql_err)? } else { None },
                blocked_by: row.try_get::<Option<Vec<i32>>, _>("blocked_by").map_err(sql_err)?.unwrap_or_default(),
            })
        })
        .collect()
}

/// Every session waiting on another's lock, with the one it waits on,
/// longest wait first. A row update waits on the other transaction's id,
/// not on a table, so the table named is the one whose row (tuple) lock
/// the waiter holds when it has no table lock pending.
pub async fn blocking(conn: &mut PgConnection, with_text: bool) -> Result<Vec<Blocking>, InsightError> {
    let rows = sqlx::query(
        "SELECT blocked.pid AS blocked_pid, blocked.usename::text AS blocked_user, blocked.query AS blocked_query, \
                extract(epoch FROM now() - blocked.query_start)::float8 AS waiting, \
                blocking.pid AS blocking_pid, blocking.usename::text AS blocking_user, \
                blocking.query AS blocking_query, blocking.state AS blocking_state, \
                (SELECT l.relation::regclass::text FROM pg_locks l \
                 WHERE l.pid = blocked.pid AND l.relation IS NOT NULL \
                   AND l.database = (SELECT oid FROM pg_database WHERE datname = current_database()) \
                   AND (NOT l.granted OR l.locktype = 'tuple') \
                 ORDER BY l.granted LIMIT 1) AS relation, \
                (SELECT l.mode FROM pg_locks l WHERE l.pid = blocked.pid AND NOT l.granted LIMIT 1) AS mode \
         FROM pg_stat_activity blocked \
         CROSS JOIN LATERAL unnest(pg_blocking_pids(blocked.pid)) AS b(pid) \
         JOIN pg_stat_activity blocking ON blocking.pid = b.pid \
         ORDER BY waiting DESC NULLS LAST, blocked.pid",
    )
    .fetch_all(conn)
    .await
    .map_err(sql_err)?;
    let text = |row: &sqlx::postgres::PgRow, col: &str| -> Result<Option<String>, InsightError> {
        Ok(if with_text { row.try_get(col).map_err(sql_err)? } else { None })
    };
    rows.iter()
        .map(|row| {
            Ok(Blocking {
                blocked_pid: row.try_get("blocked_pid").map_err(sql_err)?,
                blocked_user: row.try_get("blocked_user").map_err(sql_err)?,
                blocked_query: text(row, "blocked_query")?,
                waiting_seconds: row.try_get::<Option<f64>, _>("waiting").map_err(sql_err)?.unwrap_or(0.0).max(0.0),
                blocking_pid: row.try_get("blocking_pid").map_err(sql_err)?,
                blocking_user: row.try_get("blocking_user").map_err(sql_err)?,
                blocking_query: text(row, "blocking_query")?,
                blocking_state: row.try_get("blocking_state").map_err(sql_err)?,
                relation: row.try_get("relation").map_err(sql_err)?,
                mode: row.try_get("mode").map_err(sql_err)?,
            })
        })
        .collect()
}

/// Cancels `pid`'s query, or with `terminate` ends its session; answers
/// whether PostgreSQL signalled it.
pub async fn end(conn: &mut PgConnection, pid: i32, terminate: bool) -> Result<bool, InsightError> {
    let ours: Option<bool> = sqlx::query_scalar(
        "SELECT application_name = 'pgfleet' AND usename = current_user \
         FROM pg_stat_activity WHERE pid = $1 AND backend_type = 'client backend'",
    )
    .bind(pid)
    .fetch_optional(&mut *conn)
    .await
    .map_err(sql_err)?;
    match ours {
        None => return Err(InsightError::NoSession(pid)),
        Some(true) => return Err(InsightError::Ours(pid)),
        Some(false) => {}
    }
    let sql = if terminate { "SELECT pg_terminate_backend($1)" } else { "SELECT pg_cancel_backend($1)" };
    sqlx::query_scalar(sql).bind(pid).fetch_one(conn).await.map_err(|e| sql_err(e).into())
}

/// Ends every client session but this one (only `role`'s, given one);
/// how many.
pub async fn end_sessions(conn: &mut PgConnection, role: Option<&str>) -> Result<u64, InsightError> {
    let ended: i64 = sqlx::query_scalar(
        "SELECT count(*) FILTER (WHERE pg_terminate_backend(pid)) FROM pg_stat_activity \
         WHERE backend_type = 'client backend' AND ($1::text IS NULL OR usename = $1) AND pid <> pg_backend_pid()",
    )
    .bind(role)
    .fetch_one(conn)
    .await
    .map_err(sql_err)?;
    Ok(ended.max(0) as u64)
}
