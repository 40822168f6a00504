//! The Request fork dialog, for a member's fork that an admin approves (of
//! a database whose fork policy is `approval`, or an unmasked fork of one
//! with masking rules): a name, why, how long it should live and, where
//! the source has masking rules, whether it is to be unmasked. The request
//! then waits for an admin on the fork requests page. Its code loads on
//! the first open ([`deferred`]).

use leptos::prelude::*;
use leptos_router::hooks::use_navigate;

use crate::accounts::NewForkRequest;
use crate::api::request_fork;
use crate::components::deferred::deferred;
use crate::components::modal::Modal;
use crate::live::use_live;
use crate::names;

/// The dialog, shown while `source` is `Some`.
#[component]
pub fn RequestDialog(source: RwSignal<Option<String>>) -> impl IntoView {
    deferred(move || source.with(Option::is_some), move || request_dialog(source))
}

#[lazy]
fn request_dialog(source: RwSignal<Option<String>>) -> AnyView {
    view! { <Dialog source/> }.into_any()
}

#[component]
fn Dialog(source: RwSignal<Option<String>>) -> impl IntoView {
    let live = use_live();
    let name = RwSignal::new(String::new());
    let reason = RwSignal::new(String::new());
    let hours = RwSignal::new("72".to_string());
    let error = RwSignal::new(None::<String>);
    let unmasked = RwSignal::new(false);
    // Only a source with masking rules has forks that could be unmasked.
    let has_rules = Memo::new(move |_| {
        source.get().is_some_and(|s| live.dbs.with(|dbs| dbs.get(&s).is_some_and(|d| d.masking_rules > 0)))
    });
    Effect::new(move |_| {
        if source.get().is_some() {
            unmasked.set(false);
            let taken = live.dbs.get_untracked();
            name.set(names::free_name(|n| taken.contains_key(n)));
            reason.set(String::new());
            error.set(None);
        }
    });
    let submit = Action::new(move |request: &NewForkRequest| {
        let request = request.clone();
        async move { request_fork(request).await }
    });
    let navigate = use_navigate();
    Effect::new(move |_| match submit.value().get() {
        Some(Ok(_)) => {
            source.set(None);
            navigate("/requests", Default::default());
        }
        Some(Err(e)) => error.set(Some(e.message)),
        None => {}
    });
    let on_submit = move |ev: leptos::ev::SubmitEvent| {
        ev.prevent_default();
        let Some(src) = source.get_untracked() else { return };
        let Ok(h) = hours.get_untracked().trim().parse::<f64>() else {
            error.set(Some("say how many hours the fork should live".into()));
            return;
        };
        error.set(None);
        submit.dispatch(NewForkRequest {
            source: src,
            name: Some(name.get_untracked()),
            reason: reason.get_untracked(),
            ttl_seconds: Some((h * 3600.0).round() as i64),
            at: None,
            unmasked: unmasked.get_untracked() && has_rules.get_untracked(),
        });
    };
    view! {
        <Show when=move || source.get().is_some()>
            <Modal on_close=Callback::new(move |_| source.set(None)) labelledby="request-title" testid="request-dialog">
                <h2 id="request-title">{move || format!("Request a fork of {}", source.get().unwrap_or_default())}</h2>
                <p class="muted">
                    "An admin approves this fork. You will see the request's state live, "
                    "and the fork is destroyed when its time is up unless you extend it."
                </p>
                <form on:submit=on_submit>
                    <label for="request-name">"Fork name"</label>
                    <input id="request-name" data-testid="request-name"
                        prop:value=move || name.get() on:input=move |ev| name.set(event_target_value(&ev))/>
                    <label for="request-reason">"Why do you need it?"</label>
                    <textarea id="request-reason" data-testid="request-reason" required rows="3"
                        placeholder="e.g. try the orders migration against real data"
                        prop:value=move || reason.get() on:input=move |ev| reason.set(event_target_value(&ev))></textarea>
                    <label for="request-hours">"Keep it for (hours)"</label>
                    <input id="request-hours" data-testid="request-hours" inputmode="decimal"
                        prop:value=move || hours.get() on:input=move |ev| hours.set(event_target_value(&ev))/>
                    <Show when=move || has_rules.get()>
                        <label class="check">
                            <input type="checkbox" data-testid="request-unmasked"
                                prop:checked=move || unmasked.get()
                                on:change=move |ev| unmasked.set(event_target_checked(&ev))/>
                            " Unmasked: without the source's masking rules (say why above; it is marked unmasked everywhere)"
                        </label>
                    </Show>
                    <Show when=move || error.get().is_some()>
                        <p class="error" role="alert" data-testid="dialog-error">{move || error.get()}</p>
                    </Show>
                    <div class="dialog-actions">
                        <button type="button" class="button secondary" on:click=move |_| source.set(None)>"Cancel"</button>
                        <button type="submit" class="button" data-testid="request-submit" disabled=move || submit.pending().get()>
                            "Send request"
                        </button>
                    </div>
                </form>
            </Modal>
        </Show>
    }
}
