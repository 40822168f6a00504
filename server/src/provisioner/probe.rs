//! What pgfleet asks a running PostgreSQL server about itself, the same on
//! every backend once a connection is made: its version, size and
//! connections, whether it is in recovery, its WAL position, and how far a
//! follower is behind its source.

use app::model::{Info, Lag};
use chrono::Utc;
use sqlx::postgres::PgConnection;
use sqlx::Row;

use super::{ProvisionError, ReplicaState};

/// A query's failure in PostgreSQL's own words where it gave some.
pub fn sql_err(e: sqlx::Error) -> ProvisionError {
    match e {
        sqlx::Error::Database(db) => ProvisionError::Sql(db.message().to_string()),
        other => ProvisionError::Sql(other.to_string()),
    }
}

/// Closes the current WAL segment and checkpoints, so the segments written
/// so far are needed neither for crash recovery nor by later WAL; answers
/// the segment the checkpoint's redo starts in (every older one can go).
pub async fn close_wal(conn: &mut PgConnection) -> Result<String, ProvisionError> {
    sqlx::query("SELECT pg_switch_wal()").execute(&mut *conn).await.map_err(sql_err)?;
    sqlx::query("CHECKPOINT").execute(&mut *conn).await.map_err(sql_err)?;
    sqlx::query_scalar("SELECT pg_walfile_name(redo_lsn) FROM pg_control_checkpoint()")
        .fetch_one(conn)
        .await
        .map_err(sql_err)
}

/// Whether the server is a standby (or still recovering).
pub async fn in_recovery(conn: &mut PgConnection) -> Result<bool, ProvisionError> {
    sqlx::query_scalar("SELECT pg_is_in_recovery()").fetch_one(conn).await.map_err(sql_err)
}

/// The WAL position a server has reached: written on a primary, replayed
/// on a standby.
pub async fn wal_position(conn: &mut PgConnection) -> Result<u64, ProvisionError> {
    let lsn: Option<String> = sqlx::query_scalar(
        "SELECT CASE WHEN pg_is_in_recovery() THEN pg_last_wal_replay_lsn() ELSE pg_current_wal_lsn() END::text",
    )
    .fetch_one(conn)
    .await
    .map_err(sql_err)?;
    Ok(lsn.as_deref().and_then(app::model::parse_lsn).unwrap_or(0))
}

/// Seconds since the last replayed transaction was committed on the source.
pub async fn replay_age_seconds(conn: &mut PgConnection) -> Result<Option<f64>, ProvisionError> {
    let row = sqlx::query("SELECT extract(epoch FROM now() - pg_last_xact_replay_timestamp())::float8 AS age")
        .fetch_one(conn)
        .await
        .map_err(sql_err)?;
    row.try_get::<Option<f64>, _>("age").map_err(sql_err)
}

/// Version, size, tables and connections of the server `conn` reaches
/// (tables counted in the database it is connected to). The cost of a
/// clone's own blocks is the backend's to add.
pub async fn server_info(conn: &mut PgConnection) -> Result<Info, ProvisionError> {
    let row = sqlx::query(
        "SELECT current_setting('server_version') AS version, \
                (SELECT sum(pg_database_size(datname))::int8 FROM pg_database) AS size, \
                (SELECT count(*) FROM pg_stat_user_tables)::int8 AS tables, \
                (SELECT count(*) FROM pg_stat_activity WHERE backend_type = 'client backend' \
                    AND application_name <> 'pgfleet')::int8 AS connections, \
                current_setting('max_connections')::int8 AS max_connections",
    )
    .fetch_one(conn)
    .await
    .map_err(sql_err)?;
    let get = |col: &str| -> Result<u64, ProvisionError> {
        Ok(row.try_get::<Option<i64>, _>(col).map_err(sql_err)?.unwrap_or(0).max(0) as u64)
    };
    Ok(Info {
        pg_version: row.try_get("version").map_err(sql_err)?,
        data_size_bytes: get("size")?,
        unshared_bytes: None,
        tables: get("tables")?,
        connections: get("connections")?,
        max_connections: get("max_connections")?,
        probed_at: Utc::now(),
    })
}

/// Whether `db` is in recovery and, given its source, how far behind it is.
/// The source is asked first: the follower must reach where it was.
pub async fn replica_state(
    source: Option<&mut PgConnection>,
    db: &mut PgConnection,
) -> Result<ReplicaState, ProvisionError> {
    let source_pos = match source {
        Some(conn) => Some(wal_position(conn).await?),
        None => None,
    };
    let in_recovery = in_recovery(db).await?;
    let lag = match (source_pos, in_recovery) {
        (Some(src_pos), true) => {
            let replayed = wal_position(db).await?;
            let bytes = src_pos.saturating_sub(replayed);
            let seconds = if bytes == 0 { 0.0 } else { replay_age_seconds(db).await?.unwrap_or(0.0).max(0.0) };
            Some(Lag { bytes, seconds })
        }
        _ => None,
    };
    Ok(ReplicaState { in_recovery, lag })
}
