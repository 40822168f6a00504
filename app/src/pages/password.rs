//! Choosing a password: required after signing in with a one-time one.

use leptos::prelude::*;

use crate::api::change_password;
use crate::components::deferred::deferred;
use crate::session::reload_to;

/// Where the form goes. A one-time password is used once, so the form's
/// code is a part of the WASM (a `#[lazy]` function, cut out of the first
/// page's by `.ci/build-site`) fetched only when it is wanted. It is drawn
/// in the browser once the page is live, not rendered by the server: a
/// lazy part inside a page that is hydrating would have nothing to hydrate
/// with until it arrived. Meanwhile the page says it is coming.
#[component]
pub fn PasswordGate() -> impl IntoView {
    let live = crate::ready::mounted();
    view! {
        <Show when=move || !live.get()>
            <p class="notice" data-testid="password-loading">"Loading the password form…"</p>
        </Show>
        {deferred(move || live.get(), change_password_page)}
    }
}

#[lazy]
fn change_password_page() -> AnyView {
    view! { <ChangePassword/> }.into_any()
}

#[component]
pub fn ChangePassword() -> impl IntoView {
    let current = RwSignal::new(String::new());
    let new = RwSignal::new(String::new());
    let repeat = RwSignal::new(String::new());
    let error = RwSignal::new(None::<String>);
    let submit = Action::new(move |(c, n, r): &(String, String, String)| {
        let (c, n, r) = (c.clone(), n.clone(), r.clone());
        async move { change_password(c, n, r).await }
    });
    Effect::new(move |_| match submit.value().get() {
        Some(Ok(())) => reload_to("/"),
        Some(Err(e)) => error.set(Some(e.message)),
        None => {}
    });
    let on_submit = move |ev: leptos::ev::SubmitEvent| {
        ev.prevent_default();
        error.set(None);
        submit.dispatch((current.get_untracked(), new.get_untracked(), repeat.get_untracked()));
    };
    let field = |id: &'static str, label: &'static str, value: RwSignal<String>, autocomplete: &'static str| {
        view! {
            <label for=id>{label}</label>
            <input id=id type="password" data-testid=id autocomplete=autocomplete required
                prop:value=move || value.get() on:input=move |ev| value.set(event_target_value(&ev))/>
        }
    };
    view! {
        <section class="page narrow">
            <h1>"Choose your password"</h1>
            <p class="muted">"You signed in with a one-time password. Choose your own (at least 10 characters) to go on."</p>
            <form class="card stack" on:submit=on_submit data-testid="password-form">
                {field("password-current", "One-time password", current, "current-password")}
                {field("password-new", "New password", new, "new-password")}
                {field("password-repeat", "New password again", repeat, "new-password")}
                <Show when=move || error.get().is_some()>
                    <p class="error" role="alert" data-testid="password-error">{move || error.get()}</p>
                </Show>
                <button type="submit" class="button" data-testid="password-submit" disabled=move || submit.pending().get()>
                    "Save password"
                </button>
            </form>
        </section>
    }
}
