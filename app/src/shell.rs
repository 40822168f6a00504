//! The HTML document and the app's routes.

use leptos::prelude::*;
use leptos_router::components::Router;
use leptos_router::hooks::use_location;

use crate::accounts::{Me, UserRole};
use crate::api::sign_out;
use crate::live::provide_live;
use crate::ready::hydrating;
use crate::routes::AppRoutes;
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
                <title>"pgfleet"</title>
                <link rel="icon" href="/favicon.svg" type="image/svg+xml"/>
                <link rel="stylesheet" href=stylesheet/>
                <script inner_html=crate::ready::PRELUDE></script>
                <HydrationScripts options/>
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
    provide_live();
    provide_session();

    view! {
        <Router>
            <a class="skip-link" href="#main" on:click=skip_to_main>"Skip to main content"</a>
            <header class="topbar">
                <a href="/" class="brand">
                    <span class="brand-mark" aria-hidden="true">"◆"</span>
                    " pgfleet"
                </a>
                <SignedInHeader/>
            </header>
            <main class="content" id="main" tabindex="-1">
                <AppRoutes/>
            </main>
        </Router>
    }
}

/// The header's parts for a signed-in user, under one wait for who that
/// is (signed out there are no links, no stream and no one to sign out).
#[component]
fn SignedInHeader() -> impl IntoView {
    let session = crate::session::use_session();
    view! {
        <Suspense fallback=|| ()>
            {move || Suspend::new(hydrating(async move {
                session.me.await.ok().flatten().map(|me| view! {
                    <Navigation admin=me.role == UserRole::Admin/>
                    <StreamStatus/>
                    <UserMenu me/>
                })
            }))}
        </Suspense>
    }
}

/// Links to the pages the user may use.
#[component]
fn Navigation(admin: bool) -> impl IntoView {
    view! {
        <nav class="nav" aria-label="Console">
            <NavLink href="/">"Databases"</NavLink>
            <NavLink href="/requests" testid="nav-requests">"Fork requests"<PendingCount admin/></NavLink>
            <NavLink href="/tokens">"Tokens"</NavLink>
            <a href="/status" rel="external">"Status page"</a>
            {admin.then(|| view! {
                <NavLink href="/team" testid="nav-team">"Team"</NavLink>
                <NavLink href="/audit" testid="nav-audit">"Audit"</NavLink>
            })}
        </nav>
    }
}

/// A link of the header, `aria-current` on its page and the pages under it.
/// The router takes over clicks on any link, so a plain `<a>` navigates in
/// the page; leptos' `<A>` (which also resolves relative paths, none here)
/// was ~5 KB of the first page's gzipped WASM.
#[component]
fn NavLink(href: &'static str, #[prop(optional)] testid: Option<&'static str>, children: Children) -> impl IntoView {
    let location = use_location();
    let current = move || {
        location.pathname.with(|path| {
            let under = href != "/" && path.strip_prefix(href).is_some_and(|rest| rest.starts_with('/'));
            (path == href || under).then_some("page")
        })
    };
    view! {
        <a href=href data-testid=testid aria-current=current>
            {children()}
        </a>
    }
}

/// How many fork requests wait: for an admin every pending one (theirs to
/// decide), for others their own. Read in the browser and again whenever
/// the stream says requests changed.
#[component]
fn PendingCount(admin: bool) -> impl IntoView {
    let live = crate::live::use_live();
    let pending = crate::fetched::fetched(move || {
        live.requests_version.track();
        async move { crate::api::pending_fork_requests().await.unwrap_or(0) }
    });
    let count = move || pending.get().unwrap_or(0);
    let words = move || match (count(), admin) {
        (1, true) => "1 request waits for a decision".to_string(),
        (n, true) => format!("{n} requests wait for a decision"),
        (1, false) => "1 of yours waits".to_string(),
        (n, false) => format!("{n} of yours wait"),
    };
    view! {
        <Show when=move || { count() > 0 }>
            <span class="count" data-testid="pending-count">
                <span aria-hidden="true">{count}</span>
                <span class="visually-hidden">{move || format!(" ({})", words())}</span>
            </span>
        </Show>
    }
}

/// Whether the console is live (shown to a signed-in user: signed out
/// there is no stream to speak of).
#[component]
fn StreamStatus() -> impl IntoView {
    let live = crate::live::use_live();
    live.start();
    view! {
        <span class="stream" role="status" data-testid="stream-status" data-stream=move || format!("{:?}", live.stream.get())>
            {move || live.stream.get().label()}
        </span>
    }
}

/// Who is signed in, and Sign out.
#[component]
fn UserMenu(me: Me) -> impl IntoView {
    // A task, not an `Action`: nothing here shows its progress, and each
    // kind of `Action` is its own few KB of the first page's WASM.
    let sign_out_now = move |_| {
        leptos::task::spawn_local(async {
            // Signed out, or the session was already gone: sign-in is next.
            let _ = sign_out().await;
            reload_to("/sign-in");
        })
    };
    view! {
        <span class="user" data-testid="user">
            <span data-testid="user-name">{me.name.clone()}</span>
            " "
            <span class="role-chip" data-testid="user-role">{me.role.as_str()}</span>
        </span>
        <button class="button small secondary" data-testid="sign-out" on:click=sign_out_now>
            "Sign out"
        </button>
    }
}

/// The skip link moves the focus itself: the router takes over clicks on
/// links, and a fragment alone would only scroll.
fn skip_to_main(ev: leptos::ev::MouseEvent) {
    ev.prevent_default();
    #[cfg(feature = "hydrate")]
    {
        use wasm_bindgen::JsCast;
        if let Some(main) = document().get_element_by_id("main").and_then(|m| m.dyn_into::<web_sys::HtmlElement>().ok())
        {
            let _ = main.focus();
        }
    }
}
