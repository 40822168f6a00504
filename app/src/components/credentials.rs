//! The Connection card's credentials: hidden until revealed (the server
//! audits each reveal), then the URL, its parts for a GUI client, a `psql`
//! command and the `DATABASE_URL` line, each with its own Copy.

use leptos::prelude::*;

use crate::components::copy_button::CopyButton;
use crate::connection::Connection;

#[component]
pub fn Credentials(
    name: String,
    url: RwSignal<Option<String>>,
    /// The reveal, owned by the page (see its `Dialogs`), which puts its
    /// answer in `url`: it lands even if this card is drawn again meanwhile.
    reveal: Action<String, Result<String, crate::model::ApiError>>,
) -> impl IntoView {
    let error = move || reveal.value().with(|r| r.as_ref().and_then(|r| r.as_ref().err()).map(|e| e.message.clone()));
    view! {
        {move || match url.get() {
            None => view! {
                <button class="button secondary" data-testid="reveal" on:click={
                    let name = name.clone();
                    move |_| { reveal.dispatch(name.clone()); }
                }>"Reveal connection URL"</button>
            }
            .into_any(),
            Some(u) => view! { <Revealed url=u/> }.into_any(),
        }}
        <Show when=move || error().is_some()>
            <p class="error" role="alert">{error}</p>
        </Show>
    }
}

#[component]
fn Revealed(url: String) -> impl IntoView {
    let parts = Connection::parse(&url);
    view! {
        <div class="copyable">
            <code class="url" data-testid="url">{url.clone()}</code>
            <CopyButton text=url label="Copy the connection URL"/>
        </div>
        {parts.map(|c| {
            let rows: [(&'static str, String, &'static str, &'static str); 5] = [
                ("Host", c.host.clone(), "Copy the host", "copy-host"),
                ("Port", c.port.to_string(), "Copy the port", "copy-port"),
                ("Database", c.database.clone(), "Copy the database name", "copy-database"),
                ("User", c.user.clone(), "Copy the user", "copy-user"),
                ("Password", c.password.clone(), "Copy the password", "copy-password"),
            ];
            view! {
                <dl class="info parts" data-testid="connection-parts">
                    {rows.into_iter().map(|(term, value, label, testid)| view! {
                        <dt>{term}</dt>
                        <dd class="copyable">
                            <code data-testid=format!("part-{}", term.to_lowercase())>{value.clone()}</code>
                            <CopyButton text=value label testid/>
                        </dd>
                    }).collect_view()}
                </dl>
                <p class="muted small">"psql"</p>
                <div class="copyable">
                    <code class="url" data-testid="psql">{c.psql()}</code>
                    <CopyButton text=c.psql() label="Copy the psql command" testid="copy-psql"/>
                </div>
                <p class="muted small">"For an app's environment"</p>
                <div class="copyable">
                    <code class="url" data-testid="env-line">{c.env_line()}</code>
                    <CopyButton text=c.env_line() label="Copy the DATABASE_URL line" testid="copy-env"/>
                </div>
            }
        })}
    }
}
