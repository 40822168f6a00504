//! Wire types of the public status surfaces (`/api/v1/status.json`, its
//! event stream, badges): only what a stranger may know about a database
//! an admin made public. Never hosts, ports, users, URLs or plans.

use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};

use crate::model::{Phase, Role};

/// A component's health in the words status-page tools use (Atlassian
/// Statuspage's component statuses).
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "ssr", derive(utoipa::ToSchema))]
#[serde(rename_all = "snake_case")]
pub enum ComponentStatus {
    Operational,
    DegradedPerformance,
    PartialOutage,
    MajorOutage,
    UnderMaintenance,
}

/// A follower further behind than this is degraded.
pub const DEGRADED_LAG_SECONDS: f64 = 30.0;

impl ComponentStatus {
    pub fn of(phase: Phase, lag_seconds: Option<f64>) -> ComponentStatus {
        match phase {
            Phase::Available if lag_seconds.is_some_and(|s| s > DEGRADED_LAG_SECONDS) => {
                ComponentStatus::DegradedPerformance
            }
            Phase::Available => ComponentStatus::Operational,
            Phase::CatchingUp => ComponentStatus::DegradedPerformance,
            Phase::Provisioning | Phase::Masking | Phase::Promoting | Phase::Deleting => {
                ComponentStatus::UnderMaintenance
            }
            Phase::Failed | Phase::Restarting => ComponentStatus::MajorOutage,
        }
    }
}

/// One public database.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "ssr", derive(utoipa::ToSchema))]
pub struct StatusComponent {
    pub name: String,
    pub status: ComponentStatus,
    pub phase: Phase,
    pub role: Role,
    /// A follower's replay lag.
    pub lag_seconds: Option<f64>,
    /// Share of the last 24 hours (or of its life, if younger) available, 0-1.
    pub uptime_24h: Option<f64>,
    pub uptime_7d: Option<f64>,
    /// When it was first available (within the kept history); uptime
    /// counts from then. Absent if it has not been yet.
    #[serde(default)]
    pub available_since: Option<DateTime<Utc>>,
    /// The last 24 hours, an hour each, oldest first.
    #[serde(default)]
    pub last_24h: Vec<HourBar>,
    pub updated_at: DateTime<Utc>,
}

/// One hour of a component's history, as a status page's bar shows it.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "ssr", derive(utoipa::ToSchema))]
pub struct HourBar {
    pub start: DateTime<Utc>,
    /// The worst it was in that hour; absent before it was first available.
    pub status: Option<ComponentStatus>,
    /// Share of the hour it was available, 0-1 (absent as `status`).
    pub uptime: Option<f64>,
}

impl ComponentStatus {
    /// How bad a status is, to keep the worst of an hour.
    pub fn severity(self) -> u8 {
        match self {
            ComponentStatus::Operational => 0,
            ComponentStatus::UnderMaintenance => 1,
            ComponentStatus::DegradedPerformance => 2,
            ComponentStatus::PartialOutage => 3,
            ComponentStatus::MajorOutage => 4,
        }
    }

    /// Words for a person, as status pages say them.
    pub fn words(self) -> &'static str {
        match self {
            ComponentStatus::Operational => "operational",
            ComponentStatus::DegradedPerformance => "degraded",
            ComponentStatus::PartialOutage => "partial outage",
            ComponentStatus::MajorOutage => "outage",
            ComponentStatus::UnderMaintenance => "maintenance",
        }
    }
}

#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "ssr", derive(utoipa::ToSchema))]
pub struct StatusPage {
    pub name: String,
    pub updated_at: DateTime<Utc>,
}

/// The page's overall state: `none`, `minor`, `major` or `maintenance`.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "ssr", derive(utoipa::ToSchema))]
pub struct StatusIndicator {
    pub indicator: String,
    pub description: String,
}

/// `GET /api/v1/status.json`: the shape of a Statuspage summary.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "ssr", derive(utoipa::ToSchema))]
pub struct StatusSummary {
    pub page: StatusPage,
    pub status: StatusIndicator,
    pub components: Vec<StatusComponent>,
}

impl StatusIndicator {
    pub fn of(components: &[StatusComponent]) -> StatusIndicator {
        let any = |s: ComponentStatus| components.iter().any(|c| c.status == s);
        let (indicator, description) = if any(ComponentStatus::MajorOutage) {
            ("major", "Major outage")
        } else if any(ComponentStatus::PartialOutage) || any(ComponentStatus::DegradedPerformance) {
            ("minor", "Some databases are degraded")
        } else if any(ComponentStatus::UnderMaintenance) {
            ("maintenance", "Some databases are being changed")
        } else {
            ("none", "All databases operational")
        };
        StatusIndicator { indicator: indicator.into(), description: description.into() }
    }
}

/// What a badge says about a database: its message and shields colour.
pub fn badge_words(phase: Phase, lag_seconds: Option<f64>) -> (String, &'static str) {
    match phase {
        Phase::Available => match lag_seconds {
            Some(s) if s >= 1.0 => (format!("{} s behind", s.round() as u64), "yellow"),
            _ => ("available".into(), "brightgreen"),
        },
        Phase::Failed | Phase::Restarting => (phase.label().into(), "red"),
        Phase::Deleting => (phase.label().into(), "lightgrey"),
        Phase::Provisioning | Phase::CatchingUp | Phase::Masking | Phase::Promoting => (phase.label().into(), "blue"),
    }
}
