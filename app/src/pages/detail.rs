//! One database: everything `pg:info` shows, Follow and Fork (the list's
//! buttons), its credentials, its lineage, a follower's lag chart, access
//! settings for admins, Extend, Retry, Promote and Destroy; and, on its
//! Insights tab, the sampled metrics' charts and the diagnostics. Cards
//! that keep state of their own (Roles, Schema diff, Backups, Access)
//! live outside the part re-rendered on every change of the database.

use leptos::prelude::*;
use leptos_router::hooks::{use_navigate, use_params_map};

use crate::accounts::{Me, UserRole};
use crate::api::{
    database_credentials, destroy_database, extend_database, get_settings, promote_database, reset_database,
    retry_database, rotate_credentials, set_access,
};
use crate::components::backups::BackupsCard;
use crate::components::badge::PhaseBadge;
use crate::components::confirm::TypeToConfirm;
use crate::components::copy_actions::CopyActions;
use crate::components::create_dialog::{CreateDialog, CreateMode};
use crate::components::credentials::Credentials;
use crate::components::diagnose::DiagnoseCard;
use crate::components::diagnostics::Diagnostics;
use crate::components::expiry::Expiry;
use crate::components::insights::InsightsCharts;
use crate::components::lag_chart::LagChart;
use crate::components::lineage::Lineage;
use crate::components::masking::MaskingCard;
use crate::components::modal::Modal;
use crate::components::progress::ProgressBar;
use crate::components::request_dialog::RequestDialog;
use crate::components::roles::RolesCard;
use crate::components::schema_diff::SchemaDiffCard;
use crate::components::seeded::Seeded;
use crate::components::tags::Tags;
use crate::format::{self, Clock};
use crate::live::use_live;
use crate::model::{AccessSettings, DatabaseView, ForkPolicy, Phase, Role};
use crate::policy::{allows, Action as Can};
use crate::session::{use_me, Signed};

#[component]
pub fn DetailPage() -> impl IntoView {
    let params = use_params_map();
    let name = Memo::new(move |_| params.with(|p| p.get("name").unwrap_or_default()));
    view! {
        <section class="page">
            <Signed>
                <Seeded>
                    <Detail name/>
                </Seeded>
            </Signed>
        </section>
    }
}

/// Dialog state lives above the part that re-renders on every change of
/// the database, so an open dialog (and what was typed) survives updates.
#[derive(Clone, Copy)]
struct Dialogs {
    promote_open: RwSignal<bool>,
    create: RwSignal<Option<CreateMode>>,
    request: RwSignal<Option<String>>,
    /// The longest a member may keep a fork, once the settings are read.
    ttl_max: Signal<Option<i64>>,
    destroy_open: RwSignal<bool>,
    typed: RwSignal<String>,
    take_followers: RwSignal<bool>,
    url: RwSignal<Option<String>>,
    /// Revealing the URL; owned here, as the Connection card is drawn
    /// again with every change of the database and would drop its answer.
    reveal: Action<String, Result<String, crate::model::ApiError>>,
    error: RwSignal<Option<String>>,
    promote: Action<String, Result<DatabaseView, crate::model::ApiError>>,
    destroy: Action<(String, String, bool), Result<(), crate::model::ApiError>>,
    reset_open: RwSignal<bool>,
    reset: Action<String, Result<DatabaseView, crate::model::ApiError>>,
    rotate_open: RwSignal<bool>,
    keep_sessions: RwSignal<bool>,
    rotate: Action<(String, bool), Result<crate::model::Rotated, crate::model::ApiError>>,
    /// Said in the Connection card after a rotation (here or elsewhere).
    credentials_note: RwSignal<Option<String>>,
    /// When this page's own last rotation was done (server time).
    rotated_here: RwSignal<Option<chrono::DateTime<chrono::Utc>>>,
}

#[component]
fn Detail(name: Memo<String>) -> impl IntoView {
    let live = use_live();
    let db = Memo::new(move |_| live.get(&name.get()));
    // Read in the browser only, and only for members: it decides whether
    // Extend shows (admins always see it), and the server's page shows it
    // until then.
    let admin = use_me().role == UserRole::Admin;
    let ttl_max = crate::fetched::fetched(move || async move {
        match admin {
            true => None,
            false => get_settings().await.ok().map(|s| s.fork_ttl_max_seconds),
        }
    });
    let dialogs = Dialogs {
        promote_open: RwSignal::new(false),
        create: RwSignal::new(None),
        request: RwSignal::new(None),
        ttl_max: Signal::derive(move || ttl_max.get().flatten()),
        destroy_open: RwSignal::new(false),
        typed: RwSignal::new(String::new()),
        take_followers: RwSignal::new(false),
        url: RwSignal::new(None),
        reveal: Action::new(move |name: &String| {
            let name = name.clone();
            async move { database_credentials(name).await }
        }),
        error: RwSignal::new(None),
        promote: Action::new(move |name: &String| {
            let name = name.clone();
            async move { promote_database(name).await }
        }),
        destroy: Action::new(move |(name, confirm, take): &(String, String, bool)| {
            let (name, confirm, take) = (name.clone(), confirm.clone(), *take);
            async move { destroy_database(name, confirm, take).await }
        }),
        reset_open: RwSignal::new(false),
        reset: Action::new(move |name: &String| {
            let name = name.clone();
            async move { reset_database(name).await }
        }),
        rotate_open: RwSignal::new(false),
        keep_sessions: RwSignal::new(false),
        rotate: Action::new(move |(name, keep): &(String, bool)| {
            let (name, keep) = (name.clone(), *keep);
            async move { rotate_credentials(name, keep).await }
        }),
        credentials_note: RwSignal::new(None),
        rotated_here: RwSignal::new(None),
    };
    // A rotated password: the URL shown (if any) no longer works; it is
    // revealed again on demand, as every reveal is audited.
    Effect::new(move |_| match dialogs.rotate.value().get() {
        Some(Ok(r)) => {
            dialogs.rotate_open.set(false);
            dialogs.url.set(None);
            dialogs.rotated_here.set(Some(r.at));
            let sessions = match (dialogs.keep_sessions.get_untracked(), r.ended_sessions) {
                (true, _) => "open sessions were kept".to_string(),
                (false, 1) => "1 open session was ended".to_string(),
                (false, n) => format!("{n} open sessions were ended"),
            };
            dialogs
                .credentials_note
                .set(Some(format!("Rotated: the old password no longer works; {sessions}. Reveal the new URL.")));
        }
        Some(Err(e)) => dialogs.error.set(Some(e.message)),
        None => {}
    });
    Effect::new(move |_| {
        if let Some(Ok(u)) = dialogs.reveal.value().get() {
            dialogs.url.set(Some(u));
        }
    });
    // Said until the new URL is revealed.
    Effect::new(move |_| {
        if dialogs.url.with(Option::is_some) {
            dialogs.credentials_note.set(None);
        }
    });
    let rotated_at = Memo::new(move |_| live.rotated.with(|r| r.get(&name.get()).copied()));
    Effect::new(move |_| {
        // This page's own rotation said so already, and a URL revealed
        // since is the new one.
        let own = move |at| dialogs.rotated_here.get_untracked().is_some_and(|here| at <= here);
        if let Some(at) = rotated_at.get().filter(|at| !own(*at)) {
            dialogs.url.set(None);
            dialogs.credentials_note.set(Some(format!(
                "The password was rotated at {} UTC; reveal the new URL.",
                format::utc(at, Clock::Seconds)
            )));
        }
    });
    Effect::new(move |_| match dialogs.promote.value().get() {
        Some(Ok(_)) => dialogs.promote_open.set(false),
        Some(Err(e)) => dialogs.error.set(Some(e.message)),
        None => {}
    });
    let navigate = use_navigate();
    Effect::new(move |_| match dialogs.destroy.value().get() {
        Some(Ok(())) => {
            dialogs.destroy_open.set(false);
            navigate("/", Default::default());
        }
        Some(Err(e)) => dialogs.error.set(Some(e.message)),
        None => {}
    });
    Effect::new(move |_| match dialogs.reset.value().get() {
        Some(Ok(_)) => {
            dialogs.reset_open.set(false);
            dialogs.typed.set(String::new());
        }
        Some(Err(e)) => dialogs.error.set(Some(e.message)),
        None => {}
    });
    // A different database: fresh dialogs.
    Effect::new(move |_| {
        name.track();
        dialogs.promote_open.set(false);
        dialogs.create.set(None);
        dialogs.request.set(None);
        dialogs.destroy_open.set(false);
        dialogs.reset_open.set(false);
        dialogs.typed.set(String::new());
        dialogs.take_followers.set(false);
        dialogs.url.set(None);
        dialogs.reveal.value().set(None);
        dialogs.error.set(None);
        dialogs.rotate_open.set(false);
        dialogs.keep_sessions.set(false);
        dialogs.credentials_note.set(None);
        dialogs.rotated_here.set(None);
    });
    let query = leptos_router::hooks::use_query_map();
    let tab = Memo::new(move |_| Tab::from_query(query.with(|q| q.get("tab"))));
    let me = use_me();
    let is_follower = Memo::new(move |_| db.with(|d| d.as_ref().is_some_and(|d| d.role == Role::Follower)));
    let can_capture = {
        let me = me.clone();
        Signal::derive(move || db.with(|d| d.as_ref().is_some_and(|d| allows(me.role, &me.name, Can::Backup(d)))))
    };
    let forked_from = Memo::new(move |_| db.with(|d| d.as_ref().and_then(|d| d.forked_from.clone())));
    // Memos: they change when the answer does, not with every event about
    // the database, so the cards reading them are not drawn again.
    let can_manage_roles = {
        let me = me.clone();
        Memo::new(move |_| db.with(|d| d.as_ref().is_some_and(|d| manages_credentials(&me, d))))
    };
    let can_edit_masking = {
        let me = me.clone();
        Memo::new(move |_| {
            db.with(|d| d.as_ref().is_some_and(|d| allows(me.role, &me.name, Can::EditMasking { db: d, sql: false })))
        })
    };
    let can_preview_masking = {
        let me = me.clone();
        Memo::new(move |_| db.with(|d| d.as_ref().is_some_and(|d| allows(me.role, &me.name, Can::SeeMaskingText(d)))))
    };
    let can_reveal = {
        let me = me.clone();
        Memo::new(move |_| {
            db.with(|d| d.as_ref().is_some_and(|d| allows(me.role, &me.name, Can::RevealCredentials(d))))
        })
    };
    view! {
        {move || match db.get() {
            None => view! {
                <div class="empty" data-testid="not-found">
                    <h1>{format!("No database named {}", name.get())}</h1>
                    <p><a href="/">"Back to all databases"</a></p>
                </div>
            }
            .into_any(),
            Some(current) => view! { <DetailBody db=current dialogs me=me.clone() tab=tab.get()/> }.into_any(),
        }}
        // Outside the part that re-renders on every change, so a half-made
        // choice survives lag and size updates, and the charts keep their
        // history instead of fetching it again with each event.
        <Show when=move || tab.get() == Tab::Overview && db.with(Option::is_some)>
            <Show when=move || is_follower.get()>
                <section class="card lag-card">
                    <h2>"Replication lag"</h2>
                    <LagChart name current=Signal::derive(move || db.with(|d| d.as_ref().and_then(|d| d.lag.clone())))/>
                </section>
            </Show>
            <SchemaDiffCard name source=forked_from/>
            <RolesCard name can_manage=can_manage_roles.into() can_reveal=can_reveal.into()/>
            <MaskingCard name shown=Signal::derive(move || !is_follower.get()) can_edit=can_edit_masking.into()
                can_preview=can_preview_masking.into()/>
            <BackupsCard name can_capture/>
            {admin.then(|| view! { <AccessCard name/> })}
        </Show>
        <Show when=move || tab.get() == Tab::Insights && db.with(Option::is_some)>
            <InsightsCharts name follower=is_follower/>
            <Diagnostics name/>
            <DiagnoseCard name/>
        </Show>
        <CreateDialog mode=dialogs.create/>
        <RequestDialog source=dialogs.request/>
    }
}

/// The page's tabs, chosen by `?tab=` so a tab can be linked to and
/// survives a reload.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Tab {
    Overview,
    Insights,
}

impl Tab {
    fn from_query(value: Option<String>) -> Tab {
        match value.as_deref() {
            Some("insights") => Tab::Insights,
            _ => Tab::Overview,
        }
    }
}

#[component]
fn TabNav(name: String, tab: Tab) -> impl IntoView {
    let link = move |this: Tab, label: &'static str, query: &'static str| {
        view! {
            <a href=format!("/databases/{name}{query}") aria-current=(tab == this).then_some("page")>{label}</a>
        }
    };
    view! {
        <nav class="tabs" aria-label="Database views">
            {link(Tab::Overview, "Overview", "")}
            {link(Tab::Insights, "Insights", "?tab=insights")}
        </nav>
    }
}

#[component]
fn DetailBody(db: DatabaseView, dialogs: Dialogs, me: Me, tab: Tab) -> impl IntoView {
    let live = use_live();
    let forks: Vec<String> = live.dbs.with(|dbs| {
        dbs.values().filter(|d| d.forked_from.as_deref() == Some(&db.name)).map(|d| d.name.clone()).collect()
    });
    let phase = db.phase;
    let rows = info_rows(&db);
    let is_follower = db.role == Role::Follower;
    let promote_db = db.clone();
    let destroy_db = db.clone();
    let can_reveal = allows(me.role, &me.name, Can::RevealCredentials(&db));
    let can_promote = is_follower && allows(me.role, &me.name, Can::Promote(&db));
    let can_destroy = allows(me.role, &me.name, Can::Destroy(&db));
    let can_extend = db.expires_at.is_some() && allows(me.role, &me.name, Can::Extend(&db));
    let can_retry = phase == Phase::Failed && allows(me.role, &me.name, Can::Retry(&db));
    let can_reset = db.forked_from.is_some()
        && matches!(phase, Phase::Available | Phase::Failed)
        && allows(me.role, &me.name, Can::Reset(&db));
    let can_rotate = manages_credentials(&me, &db);
    view! {
        <div class="page-head">
            <div class="title">
                <h1 data-testid="detail-name">{db.name.clone()}</h1>
                <PhaseBadge phase=phase/>
                <Tags db=db.clone() linked=true/>
            </div>
            <div class="head-actions">
                <CopyActions db=db.clone() me=me.clone() create=dialogs.create request=dialogs.request/>
            </div>
        </div>
        {db.expires_at.map(|at| view! {
            <div class="expiry-line">
                <Expiry at created=db.created_at/>
                {can_extend.then(|| view! { <ExtendButton name=db.name.clone() at admin=me.role == UserRole::Admin ttl_max=dialogs.ttl_max/> })}
            </div>
        })}
        {db.progress.clone().filter(|_| matches!(phase, Phase::Provisioning | Phase::Masking)).map(|p| view! { <ProgressBar progress=p/> })}
        {db.message.clone().map(|m| view! { <Message message=m down=phase.is_down()/> })}
        {can_retry.then(|| view! { <RetryButton name=db.name.clone()/> })}
        <TabNav name=db.name.clone() tab/>
        {(tab == Tab::Overview).then(|| view! {
        <div class="grid">
            <section class="card">
                <h2>"Info"</h2>
                <dl class="info" data-testid="info">
                    {rows.into_iter().map(|(k, v)| view! { <dt>{k}</dt><dd>{v}</dd> }).collect_view()}
                </dl>
            </section>
            <section class="card">
                <h2>"Connection"</h2>
                {move || dialogs.credentials_note.get().map(|n| view! {
                    <p class="warning" role="status" data-testid="credentials-note">{n}</p>
                })}
                {if can_reveal {
                    view! { <Credentials name=db.name.clone() url=dialogs.url reveal=dialogs.reveal/> }.into_any()
                } else {
                    view! { <p class="muted" data-testid="no-credentials">{no_credentials_reason(&me, &db)}</p> }.into_any()
                }}
                {can_rotate.then(|| view! { <RotateButton name=db.name.clone() dialogs/> })}
            </section>

            <section class="card">
                <h2>"Lineage"</h2>
                <Lineage db=db.clone() forks=forks.clone()/>
                <ul class="plain">
                    {db.followers.iter().map(|f| view! { <li><a href=format!("/databases/{f}")>{format!("{f} (follower)")}</a></li> }).collect_view()}
                    {forks.iter().map(|f| view! { <li><a href=format!("/databases/{f}")>{format!("{f} (fork)")}</a></li> }).collect_view()}
                </ul>
            </section>
        </div>
        <div class="danger-zone">
            <Show when=move || can_promote>
                <PromoteButton db=promote_db.clone() dialogs/>
            </Show>
            {can_reset.then(|| view! { <ResetButton db=db.clone() dialogs/> })}
            {can_destroy.then(|| view! { <DestroyButton db=destroy_db.clone() dialogs/> })}
        </div>
        })}
    }
}

/// Whether `me` may change `db`'s credentials now (its owner password,
/// its roles): a primary that is available, and the rules allow it.
fn manages_credentials(me: &Me, db: &DatabaseView) -> bool {
    db.role != Role::Follower && db.phase == Phase::Available && allows(me.role, &me.name, Can::ManageCredentials(db))
}

fn info_rows(db: &DatabaseView) -> Vec<(&'static str, String)> {
    let mut rows = vec![("Plan", db.plan.clone()), ("Role", db.role.as_str().to_string())];
    if let Some(f) = &db.following {
        rows.push(("Following", f.clone()));
    }
    if let Some(f) = &db.forked_from {
        rows.push(("Forked from", f.clone()));
    }
    if let Some(f) = &db.followed {
        rows.push(("Promoted", f.describe(chrono::Utc::now())));
    }
    if !db.followers.is_empty() {
        rows.push(("Followers", db.followers.join(", ")));
    }
    if let Some(c) = &db.copy {
        rows.push(("Copied by", format!("{}: {}", c.method.as_str(), c.why)));
    }
    if let Some(point) = &db.fork_point {
        rows.push(("Forked as of", point.describe()));
    }
    match &db.masking {
        Some(crate::masking::ForkMasking::Masked { version }) => {
            rows.push(("Masking", format!("masked by its source's rules (version {version})")))
        }
        Some(crate::masking::ForkMasking::Unmasked { reason }) => {
            rows.push(("Masking", format!("unmasked, because: {reason}")))
        }
        None => {}
    }
    if db.masking_rules > 0 {
        rows.push(("Masking rules", format!("{}: its forks are masked", db.masking_rules)));
    }
    if let Some(lag) = &db.lag {
        rows.push(("Lag", format::lag(lag)));
    }
    if let Some(i) = &db.info {
        rows.push(("PG version", i.pg_version.clone()));
        rows.push(("Data size", format::bytes(i.data_size_bytes)));
        if let Some(own) = i.unshared_bytes {
            rows.push(("Space of its own", format!("{} (the rest is shared with its source)", format::bytes(own))));
        }
        rows.push(("Tables", i.tables.to_string()));
        rows.push(("Connections", format!("{} / {}", i.connections, i.max_connections)));
    }
    rows.push(("Created", format!("{} UTC", format::utc(db.created_at, Clock::DateMinutes))));
    if let Some(owner) = &db.owner {
        rows.push(("Owner", owner.clone()));
    }
    rows.push((
        "Forks",
        format!("{} ({})", db.fork_policy.as_str(), if db.protected { "protected" } else { "not protected" }),
    ));
    rows
}

fn no_credentials_reason(me: &Me, db: &DatabaseView) -> String {
    match me.role {
        UserRole::Viewer => "Viewers never see credentials.".into(),
        UserRole::Admin | UserRole::Member => {
            format!("{} is protected: fork it to work with its data.", db.name)
        }
    }
}

/// Protection and fork policy, for admins.
#[component]
fn AccessCard(name: Memo<String>) -> impl IntoView {
    let live = use_live();
    let protected = RwSignal::new(false);
    let policy = RwSignal::new(ForkPolicy::Open);
    let public = RwSignal::new(false);
    let message = RwSignal::new(None::<Result<String, String>>);
    // The database's settings whenever another database is shown.
    Effect::new(move |_| {
        if let Some(db) = live.dbs.with_untracked(|d| d.get(&name.get()).cloned()) {
            protected.set(db.protected);
            policy.set(db.fork_policy);
            public.set(db.public);
        }
        message.set(None);
    });
    let save = Action::new(move |(name, access): &(String, AccessSettings)| {
        let (name, access) = (name.clone(), *access);
        async move { set_access(name, access).await }
    });
    Effect::new(move |_| match save.value().get() {
        Some(Ok(_)) => message.set(Some(Ok("Saved.".into()))),
        Some(Err(e)) => message.set(Some(Err(e.message))),
        None => {}
    });
    view! {
        <section class="card access" data-testid="access">
            <h2>"Access"</h2>
            <CheckSetting id="protected" label="Protected" value=protected
                help="Only admins destroy or promote it, and members can't follow it or see its credentials."/>
            <div class="setting">
                <label for="fork-policy">"Members' forks"</label>
                <div class="control">
                    <select id="fork-policy" data-testid="fork-policy"
                        on:change=move |ev| policy.set(ForkPolicy::parse(&event_target_value(&ev)).unwrap_or_default())>
                        <option value="open" prop:selected=move || policy.get() == ForkPolicy::Open>"open: members fork at once"</option>
                        <option value="approval" prop:selected=move || policy.get() == ForkPolicy::Approval>"approval: an admin approves each fork"</option>
                        <option value="masked" prop:selected=move || policy.get() == ForkPolicy::Masked>"masked: members fork at once, masked; unmasked needs approval"</option>
                    </select>
                </div>
            </div>
            <CheckSetting id="public" label="Public" value=public
                help="Its state, lag and uptime appear on /status, embeds and badges (never its connection details)."/>
            {move || message.get().map(|m| match m {
                Ok(t) => view! { <p class="notice" role="status">{t}</p> }.into_any(),
                Err(t) => view! { <p class="error" role="alert">{t}</p> }.into_any(),
            })}
            <div class="dialog-actions">
                <button class="button" data-testid="access-save"
                    on:click=move |_| {
                    let access = AccessSettings {
                        protected: protected.get_untracked(),
                        fork_policy: policy.get_untracked(),
                        public: public.get_untracked(),
                    };
                    save.dispatch((name.get_untracked(), access));
                }>
                    "Save"
                </button>
            </div>
        </section>
    }
}

/// Why a database is not well (or what it is doing): a line, and below it
/// the whole of what was recorded, log lines one per line.
#[component]
fn Message(message: String, down: bool) -> impl IntoView {
    let short = format::short_reason(&message);
    let full = message.replace(" / ", "\n");
    let more = full != short;
    view! {
        <div class=if down { "error message" } else { "notice message" } data-testid="message">
            <p data-testid="message-short">{short}</p>
            {more.then(|| view! {
                <details>
                    <summary>"Full log"</summary>
                    <pre class="log" data-testid="message-log">{full}</pre>
                </details>
            })}
        </div>
    }
}

/// A member's fork lives at most the admins' maximum from now: the day
/// Extend adds must still fit, else it is not offered.
fn extend_fits(at: chrono::DateTime<chrono::Utc>, now: chrono::DateTime<chrono::Utc>, max_seconds: i64) -> bool {
    let day = chrono::Duration::hours(24);
    let Some(limit) = chrono::Duration::try_seconds(max_seconds).and_then(|m| now.checked_add_signed(m)) else {
        return true;
    };
    at.max(now).checked_add_signed(day).is_some_and(|new| new <= limit)
}

/// One on/off row of the Access card: its name, the box, what it means.
#[component]
fn CheckSetting(id: &'static str, label: &'static str, help: &'static str, value: RwSignal<bool>) -> impl IntoView {
    let input = format!("{id}-toggle");
    let described = format!("{id}-help");
    view! {
        <div class="setting">
            <label for=input.clone()>{label}</label>
            <div class="control">
                <input type="checkbox" id=input.clone() data-testid=input prop:checked=move || value.get()
                    aria-describedby=described.clone() on:change=move |ev| value.set(event_target_checked(&ev))/>
                <p id=described class="muted small">{help}</p>
            </div>
        </div>
    }
}

/// Gives an expiring fork another day, while that fits.
#[component]
fn ExtendButton(
    name: String,
    at: chrono::DateTime<chrono::Utc>,
    admin: bool,
    ttl_max: Signal<Option<i64>>,
) -> impl IntoView {
    let fits = move || admin || ttl_max.get().is_none_or(|max| extend_fits(at, chrono::Utc::now(), max));
    let longest = move || ttl_max.get().map(|max| format!("It lives as long as forks may ({}).", format::span(max)));
    let error = RwSignal::new(None::<String>);
    let extend = Action::new(move |name: &String| {
        let name = name.clone();
        async move { extend_database(name, 24).await }
    });
    Effect::new(move |_| {
        if let Some(Err(e)) = extend.value().get() {
            error.set(Some(e.message));
        }
    });
    view! {
        <Show when=fits fallback=move || view! { <span class="muted small" data-testid="extend-max">{longest}</span> }>
            <button class="button small secondary" data-testid="extend"
                on:click={
                    let name = name.clone();
                    move |_| { error.set(None); extend.dispatch(name.clone()); }
                }>"Keep it a day longer"</button>
        </Show>
        <Show when=move || error.get().is_some()>
            <p class="error" role="alert" data-testid="extend-error">{move || error.get()}</p>
        </Show>
    }
}

/// Tries a failed database again; the live stream shows what follows.
#[component]
fn RetryButton(name: String) -> impl IntoView {
    let error = RwSignal::new(None::<String>);
    let retry = Action::new(move |name: &String| {
        let name = name.clone();
        async move { retry_database(name).await }
    });
    Effect::new(move |_| {
        if let Some(Err(e)) = retry.value().get() {
            error.set(Some(e.message));
        }
    });
    view! {
        <button class="button small" data-testid="retry" disabled=move || retry.pending().get()
            on:click=move |_| { error.set(None); retry.dispatch(name.clone()); }>"Try again"</button>
        <Show when=move || error.get().is_some()>
            <p class="error" role="alert" data-testid="retry-error">{move || error.get()}</p>
        </Show>
    }
}

#[component]
fn PromoteButton(db: DatabaseView, dialogs: Dialogs) -> impl IntoView {
    let open = dialogs.promote_open;
    let error = dialogs.error;
    let promote = dialogs.promote;
    let behind = db.lag.as_ref().filter(|l| l.bytes > 0).map(|l| format::bytes(l.bytes));
    let usable = matches!(db.phase, Phase::Available | Phase::CatchingUp);
    // Stored, so the dialog's content can be made again each time it opens.
    let name = StoredValue::new(db.name.clone());
    let behind = StoredValue::new(behind);
    view! {
        <button class="button" data-testid="promote" disabled=!usable on:click=move |_| open.set(true)>"Promote"</button>
        <Show when=move || open.get()>
            <Modal on_close=Callback::new(move |_| open.set(false)) labelledby="promote-title" testid="promote-dialog">
                <h2 id="promote-title">{format!("Promote {}", name.get_value())}</h2>
                <p>"It stops following its source and becomes a writable database of its own. This cannot be undone."</p>
                {behind.get_value().map(|b| view! { <p class="warning" role="alert" data-testid="behind-warning">{format!("It is {b} behind its source: writes not yet replayed will not be in it.")}</p> })}
                <Show when=move || error.get().is_some()>
                    <p class="error" role="alert">{move || error.get()}</p>
                </Show>
                <div class="dialog-actions">
                    <button class="button secondary" on:click=move |_| open.set(false)>"Cancel"</button>
                    <button class="button" data-testid="promote-confirm"
                        on:click=move |_| { promote.dispatch(name.get_value()); }>"Promote"</button>
                </div>
            </Modal>
        </Show>
    }
}

#[component]
fn RotateButton(name: String, dialogs: Dialogs) -> impl IntoView {
    let open = dialogs.rotate_open;
    let keep = dialogs.keep_sessions;
    let error = dialogs.error;
    let rotate = dialogs.rotate;
    let name = StoredValue::new(name);
    view! {
        <p>
            <button class="button secondary small" data-testid="rotate" on:click=move |_| {
                error.set(None);
                open.set(true);
            }>"Rotate credentials"</button>
        </p>
        <Show when=move || open.get()>
            <Modal on_close=Callback::new(move |_| open.set(false)) labelledby="rotate-title" testid="rotate-dialog">
                <h2 id="rotate-title">{format!("Rotate {}'s credentials", name.get_value())}</h2>
                <p>"Its owner gets a new password: apps using the current URL cannot open new connections until they are given the new one. Followers get it too; forks keep theirs."</p>
                <label class="check">
                    <input type="checkbox" data-testid="keep-sessions" prop:checked=move || keep.get()
                        on:change=move |ev| keep.set(event_target_checked(&ev))/>
                    " Keep open sessions (otherwise they are ended now)"
                </label>
                <Show when=move || error.get().is_some()>
                    <p class="error" role="alert" data-testid="dialog-error">{move || error.get()}</p>
                </Show>
                <div class="dialog-actions">
                    <button type="button" class="button secondary" on:click=move |_| open.set(false)>"Cancel"</button>
                    <button type="button" class="button danger" data-testid="rotate-confirm"
                        disabled=move || rotate.pending().get()
                        on:click=move |_| { rotate.dispatch((name.get_value(), keep.get_untracked())); }>"Rotate"</button>
                </div>
            </Modal>
        </Show>
    }
}

#[component]
fn ResetButton(db: DatabaseView, dialogs: Dialogs) -> impl IntoView {
    let open = dialogs.reset_open;
    let reset = dialogs.reset;
    let name = StoredValue::new(db.name.clone());
    let source = StoredValue::new(db.forked_from.clone().unwrap_or_default());
    let confirm = Callback::new(move |()| {
        reset.dispatch(name.get_value());
    });
    view! {
        <button class="button secondary" data-testid="reset" on:click=move |_| {
            dialogs.error.set(None);
            dialogs.typed.set(String::new());
            open.set(true);
        }>"Reset from source"</button>
        <Show when=move || open.get()>
            <Modal on_close=Callback::new(move |_| open.set(false)) labelledby="reset-title" testid="reset-dialog">
                <h2 id="reset-title">{format!("Reset {} from {}", name.get_value(), source.get_value())}</h2>
                <p>{format!(
                    "It is made again from {} as it is now: its own changes are lost, its open sessions are ended, and its URL and password stay the same.",
                    source.get_value()
                )}</p>
                <TypeToConfirm name=name.get_value() id="reset-confirm" verb="Reset" typed=dialogs.typed error=dialogs.error
                    pending=reset.pending() on_confirm=confirm on_cancel=Callback::new(move |()| open.set(false))/>
            </Modal>
        </Show>
    }
}

#[component]
fn DestroyButton(db: DatabaseView, dialogs: Dialogs) -> impl IntoView {
    let open = dialogs.destroy_open;
    let typed = dialogs.typed;
    let take_followers = dialogs.take_followers;
    let error = dialogs.error;
    let destroy = dialogs.destroy;
    // Stored, so the dialog's content can be made again each time it opens.
    let name = StoredValue::new(db.name.clone());
    let followers = StoredValue::new(db.followers.clone());
    let confirm = Callback::new(move |()| {
        destroy.dispatch((name.get_value(), typed.get_untracked(), take_followers.get_untracked()));
    });
    view! {
        <button class="button danger" data-testid="destroy" on:click=move |_| open.set(true)>"Destroy"</button>
        <Show when=move || open.get()>
            <Modal on_close=Callback::new(move |_| open.set(false)) labelledby="destroy-title" testid="destroy-dialog">
                <h2 id="destroy-title">{format!("Destroy {}", name.get_value())}</h2>
                <p>"Its server is stopped and its data is deleted. This cannot be undone."</p>
                {followers.with_value(|f| !f.is_empty()).then(|| view! {
                    <p class="warning">
                        {format!("It has followers ({}). They stop working without it: destroy them too, or promote them first.", followers.with_value(|f| f.join(", ")))}
                    </p>
                    <label class="check">
                        <input type="checkbox" data-testid="take-followers" prop:checked=move || take_followers.get() on:change=move |ev| take_followers.set(event_target_checked(&ev))/>
                        " Destroy its followers too"
                    </label>
                })}
                <TypeToConfirm name=name.get_value() id="destroy-confirm" verb="Destroy" typed error
                    pending=destroy.pending() on_confirm=confirm on_cancel=Callback::new(move |()| open.set(false))/>
            </Modal>
        </Show>
    }
}

#[cfg(test)]
mod tests {
    use chrono::{Duration, TimeZone, Utc};

    use super::extend_fits;

    #[test]
    fn extend_is_offered_while_a_day_more_fits() {
        let now = Utc.with_ymd_and_hms(2026, 12, 2, 10, 0, 0).unwrap();
        let week = 7 * 24 * 3600;
        assert!(extend_fits(now + Duration::days(3), now, week));
        assert!(extend_fits(now + Duration::days(6), now, week));
        assert!(!extend_fits(now + Duration::days(6) + Duration::seconds(1), now, week));
        // Expired already: a day from now.
        assert!(extend_fits(now - Duration::days(1), now, week));
        assert!(!extend_fits(now, now, 3600));
    }
}
