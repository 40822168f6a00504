//! The Create / Follow / Fork dialog: a name pre-filled with a free colour
//! name and a plan, so one click does the common thing. Errors from the
//! server appear inside the dialog, next to the form. Its code loads on
//! the first open ([`deferred`]).

use leptos::prelude::*;

use crate::api::create_database;
use crate::components::deferred::deferred;
use crate::components::modal::Modal;
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
    deferred(move || mode.with(Option::is_some), move || create_dialog(mode))
}

#[lazy]
fn create_dialog(mode: RwSignal<Option<CreateMode>>) -> AnyView {
    view! { <Dialog mode/> }.into_any()
}

#[component]
fn Dialog(mode: RwSignal<Option<CreateMode>>) -> impl IntoView {
    let live = use_live();
    let name = RwSignal::new(String::new());
    let plan = RwSignal::new("mini".to_string());
    let error = RwSignal::new(None::<String>);
    // For a fork: empty means "now"; otherwise a moment in UTC.
    let moment = RwSignal::new(String::new());
    let past = RwSignal::new(false);
    // A fresh free name each time the dialog opens.
    Effect::new(move |_| {
        if mode.get().is_some() {
            let taken = live.dbs.get_untracked();
            name.set(names::free_name(|n| taken.contains_key(n)));
            error.set(None);
            past.set(false);
            moment.set(String::new());
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
    let on_submit = move |ev: leptos::ev::SubmitEvent| {
        ev.prevent_default();
        let Some(m) = mode.get_untracked() else { return };
        let (follow, fork) = match m {
            CreateMode::Empty => (None, None),
            CreateMode::Follow(src) => (Some(src), None),
            CreateMode::Fork(src) => (None, Some(src)),
        };
        let at = if fork.is_some() && past.get_untracked() {
            match parse_moment(&moment.get_untracked()) {
                Ok(at) => Some(at),
                Err(e) => {
                    error.set(Some(e));
                    return;
                }
            }
        } else {
            None
        };
        error.set(None);
        submit.dispatch(NewDatabase {
            name: Some(name.get_untracked()),
            plan: Some(plan.get_untracked()),
            follow,
            fork,
            at,
            at_lsn: None,
            unmasked_reason: None,
        });
    };
    let window_words = move || {
        let Some(CreateMode::Fork(src)) = mode.get() else { return String::new() };
        match live.dbs.with(|dbs| dbs.get(&src).and_then(|d| d.restore_window.clone())) {
            Some(w) => format!("{src} can be forked from any moment {}.", w.describe()),
            None => format!("{src} has no backup yet, so it can only be forked as it is now."),
        }
    };
    view! {
        <Show when=move || mode.get().is_some()>
            <Modal on_close=Callback::new(move |_| mode.set(None)) labelledby="create-title" testid="create-dialog">
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
                    <Show when=move || matches!(mode.get(), Some(CreateMode::Fork(_)))>
                        <fieldset class="moment" data-testid="fork-moment">
                            <legend>"As it was"</legend>
                            <label class="inline">
                                <input type="radio" name="fork-when" checked=move || !past.get()
                                    on:change=move |_| past.set(false)/>
                                " now"
                            </label>
                            <label class="inline">
                                <input type="radio" name="fork-when" data-testid="fork-at-moment" checked=move || past.get()
                                    on:change=move |_| past.set(true)/>
                                " at a moment (UTC)"
                            </label>
                            <input type="datetime-local" step="1" data-testid="fork-at" aria-label="Moment, in UTC"
                                disabled=move || !past.get()
                                prop:value=move || moment.get() on:input=move |ev| moment.set(event_target_value(&ev))/>
                            <p class="muted" data-testid="restore-window">{window_words}</p>
                        </fieldset>
                    </Show>
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
            </Modal>
        </Show>
    }
}

/// A `datetime-local` value, read as UTC.
fn parse_moment(text: &str) -> Result<chrono::DateTime<chrono::Utc>, String> {
    let text = text.trim();
    ["%Y-%m-%dT%H:%M:%S", "%Y-%m-%dT%H:%M"]
        .iter()
        .find_map(|f| chrono::NaiveDateTime::parse_from_str(text, f).ok())
        .map(|t| t.and_utc())
        .ok_or_else(|| "choose the moment to fork from (a date and a time, in UTC)".to_string())
}
