//! The Schema diff card of a fork's page: on request, what differs in its
//! schema against the database it was forked from (added, removed,
//! changed), grouped by schema, with each changed object's SQL side by
//! side. Asked for, not loaded with the page: it reads both databases'
//! catalogs.

use leptos::prelude::*;

use crate::api::schema_diff;
use crate::schema_diff::{Change, ObjectDiff, SchemaDiff};

#[component]
pub fn SchemaDiffCard(name: Memo<String>, source: Memo<Option<String>>) -> impl IntoView {
    let compare = Action::new(move |name: &String| {
        let name = name.clone();
        async move { schema_diff(name, None).await }
    });
    // Another database's page starts afresh.
    Effect::new(move |_| {
        name.track();
        compare.value().set(None);
    });
    view! {
        <Show when=move || source.with(Option::is_some)>
            <section class="card schema-diff" data-testid="schema-diff" aria-labelledby="schema-diff-title">
                <h2 id="schema-diff-title">"Schema diff"</h2>
                <p class="muted small">{move || format!(
                    "What a migration tried here changed: tables, columns, indexes, constraints, views, functions, triggers, sequences, extensions and enum types, against {}.",
                    source.get().unwrap_or_default()
                )}</p>
                <button class="button secondary" data-testid="compare" disabled=move || compare.pending().get()
                    on:click=move |_| { compare.dispatch(name.get_untracked()); }>
                    {move || match (compare.pending().get(), compare.value().with(Option::is_some)) {
                        (true, _) => "Comparing…".to_string(),
                        (false, true) => "Compare again".to_string(),
                        (false, false) => format!("Compare with {}", source.get().unwrap_or_default()),
                    }}
                </button>
                {move || compare.value().get().map(|answer| match answer {
                    Ok(diff) => view! { <DiffView diff/> }.into_any(),
                    Err(e) => view! { <p class="error" role="alert">{e.message}</p> }.into_any(),
                })}
            </section>
        </Show>
    }
}

#[component]
fn DiffView(diff: SchemaDiff) -> impl IntoView {
    let count = diff.count();
    let summary = match count {
        0 => format!("Same schema as {}.", diff.b),
        1 => format!("1 difference against {}.", diff.b),
        n => format!("{n} differences against {}.", diff.b),
    };
    let (a, b) = (diff.a.clone(), diff.b.clone());
    view! {
        <p data-testid="diff-summary" role="status">{summary}</p>
        {diff.schemas.into_iter().map(|group| {
            let (a, b) = (a.clone(), b.clone());
            let schema = if group.schema.is_empty() { "Database".to_string() } else { format!("Schema {}", group.schema) };
            view! {
                <h3 class="diff-schema">{schema}</h3>
                <ul class="diff-objects">
                    {group.objects.into_iter().map(|o| view! { <DiffObject object=o a=a.clone() b=b.clone()/> }).collect_view()}
                </ul>
            }
        }).collect_view()}
    }
}

#[component]
fn DiffObject(object: ObjectDiff, a: String, b: String) -> impl IntoView {
    let (class, word) = match object.change {
        Change::Added => ("badge phase-available", "added"),
        Change::Removed => ("badge phase-failed", "removed"),
        Change::Changed => ("badge phase-provisioning", "changed"),
    };
    let definitions = match (object.before, object.after) {
        (Some(before), Some(after)) => view! {
            <div class="side-by-side">
                <div data-testid="before"><p class="muted small">{format!("in {b}")}</p><pre>{before}</pre></div>
                <div data-testid="after"><p class="muted small">{format!("in {a}")}</p><pre>{after}</pre></div>
            </div>
        }
        .into_any(),
        (Some(def), None) | (None, Some(def)) => view! { <pre>{def}</pre> }.into_any(),
        (None, None) => ().into_any(),
    };
    view! {
        <li data-testid="diff-object" data-change=word>
            <span class=class>{word}</span>" "
            <span class="muted">{object.kind.label()}</span>" "
            <code data-testid="diff-name">{object.name}</code>
            {definitions}
        </li>
    }
}
