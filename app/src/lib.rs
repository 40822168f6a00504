//! pgfleet's console, shared by both builds.
//!
//! This crate owns what the browser and the server must agree on: the wire
//! types ([`model`]), the components, and the server functions beside them.
//! It never reaches the control plane directly: with `ssr` its server
//! functions find an [`backend::ConsoleBackend`] trait object in Leptos context,
//! which the server crate provides. That keeps every server-only dependency
//! out of the WASM build (feature `hydrate`).
#![recursion_limit = "256"]

// The browser build erases components (.ci/build-site); rendered without it
// the server's HTML has other markers and hydration fails at the first one.
#[cfg(not(erase_components))]
compile_error!(
    "pgfleet's console is built with `--cfg erase_components` (.cargo/config.toml sets it; a RUSTFLAGS variable \
     replaces it, so add it there too)"
);

pub mod accounts;
pub mod api;
#[cfg(feature = "ssr")]
pub mod backend;
pub mod client;
pub mod codec;
pub mod components;
pub mod connection;
pub mod diagnose;
pub mod fetched;
pub mod format;
pub mod insights;
pub mod limits;
pub mod live;
pub mod masking;
pub mod metrics;
pub mod model;
pub mod named;
pub mod names;
pub mod pages;
pub mod policy;
pub mod ready;
pub mod rfc3339;
pub mod roles;
pub mod routes;
pub mod schema_diff;
pub mod session;
pub mod shell;
pub mod status;

pub use shell::{shell, App};

/// The browser's entry point: attaches the interactive app to the HTML the
/// server rendered.
#[cfg(feature = "hydrate")]
#[wasm_bindgen::prelude::wasm_bindgen]
pub fn hydrate() {
    // Built with `-Cpanic=immediate-abort` (.ci/build-site on Debian's
    // toolchain), a panic never reaches a hook: leave its code out.
    #[cfg(not(pgfleet_immediate_abort))]
    console_error_panic_hook::set_once();
    // Lazy routes (routes.rs) hydrate once their part has loaded, so the
    // body is hydrated asynchronously.
    leptos::mount::hydrate_lazy(App);
}
