//! A phase as a badge: text and a shape, so colour is never the only signal.

use leptos::prelude::*;

use crate::model::Phase;

#[component]
pub fn PhaseBadge(#[prop(into)] phase: Signal<Phase>) -> impl IntoView {
    let icon = move || phase.get().symbol();
    view! {
        <span class=move || format!("badge phase-{}", phase.get().as_str()) data-testid="phase">
            <span aria-hidden="true">{icon}</span>
            " "
            {move || phase.get().label()}
        </span>
    }
}
