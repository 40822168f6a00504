//! The Roles card of a database's page (`heroku pg:credentials`): its
//! additional login roles, each read-only or read-write with a password of
//! its own. Its owner and admins add one (its URL is shown once, with
//! Copy), rotate one's password or remove one; whoever may see the
//! database's credentials reveals a role's URL (audited). A follower lists
//! its source's roles, whose URLs reach the follower.
//!
//! Drawn in the browser only, once hydrated, like the Backups card: the
//! list is fetched there and again whenever the stream says it changed.

use leptos::prelude::*;

use crate::api::{create_role, database_roles, drop_role, role_url, rotate_role};
use crate::components::copy_button::CopyButton;
use crate::format::{self, Clock};
use crate::live::use_live;
use crate::roles::{NewRole, RoleAccess, RoleUrl, RoleView, MAX_ROLE_NAME};

#[component]
pub fn RolesCard(
    name: Memo<String>,
    /// Add, rotate and remove (its owner or an admin, on an available
    /// primary).
    can_manage: Signal<bool>,
    /// Reveal a role's URL.
    can_reveal: Signal<bool>,
) -> impl IntoView {
    let live = use_live();
    let mounted = crate::ready::mounted();
    let changed = Memo::new(move |_| live.roles_changed.with(|r| r.get(&name.get()).copied()));
    let list = crate::fetched::fetched(move || {
        let (name, _) = (name.get(), changed.get());
        async move { database_roles(name).await }
    });
    // The role whose removal waits for a second press (kept here, as the
    // table is drawn again with each answer).
    let confirming = RwSignal::new(None::<String>);
    // The one URL on show: just made, rotated or revealed.
    let shown = RwSignal::new(None::<RoleUrl>);
    let error = RwSignal::new(None::<String>);
    // Another database's page: nothing of this one's is said there.
    Effect::new(move |_| {
        name.track();
        shown.set(None);
        error.set(None);
    });
    let answered = move |r: Result<RoleUrl, crate::model::ApiError>| match r {
        Ok(u) => {
            error.set(None);
            shown.set(Some(u));
        }
        Err(e) => error.set(Some(e.message)),
    };
    let reveal = Action::new(move |role: &String| {
        let role = role.clone();
        async move { answered(role_url(name.get_untracked(), role).await) }
    });
    let rotate = Action::new(move |role: &String| {
        let role = role.clone();
        async move { answered(rotate_role(name.get_untracked(), role).await) }
    });
    let remove = Action::new(move |role: &String| {
        let role = role.clone();
        async move {
            match drop_role(name.get_untracked(), role.clone()).await {
                Ok(()) => {
                    error.set(None);
                    if shown.get_untracked().is_some_and(|u| u.name == role) {
                        shown.set(None);
                    }
                }
                Err(e) => error.set(Some(e.message)),
            }
        }
    });
    view! {
        <Show when=move || mounted.get()>
            <section class="card roles" data-testid="roles" aria-labelledby="roles-title">
                <h2 id="roles-title">"Roles"</h2>
                <p class="muted small">"Login roles beside the owner, each with a password of its own: read-only reads every table, read-write also writes rows (never the schema)."</p>
                {move || match list.get() {
                    None => view! { <p class="muted">"Loading roles…"</p> }.into_any(),
                    Some(Err(e)) => view! { <p class="error">{e.message}</p> }.into_any(),
                    Some(Ok(roles)) if roles.is_empty() => {
                        view! { <p class="muted" data-testid="no-roles">"No additional roles."</p> }.into_any()
                    }
                    Some(Ok(roles)) => view! {
                        <RoleTable roles can_manage=can_manage.get() can_reveal=can_reveal.get() confirming reveal rotate remove/>
                    }.into_any(),
                }}
                {move || shown.get().map(|u| view! {
                    <div class="role-url" data-testid="role-url-box" role="status">
                        <p class="small">{format!("{} ({}):", u.name, u.access.describe())}</p>
                        <div class="copyable">
                            <code class="url" data-testid="role-url">{u.url.clone()}</code>
                            <CopyButton text=u.url.clone() label="Copy the role's connection URL" testid="copy-role-url"/>
                        </div>
                    </div>
                })}
                <Show when=move || error.get().is_some()>
                    <p class="error" role="alert" data-testid="roles-error">{move || error.get()}</p>
                </Show>
                <Show when=move || can_manage.get()>
                    <AddRole name answered/>
                </Show>
            </section>
        </Show>
    }
}

#[component]
fn RoleTable(
    roles: Vec<RoleView>,
    can_manage: bool,
    can_reveal: bool,
    confirming: RwSignal<Option<String>>,
    reveal: Action<String, ()>,
    rotate: Action<String, ()>,
    remove: Action<String, ()>,
) -> impl IntoView {
    view! {
        <table class="roles-table" data-testid="roles-table">
            <thead><tr><th scope="col">"Role"</th><th scope="col">"Access"</th><th scope="col">"Added"</th><th scope="col"><span class="visually-hidden">"Actions"</span></th></tr></thead>
            <tbody>
                {roles.into_iter().map(|r| {
                    let role = StoredValue::new(r.name.clone());
                    let by = r.created_by.clone().map(|b| format!(" by {b}")).unwrap_or_default();
                    view! {
                        <tr data-testid=format!("role-{}", r.name)>
                            <td><code>{r.name.clone()}</code></td>
                            <td>{r.access.describe()}</td>
                            <td>{format!("{} UTC{by}", format::utc(r.created_at, Clock::DateMinutes))}</td>
                            <td class="actions">
                                {can_reveal.then(|| view! {
                                    <button class="button secondary small" data-testid="role-reveal"
                                        on:click=move |_| { reveal.dispatch(role.get_value()); }>"Reveal URL"</button>
                                })}
                                {can_manage.then(|| view! {
                                    <button class="button secondary small" data-testid="role-rotate"
                                        disabled=move || rotate.pending().get()
                                        on:click=move |_| { rotate.dispatch(role.get_value()); }>"Rotate"</button>
                                    {move || match confirming.get().is_some_and(|c| c == role.get_value()) {
                                        false => view! {
                                            <button class="button secondary small" data-testid="role-remove"
                                                on:click=move |_| confirming.set(Some(role.get_value()))>"Remove"</button>
                                        }.into_any(),
                                        true => view! {
                                            <button class="button danger small" data-testid="role-remove-confirm"
                                                aria-label=format!("Remove {} now; its sessions end", role.get_value())
                                                on:click=move |_| {
                                                    confirming.set(None);
                                                    remove.dispatch(role.get_value());
                                                }>"Remove now"</button>
                                            <button class="button secondary small" on:click=move |_| confirming.set(None)>"Keep"</button>
                                        }.into_any(),
                                    }}
                                })}
                            </td>
                        </tr>
                    }
                }).collect_view()}
            </tbody>
        </table>
    }
}

#[component]
fn AddRole(
    name: Memo<String>,
    answered: impl Fn(Result<RoleUrl, crate::model::ApiError>) + Copy + Send + Sync + 'static,
) -> impl IntoView {
    let role = RwSignal::new(String::new());
    let access = RwSignal::new(RoleAccess::ReadOnly);
    let add = Action::new(move |new: &NewRole| {
        let new = new.clone();
        async move {
            let made = create_role(name.get_untracked(), new).await;
            if made.is_ok() {
                role.set(String::new());
            }
            answered(made)
        }
    });
    view! {
        <form class="add-role" data-testid="add-role" on:submit=move |ev| {
            ev.prevent_default();
            add.dispatch(NewRole { name: role.get_untracked().trim().to_string(), access: access.get_untracked() });
        }>
            <label>
                "Role name"
                <input type="text" name="role" required maxlength=MAX_ROLE_NAME.to_string() pattern="[a-z][a-z0-9_]*"
                    autocomplete="off" spellcheck="false" data-testid="role-name"
                    prop:value=move || role.get() on:input=move |ev| role.set(event_target_value(&ev))/>
            </label>
            <label>
                "Access"
                <select data-testid="role-access" on:change=move |ev| access.set(match event_target_value(&ev).as_str() {
                    "read_write" => RoleAccess::ReadWrite,
                    _ => RoleAccess::ReadOnly,
                })>
                    <option value="read_only" selected=true>"read-only"</option>
                    <option value="read_write">"read-write"</option>
                </select>
            </label>
            <button type="submit" class="button secondary" data-testid="role-add" disabled=move || add.pending().get()>"Add role"</button>
        </form>
    }
}
