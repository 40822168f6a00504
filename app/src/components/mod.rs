//! Pieces the pages share.

pub mod backups;
pub mod badge;
pub mod create_dialog;
pub mod expiry;
pub mod lineage;
pub mod modal;
pub mod progress;
pub mod request_dialog;
pub mod seeded;
pub mod sparkline;
