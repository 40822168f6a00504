//! The databases page: every database at a glance.

use leptos::prelude::*;

use crate::api::list_databases;
use crate::format;
use crate::model::{DatabaseView, Phase};

#[component]
pub fn DatabasesPage() -> impl IntoView {
    let databases = Resource::new(|| (), |_| list_databases());
    let (show_help, set_show_help) = signal(false);

    view! {
        <section class="page">
            <div class="page-head">
                <h1>"Databases"</h1>
                <button
                    class="button secondary"
                    data-testid="help-toggle"
                    aria-expanded=move || show_help.get().to_string()
                    aria-controls="help"
                    on:click=move |_| set_show_help.update(|v| *v = !*v)
                >
                    {move || if show_help.get() { "Hide help" } else { "How pgfleet works" }}
                </button>
            </div>
            <Show when=move || show_help.get()>
                <div id="help" class="help" data-testid="help">
                    <p>
                        "Each database is its own PostgreSQL server. A "
                        <strong>"follower"</strong>
                        " is a read-only replica that stays up to date with its source; a "
                        <strong>"fork"</strong>
                        " is an independent, writable copy of a database as it was at one moment."
                    </p>
                </div>
            </Show>
            <Suspense fallback=|| view! { <p class="notice">"Loading databases…"</p> }>
                {move || Suspend::new(async move {
                    match databases.await {
                        Ok(list) if list.is_empty() => view! { <EmptyState/> }.into_any(),
                        Ok(list) => view! { <DatabaseTable list/> }.into_any(),
                        Err(e) => view! {
                            <p class="error" role="alert">{format!("Could not load databases: {e}")}</p>
                        }
                        .into_any(),
                    }
                })}
            </Suspense>
        </section>
    }
}

#[component]
fn EmptyState() -> impl IntoView {
    view! {
        <div class="empty" data-testid="empty-state">
            <h2>"No databases yet"</h2>
            <p>
                "Create your first database. Once it is available you can give it a follower "
                "for reads, or fork it to try a migration against real data."
            </p>
        </div>
    }
}

#[component]
fn DatabaseTable(list: Vec<DatabaseView>) -> impl IntoView {
    view! {
        <table class="databases" data-testid="databases">
            <thead>
                <tr>
                    <th scope="col">"Name"</th>
                    <th scope="col">"State"</th>
                    <th scope="col">"Role"</th>
                    <th scope="col">"Lineage"</th>
                    <th scope="col">"Size"</th>
                </tr>
            </thead>
            <tbody>
                {list
                    .into_iter()
                    .map(|db| {
                        let lineage = lineage(&db);
                        let size = db.info.as_ref().map(|i| format::bytes(i.data_size_bytes)).unwrap_or_default();
                        view! {
                            <tr data-testid=format!("db-{}", db.name)>
                                <td>{db.name.clone()}</td>
                                <td><PhaseBadge phase=db.phase/></td>
                                <td>{db.role.as_str()}</td>
                                <td>{lineage}</td>
                                <td>{size}</td>
                            </tr>
                        }
                    })
                    .collect_view()}
            </tbody>
        </table>
    }
}

fn lineage(db: &DatabaseView) -> String {
    match (&db.following, &db.forked_from) {
        (Some(src), _) => format!("following {src}"),
        (None, Some(src)) => format!("forked from {src}"),
        (None, None) => String::new(),
    }
}

/// A phase as text plus a shape, so colour is never the only signal.
#[component]
pub fn PhaseBadge(phase: Phase) -> impl IntoView {
    let icon = match phase {
        Phase::Available => "●",
        Phase::Provisioning | Phase::CatchingUp | Phase::Promoting => "◐",
        Phase::Failed => "✕",
        Phase::Deleting => "○",
    };
    view! {
        <span class=format!("badge phase-{}", phase.as_str()) data-testid="phase">
            <span aria-hidden="true">{icon}</span>
            " "
            {phase.label()}
        </span>
    }
}
