//! The audit log (admins only): every action, who took it, from where,
//! and how it ended, newest first. Refreshes as databases change.

use leptos::prelude::*;

use crate::api::audit_log;
use crate::format::{self, Clock};
use crate::live::use_live;
use crate::ready::hydrating;
use crate::session::Signed;

#[component]
pub fn AuditPage() -> impl IntoView {
    view! {
        <section class="page">
            <Signed>
                <Audit/>
            </Signed>
        </section>
    }
}

#[component]
fn Audit() -> impl IntoView {
    let live = use_live();
    // Most audited actions change a database or a request; both show here.
    let entries = Resource::new(move || (live.requests_version.get(), live.dbs.with(|d| d.len())), |_| audit_log());
    view! {
        <div class="page-head"><h1>"Audit log"</h1></div>
        <Transition fallback=|| view! { <p class="notice">"Loading…"</p> }>
            {move || Suspend::new(hydrating(async move {
                match entries.await {
                    Ok(list) => view! {
                        <table class="databases" data-testid="audit">
                            <thead><tr>
                                <th scope="col">"When"</th><th scope="col">"Who"</th><th scope="col">"What"</th>
                                <th scope="col">"Database"</th><th scope="col">"From"</th><th scope="col">"Outcome"</th>
                            </tr></thead>
                            <tbody>
                                {list.into_iter().map(|e| {
                                    let class = format!("outcome-{}", e.outcome);
                                    view! {
                                    <tr class=class>
                                        <td data-label="When">{format::utc(e.at, Clock::DateSeconds)}</td>
                                        <td data-label="Who">{e.actor}</td>
                                        <td data-label="What">{e.action}</td>
                                        <td data-label="Database">{e.database.unwrap_or_default()}</td>
                                        <td data-label="From">{e.address.unwrap_or_default()}</td>
                                        <td data-label="Outcome">
                                            {e.outcome}
                                            {e.detail.map(|d| view! { <span class="muted small">{format!(" — {d}")}</span> })}
                                        </td>
                                    </tr>
                                }}).collect_view()}
                            </tbody>
                        </table>
                    }
                    .into_any(),
                    Err(e) => view! { <p class="error" role="alert">{e.message}</p> }.into_any(),
                }
            }))}
        </Transition>
    }
}
