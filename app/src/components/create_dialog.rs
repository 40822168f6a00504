//! The Create / Follow / Fork dialog: a name pre-filled with a free colour
//! name and a plan, so one click does the common thing. Errors from the
//! server appear inside the dialog, next to the form.

use leptos::prelude::*;

use crate::api::create_database;
use crate::live::use_live;
use crate::model::NewDatabase;
use crate::names;

/// What the dialog makes.
#[derive(Clone, Debug, PartialEq)]
pub enum CreateMode {
    Empty,
    Follow(String),
    Fork(String),
}

impl CreateMode {
    fn title(&self) -> String {
        match self {
            CreateMode::Empty => "Create a database".into(),
            CreateMode::Follow(src) => format!("Follow {src}"),
            CreateMode::Fork(src) => format!("Fork {src}"),
        }
    }

    fn explanation(&self) -> String {
        match self {
            CreateMode::Empty => "A new, empty PostgreSQL database.".into(),
            CreateMode::Follow(src) => {
                format!("A read-only replica that stays up to date with {src}. It is ready once it has caught up.")
            }
            CreateMode::Fork(src) => {
                format!("An independent, writable copy of {src} as it is now. Changes on either side stay there.")
            }
        }
    }
}

/// The dialog, shown while `mode` is `Some`.
#[component]
pub fn CreateDialog(mode: RwSignal<Option<CreateMode>>) -> impl IntoView {
    let live = use_live();
    let name = RwSignal::new(String::new());
    let plan = RwSignal::new("mini".to_string());
    let error = RwSignal::new(None::<String>);
    // A fresh free name each time the dialog opens.
    Effect::new(move |_| {
        if mode.get().is_some() {
            let taken = live.dbs.get_untracked();
            name.set(names::free_name(|n| taken.contains_key(n)));
            error.set(None);
        }
    });
    let submit = Action::new(move |request: &NewDatabase| {
        let request = request.clone();
        async move { create_database(request).await }
    });
    Effect::new(move |_| {
        if let Some(result) = submit.value().get() {
            match result {
                Ok(_) => mode.set(None),
                Err(e) => error.set(Some(e.message)),
            }
        }
    });
    // Escape closes it wherever the focus is (a disabled button drops it).
    let escape = window_event_listener(leptos::ev::keydown, move |ev| {
        if ev.key() == "Escape" && mode.get_untracked().is_some() {
            mode.set(None);
        }
    });
    on_cleanup(move || escape.remove());
    let on_submit = move |ev: leptos::ev::SubmitEvent| {
        ev.prevent_default();
        let Some(m) = mode.get_untracked() else { return };
        let (follow, fork) = match m {
            CreateMode::Empty => (None, None),
            CreateMode::Follow(src) => (Some(src), None),
            CreateMode::Fork(src) => (None, Some(src)),
        };
        error.set(None);
        submit.dispatch(NewDatabase {
            name: Some(name.get_untracked()),
            plan: Some(plan.get_untracked()),
            follow,
            fork,
        });
    };
    view! {
        <Show when=move || mode.get().is_some()>
            <div class="backdrop" on:click=move |_| mode.set(None)></div>
            <div class="dialog" role="dialog" aria-modal="true" aria-labelledby="create-title" data-testid="create-dialog">
                <h2 id="create-title">{move || mode.get().map(|m| m.title())}</h2>
                <p class="muted">{move || mode.get().map(|m| m.explanation())}</p>
                <form on:submit=on_submit>
                    <label for="create-name">"Name"</label>
                    <input id="create-name" data-testid="create-name" autofocus
                        prop:value=move || name.get() on:input=move |ev| name.set(event_target_value(&ev))/>
                    <label for="create-plan">"Plan"</label>
                    <select id="create-plan" data-testid="create-plan" on:change=move |ev| plan.set(event_target_value(&ev))>
                        <option value="mini" selected=true>"mini: 20 connections, 32 MB buffers"</option>
                        <option value="standard">"standard: 100 connections, 128 MB buffers"</option>
                        <option value="premium">"premium: 200 connections, 512 MB buffers"</option>
                    </select>
                    <Show when=move || error.get().is_some()>
                        <p class="error" role="alert" data-testid="dialog-error">{move || error.get()}</p>
                    </Show>
                    <div class="dialog-actions">
                        <button type="button" class="button secondary" on:click=move |_| mode.set(None)>"Cancel"</button>
                        <button type="submit" class="button" data-testid="create-submit" disabled=move || submit.pending().get()>
                            {move || if submit.pending().get() { "Working…" } else { "Create" }}
                        </button>
                    </div>
                </form>
            </div>
        </Show>
    }
}
