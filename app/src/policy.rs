//! Who may do what. One set of rules, used by the server to decide and by
//! the console to show only the buttons that will work.
//!
//! - **admin**: everything.
//! - **member**: creates databases; forks and follows what they can see
//!   (following a protected database would hand over its password, so that
//!   is an admin's call); forks of a database with the `approval` policy
//!   become fork requests, and so do unmasked forks of a database with
//!   masking rules (or any fork of one whose policy is `masked` while it
//!   has no rules); promotes, destroys, resets, extends and reveals
//!   the credentials of what they own, and reveals unprotected ones.
//!   Members see the text of running queries; they cancel or terminate
//!   sessions, reset query statistics, rotate credentials and manage
//!   additional roles only on what they own. They edit the masking rules
//!   of unprotected databases they own, without `sql` expressions (those
//!   run with pgfleet's privileges: an admin's to write).
//! - **viewer**: reads metrics, diagnoses and normalised query statistics
//!   (PostgreSQL replaces their constants with `$1`); never sees
//!   credentials or running queries' text, which carries literals, nor
//!   the text of masking rules (`fixed` values, `sql` expressions) or a
//!   preview of masked rows.

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
    /// Save its masking rules; `sql` says whether they hold an `sql`
    /// expression.
    EditMasking {
        db: &'a DatabaseView,
        sql: bool,
    },
    /// Read its masking rules' text and a preview of masked rows.
    SeeMaskingText(&'a DatabaseView),
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
        (UserRole::Viewer, Action::SeeMaskingText(_)) => {
            deny("viewers do not see masking rules' values and expressions, which may carry the data's".into())
        }
        (UserRole::Member, Action::SeeMaskingText(_)) => Ok(()),
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
        (UserRole::Member, Action::EditMasking { db, .. }) if db.protected => {
            deny(format!("{} is protected; only an admin can change its masking rules", db.name))
        }
        (UserRole::Member, Action::EditMasking { sql: true, .. }) => {
            deny("sql rules run with pgfleet's privileges in every fork; only an admin can save them".into())
        }
        (UserRole::Member, Action::EditMasking { db, sql: false }) => {
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

/// Whether `role`'s fork of `source` (`unmasked`: without its masking
/// rules) must wait for an admin.
pub fn fork_needs_approval(role: UserRole, source: &DatabaseView, unmasked: bool) -> bool {
    let has_rules = source.masking_rules > 0;
    match role {
        UserRole::Admin => false,
        UserRole::Member | UserRole::Viewer => match source.fork_policy {
            ForkPolicy::Approval => true,
            ForkPolicy::Open => unmasked && has_rules,
            // Its forks would carry its data as it is.
            ForkPolicy::Masked => unmasked || !has_rules,
        },
    }
}

/// Whether the rules allow it, for showing or hiding a control.
pub fn allows(role: UserRole, user: &str, action: Action<'_>) -> bool {
    check(role, user, action).is_ok()
}

fn owner_name(db: &DatabaseView) -> &str {
    db.owner.as_deref().unwrap_or("an admin")
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::model::{DatabaseView, Phase, Role};

    fn source(policy: ForkPolicy, rules: u32) -> DatabaseView {
        DatabaseView {
            name: "prod".into(),
            plan: "mini".into(),
            role: Role::Primary,
            following: None,
            followers: Vec::new(),
            forked_from: None,
            phase: Phase::Available,
            message: None,
            progress: None,
            lag: None,
            info: None,
            created_at: chrono::Utc::now(),
            owner: Some("ada".into()),
            protected: true,
            fork_policy: policy,
            expires_at: None,
            public: false,
            copy: None,
            fork_point: None,
            restore_window: None,
            archiving: None,
            followed: None,
            masking_rules: rules,
            masking: None,
        }
    }

    #[test]
    fn unmasked_forks_of_a_database_with_rules_wait_for_an_admin() {
        use ForkPolicy::{Approval, Masked, Open};
        let member = UserRole::Member;
        // (policy, rules, unmasked) -> needs approval
        let cases = [
            (Open, 0, false, false),
            (Open, 3, false, false),
            (Open, 3, true, true),
            (Approval, 3, false, true),
            (Masked, 3, false, false),
            (Masked, 3, true, true),
            (Masked, 0, false, true),
        ];
        for (policy, rules, unmasked, needs) in cases {
            assert_eq!(
                fork_needs_approval(member, &source(policy, rules), unmasked),
                needs,
                "{policy:?} {rules} {unmasked}"
            );
        }
        assert!(!fork_needs_approval(UserRole::Admin, &source(Masked, 3), true), "an admin decides for themself");
    }

    #[test]
    fn members_edit_their_own_rules_but_not_sql_and_viewers_do_not_read_the_text() {
        let mut db = source(ForkPolicy::Open, 0);
        db.protected = false;
        assert!(allows(UserRole::Member, "ada", Action::EditMasking { db: &db, sql: false }));
        assert!(!allows(UserRole::Member, "ada", Action::EditMasking { db: &db, sql: true }));
        assert!(!allows(UserRole::Member, "bob", Action::EditMasking { db: &db, sql: false }));
        assert!(allows(UserRole::Admin, "root", Action::EditMasking { db: &db, sql: true }));
        db.protected = true;
        assert!(!allows(UserRole::Member, "ada", Action::EditMasking { db: &db, sql: false }));
        assert!(!allows(UserRole::Viewer, "vera", Action::SeeMaskingText(&db)));
        assert!(allows(UserRole::Member, "bob", Action::SeeMaskingText(&db)));
    }
}
