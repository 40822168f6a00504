//! API tokens for the CLI and scripts: make one (shown once), see them,
//! revoke them. Admins see everyone's.

use leptos::prelude::*;

use crate::accounts::{NewToken, TokenView};
use crate::api::{create_token, list_tokens, revoke_token};
use crate::components::copy_button::CopyButton;
use crate::format::{self, Clock};
use crate::ready::hydrating;
use crate::session::Signed;

#[component]
pub fn TokensPage() -> impl IntoView {
    view! {
        <section class="page">
            <Signed>
                <Tokens/>
            </Signed>
        </section>
    }
}

#[component]
fn Tokens() -> impl IntoView {
    let version = RwSignal::new(0u64);
    let tokens = Resource::new(move || version.get(), |_| list_tokens());
    let name = RwSignal::new(String::new());
    let error = RwSignal::new(None::<String>);
    let created = RwSignal::new(None::<NewToken>);
    let create = Action::new(move |n: &String| {
        let n = n.clone();
        async move { create_token(n).await }
    });
    Effect::new(move |_| match create.value().get() {
        Some(Ok(t)) => {
            created.set(Some(t));
            name.set(String::new());
            version.update(|v| *v += 1);
        }
        Some(Err(e)) => error.set(Some(e.message)),
        None => {}
    });
    let revoke = Action::new(move |id: &i64| {
        let id = *id;
        async move { revoke_token(id).await }
    });
    Effect::new(move |_| match revoke.value().get() {
        Some(Ok(())) => version.update(|v| *v += 1),
        Some(Err(e)) => error.set(Some(e.message)),
        None => {}
    });
    let on_submit = move |ev: leptos::ev::SubmitEvent| {
        ev.prevent_default();
        error.set(None);
        create.dispatch(name.get_untracked());
    };
    view! {
        <div class="page-head"><h1>"API tokens"</h1></div>
        <p class="muted">
            "For the CLI and scripts: " <code>"PGFLEET_TOKEN=… pgfleet list"</code>
            ". A token acts as you, with your role."
        </p>
        <form class="card stack" on:submit=on_submit>
            <label for="token-name">"What is it for?"</label>
            <input id="token-name" data-testid="token-name" placeholder="laptop CLI" required
                prop:value=move || name.get() on:input=move |ev| name.set(event_target_value(&ev))/>
            <button type="submit" class="button" data-testid="token-create">"Create token"</button>
        </form>
        {move || created.get().map(|t| view! {
            <div class="notice" data-testid="new-token">
                <p>"Copy it now; it is not shown again:"</p>
                <code class="url" data-testid="token-value">{t.token.clone()}</code>
                <CopyButton text=t.token label="Copy the token" testid="copy-token"/>
            </div>
        })}
        <Show when=move || error.get().is_some()>
            <p class="error" role="alert">{move || error.get()}</p>
        </Show>
        <Transition fallback=|| view! { <p class="notice">"Loading…"</p> }>
            {move || Suspend::new(hydrating(async move {
                match tokens.await {
                    Ok(list) => view! { <TokenTable list revoke/> }.into_any(),
                    Err(e) => view! { <p class="error" role="alert">{e.message}</p> }.into_any(),
                }
            }))}
        </Transition>
    }
}

#[component]
fn TokenTable(list: Vec<TokenView>, revoke: Action<i64, Result<(), crate::model::ApiError>>) -> impl IntoView {
    let when = |t: Option<chrono::DateTime<chrono::Utc>>| {
        t.map(|t| format::utc(t, Clock::DateMinutes)).unwrap_or_else(|| "never".into())
    };
    view! {
        <table class="databases" data-testid="tokens">
            <thead><tr>
                <th scope="col">"Name"</th><th scope="col">"Owner"</th><th scope="col">"Created"</th>
                <th scope="col">"Last used"</th><th scope="col"><span class="visually-hidden">"Actions"</span></th>
            </tr></thead>
            <tbody>
                {list.into_iter().map(|t| {
                    let id = t.id;
                    view! {
                        <tr data-testid=format!("token-{id}")>
                            <td data-label="Name">{t.name.clone()}</td>
                            <td data-label="Owner">{t.owner.clone().unwrap_or_default()}</td>
                            <td data-label="Created">{format::utc(t.created_at, Clock::DateMinutes)}</td>
                            <td data-label="Last used">{when(t.last_used_at)}</td>
                            <td class="actions">
                                {match t.revoked_at {
                                    Some(at) => view! { <span class="muted">{format!("revoked {}", format::utc(at, Clock::Date))}</span> }.into_any(),
                                    None => view! {
                                        <button class="button small danger" data-testid="revoke"
                                            on:click=move |_| { revoke.dispatch(id); }>"Revoke"</button>
                                    }.into_any(),
                                }}
                            </td>
                        </tr>
                    }
                }).collect_view()}
            </tbody>
        </table>
    }
}
