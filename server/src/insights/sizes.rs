//! What a database's tables and indexes take, as `pg:table-size`,
//! `pg:index-usage`, `pg:unused-indexes` and `pg:bloat` show it: read from
//! the catalogs and the statistics views of the connection's database.
//!
//! Bloat is estimated from the share of dead rows (`n_dead_tup` against
//! live and dead), which is what `VACUUM` would make reusable; it is cheap
//! and says when autovacuum falls behind, though it does not see space
//! already vacuumed but never returned to the system.
//!
//! Sizes open each relation, so a table under an `ACCESS EXCLUSIVE` lock
//! (a migration) would hold the read up; the read gives up after
//! [`LOCK_TIMEOUT`] and says so rather than hang the page.

use app::diagnose::{IndexSize, Sizes, TableSize};
use sqlx::postgres::PgConnection;
use sqlx::Row;

use super::InsightError;
use crate::provisioner::probe::sql_err;

pub const LOCK_TIMEOUT: &str = "2s";

/// The `limit` largest tables and indexes of the connection's database.
pub async fn read(conn: &mut PgConnection, limit: i64) -> Result<Sizes, InsightError> {
    bounded(conn).await?;
    let tables = sqlx::query(
        "SELECT n.nspname || '.' || c.relname AS name, \
                coalesce(pg_total_relation_size(c.reltoastrelid), 0) AS toast, \
                coalesce(pg_table_size(c.oid), 0) AS heap_and_toast, \
                coalesce(pg_indexes_size(c.oid), 0) AS indexes, \
                coalesce(s.n_live_tup, 0) AS live, coalesce(s.n_dead_tup, 0) AS dead, \
                coalesce(s.seq_scan, 0) AS seq_scans, coalesce(s.idx_scan, 0) AS idx_scans \
         FROM pg_class c JOIN pg_namespace n ON n.oid = c.relnamespace \
              LEFT JOIN pg_stat_all_tables s ON s.relid = c.oid \
         WHERE c.relkind IN ('r', 'm') AND n.nspname NOT IN ('pg_catalog', 'information_schema') \
           AND n.nspname NOT LIKE 'pg_toast%' AND n.nspname NOT LIKE 'pg_temp%' \
         ORDER BY pg_total_relation_size(c.oid) DESC NULLS LAST, 1 \
         LIMIT $1",
    )
    .bind(limit)
    .fetch_all(&mut *conn)
    .await
    .map_err(locked)?;
    let tables = tables
        .iter()
        .map(|row| {
            let toast: i64 = row.try_get("toast").map_err(sql_err)?;
            let heap_and_toast: i64 = row.try_get("heap_and_toast").map_err(sql_err)?;
            let index_bytes: i64 = row.try_get("indexes").map_err(sql_err)?;
            let live_rows: i64 = row.try_get("live").map_err(sql_err)?;
            let dead_rows: i64 = row.try_get("dead").map_err(sql_err)?;
            let table_bytes = (heap_and_toast - toast).max(0);
            Ok(TableSize {
                name: row.try_get("name").map_err(sql_err)?,
                total_bytes: table_bytes + toast + index_bytes,
                table_bytes,
                index_bytes,
                toast_bytes: toast,
                live_rows,
                dead_rows,
                bloat_bytes: bloat(table_bytes, live_rows, dead_rows),
                seq_scans: row.try_get("seq_scans").map_err(sql_err)?,
                index_scans: row.try_get("idx_scans").map_err(sql_err)?,
            })
        })
        .collect::<Result<Vec<_>, InsightError>>()?;
    let indexes = sqlx::query(
        "SELECT n.nspname || '.' || ci.relname AS name, n.nspname || '.' || ct.relname AS table_name, \
                coalesce(pg_relation_size(i.indexrelid), 0) AS bytes, coalesce(s.idx_scan, 0) AS scans, \
                i.indisunique OR i.indisprimary AS enforces, pg_get_indexdef(i.indexrelid) AS definition, \
                (SELECT min(n.nspname || '.' || c2.relname) \
                 FROM pg_index i2 JOIN pg_class c2 ON c2.oid = i2.indexrelid \
                 WHERE i2.indrelid = i.indrelid AND i2.indexrelid <> i.indexrelid \
                   AND i2.indkey::text = i.indkey::text AND i2.indclass::text = i.indclass::text \
                   AND coalesce(pg_get_expr(i2.indexprs, i2.indrelid), '') = coalesce(pg_get_expr(i.indexprs, i.indrelid), '') \
                   AND coalesce(pg_get_expr(i2.indpred, i2.indrelid), '') = coalesce(pg_get_expr(i.indpred, i.indrelid), '')) \
                    AS duplicate_of \
         FROM pg_index i JOIN pg_class ci ON ci.oid = i.indexrelid JOIN pg_class ct ON ct.oid = i.indrelid \
              JOIN pg_namespace n ON n.oid = ct.relnamespace \
              LEFT JOIN pg_stat_all_indexes s ON s.indexrelid = i.indexrelid \
         WHERE n.nspname NOT IN ('pg_catalog', 'information_schema') \
           AND n.nspname NOT LIKE 'pg_toast%' AND n.nspname NOT LIKE 'pg_temp%' \
         ORDER BY bytes DESC, 1 \
         LIMIT $1",
    )
    .bind(limit)
    .fetch_all(&mut *conn)
    .await
    .map_err(locked)?;
    let indexes = indexes
        .iter()
        .map(|row| {
            let scans: i64 = row.try_get("scans").map_err(sql_err)?;
            let enforces: bool = row.try_get("enforces").map_err(sql_err)?;
            Ok(IndexSize {
                name: row.try_get("name").map_err(sql_err)?,
                table: row.try_get("table_name").map_err(sql_err)?,
                bytes: row.try_get("bytes").map_err(sql_err)?,
                scans,
                unused: scans == 0 && !enforces,
                duplicate_of: row.try_get("duplicate_of").map_err(sql_err)?,
                definition: row.try_get("definition").map_err(sql_err)?,
            })
        })
        .collect::<Result<Vec<_>, InsightError>>()?;
    Ok(Sizes { tables, indexes })
}

/// Gives up on a lock rather than waiting behind a migration.
pub async fn bounded(conn: &mut PgConnection) -> Result<(), InsightError> {
    sqlx::query(&format!("SET lock_timeout = '{LOCK_TIMEOUT}'")).execute(&mut *conn).await.map_err(sql_err)?;
    Ok(())
}

/// A lock timeout (SQLSTATE 55P03, `lock_not_available`), said as what
/// it is.
pub fn locked(e: sqlx::Error) -> InsightError {
    match &e {
        sqlx::Error::Database(db) if db.code().as_deref() == Some("55P03") => InsightError::Unavailable(
            "a table is locked (a migration or VACUUM FULL?); sizes can be read once it is released".into(),
        ),
        _ => InsightError::Provision(sql_err(e)),
    }
}

/// The heap bytes dead rows hold, by their share of all rows.
pub fn bloat(table_bytes: i64, live: i64, dead: i64) -> i64 {
    let rows = live.max(0) + dead.max(0);
    if rows == 0 || table_bytes <= 0 {
        return 0;
    }
    (table_bytes as f64 * dead.max(0) as f64 / rows as f64) as i64
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn bloat_is_the_dead_rows_share_of_the_heap() {
        assert_eq!(bloat(1000, 75, 25), 250);
        assert_eq!(bloat(1000, 0, 0), 0);
        assert_eq!(bloat(0, 10, 10), 0);
        assert_eq!(bloat(1000, 0, 5), 1000);
    }
}
