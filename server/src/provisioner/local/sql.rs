//! Talking to a local server as its superuser over the unix socket. The
//! socket dir is 0700 and owned by PostgreSQL's user, so only that user and
//! root can reach it; pg_hba trusts local connections for exactly that
//! reason, and nothing else is trusted.

use std::path::Path;
use std::time::Duration;

use sqlx::postgres::{PgConnectOptions, PgConnection};
use sqlx::ConnectOptions;

use crate::provisioner::ProvisionError;

/// The superuser initdb creates in every pgfleet server.
pub const SUPERUSER: &str = "pgfleet";
/// The role followers stream as.
pub const REPLICATION_ROLE: &str = "pgfleet_replication";

pub async fn connect(run_dir: &Path, port: u16, database: &str) -> Result<PgConnection, ProvisionError> {
    let options = PgConnectOptions::new()
        .socket(run_dir)
        .port(port)
        .username(SUPERUSER)
        .database(database)
        .application_name("pgfleet")
        .disable_statement_logging();
    tokio::time::timeout(Duration::from_secs(10), options.connect())
        .await
        .map_err(|_| ProvisionError::Connect("timed out connecting".into()))?
        .map_err(|e| ProvisionError::Connect(e.to_string()))
}

pub use crate::provisioner::probe::sql_err;

/// Quotes an identifier. Names pgfleet generates are plain, but quoting
/// keeps that an implementation detail rather than a safety property.
pub fn ident(s: &str) -> String {
    format!("\"{}\"", s.replace('"', "\"\""))
}

/// Quotes a string literal.
pub fn literal(s: &str) -> String {
    format!("'{}'", s.replace('\'', "''"))
}

/// Creates or updates a login role with a password (and replication).
pub async fn upsert_role(
    conn: &mut PgConnection,
    role: &str,
    password: &str,
    replication: bool,
) -> Result<(), ProvisionError> {
    let exists: bool = sqlx::query_scalar("SELECT EXISTS (SELECT 1 FROM pg_roles WHERE rolname = $1)")
        .bind(role)
        .fetch_one(&mut *conn)
        .await
        .map_err(sql_err)?;
    let verb = if exists { "ALTER" } else { "CREATE" };
    let repl = if replication { " REPLICATION" } else { "" };
    let stmt = format!("{verb} ROLE {} WITH LOGIN{repl} PASSWORD {}", ident(role), literal(password));
    sqlx::query(&stmt).execute(&mut *conn).await.map_err(sql_err)?;
    Ok(())
}

/// Creates `database` owned by `owner` unless it exists: by renaming the
/// template's premade database when there is one (instant), else by
/// copying `template1`. Since PostgreSQL 15 the `public` schema belongs to
/// `pg_database_owner`, so the new owner owns it either way.
pub async fn ensure_database(conn: &mut PgConnection, database: &str, owner: &str) -> Result<(), ProvisionError> {
    if database_exists(conn, database).await? {
        return Ok(());
    }
    let premade = super::copy::PREMADE_DATABASE;
    let statements = if database_exists(conn, premade).await? {
        vec![
            format!("ALTER DATABASE {} RENAME TO {}", ident(premade), ident(database)),
            format!("ALTER DATABASE {} OWNER TO {}", ident(database), ident(owner)),
        ]
    } else {
        vec![format!("CREATE DATABASE {} OWNER {}", ident(database), ident(owner))]
    };
    for stmt in statements {
        sqlx::query(&stmt).execute(&mut *conn).await.map_err(sql_err)?;
    }
    Ok(())
}

async fn database_exists(conn: &mut PgConnection, name: &str) -> Result<bool, ProvisionError> {
    sqlx::query_scalar("SELECT EXISTS (SELECT 1 FROM pg_database WHERE datname = $1)")
        .bind(name)
        .fetch_one(conn)
        .await
        .map_err(sql_err)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn quoting_doubles_quotes() {
        assert_eq!(ident("a\"b"), "\"a\"\"b\"");
        assert_eq!(literal("it's"), "'it''s'");
    }
}
