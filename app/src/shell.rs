//! The HTML document and the app's routes.

use leptos::prelude::*;
use leptos_meta::{provide_meta_context, MetaTags, Stylesheet, Title};
use leptos_router::{
    components::{Route, Router, Routes, A},
    ParamSegment, StaticSegment,
};

use crate::live::provide_live;
use crate::pages::databases::DatabasesPage;
use crate::pages::detail::DetailPage;

/// The whole page the server renders around the app.
pub fn shell(options: LeptosOptions) -> impl IntoView {
    view! {
        <!DOCTYPE html>
        <html lang="en">
            <head>
                <meta charset="utf-8"/>
                <meta name="viewport" content="width=device-width, initial-scale=1"/>
                <link rel="icon" href="/favicon.svg" type="image/svg+xml"/>
                <HydrationScripts options/>
                <MetaTags/>
            </head>
            <body>
                <App/>
            </body>
        </html>
    }
}

/// The console.
#[component]
pub fn App() -> impl IntoView {
    provide_meta_context();
    mark_hydrated();
    let live = provide_live();

    view! {
        <Stylesheet id="pgfleet" href="/pkg/pgfleet.css"/>
        <Title text="pgfleet"/>
        <Router>
            <header class="topbar">
                <A href="/" attr:class="brand">
                    <span class="brand-mark" aria-hidden="true">"◆"</span>
                    " pgfleet"
                </A>
                <span class="stream" role="status" data-testid="stream-status">
                    {move || if live.connected.get() { "● live" } else { "○ reconnecting…" }}
                </span>
            </header>
            <main class="content">
                <Routes fallback=|| view! { <p class="notice">"This page does not exist."</p> }>
                    <Route path=StaticSegment("") view=DatabasesPage/>
                    <Route path=(StaticSegment("databases"), ParamSegment("name")) view=DetailPage/>
                </Routes>
            </main>
        </Router>
    }
}

/// Sets `data-hydrated` on `<html>` once the WASM has taken over, so tests
/// (and people debugging) can tell a live console from server-rendered HTML.
fn mark_hydrated() {
    Effect::new(move |_| {
        #[cfg(feature = "hydrate")]
        if let Some(root) = document().document_element() {
            let _ = root.set_attribute("data-hydrated", "true");
        }
    });
}
