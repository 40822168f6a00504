//! The sign-in page. Wrong names and wrong passwords get the same answer;
//! repeated failures are slowed down by the server, which says when to try
//! again.

use leptos::prelude::*;
use leptos_router::hooks::use_query_map;

use crate::api::sign_in;
use crate::session::reload_to;

#[component]
pub fn SignInPage() -> impl IntoView {
    let query = use_query_map();
    // Read from the fields at submit, not kept in signals: what was typed
    // before the page hydrated must not be reset by hydration.
    let name: NodeRef<leptos::html::Input> = NodeRef::new();
    let password: NodeRef<leptos::html::Input> = NodeRef::new();
    let error = RwSignal::new(None::<String>);
    let submit = Action::new(move |(n, p): &(String, String)| {
        let (n, p) = (n.clone(), p.clone());
        async move { sign_in(n, p).await }
    });
    Effect::new(move |_| match submit.value().get() {
        Some(Ok(())) => {
            // Only paths on this site, never another origin.
            let next = query.with_untracked(|q| q.get("next")).filter(|n| n.starts_with('/') && !n.starts_with("//"));
            reload_to(&next.unwrap_or_else(|| "/".into()));
        }
        Some(Err(e)) => error.set(Some(e.message)),
        None => {}
    });
    let on_submit = move |ev: leptos::ev::SubmitEvent| {
        ev.prevent_default();
        error.set(None);
        let value = |field: NodeRef<leptos::html::Input>| field.get_untracked().map(|f| f.value()).unwrap_or_default();
        submit.dispatch((value(name), value(password)));
    };
    view! {
        <section class="page narrow">
            <h1>"Sign in to pgfleet"</h1>
            <form class="card stack" on:submit=on_submit data-testid="sign-in-form">
                <label for="sign-in-name">"Name"</label>
                <input id="sign-in-name" data-testid="sign-in-name" autocomplete="username" required node_ref=name/>
                <label for="sign-in-password">"Password"</label>
                <input id="sign-in-password" type="password" data-testid="sign-in-password" autocomplete="current-password"
                    required node_ref=password/>
                <Show when=move || error.get().is_some()>
                    <p class="error" role="alert" data-testid="sign-in-error">{move || error.get()}</p>
                </Show>
                <button type="submit" class="button" data-testid="sign-in-submit" disabled=move || submit.pending().get()>
                    {move || if submit.pending().get() { "Signing in…" } else { "Sign in" }}
                </button>
                <p class="muted small">
                    "New here? An admin invites you and gives you a one-time password. The first admin's is in "
                    <code>"<home>/admin-password"</code>" on the server."
                </p>
            </form>
        </section>
    }
}
