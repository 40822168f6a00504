//! The HTML document and the app's routes.

use leptos::prelude::*;
use leptos_meta::{provide_meta_context, MetaTags, Title};
use leptos_router::{
    components::{Route, Router, Routes, A},
    ParamSegment, StaticSegment,
};

use crate::accounts::{Me, UserRole};
use crate::api::sign_out;
use crate::live::provide_live;
use crate::pages::audit::AuditPage;
use crate::pages::databases::DatabasesPage;
use crate::pages::detail::DetailPage;
use crate::pages::requests::RequestsPage;
use crate::pages::sign_in::SignInPage;
use crate::pages::team::TeamPage;
use crate::pages::tokens::TokensPage;
use crate::session::{provide_session, reload_to};

/// The whole page the server renders around the app; `stylesheet` is the
/// built stylesheet's (hashed) path.
pub fn shell(options: LeptosOptions, stylesheet: String) -> impl IntoView {
    view! {
        <!DOCTYPE html>
        <html lang="en">
            <head>
                <meta charset="utf-8"/>
                <meta name="viewport" content="width=device-width, initial-scale=1"/>
                <link rel="icon" href="/favicon.svg" type="image/svg+xml"/>
                <link rel="stylesheet" href=stylesheet/>
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
    provide_session();

    view! {
        <Title text="pgfleet"/>
        <Router>
            <header class="topbar">
                <A href="/" attr:class="brand">
                    <span class="brand-mark" aria-hidden="true">"◆"</span>
                    " pgfleet"
                </A>
                <Navigation/>
                <span class="stream" role="status" data-testid="stream-status">
                    {move || if live.connected.get() { "● live" } else { "○ reconnecting…" }}
                </span>
                <UserMenu/>
            </header>
            <main class="content">
                <Routes fallback=|| view! { <p class="notice">"This page does not exist."</p> }>
                    <Route path=StaticSegment("") view=DatabasesPage/>
                    <Route path=(StaticSegment("databases"), ParamSegment("name")) view=DetailPage/>
                    <Route path=StaticSegment("sign-in") view=SignInPage/>
                    <Route path=StaticSegment("requests") view=RequestsPage/>
                    <Route path=StaticSegment("team") view=TeamPage/>
                    <Route path=StaticSegment("tokens") view=TokensPage/>
                    <Route path=StaticSegment("audit") view=AuditPage/>
                </Routes>
            </main>
        </Router>
    }
}

/// The signed-in user, once known.
fn signed_in<V: IntoView + 'static>(render: impl Fn(Me) -> V + Send + Sync + 'static) -> impl IntoView {
    let session = crate::session::use_session();
    let render = std::sync::Arc::new(render);
    view! {
        <Suspense fallback=|| ()>
            {move || {
                let render = render.clone();
                Suspend::new(async move { session.me.await.ok().flatten().map(|me| render(me)) })
            }}
        </Suspense>
    }
}

/// Links to the pages the user may use.
#[component]
fn Navigation() -> impl IntoView {
    signed_in(|me: Me| {
        let admin = me.role == UserRole::Admin;
        view! {
            <nav class="nav" aria-label="Console">
                <A href="/">"Databases"</A>
                <A href="/requests" attr:data-testid="nav-requests">"Fork requests"</A>
                <A href="/tokens">"Tokens"</A>
                <a href="/status" rel="external">"Status page"</a>
                {admin.then(|| view! {
                    <A href="/team" attr:data-testid="nav-team">"Team"</A>
                    <A href="/audit" attr:data-testid="nav-audit">"Audit"</A>
                })}
            </nav>
        }
    })
}

/// Who is signed in, and Sign out.
#[component]
fn UserMenu() -> impl IntoView {
    let out = Action::new(|_: &()| sign_out());
    Effect::new(move |_| {
        if out.value().get().is_some() {
            reload_to("/sign-in");
        }
    });
    signed_in(move |me: Me| {
        view! {
            <span class="user" data-testid="user">
                <span data-testid="user-name">{me.name.clone()}</span>
                " "
                <span class="role-chip" data-testid="user-role">{me.role.as_str()}</span>
            </span>
            <button class="button small secondary" data-testid="sign-out" on:click=move |_| { out.dispatch(()); }>
                "Sign out"
            </button>
        }
    })
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
