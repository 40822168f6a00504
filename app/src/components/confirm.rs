//! Type-to-confirm: the form inside a dialog whose action cannot be undone
//! (Destroy, Reset). Its button works once the database's name is typed,
//! and Enter in the field confirms then too.

use leptos::prelude::*;

#[component]
pub fn TypeToConfirm(
    /// What must be typed.
    name: String,
    /// The field's id; the button's test id, and `{id}-input` the field's.
    id: &'static str,
    /// The button's words ("Destroy").
    verb: &'static str,
    typed: RwSignal<String>,
    error: RwSignal<Option<String>>,
    /// While the action runs, it is not sent again.
    #[prop(into)]
    pending: Signal<bool>,
    on_confirm: Callback<()>,
    on_cancel: Callback<()>,
) -> impl IntoView {
    let name = StoredValue::new(name);
    let matches = move || typed.get() == name.get_value();
    let on_submit = move |ev: leptos::ev::SubmitEvent| {
        ev.prevent_default();
        if typed.get_untracked() == name.get_value() && !pending.get_untracked() {
            on_confirm.run(());
        }
    };
    view! {
        // A form, so Enter in the field confirms once the name matches.
        <form on:submit=on_submit>
            <label for=id>{format!("Type {} to confirm", name.get_value())}</label>
            <input id=id data-testid=format!("{id}-input") autocomplete="off" autofocus
                prop:value=move || typed.get() on:input=move |ev| typed.set(event_target_value(&ev))/>
            <Show when=move || error.get().is_some()>
                <p class="error" role="alert" data-testid="dialog-error">{move || error.get()}</p>
            </Show>
            <div class="dialog-actions">
                <button type="button" class="button secondary" on:click=move |_| on_cancel.run(())>"Cancel"</button>
                <button type="submit" class="button danger" data-testid=id disabled=move || !matches() || pending.get()>
                    {verb}
                </button>
            </div>
        </form>
    }
}
