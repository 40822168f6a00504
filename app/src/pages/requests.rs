//! Fork requests: a member's own, live; an admin's queue of pending ones
//! to approve or reject (with a reason), and every request after.

use leptos::prelude::*;

use crate::accounts::{ForkRequestView, Me, RequestState, UserRole};
use crate::api::{decide_fork_request, list_fork_requests};
use crate::format;
use crate::live::use_live;
use crate::ready::hydrating;
use crate::session::{use_me, Signed};

#[component]
pub fn RequestsPage() -> impl IntoView {
    view! {
        <section class="page">
            <Signed>
                <Requests/>
            </Signed>
        </section>
    }
}

#[component]
fn Requests() -> impl IntoView {
    let me = use_me();
    let live = use_live();
    let requests = Resource::new(move || live.requests_version.get(), |_| list_fork_requests());
    let admin = me.role == UserRole::Admin;
    view! {
        <div class="page-head">
            <h1>{if admin { "Fork requests" } else { "Your fork requests" }}</h1>
        </div>
        <p class="muted">
            "Forks of databases whose fork policy is “approval” wait here for an admin. Forks made by members expire at "
            "the end of their time to live unless extended."
        </p>
        <Transition fallback=|| view! { <p class="notice">"Loading requests…"</p> }>
            {move || Suspend::new({
                let me = me.clone();
                hydrating(async move {
                    match requests.await {
                        Ok(list) => view! { <RequestLists list me/> }.into_any(),
                        Err(e) => view! { <p class="error" role="alert">{e.message}</p> }.into_any(),
                    }
                })
            })}
        </Transition>
    }
}

#[component]
fn RequestLists(list: Vec<ForkRequestView>, me: Me) -> impl IntoView {
    let admin = me.role == UserRole::Admin;
    let (pending, rest): (Vec<_>, Vec<_>) = list.into_iter().partition(|r| r.state == RequestState::Pending);
    let queue = admin.then(|| {
        view! {
            <h2>"Waiting for approval"</h2>
            {if pending.is_empty() {
                view! { <p class="muted" data-testid="queue-empty">"Nothing is waiting."</p> }.into_any()
            } else {
                view! {
                    <ul class="plain requests" data-testid="queue">
                        {pending.iter().cloned().map(|r| view! { <PendingRequest request=r/> }).collect_view()}
                    </ul>
                }
                .into_any()
            }}
        }
    });
    // The admin decides from the queue above; the table is every request,
    // the pending ones first, so "all" means all.
    let mine: Vec<_> = pending.into_iter().chain(rest).collect();
    view! {
        {queue}
        <h2>{if admin { "All requests" } else { "Requests" }}</h2>
        {if mine.is_empty() {
            view! { <p class="muted" data-testid="requests-empty">"No fork requests yet. Use Fork on a database to ask for one."</p> }.into_any()
        } else {
            view! {
                <table class="databases" data-testid="requests">
                    <thead><tr>
                        <th scope="col">"#"</th><th scope="col">"Fork"</th><th scope="col">"Of"</th>
                        <th scope="col">"By"</th><th scope="col">"State"</th><th scope="col">"Lives"</th>
                        <th scope="col">"Why"</th>
                    </tr></thead>
                    <tbody>
                        {mine.into_iter().map(|r| view! { <RequestRow request=r/> }).collect_view()}
                    </tbody>
                </table>
            }
            .into_any()
        }}
    }
}

#[component]
fn RequestRow(request: ForkRequestView) -> impl IntoView {
    let state = request.state;
    let link = matches!(state, RequestState::Provisioning | RequestState::Available);
    let fork = request.name.clone();
    let decision = match (&request.decided_by, &request.decision_reason) {
        (Some(by), Some(reason)) if state == RequestState::Rejected => Some(format!("rejected by {by}: {reason}")),
        (Some(by), Some(reason)) => Some(format!("approved by {by}: {reason}")),
        (Some(by), None) => Some(format!("approved by {by}")),
        (None, _) => None,
    };
    let decision = match &request.message {
        Some(m) => Some(decision.map(|d| format!("{d}. {m}")).unwrap_or_else(|| m.clone())),
        None => decision,
    };
    view! {
        <tr data-testid=format!("request-{}", request.id)>
            <td data-label="#">{request.id}</td>
            <td data-label="Fork">
                {if link {
                    view! { <a href=format!("/databases/{fork}")>{fork.clone()}</a> }.into_any()
                } else {
                    view! { <span>{fork.clone()}</span> }.into_any()
                }}
            </td>
            <td data-label="Of">
                {request.source.clone()}
                {request.unmasked.then(|| view! {
                    <span class="tag unmasked-tag" data-testid="request-unmasked" title="without its source's masking rules">"unmasked"</span>
                })}
                {request.at.map(|at| view! {
                    <p class="muted small" data-testid="request-moment">{format!("as it was at {}", at.format("%Y-%m-%d %H:%M:%S UTC"))}</p>
                })}
            </td>
            <td data-label="By">{request.requester.clone()}</td>
            <td data-label="State">
                <RequestBadge state/>
                {decision.map(|d| view! { <p class="muted small" data-testid="decision">{d}</p> })}
            </td>
            <td data-label="Lives">{format::span(request.ttl_seconds)}</td>
            <td data-label="Why">{request.reason.clone()}</td>
        </tr>
    }
}

/// A pending request with the admin's Approve and Reject.
#[component]
fn PendingRequest(request: ForkRequestView) -> impl IntoView {
    let reason = RwSignal::new(String::new());
    let error = RwSignal::new(None::<String>);
    let live = use_live();
    let decide = Action::new(move |(id, approve, reason): &(i64, bool, String)| {
        let (id, approve, reason) = (*id, *approve, reason.clone());
        async move { decide_fork_request(id, approve, Some(reason).filter(|r| !r.trim().is_empty())).await }
    });
    Effect::new(move |_| match decide.value().get() {
        Some(Ok(_)) => live.requests_version.update(|v| *v += 1),
        Some(Err(e)) => error.set(Some(e.message)),
        None => {}
    });
    let id = request.id;
    view! {
        <li class="card request" data-testid=format!("pending-{id}")>
            <p>
                <strong>{request.requester.clone()}</strong>
                {format!(
                    " wants {} fork of {} named {} for {}",
                    if request.unmasked { "an unmasked" } else { "a" },
                    request.source,
                    request.name,
                    format::span(request.ttl_seconds)
                )}
                {request.unmasked.then(|| view! {
                    <span class="tag unmasked-tag" data-testid="pending-unmasked" title="without its source's masking rules">"unmasked"</span>
                })}
            </p>
            <blockquote data-testid="pending-reason">{request.reason.clone()}</blockquote>
            <label for=format!("reason-{id}")>"Reason (needed to reject)"</label>
            <input id=format!("reason-{id}") data-testid="decision-reason"
                prop:value=move || reason.get() on:input=move |ev| reason.set(event_target_value(&ev))/>
            <Show when=move || error.get().is_some()>
                <p class="error" role="alert" data-testid="decision-error">{move || error.get()}</p>
            </Show>
            <div class="dialog-actions">
                <button class="button secondary" data-testid="reject" disabled=move || decide.pending().get()
                    on:click=move |_| { decide.dispatch((id, false, reason.get_untracked())); }>"Reject"</button>
                <button class="button" data-testid="approve" disabled=move || decide.pending().get()
                    on:click=move |_| { decide.dispatch((id, true, reason.get_untracked())); }>"Approve"</button>
            </div>
        </li>
    }
}

/// A request's state: words plus a shape, as database phases have.
#[component]
pub fn RequestBadge(state: RequestState) -> impl IntoView {
    let (shape, class) = match state {
        RequestState::Pending | RequestState::Approved | RequestState::Provisioning => ("◐", "phase-provisioning"),
        RequestState::Available => ("●", "phase-available"),
        RequestState::Rejected | RequestState::Failed => ("✕", "phase-failed"),
        RequestState::Expired | RequestState::Destroyed => ("○", "phase-deleting"),
    };
    view! {
        <span class=format!("badge {class}") data-testid="request-state" data-state=state.as_str()>
            <span aria-hidden="true">{shape}</span>" "{state.as_str()}
        </span>
    }
}
