//! Pieces the pages share.

pub mod badge;
pub mod create_dialog;
pub mod lineage;
pub mod progress;
pub mod seeded;
pub mod sparkline;
