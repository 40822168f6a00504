//! Why the engine refused a request. Each variant maps to one public
//! [`ApiError`] with a message safe to show.

use app::model::{ApiError, ErrorCode, Phase};
use app::names::NameError;

use crate::insights::InsightError;
use crate::store::StoreError;

#[derive(Debug, thiserror::Error)]
pub enum EngineError {
    #[error("invalid name: {0}")]
    InvalidName(#[from] NameError),
    #[error("the name {0} is taken")]
    NameTaken(String),
    /// A valid name this backend cannot carry, and why.
    #[error("{0}")]
    NameUnfit(String),
    #[error("there is no database named {0}")]
    NotFound(String),
    #[error("there is no database named {0} to {1}")]
    UnknownSource(String, &'static str),
    #[error("{name} is {phase}; it can be followed or forked once it is available", phase = phase.label())]
    SourceNotAvailable { name: String, phase: Phase },
    #[error("{0} is being deleted")]
    SourceDeleting(String),
    #[error("unknown plan {plan}; the plans are {known}")]
    UnknownPlan { plan: String, known: String },
    #[error("a database can follow or fork another, not both")]
    FollowAndFork,
    #[error("{0} is not a follower; only followers can be promoted")]
    NotAFollower(String),
    #[error("{name} is {phase}; wait until it is available", phase = phase.label())]
    Busy { name: String, phase: Phase },
    #[error("{name} has followers ({followers}); destroy them first or ask to take them too")]
    HasFollowers { name: String, followers: String },
    #[error("{name} already has {max} followers, the most a database can have; promote or destroy one first")]
    TooManyFollowers { name: String, max: usize },
    #[error("the name {name} is held by fork request {request}; choose another")]
    NameHeld { name: String, request: i64 },
    #[error(
        "you have {have} of your {quota} forks (requests included); destroy one or ask an admin to raise the quota"
    )]
    QuotaReached { have: i64, quota: i64 },
    #[error("Idempotency-Key {key:?} was first sent with a different request; send a new key for a new request")]
    IdempotencyMismatch { key: String },
    #[error("{name} is {phase}, not failed; only a failed database is retried", phase = phase.label())]
    NotFailed { name: String, phase: Phase },
    #[error("{0}")]
    Invalid(String),
    #[error("{point} is in the future; a fork can be made as of a past moment only")]
    InTheFuture { point: String },
    #[error("{name} has no backup yet, so it can only be forked as it is now; its first backup is being taken")]
    NoRestoreWindow { name: String },
    #[error("{point} is outside {name}'s restore window: it can be forked from any moment {window}")]
    OutsideWindow { name: String, point: String, window: String },
    #[error("{0} is a follower; its source's backups cover it (back up or fork the source)")]
    NotAPrimary(String),
    #[error("{name} follows {of} and carries its roles; change {of}'s credentials, and {name}'s follow")]
    FollowerCredentials { name: String, of: String },
    #[error("{name} already has a role named {role}")]
    RoleExists { name: String, role: String },
    #[error("{0} is not a fork; only a fork is reset from its source")]
    NotAFork(String),
    #[error("{name} has followers ({followers}), which cannot follow a new copy; destroy or promote them first")]
    FollowedReset { name: String, followers: String },
    #[error("{0} was not forked from another database; name the database to compare it with")]
    NothingToCompare(String),
    #[error("{name} has no role named {role}")]
    NoSuchRole { name: String, role: String },
    #[error("{name} already has {max} additional roles, the most a database can have; destroy one first")]
    TooManyRoles { name: String, max: usize },
    /// Masking rules that do not fit the source, or could not be checked.
    #[error("{name}'s masking rules: {error}")]
    Masking { name: String, error: crate::insights::masking::MaskError },
    #[error("{name} follows {of} and is never masked; its forks use {of}'s masking rules, set them there")]
    FollowerMasking { name: String, of: String },
    #[error("{0} has no masking rules, so an unmasked fork of it is just a fork; leave out unmasked")]
    NothingToUnmask(String),
    /// The backend could not answer (it is the backend's fault, not the
    /// request's).
    #[error("{0}")]
    Backend(String),
    /// A diagnostic could not be read or carried out.
    #[error("{name}: {error}")]
    Insight { name: String, error: crate::insights::InsightError },
    #[error("no free port in {0}-{1}")]
    NoFreePort(u16, u16),
    #[error(transparent)]
    Store(#[from] StoreError),
}

impl From<EngineError> for ApiError {
    fn from(e: EngineError) -> ApiError {
        let code = match &e {
            EngineError::InvalidName(_) | EngineError::NameUnfit(_) | EngineError::FollowAndFork => {
                ErrorCode::BadRequest
            }
            EngineError::NotFound(_) | EngineError::NoSuchRole { .. } => ErrorCode::NotFound,
            EngineError::NameTaken(_)
            | EngineError::NameHeld { .. }
            | EngineError::QuotaReached { .. }
            | EngineError::SourceDeleting(_)
            | EngineError::HasFollowers { .. }
            | EngineError::TooManyFollowers { .. }
            | EngineError::Busy { .. }
            | EngineError::NotFailed { .. }
            | EngineError::RoleExists { .. }
            | EngineError::FollowedReset { .. }
            | EngineError::SourceNotAvailable { .. } => ErrorCode::Conflict,
            EngineError::UnknownSource(..)
            | EngineError::UnknownPlan { .. }
            | EngineError::NotAFollower(_)
            | EngineError::Invalid(_)
            | EngineError::InTheFuture { .. }
            | EngineError::NoRestoreWindow { .. }
            | EngineError::OutsideWindow { .. }
            | EngineError::NotAPrimary(_)
            | EngineError::FollowerCredentials { .. }
            | EngineError::TooManyRoles { .. }
            | EngineError::NothingToCompare(_)
            | EngineError::NotAFork(_)
            | EngineError::FollowerMasking { .. }
            | EngineError::NothingToUnmask(_)
            | EngineError::IdempotencyMismatch { .. } => ErrorCode::Unprocessable,
            EngineError::NoFreePort(..) | EngineError::Backend(_) | EngineError::Store(StoreError::Busy(_)) => {
                ErrorCode::Unavailable
            }
            EngineError::Insight { error, .. } => match error {
                InsightError::NoSession(_) => ErrorCode::NotFound,
                InsightError::Ours(_) => ErrorCode::Unprocessable,
                InsightError::Unavailable(_) => ErrorCode::Conflict,
                InsightError::Provision(_) => ErrorCode::Unavailable,
            },
            EngineError::Masking { error, .. } => match error {
                crate::insights::masking::MaskError::Rule(_) | crate::insights::masking::MaskError::Table { .. } => {
                    ErrorCode::Unprocessable
                }
                crate::insights::masking::MaskError::Provision(_) => ErrorCode::Unavailable,
            },
            EngineError::Store(inner) => {
                tracing::error!(error = %inner, "metadata store failed");
                return ApiError::new(ErrorCode::Unavailable, "the metadata store is not answering");
            }
        };
        ApiError::new(code, e.to_string())
    }
}
