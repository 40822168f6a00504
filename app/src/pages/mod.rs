//! One module per page of the console.

pub mod audit;
pub mod databases;
pub mod detail;
pub mod password;
pub mod requests;
pub mod sign_in;
pub mod team;
pub mod tokens;
