//! pgfleet's server side: configuration, the metadata store, the HTTP app
//! and (in later modules) the control plane that provisions PostgreSQL.
//!
//! The `pgfleet` binary (`main.rs`) is a thin layer over this library so
//! integration tests can start the very same app on port 0.
// Leptos view types of the console nest deeply.
#![recursion_limit = "256"]

pub mod access;
pub mod api;
pub mod cli;
pub mod client;
pub mod config;
pub mod console;
pub mod digest;
pub mod engine;
pub mod insights;
pub mod provisioner;
pub mod public;
pub mod serve;
pub mod store;
pub mod supervisor;
pub mod telemetry;
pub mod web;
