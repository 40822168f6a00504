//! The statements that cost a database the most (`pg:outliers`), from
//! `pg_stat_statements`: pgfleet preloads it at every start and creates the
//! extension in the database the first time it is asked, on a primary.

use app::insights::{Statement, StatementOrder, Statements};
use sqlx::postgres::PgConnection;
use sqlx::Row;

use super::InsightError;
use crate::provisioner::probe::sql_err;

/// Whether the server loaded the library (it is read at start only).
async fn loaded(conn: &mut PgConnection) -> Result<bool, InsightError> {
    sqlx::query_scalar(
        "SELECT 'pg_stat_statements' = ANY(regexp_split_to_array(current_setting('shared_preload_libraries'), \
         '\\s*,\\s*'))",
    )
    .fetch_one(conn)
    .await
    .map_err(|e| sql_err(e).into())
}

/// Makes the extension's view exist, where it can be made; `Some(why)`
/// when it cannot be read yet.
async fn ensure_extension(conn: &mut PgConnection) -> Result<Option<String>, InsightError> {
    if !loaded(conn).await? {
        return Ok(Some("Restart pending: pg_stat_statements is loaded when the database next starts; until then no statement is counted".into()));
    }
    let exists: bool =
        sqlx::query_scalar("SELECT EXISTS (SELECT 1 FROM pg_extension WHERE extname = 'pg_stat_statements')")
            .fetch_one(&mut *conn)
            .await
            .map_err(sql_err)?;
    if exists {
        return Ok(None);
    }
    if crate::provisioner::probe::in_recovery(conn).await? {
        return Ok(Some("a follower reads the extension its source has; look at the source first".into()));
    }
    sqlx::query("CREATE EXTENSION IF NOT EXISTS pg_stat_statements").execute(conn).await.map_err(sql_err)?;
    Ok(None)
}

/// The `limit` statements of this database ranked by `order` (pgfleet's
/// own left out), each with its share of their total time.
pub async fn top(conn: &mut PgConnection, order: StatementOrder, limit: i64) -> Result<Statements, InsightError> {
    if let Some(note) = ensure_extension(conn).await? {
        return Ok(Statements { loaded: false, note: Some(note), order, statements: vec![] });
    }
    let column = match order {
        StatementOrder::TotalTime => "total_exec_time",
        StatementOrder::MeanTime => "mean_exec_time",
        StatementOrder::Calls => "calls",
    };
    let sql = format!(
        "SELECT s.queryid, s.query, r.rolname::text AS rolname, s.calls, s.total_exec_time, s.mean_exec_time, \
                s.rows, coalesce(s.total_exec_time / nullif(sum(s.total_exec_time) OVER (), 0), 0) AS share \
         FROM pg_stat_statements s LEFT JOIN pg_roles r ON r.oid = s.userid \
         WHERE s.dbid = (SELECT oid FROM pg_database WHERE datname = current_database()) \
           AND r.rolname IS DISTINCT FROM 'pgfleet' \
         ORDER BY s.{column} DESC, s.queryid LIMIT $1"
    );
    let rows = sqlx::query(&sql).bind(limit).fetch_all(conn).await.map_err(sql_err)?;
    let statements = rows
        .iter()
        .map(|row| {
            Ok(Statement {
                query_id: row.try_get::<Option<i64>, _>("queryid").map_err(sql_err)?.unwrap_or(0),
                query: row.try_get::<Option<String>, _>("query").map_err(sql_err)?.unwrap_or_default(),
                user: row.try_get("rolname").map_err(sql_err)?,
                calls: row.try_get("calls").map_err(sql_err)?,
                total_ms: row.try_get("total_exec_time").map_err(sql_err)?,
                mean_ms: row.try_get("mean_exec_time").map_err(sql_err)?,
                rows: row.try_get("rows").map_err(sql_err)?,
                share: row.try_get("share").map_err(sql_err)?,
            })
        })
        .collect::<Result<Vec<_>, InsightError>>()?;
    Ok(Statements { loaded: true, note: None, order, statements })
}

/// Forgets every statement's totals.
pub async fn reset(conn: &mut PgConnection) -> Result<(), InsightError> {
    if let Some(note) = ensure_extension(conn).await? {
        return Err(InsightError::Unavailable(note));
    }
    sqlx::query("SELECT pg_stat_statements_reset()").execute(conn).await.map_err(sql_err)?;
    Ok(())
}
