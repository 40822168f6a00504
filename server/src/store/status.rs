//! Observed state rows (`database_status`): written only by the engine's
//! recorder.

use app::model::{Archiving, CopyTechnique, Info, Lag, Phase, Progress, RestoreWindow};
use chrono::Utc;

use super::{Store, StoreError};

/// One change to a database's observed state.
#[derive(Clone, Debug)]
pub enum Observation {
    Phase {
        phase: Phase,
        message: Option<String>,
    },
    Progress(Option<Progress>),
    Lag(Option<Lag>),
    Info(Info),
    /// A follower's promotion ended its following; the first time it is
    /// observed is kept as when.
    Promoted,
    /// The technique that makes (or made) its copy.
    Copy(CopyTechnique),
    /// Its data was made for this reset generation (see
    /// `Spec::reset_generation`).
    Made(i64),
    /// How far a fork's masking got.
    Mask(MaskState),
    /// A primary's restore window and archiving, after the backup loop
    /// looked.
    Recoverability {
        window: Option<RestoreWindow>,
        archiving: Option<Archiving>,
    },
}

/// How far a fork's masking got (`database_status.mask_state`).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum MaskState {
    /// Not masked (its data is a plain copy, or none was made yet).
    None,
    /// Masking with this version of the rules began and did not finish:
    /// some tables may be masked, others not, so the data is made again.
    Begun(i64),
    /// Masked with this version of the rules.
    Done(i64),
}

impl Store {
    /// How far `name`'s masking got.
    pub async fn mask_state(&self, name: &str) -> Result<MaskState, StoreError> {
        let row: Option<(Option<String>, Option<i64>)> =
            sqlx::query_as("SELECT mask_state, mask_version FROM database_status WHERE name = $1")
                .bind(name)
                .fetch_optional(self.pool())
                .await?;
        match row {
            None | Some((None, _)) => Ok(MaskState::None),
            Some((Some(state), version)) => match (state.as_str(), version) {
                ("begun", Some(v)) => Ok(MaskState::Begun(v)),
                ("done", Some(v)) => Ok(MaskState::Done(v)),
                _ => Err(StoreError::Corrupt(format!("{name}: mask state {state:?} version {version:?}"))),
            },
        }
    }

    pub async fn phase_of(&self, name: &str) -> Result<Option<Phase>, StoreError> {
        let phase: Option<String> = sqlx::query_scalar("SELECT phase FROM database_status WHERE name = $1")
            .bind(name)
            .fetch_optional(self.pool())
            .await?;
        phase.map(|p| Phase::parse(&p).ok_or_else(|| StoreError::Corrupt(format!("{name}: phase {p:?}")))).transpose()
    }

    /// The reset generation `name`'s data was made for (0 before any).
    pub async fn made_generation(&self, name: &str) -> Result<i64, StoreError> {
        let made: Option<i64> = sqlx::query_scalar("SELECT made_generation FROM database_status WHERE name = $1")
            .bind(name)
            .fetch_optional(self.pool())
            .await?;
        Ok(made.unwrap_or(0))
    }

    /// The last recorded lag and probe of `name` (one small read, made for
    /// every measurement to decide whether it is news).
    pub async fn observed(&self, name: &str) -> Result<(Option<Lag>, Option<Info>), StoreError> {
        let row: Option<(Option<String>, Option<String>)> =
            sqlx::query_as("SELECT lag_json, info_json FROM database_status WHERE name = $1")
                .bind(name)
                .fetch_optional(self.pool())
                .await?;
        let Some((lag, info)) = row else { return Ok((None, None)) };
        // An unreadable old value only means the new one is news.
        Ok((lag.and_then(|l| serde_json::from_str(&l).ok()), info.and_then(|i| serde_json::from_str(&i).ok())))
    }

    /// The last recorded restore window and archiving of `name`.
    pub async fn recoverability(&self, name: &str) -> Result<(Option<RestoreWindow>, Option<Archiving>), StoreError> {
        let row: Option<(Option<String>, Option<String>)> =
            sqlx::query_as("SELECT restore_window_json, archiving_json FROM database_status WHERE name = $1")
                .bind(name)
                .fetch_optional(self.pool())
                .await?;
        let Some((window, archiving)) = row else { return Ok((None, None)) };
        Ok((window.and_then(|w| serde_json::from_str(&w).ok()), archiving.and_then(|a| serde_json::from_str(&a).ok())))
    }

    pub async fn observe(&self, name: &str, observation: &Observation) -> Result<(), StoreError> {
        let now = Utc::now().to_rfc3339();
        let query = match observation {
            Observation::Phase { phase, message } => {
                // Leaving a copy behind: its progress no longer describes anything.
                let clear_progress = !matches!(phase, Phase::Provisioning);
                sqlx::query(
                    "UPDATE database_status SET phase = $1, message = $2, \
                     progress_json = CASE WHEN $3 THEN NULL ELSE progress_json END, updated_at = $4 WHERE name = $5",
                )
                .bind(phase.as_str())
                .bind(message)
                .bind(clear_progress)
            }
            Observation::Progress(p) => {
                sqlx::query("UPDATE database_status SET progress_json = $1, updated_at = $2 WHERE name = $3")
                    .bind(p.as_ref().map(json))
            }
            Observation::Lag(l) => {
                sqlx::query("UPDATE database_status SET lag_json = $1, updated_at = $2 WHERE name = $3")
                    .bind(l.as_ref().map(json))
            }
            Observation::Info(i) => {
                sqlx::query("UPDATE database_status SET info_json = $1, updated_at = $2 WHERE name = $3").bind(json(i))
            }
            Observation::Made(generation) => {
                sqlx::query("UPDATE database_status SET made_generation = $1, updated_at = $2 WHERE name = $3")
                    .bind(*generation)
            }
            Observation::Mask(state) => {
                let (state, version) = match state {
                    MaskState::None => (None, None),
                    MaskState::Begun(v) => (Some("begun"), Some(*v)),
                    MaskState::Done(v) => (Some("done"), Some(*v)),
                };
                sqlx::query("UPDATE database_status SET mask_state = $1, mask_version = $2, updated_at = $3 WHERE name = $4")
                    .bind(state)
                    .bind(version)
            }
            Observation::Copy(c) => {
                sqlx::query("UPDATE database_status SET copy_json = $1, updated_at = $2 WHERE name = $3").bind(json(c))
            }
            Observation::Recoverability { window, archiving } => sqlx::query(
                "UPDATE database_status SET restore_window_json = $1, archiving_json = $2, updated_at = $3 WHERE name = $4",
            )
            .bind(window.as_ref().map(json))
            .bind(archiving.as_ref().map(json)),
            Observation::Promoted => sqlx::query(
                "UPDATE database_status SET following = NULL, lag_json = NULL, \
                 followed_until = COALESCE(followed_until, $1), updated_at = $2 WHERE name = $3",
            )
            .bind(now.clone()),
        };
        query.bind(now).bind(name).execute(self.pool()).await?;
        Ok(())
    }
}

fn json<T: serde::Serialize>(value: &T) -> String {
    serde_json::to_string(value).expect("wire types serialise")
}
