//! The databases page: every database at a glance, with Follow and Fork.

use leptos::prelude::*;
use leptos_router::components::A;

use crate::accounts::Me;
use crate::components::badge::PhaseBadge;
use crate::components::create_dialog::{CreateDialog, CreateMode};
use crate::components::expiry::Expiry;
use crate::components::progress::ProgressBar;
use crate::components::request_dialog::RequestDialog;
use crate::components::seeded::Seeded;
use crate::format;
use crate::live::use_live;
use crate::model::{DatabaseView, Phase};
use crate::policy::{allows, fork_needs_approval, Action as Can};
use crate::session::{use_me, Signed};

/// Which dialog a row's buttons open.
#[derive(Clone, Copy)]
struct Dialogs {
    create: RwSignal<Option<CreateMode>>,
    request: RwSignal<Option<String>>,
}

#[component]
pub fn DatabasesPage() -> impl IntoView {
    view! {
        <Signed>
            <Databases/>
        </Signed>
    }
}

#[component]
fn Databases() -> impl IntoView {
    let (show_help, set_show_help) = signal(false);
    let dialog = RwSignal::new(None::<CreateMode>);
    let dialogs = Dialogs { create: dialog, request: RwSignal::new(None) };
    let me = use_me();
    let can_create = allows(me.role, &me.name, Can::Create);

    view! {
        <section class="page">
            <div class="page-head">
                <h1>"Databases"</h1>
                <div class="head-actions">
                    <button
                        class="button secondary"
                        data-testid="help-toggle"
                        aria-expanded=move || show_help.get().to_string()
                        aria-controls="help"
                        on:click=move |_| set_show_help.update(|v| *v = !*v)
                    >
                        {move || if show_help.get() { "Hide help" } else { "How pgfleet works" }}
                    </button>
                    <Show when=move || can_create>
                        <button class="button" data-testid="create-database" on:click=move |_| dialog.set(Some(CreateMode::Empty))>
                            "Create database"
                        </button>
                    </Show>
                </div>
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
            <Seeded>
                <DatabaseList dialogs me=me.clone()/>
            </Seeded>
            <CreateDialog mode=dialog/>
            <RequestDialog source=dialogs.request/>
        </section>
    }
}

#[component]
fn DatabaseList(dialogs: Dialogs, me: Me) -> impl IntoView {
    let live = use_live();
    move || {
        let dbs: Vec<DatabaseView> = live.dbs.with(|d| d.values().cloned().collect());
        if dbs.is_empty() {
            return view! {
                <div class="empty" data-testid="empty-state">
                    <h2>"No databases yet"</h2>
                    <p>
                        "Create your first database. Once it is available you can give it a follower "
                        "for reads, or fork it to try a migration against real data."
                    </p>
                </div>
            }
            .into_any();
        }
        view! {
            <table class="databases" data-testid="databases">
                <thead>
                    <tr>
                        <th scope="col">"Name"</th>
                        <th scope="col">"State"</th>
                        <th scope="col">"Plan"</th>
                        <th scope="col">"Role"</th>
                        <th scope="col">"Lineage"</th>
                        <th scope="col">"Size"</th>
                        <th scope="col">"Lag"</th>
                        <th scope="col"><span class="visually-hidden">"Actions"</span></th>
                    </tr>
                </thead>
                <tbody>
                    {dbs.into_iter().map(|db| view! { <DatabaseRow db dialogs me=me.clone()/> }).collect_view()}
                </tbody>
            </table>
        }
        .into_any()
    }
}

#[component]
fn DatabaseRow(db: DatabaseView, dialogs: Dialogs, me: Me) -> impl IntoView {
    let lineage = lineage(&db);
    let size = db.info.as_ref().map(|i| format::bytes(i.data_size_bytes)).unwrap_or_default();
    let lag = db
        .lag
        .as_ref()
        .map(|l| format!("{} / {}", format::bytes(l.bytes), format::duration(l.seconds)))
        .unwrap_or_default();
    let usable = db.phase == Phase::Available;
    let can_follow = allows(me.role, &me.name, Can::Follow(&db));
    let can_fork = allows(me.role, &me.name, Can::Fork(&db));
    let needs_approval = fork_needs_approval(me.role, &db);
    let follow_name = db.name.clone();
    let fork_name = db.name.clone();
    let dialog = dialogs.create;
    let request = dialogs.request;
    let phase = db.phase;
    let name = db.name.clone();
    let follow_label = format!("Follow {name}");
    let fork_label = format!("Fork {name}");
    let row_id = format!("db-{name}");
    let href = format!("/databases/{name}");
    view! {
        <tr data-testid=row_id>
            <td data-label="Name">
                <A href=href attr:data-testid="db-link">{name}</A>
                {db.protected.then(|| view! { <span class="tag protected-tag" data-testid="protected" title="only admins destroy or promote it">"protected"</span> })}
                {db.public.then(|| view! { <span class="tag public-tag" data-testid="public" title="on the public status page">"public"</span> })}
                {db.owner.clone().map(|o| view! { <span class="muted small owner">{format!(" by {o}")}</span> })}
                {db.expires_at.map(|at| view! { <br/><Expiry at created=db.created_at/> })}
            </td>
            <td data-label="State">
                <PhaseBadge phase=phase/>
                {db.progress.clone().filter(|_| phase == Phase::Provisioning).map(|p| view! { <ProgressBar progress=p/> })}
                {db.message.clone().filter(|_| phase.is_down()).map(|m| view! { <p class="reason" data-testid="reason">{m}</p> })}
            </td>
            <td data-label="Plan" data-testid="plan">{db.plan.clone()}</td>
            <td data-label="Role" data-testid="role">{db.role.as_str()}</td>
            <td data-label="Lineage" data-testid="lineage-text">{lineage}</td>
            <td data-label="Size">{size}</td>
            <td data-label="Lag" data-testid="lag">{lag}</td>
            <td class="actions">
                {can_follow.then(|| view! {
                    <button class="button small secondary" data-testid="follow" disabled=!usable
                        aria-label=follow_label
                        on:click=move |_| dialog.set(Some(CreateMode::Follow(follow_name.clone())))>"Follow"</button>
                })}
                {match (can_fork, needs_approval) {
                    (false, _) => None,
                    (true, false) => Some(view! {
                        <button class="button small secondary" data-testid="fork" disabled=!usable
                            aria-label=fork_label
                            on:click=move |_| dialog.set(Some(CreateMode::Fork(fork_name.clone())))>"Fork"</button>
                    }.into_any()),
                    (true, true) => Some(view! {
                        <button class="button small secondary" data-testid="request-fork" disabled=!usable
                            aria-label=format!("Request fork of {}", fork_name)
                            on:click=move |_| request.set(Some(fork_name.clone()))>"Request fork"</button>
                    }.into_any()),
                }}
            </td>
        </tr>
    }
}

pub fn lineage(db: &DatabaseView) -> String {
    match (&db.following, &db.forked_from) {
        (Some(src), _) => format!("following {src}"),
        (None, Some(src)) => format!("forked from {src}"),
        (None, None) => String::new(),
    }
}
