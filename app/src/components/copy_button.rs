//! A button that puts a text on the clipboard and says so for a moment:
//! for connection URLs, one-time passwords and new tokens, which are shown
//! once and are long enough that nobody should retype them.

use leptos::prelude::*;

#[component]
pub fn CopyButton(
    /// What is copied.
    #[prop(into)]
    text: Signal<String>,
    /// What the button copies, for screen readers ("Copy the token").
    label: &'static str,
    #[prop(default = "copy")] testid: &'static str,
) -> impl IntoView {
    let copied = RwSignal::new(false);
    let failed = RwSignal::new(false);
    let copy = move |_| {
        #[cfg(feature = "hydrate")]
        {
            let text = text.get_untracked();
            leptos::task::spawn_local(async move {
                let promise = window().navigator().clipboard().write_text(&text);
                let ok = wasm_bindgen_futures::JsFuture::from(promise).await.is_ok();
                copied.set(ok);
                failed.set(!ok);
                gloo_timers::future::TimeoutFuture::new(2_000).await;
                copied.set(false);
            });
        }
        #[cfg(not(feature = "hydrate"))]
        let _ = text;
    };
    view! {
        <button type="button" class="button small secondary" data-testid=testid aria-label=label on:click=copy>
            {move || if copied.get() { "Copied" } else { "Copy" }}
        </button>
        <span class="visually-hidden" role="status">{move || if copied.get() { "Copied" } else { "" }}</span>
        <Show when=move || failed.get()>
            <span class="muted small" role="alert">" The browser refused the clipboard: select the text and copy it."</span>
        </Show>
    }
}
