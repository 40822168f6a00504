//! Who may do what. One set of rules, used by the server to decide and by
//! the console to show only the buttons that will work.
//!
//! - **admin**: everything.
//! - **member**: creates databases; forks and follows what they can see
//!   (following a protected database would hand over its password, so that
//!   is an admin's call); forks of a database with the `approval` policy
//!   become fork requests; promotes, destroys, resets, extends and reveals
//!   the credentials of what they own, and reveals unprotected ones.
//!   Members see the text of running queries; they cancel or terminate
//!   sessions, reset query statistics, rotate credentials and manage
//!   additional roles only on what they own.
//! - **viewer**: reads metrics, diagnoses and normalised query statistics
//!   (PostgreSQL replaces their constants with `$1`); never sees
//!   credentials or running queries' text, which carries literals.

use crate::accounts::UserRole;
use crate::model::{ApiError, DatabaseView, ErrorCode, ForkPolicy};

/// Something a person wants to do, with the database it touches.
#[derive(Clone, Copy, Debug)]
pub enum Action<'a> {
    /// List and show databases, their events, one's own requests.
    Read,
    /// Make an empty database.
    Create,
    Follow(&'a DatabaseView),
    /// Fork at once, or ask for one (see [`fork_needs_approval`]).
    Fork(&'a DatabaseView),
    Promote(&'a DatabaseView),
    Destroy(&'a DatabaseView),
    /// Try a failed database again.
    Retry(&'a DatabaseView),
    /// Make a fork again from its source (its data is replaced).
    Reset(&'a DatabaseView),
    RevealCredentials(&'a DatabaseView),
    /// Give an expiring fork more time.
    Extend(&'a DatabaseView),
    /// Take a backup now.
    Backup(&'a DatabaseView),
    /// Read the text of queries running on it (it carries literals).
    SeeQueryText(&'a DatabaseView),
    /// Cancel a query or terminate a session on it.
    EndSession(&'a DatabaseView),
    /// Reset its query statistics.
    ResetStatements(&'a DatabaseView),
    /// Give its owner role a new password (`pg:credentials:rotate`), and
    /// add, rotate or remove its additional roles (`pg:credentials:create`).
    ManageCredentials(&'a DatabaseView),
    /// Accounts, protection, approvals, settings and the audit log.
    Administer,
}

/// Whether `user` (with `role`) may take `action`; the error says why not.
pub fn check(role: UserRole, user: &str, action: Action<'_>) -> Result<(), ApiError> {
    let owns = |db: &DatabaseView| db.owner.as_deref() == Some(user);
    let deny = |message: String| Err(ApiError::new(ErrorCode::Forbidden, message));
    match (role, action) {
        (UserRole::Admin, _) => Ok(()),
        (_, Action::Read) => Ok(()),
        (UserRole::Viewer, Action::RevealCredentials(_)) => deny("viewers never see credentials".into()),
        (UserRole::Viewer, Action::SeeQueryText(_)) => {
            deny("viewers do not see running queries' text, which carries the values in them".into())
        }
        (UserRole::Member, Action::SeeQueryText(_)) => Ok(()),
        (UserRole::Viewer, _) => deny("viewers have read-only access; ask an admin for the member role".into()),
        (UserRole::Member, Action::Create | Action::Fork(_)) => Ok(()),
        (UserRole::Member, Action::Follow(db)) if db.protected => {
            deny(format!("{} is protected; only an admin can give it a follower", db.name))
        }
        (UserRole::Member, Action::Follow(_)) => Ok(()),
        (UserRole::Member, Action::Promote(db) | Action::Destroy(db) | Action::Retry(db) | Action::Reset(db))
            if db.protected =>
        {
            deny(format!("{} is protected; only an admin can promote, retry, reset or destroy it", db.name))
        }
        (
            UserRole::Member,
            Action::Promote(db)
            | Action::Destroy(db)
            | Action::Retry(db)
            | Action::Reset(db)
            | Action::Extend(db)
            | Action::EndSession(db)
            | Action::ResetStatements(db)
            | Action::ManageCredentials(db),
        ) => {
            if owns(db) {
                Ok(())
            } else {
                deny(format!("{} belongs to {}; members change only their own databases", db.name, owner_name(db)))
            }
        }
        (UserRole::Member, Action::RevealCredentials(db)) => {
            if owns(db) || !db.protected {
                Ok(())
            } else {
                deny(format!("{} is protected; fork it to work with its data", db.name))
            }
        }
        (UserRole::Member, Action::Backup(db)) => {
            if owns(db) || !db.protected {
                Ok(())
            } else {
                deny(format!("{} is protected; only an admin or its owner can back it up on demand", db.name))
            }
        }
        (UserRole::Member, Action::Administer) => deny("only admins can do this".into()),
    }
}

/// Whether `role`'s fork of `source` must wait for an admin.
pub fn fork_needs_approval(role: UserRole, source: &DatabaseView) -> bool {
    match role {
        UserRole::Admin => false,
        UserRole::Member | UserRole::Viewer => source.fork_policy == ForkPolicy::Approval,
    }
}

/// Whether the rules allow it, for showing or hiding a control.
pub fn allows(role: UserRole, user: &str, action: Action<'_>) -> bool {
    check(role, user, action).is_ok()
}

fn owner_name(db: &DatabaseView) -> &str {
    db.owner.as_deref().unwrap_or("an admin")
}
