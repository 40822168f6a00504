//! The databases page: every database at a glance, with Follow and Fork.

use leptos::prelude::*;

use crate::accounts::Me;
use crate::components::badge::PhaseBadge;
use crate::components::copy_actions::CopyActions;
use crate::components::create_dialog::{CreateDialog, CreateMode};
use crate::components::expiry::Expiry;
use crate::components::progress::ProgressBar;
use crate::components::request_dialog::RequestDialog;
use crate::components::seeded::Seeded;
use crate::components::tags::Tags;
use crate::format;
use crate::live::use_live;
use crate::model::{DatabaseView, Phase};
use crate::policy::{allows, Action as Can};
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

/// What the list's search and filters keep.
#[derive(Clone, Copy)]
struct Filters {
    name: RwSignal<String>,
    /// A phase's `as_str`, or empty for all.
    phase: RwSignal<String>,
    /// `primary`, `follower`, `fork`, or empty for all.
    kind: RwSignal<String>,
}

impl Filters {
    /// The names of the databases the filters keep, in the list's order.
    fn shown(&self, dbs: &std::collections::BTreeMap<String, DatabaseView>) -> Vec<String> {
        // Names are ASCII (`[a-z][a-z0-9-]*`): ASCII case folding is enough, and
        // leaves Unicode's case tables out of the WASM.
        let name = self.name.with(|n| n.trim().to_ascii_lowercase());
        let phase = self.phase.get();
        let kind = self.kind.get();
        let keep = |db: &DatabaseView| {
            let kind_matches = match kind.as_str() {
                "primary" => db.following.is_none() && db.forked_from.is_none(),
                "follower" => db.following.is_some(),
                "fork" => db.forked_from.is_some(),
                _ => true,
            };
            db.name.to_ascii_lowercase().contains(&name)
                && (phase.is_empty() || db.phase.as_str() == phase)
                && kind_matches
        };
        dbs.values().filter(|db| keep(db)).map(|db| db.name.clone()).collect()
    }

    fn any(&self) -> bool {
        self.name.with(|n| !n.trim().is_empty())
            || self.phase.with(|p| !p.is_empty())
            || self.kind.with(|k| !k.is_empty())
    }
}

#[component]
fn DatabaseList(dialogs: Dialogs, me: Me) -> impl IntoView {
    let live = use_live();
    let filters = Filters {
        name: RwSignal::new(String::new()),
        phase: RwSignal::new(String::new()),
        kind: RwSignal::new(String::new()),
    };
    let empty = move || live.dbs.with(|d| d.is_empty());
    // Names only: each row follows its own database, so an event re-renders
    // the row it is about and no other. One pass serves the rows and the
    // "nothing matches" notice.
    let shown = Memo::new(move |_| live.dbs.with(|d| filters.shown(d)));
    let none_match = move || !empty() && filters.any() && shown.with(|s| s.is_empty());
    // Stored: the rows are made again whenever the list reappears.
    let me = StoredValue::new(me);
    view! {
        <Show when=move || !empty() fallback=|| view! {
            <div class="empty" data-testid="empty-state">
                <h2>"No databases yet"</h2>
                <p>
                    "Create your first database. Once it is available you can give it a follower "
                    "for reads, or fork it to try a migration against real data."
                </p>
            </div>
        }>
            <div class="filters" role="search" aria-label="Filter databases">
                <label for="filter-name" class="visually-hidden">"Name"</label>
                <input id="filter-name" type="search" placeholder="Search by name" data-testid="filter-name" autocomplete="off"
                    prop:value=move || filters.name.get() on:input=move |ev| filters.name.set(event_target_value(&ev))/>
                <label for="filter-phase" class="visually-hidden">"State"</label>
                <select id="filter-phase" data-testid="filter-phase" on:change=move |ev| filters.phase.set(event_target_value(&ev))>
                    // Written out rather than made from `Phase::ALL`: a list
                    // of views is its own code in the first page's WASM. The
                    // test below holds them to `Phase`.
                    <option value="">"Any state"</option>
                    <option value="provisioning">"provisioning"</option>
                    <option value="catching_up">"catching up"</option>
                    <option value="masking">"masking"</option>
                    <option value="available">"available"</option>
                    <option value="promoting">"promoting"</option>
                    <option value="restarting">"down, restarting"</option>
                    <option value="failed">"failed"</option>
                    <option value="deleting">"deleting"</option>
                </select>
                <label for="filter-kind" class="visually-hidden">"Role"</label>
                <select id="filter-kind" data-testid="filter-kind" on:change=move |ev| filters.kind.set(event_target_value(&ev))>
                    <option value="">"Any role"</option>
                    <option value="primary">"Primaries"</option>
                    <option value="follower">"Followers"</option>
                    <option value="fork">"Forks"</option>
                </select>
            </div>
            <table class="databases" data-testid="databases">
                <thead>
                    <tr>
                        <th scope="col" class="col-name">"Name"</th>
                        <th scope="col" class="col-state">"State"</th>
                        <th scope="col" class="col-plan">"Plan"</th>
                        <th scope="col" class="col-role">"Role"</th>
                        <th scope="col" class="col-lineage">"Lineage"</th>
                        <th scope="col" class="col-size">"Size"</th>
                        <th scope="col" class="col-lag">"Lag"</th>
                        <th scope="col" class="col-actions"><span class="visually-hidden">"Actions"</span></th>
                    </tr>
                </thead>
                <tbody>
                    <For each=move || shown.get() key=|name| name.clone() let:name>
                        <LiveRow name dialogs me=me.get_value()/>
                    </For>
                </tbody>
            </table>
            <Show when=none_match>
                <p class="notice" data-testid="no-match">"No database matches these filters."</p>
            </Show>
        </Show>
    }
}

/// One row, following its database in the live state.
#[component]
fn LiveRow(name: String, dialogs: Dialogs, me: Me) -> impl IntoView {
    let live = use_live();
    let db = Memo::new(move |_| live.get(&name));
    move || db.get().map(|db| view! { <DatabaseRow db dialogs me=me.clone()/> })
}

#[component]
fn DatabaseRow(db: DatabaseView, dialogs: Dialogs, me: Me) -> impl IntoView {
    let lineage = lineage(&db);
    let size = db.info.as_ref().map(|i| format::bytes(i.data_size_bytes)).unwrap_or_default();
    let lag = db.lag.as_ref().map(format::lag).unwrap_or_default();
    let phase = db.phase;
    let name = db.name.clone();
    let row_id = format!("db-{name}");
    let href = format!("/databases/{name}");
    // The table says what went wrong in a line; the page has it all.
    let reason = db.message.as_deref().filter(|_| phase.is_down()).map(format::short_reason);
    view! {
        <tr data-testid=row_id>
            <td data-label="Name">
                <a href=href data-testid="db-link">{name}</a>
                <Tags db=db.clone()/>
                {db.owner.clone().map(|o| view! { <span class="muted small owner">{format!(" by {o}")}</span> })}
                {db.expires_at.map(|at| view! { <br/><Expiry at created=db.created_at/> })}
            </td>
            <td data-label="State">
                <PhaseBadge phase=phase/>
                {db.progress.clone().filter(|_| matches!(phase, Phase::Provisioning | Phase::Masking)).map(|p| view! { <ProgressBar progress=p/> })}
                {reason.map(|m| view! { <p class="reason" data-testid="reason">{m}</p> })}
            </td>
            <td data-label="Plan" data-testid="plan">{db.plan.clone()}</td>
            <td data-label="Role" data-testid="role">{db.role.as_str()}</td>
            <td data-label="Lineage" data-testid="lineage-text">{lineage}</td>
            <td data-label="Size">{size}</td>
            <td data-label="Lag" data-testid="lag">{lag}</td>
            <td class="actions">
                <CopyActions db me create=dialogs.create request=dialogs.request small=true/>
            </td>
        </tr>
    }
}

pub fn lineage(db: &DatabaseView) -> String {
    match (&db.following, &db.forked_from, &db.followed) {
        (Some(src), _, _) => format!("following {src}"),
        (None, Some(src), _) => format!("forked from {src}"),
        (None, None, Some(followed)) => followed.describe(chrono::Utc::now()),
        (None, None, None) => String::new(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_state_filter_offers_every_phase_as_the_badges_name_it() {
        let source = include_str!("databases.rs");
        let options: Vec<&str> = source.lines().map(str::trim).filter(|l| l.starts_with("<option value=\"")).collect();
        let phases: Vec<String> =
            Phase::ALL.iter().map(|p| format!("<option value=\"{}\">\"{}\"</option>", p.as_str(), p.label())).collect();
        let offered: Vec<&str> = options.iter().copied().filter(|o| phases.iter().any(|p| p == o)).collect();
        assert_eq!(offered, phases, "the state filter's options, in Phase::ALL's order");
    }
}
