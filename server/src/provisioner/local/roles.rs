//! A local server's additional login roles, made to match its spec: each
//! live role exists with its password and access, each dropped one is
//! gone (its sessions ended, whatever it owns given to the owner, its
//! grants revoked). Idempotent, so it runs with every owner set-up.
//!
//! Access is membership of PostgreSQL's predefined `pg_read_all_data` and
//! `pg_write_all_data`, which cover every table of the database, present
//! and future, without grants of our own.

use std::path::Path;

use app::roles::RoleAccess;
use sqlx::postgres::PgConnection;

use super::sql::{self, ident, literal, sql_err};
use crate::engine::spec::Spec;
use crate::provisioner::ProvisionError;

/// Marks the roles pgfleet made, so a person reading `\du` knows them.
const COMMENT: &str = "pgfleet additional role";

/// Makes `conn`'s server (a primary, as its superuser) carry `db`'s roles.
pub async fn converge(conn: &mut PgConnection, run_dir: &Path, db: &Spec) -> Result<(), ProvisionError> {
    for role in &db.roles {
        if role.dropped {
            drop_role(conn, run_dir, db, &role.name).await?;
            continue;
        }
        sql::upsert_role(conn, &role.name, &role.password, false).await?;
        let (grant, revoke) = match role.access {
            RoleAccess::ReadOnly => (vec!["pg_read_all_data"], vec!["pg_write_all_data"]),
            RoleAccess::ReadWrite => (vec!["pg_read_all_data", "pg_write_all_data"], vec![]),
        };
        let name = ident(&role.name);
        let mut statements: Vec<String> = grant.iter().map(|g| format!("GRANT {g} TO {name}")).collect();
        statements.extend(revoke.iter().map(|r| format!("REVOKE {r} FROM {name}")));
        statements.push(format!("COMMENT ON ROLE {name} IS {}", literal(COMMENT)));
        for stmt in statements {
            sqlx::query(&stmt).execute(&mut *conn).await.map_err(sql_err)?;
        }
    }
    Ok(())
}

async fn drop_role(conn: &mut PgConnection, run_dir: &Path, db: &Spec, role: &str) -> Result<(), ProvisionError> {
    let exists: bool = sqlx::query_scalar("SELECT EXISTS (SELECT 1 FROM pg_roles WHERE rolname = $1)")
        .bind(role)
        .fetch_one(&mut *conn)
        .await
        .map_err(sql_err)?;
    if !exists {
        return Ok(());
    }
    // Its sessions would keep working with its rights until they end.
    sqlx::query("SELECT pg_terminate_backend(pid) FROM pg_stat_activity WHERE usename = $1")
        .bind(role)
        .execute(&mut *conn)
        .await
        .map_err(sql_err)?;
    // What it made or was granted lives in the owner's database; DROP
    // ROLE refuses while anything there depends on it.
    let mut owner_db = sql::connect(run_dir, db.port, &db.pg_database).await?;
    for stmt in [
        format!("REASSIGN OWNED BY {} TO {}", ident(role), ident(&db.pg_user)),
        format!("DROP OWNED BY {}", ident(role)),
    ] {
        sqlx::query(&stmt).execute(&mut owner_db).await.map_err(sql_err)?;
    }
    sqlx::query(&format!("DROP ROLE IF EXISTS {}", ident(role))).execute(&mut *conn).await.map_err(sql_err)?;
    Ok(())
}
