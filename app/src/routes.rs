//! The console's routes, and which pages the browser loads only when it
//! first shows them.
//!
//! Every page but the databases list is a `#[lazy_route]`: the
//! browser build is cut at these points (`.ci/build-site` runs wasm-split),
//! so the databases page, where almost every visit starts, downloads only
//! its own code. A lazy page the server renders names its parts in the HTML
//! as preloads, so a first visit to it fetches them beside the main module.
//!
//! A lazy page hydrates only once its part has arrived, after the rest of
//! the app; so each page, not the app, says when the console is live
//! ([`mark_hydrated`]), or a press in between would be lost.

use leptos::prelude::*;
use leptos_router::{
    components::{FlatRoutes, Route},
    lazy_route, Lazy, LazyRoute, ParamSegment, StaticSegment,
};

use crate::pages::{
    audit::AuditPage, databases::DatabasesPage, detail::DetailPage, requests::RequestsPage, sign_in::SignInPage,
    team::TeamPage, tokens::TokensPage,
};
use crate::ready::mark_hydrated;

/// The page for the current path.
#[component]
pub fn AppRoutes() -> impl IntoView {
    view! {
        <FlatRoutes fallback=|| page(view! { <p class="notice">"This page does not exist."</p> })>
            <Route path=StaticSegment("") view=|| page(view! { <DatabasesPage/> })/>
            <Route path=(StaticSegment("databases"), ParamSegment("name")) view={Lazy::<DetailRoute>::new()}/>
            <Route path=StaticSegment("sign-in") view={Lazy::<SignInRoute>::new()}/>
            <Route path=StaticSegment("requests") view={Lazy::<RequestsRoute>::new()}/>
            <Route path=StaticSegment("team") view={Lazy::<TeamRoute>::new()}/>
            <Route path=StaticSegment("tokens") view={Lazy::<TokensRoute>::new()}/>
            <Route path=StaticSegment("audit") view={Lazy::<AuditRoute>::new()}/>
        </FlatRoutes>
    }
}

/// A page, which marks the console live once it has hydrated.
fn page(view: impl IntoView + 'static) -> AnyView {
    mark_hydrated();
    view.into_any()
}

/// A database's page.
pub struct DetailRoute;

#[lazy_route]
impl LazyRoute for DetailRoute {
    fn data() -> Self {
        DetailRoute
    }

    fn view(_this: Self) -> AnyView {
        page(view! { <DetailPage/> })
    }
}

/// Signing in.
pub struct SignInRoute;

#[lazy_route]
impl LazyRoute for SignInRoute {
    fn data() -> Self {
        SignInRoute
    }

    fn view(_this: Self) -> AnyView {
        page(view! { <SignInPage/> })
    }
}

/// Fork requests.
pub struct RequestsRoute;

#[lazy_route]
impl LazyRoute for RequestsRoute {
    fn data() -> Self {
        RequestsRoute
    }

    fn view(_this: Self) -> AnyView {
        page(view! { <RequestsPage/> })
    }
}

/// The team's members and invitations.
pub struct TeamRoute;

#[lazy_route]
impl LazyRoute for TeamRoute {
    fn data() -> Self {
        TeamRoute
    }

    fn view(_this: Self) -> AnyView {
        page(view! { <TeamPage/> })
    }
}

/// API tokens.
pub struct TokensRoute;

#[lazy_route]
impl LazyRoute for TokensRoute {
    fn data() -> Self {
        TokensRoute
    }

    fn view(_this: Self) -> AnyView {
        page(view! { <TokensPage/> })
    }
}

/// The audit log.
pub struct AuditRoute;

#[lazy_route]
impl LazyRoute for AuditRoute {
    fn data() -> Self {
        AuditRoute
    }

    fn view(_this: Self) -> AnyView {
        page(view! { <AuditPage/> })
    }
}
