//! One module per page of the console.

pub mod databases;
pub mod detail;
