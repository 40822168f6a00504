//! The team (admins only): people and their roles, invitations with a
//! one-time password, and the guard rails for members' forks.

use leptos::prelude::*;

use crate::accounts::{Invitation, Settings, UserRole, UserView};
use crate::api::{get_settings, invite_user, list_users, put_settings, set_user_role};
use crate::components::copy_button::CopyButton;
use crate::format::{self, Clock};
use crate::ready::hydrating;
use crate::session::Signed;

#[component]
pub fn TeamPage() -> impl IntoView {
    provide_context(PeopleVersion(RwSignal::new(0)));
    view! {
        <section class="page">
            <Signed>
                <div class="page-head"><h1>"Team"</h1></div>
                <div class="grid">
                    <Invite/>
                    <GuardRails/>
                </div>
                <People/>
            </Signed>
        </section>
    }
}

/// Bumped after an invitation or a role change, to list people again.
#[derive(Clone, Copy)]
struct PeopleVersion(RwSignal<u64>);

fn people_version() -> RwSignal<u64> {
    expect_context::<PeopleVersion>().0
}

#[component]
fn People() -> impl IntoView {
    let version = people_version();
    let users = Resource::new(move || version.get(), |_| list_users());
    view! {
        <section class="card">
            <h2>"People"</h2>
            <Transition fallback=|| view! { <p class="notice">"Loading…"</p> }>
                {move || Suspend::new(hydrating(async move {
                    match users.await {
                        Ok(list) => view! {
                            <table class="databases" data-testid="users">
                                <thead><tr><th scope="col">"Name"</th><th scope="col">"Role"</th><th scope="col">"Since"</th></tr></thead>
                                <tbody>{list.into_iter().map(|u| view! { <Person user=u/> }).collect_view()}</tbody>
                            </table>
                        }
                        .into_any(),
                        Err(e) => view! { <p class="error" role="alert">{e.message}</p> }.into_any(),
                    }
                }))}
            </Transition>
        </section>
    }
}

#[component]
fn Person(user: UserView) -> impl IntoView {
    let error = RwSignal::new(None::<String>);
    let version = people_version();
    let change = Action::new(move |(name, role): &(String, UserRole)| {
        let (name, role) = (name.clone(), *role);
        async move { set_user_role(name, role).await }
    });
    let current = user.role;
    // What the select shows: the choice while it is asked for, and the
    // role the person really has again once the server refuses it.
    let shown = RwSignal::new(current);
    Effect::new(move |_| match change.value().get() {
        Some(Ok(_)) => version.update(|v| *v += 1),
        Some(Err(e)) => {
            shown.set(current);
            error.set(Some(format!("Still {}: {}", current.as_str(), e.message)));
        }
        None => {}
    });
    let name = user.name.clone();
    view! {
        <tr data-testid=format!("user-{}", user.name)>
            <td data-label="Name">
                {user.name.clone()}
                {user.must_change_password.then(|| view! { <span class="muted small">" (invited)"</span> })}
            </td>
            <td data-label="Role">
                <select aria-label=format!("Role of {}", user.name) data-testid="role-select"
                    prop:value=move || shown.get().as_str()
                    on:change=move |ev| {
                        if let Some(role) = UserRole::parse(&event_target_value(&ev)) {
                            error.set(None);
                            shown.set(role);
                            change.dispatch((name.clone(), role));
                        }
                    }>
                    {UserRole::ALL.into_iter().map(|r| view! {
                        <option value=r.as_str() selected=r == current>{r.as_str()}</option>
                    }).collect_view()}
                </select>
                <Show when=move || error.get().is_some()>
                    <p class="error" role="alert" data-testid="role-error">{move || error.get()}</p>
                </Show>
            </td>
            <td data-label="Since">{format::utc(user.created_at, Clock::Date)}</td>
        </tr>
    }
}

#[component]
fn Invite() -> impl IntoView {
    let name = RwSignal::new(String::new());
    let role = RwSignal::new(UserRole::Member);
    let error = RwSignal::new(None::<String>);
    let invited = RwSignal::new(None::<Invitation>);
    let version = people_version();
    let submit = Action::new(move |(n, r): &(String, UserRole)| {
        let (n, r) = (n.clone(), *r);
        async move { invite_user(n, r).await }
    });
    Effect::new(move |_| match submit.value().get() {
        Some(Ok(inv)) => {
            invited.set(Some(inv));
            name.set(String::new());
            version.update(|v| *v += 1);
        }
        Some(Err(e)) => error.set(Some(e.message)),
        None => {}
    });
    let on_submit = move |ev: leptos::ev::SubmitEvent| {
        ev.prevent_default();
        error.set(None);
        invited.set(None);
        submit.dispatch((name.get_untracked(), role.get_untracked()));
    };
    view! {
        <section class="card">
            <h2>"Invite someone"</h2>
            <form class="stack" on:submit=on_submit>
                <label for="invite-name">"Name"</label>
                <input id="invite-name" data-testid="invite-name" required
                    prop:value=move || name.get() on:input=move |ev| name.set(event_target_value(&ev))/>
                <label for="invite-role">"Role"</label>
                <select id="invite-role" data-testid="invite-role"
                    on:change=move |ev| if let Some(r) = UserRole::parse(&event_target_value(&ev)) { role.set(r) }>
                    <option value="member" selected=true>"member: creates, forks, follows; changes their own"</option>
                    <option value="viewer">"viewer: reads only, never sees credentials"</option>
                    <option value="admin">"admin: everything"</option>
                </select>
                <Show when=move || error.get().is_some()>
                    <p class="error" role="alert" data-testid="invite-error">{move || error.get()}</p>
                </Show>
                <button type="submit" class="button" data-testid="invite-submit">"Invite"</button>
            </form>
            {move || invited.get().map(|inv| view! {
                <div class="notice" data-testid="invitation">
                    <p>{format!("{} can sign in as {} with this one-time password (shown once):", inv.user.name, inv.user.name)}</p>
                    <code class="url" data-testid="one-time-password">{inv.one_time_password.clone()}</code>
                    <CopyButton text=inv.one_time_password label="Copy the one-time password" testid="copy-password"/>
                </div>
            })}
        </section>
    }
}

#[component]
fn GuardRails() -> impl IntoView {
    let settings = Resource::new(|| (), |_| get_settings());
    view! {
        <section class="card">
            <h2>"Members' forks"</h2>
            <Suspense fallback=|| view! { <p class="notice">"Loading…"</p> }>
                {move || Suspend::new(hydrating(async move {
                    match settings.await {
                        Ok(s) => view! { <GuardRailsForm settings=s/> }.into_any(),
                        Err(e) => view! { <p class="error" role="alert">{e.message}</p> }.into_any(),
                    }
                }))}
            </Suspense>
        </section>
    }
}

#[component]
fn GuardRailsForm(settings: Settings) -> impl IntoView {
    let default_hours = RwSignal::new((settings.fork_ttl_default_seconds / 3600).to_string());
    let max_hours = RwSignal::new((settings.fork_ttl_max_seconds / 3600).to_string());
    let quota = RwSignal::new(settings.member_fork_quota.to_string());
    let message = RwSignal::new(None::<Result<String, String>>);
    let save = Action::new(move |s: &Settings| {
        let s = s.clone();
        async move { put_settings(s).await }
    });
    Effect::new(move |_| match save.value().get() {
        Some(Ok(s)) => message.set(Some(Ok(format!(
            "Saved: forks live {} by default, at most {}; {} per member.",
            format::span(s.fork_ttl_default_seconds),
            format::span(s.fork_ttl_max_seconds),
            s.member_fork_quota
        )))),
        Some(Err(e)) => message.set(Some(Err(e.message))),
        None => {}
    });
    let on_submit = move |ev: leptos::ev::SubmitEvent| {
        ev.prevent_default();
        let number = |s: RwSignal<String>| s.get_untracked().trim().parse::<i64>().ok();
        match (number(default_hours), number(max_hours), number(quota)) {
            (Some(d), Some(m), Some(q)) => {
                save.dispatch(Settings {
                    fork_ttl_default_seconds: d * 3600,
                    fork_ttl_max_seconds: m * 3600,
                    member_fork_quota: q,
                });
            }
            _ => message.set(Some(Err("each field takes a whole number".into()))),
        }
    };
    view! {
        <form class="stack" on:submit=on_submit>
            <label for="ttl-default">"Default time to live (hours)"</label>
            <input id="ttl-default" inputmode="numeric" data-testid="ttl-default"
                prop:value=move || default_hours.get() on:input=move |ev| default_hours.set(event_target_value(&ev))/>
            <label for="ttl-max">"Longest time to live, from now (hours)"</label>
            <input id="ttl-max" inputmode="numeric" data-testid="ttl-max"
                prop:value=move || max_hours.get() on:input=move |ev| max_hours.set(event_target_value(&ev))/>
            <label for="quota">"Forks per member at once"</label>
            <input id="quota" inputmode="numeric" data-testid="quota"
                prop:value=move || quota.get() on:input=move |ev| quota.set(event_target_value(&ev))/>
            {move || message.get().map(|m| match m {
                Ok(text) => view! { <p class="notice" role="status">{text}</p> }.into_any(),
                Err(text) => view! { <p class="error" role="alert">{text}</p> }.into_any(),
            })}
            <button type="submit" class="button" data-testid="settings-save">"Save"</button>
        </form>
    }
}
