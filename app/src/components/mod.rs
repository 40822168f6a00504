//! Pieces the pages share.

pub mod backups;
pub mod badge;
pub mod chart;
pub mod confirm;
pub mod copy_actions;
pub mod copy_button;
pub mod create_dialog;
pub mod credentials;
pub mod deferred;
pub mod diagnose;
pub mod diagnostics;
pub mod expiry;
pub mod insights;
pub mod lag_chart;
pub mod lineage;
pub mod masking;
pub mod modal;
pub mod progress;
pub mod request_dialog;
pub mod roles;
pub mod schema_diff;
pub mod seeded;
pub mod tags;
