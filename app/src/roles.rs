//! A database's additional roles (`heroku pg:credentials:create`): named
//! login roles beside the owner, each read-only or read-write, with a
//! password of its own. This module owns their wire types and the rule a
//! role's name follows; the server keeps and applies them.
//!
//! Privileges come from PostgreSQL's predefined roles (15+), not per-table
//! grants: read-only is `pg_read_all_data`, read-write adds
//! `pg_write_all_data`, so a table made after the role can be read (and
//! written) at once and nothing has to be re-granted.

use serde::{Deserialize, Serialize};

use crate::model::{ApiError, ErrorCode};

/// The most additional roles one database has at a time.
pub const MAX_ROLES: usize = 20;
/// The longest role name.
pub const MAX_ROLE_NAME: usize = 40;

/// What a role may do in its database.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "ssr", derive(utoipa::ToSchema))]
#[serde(rename_all = "snake_case")]
pub enum RoleAccess {
    /// Reads every table, view and sequence; writes nothing.
    ReadOnly,
    /// Reads and writes every table's rows (no schema changes).
    ReadWrite,
}

impl RoleAccess {
    pub fn as_str(self) -> &'static str {
        match self {
            RoleAccess::ReadOnly => "read_only",
            RoleAccess::ReadWrite => "read_write",
        }
    }

    /// In words, for the console and the CLI.
    pub fn describe(self) -> &'static str {
        match self {
            RoleAccess::ReadOnly => "read-only",
            RoleAccess::ReadWrite => "read-write",
        }
    }
}

/// `POST /api/v1/databases/{name}/roles`: a role to add.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "ssr", derive(utoipa::ToSchema))]
#[serde(deny_unknown_fields)]
pub struct NewRole {
    /// `[a-z][a-z0-9_]*`, at most 40 characters, not starting with `pg`.
    pub name: String,
    pub access: RoleAccess,
}

/// One additional role, as listed (never with its password).
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "ssr", derive(utoipa::ToSchema))]
pub struct RoleView {
    pub name: String,
    pub access: RoleAccess,
    pub created_at: chrono::DateTime<chrono::Utc>,
    /// Who added it.
    pub created_by: Option<String>,
    /// When its password last changed (its creation, or a rotation).
    pub password_set_at: chrono::DateTime<chrono::Utc>,
}

/// A role's connection URL (its password inside), on creation, rotation
/// and reveal.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "ssr", derive(utoipa::ToSchema))]
pub struct RoleUrl {
    pub name: String,
    pub access: RoleAccess,
    pub url: String,
}

/// Names PostgreSQL or pgfleet hold, or that SQL reads as keywords.
const RESERVED: &[&str] = &["postgres", "public", "none", "current_user", "session_user", "current_role", "user"];

/// Checks a role's name: `[a-z][a-z0-9_]{0,39}`, not `pg…` (PostgreSQL's
/// and pgfleet's own) and not a reserved word.
pub fn validate_name(name: &str) -> Result<(), ApiError> {
    let refuse = |why: String| Err(ApiError::new(ErrorCode::Unprocessable, why));
    let Some(first) = name.chars().next() else {
        return refuse("a role's name cannot be empty".into());
    };
    if name.len() > MAX_ROLE_NAME {
        return refuse(format!("a role's name is at most {MAX_ROLE_NAME} characters long"));
    }
    if !first.is_ascii_lowercase() {
        return refuse("a role's name starts with a lowercase letter (a-z)".into());
    }
    if let Some(c) = name.chars().find(|c| !(c.is_ascii_lowercase() || c.is_ascii_digit() || *c == '_')) {
        return refuse(format!("a role's name has only lowercase letters, digits and '_'; '{c}' is not allowed"));
    }
    if name.starts_with("pg") {
        return refuse("names starting with 'pg' belong to PostgreSQL and pgfleet".into());
    }
    if RESERVED.contains(&name) {
        return refuse(format!("'{name}' is reserved"));
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn role_names_follow_the_rule() {
        for good in ["analyst", "a", "ci_reader2", &"r".repeat(MAX_ROLE_NAME)] {
            assert_eq!(validate_name(good), Ok(()), "{good}");
        }
        for (bad, says) in [
            ("", "empty"),
            ("Analyst", "lowercase letter"),
            ("2fast", "lowercase letter"),
            ("ana-lyst", "'-' is not allowed"),
            ("ana lyst", "' ' is not allowed"),
            ("pg_monitor", "belong to PostgreSQL"),
            ("pgfleet_replication", "belong to PostgreSQL"),
            ("postgres", "reserved"),
            ("public", "reserved"),
        ] {
            let e = validate_name(bad).unwrap_err();
            assert_eq!(e.code, ErrorCode::Unprocessable);
            assert!(e.message.contains(says), "{bad}: {}", e.message);
        }
        assert!(validate_name(&"r".repeat(MAX_ROLE_NAME + 1)).unwrap_err().message.contains("at most 40"));
    }

    #[test]
    fn access_is_spelled_as_the_api_documents() {
        for access in [RoleAccess::ReadOnly, RoleAccess::ReadWrite] {
            assert_eq!(serde_json::to_value(access).unwrap(), access.as_str());
        }
        let body: NewRole = serde_json::from_str(r#"{"name":"analyst","access":"read_only"}"#).unwrap();
        assert_eq!(body.access, RoleAccess::ReadOnly);
        assert!(serde_json::from_str::<NewRole>(r#"{"name":"a","access":"admin"}"#).is_err());
        assert!(serde_json::from_str::<NewRole>(r#"{"name":"a","access":"read_only","x":1}"#).is_err());
    }
}
