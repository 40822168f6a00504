//! The Insights tab's diagnostics, what `pg:outliers`, `pg:ps` and
//! `pg:locks` show: the statements that cost the most, the sessions
//! running now and who waits on whom, with Cancel and Terminate for those
//! allowed to end a session and Reset for the statistics.
//!
//! Everything here is fetched in the browser after hydration
//! ([`crate::fetched`]) and again with each `metrics` event (every 10 s)
//! and after an action, so the tables follow the database without a
//! stream of their own.

use leptos::prelude::*;

use crate::api::{database_locks, database_sessions, database_statements, end_session, reset_statements};
use crate::format;
use crate::insights::{Blocking, Ended, Session, Statement, StatementOrder, StatementsQuery};
use crate::live::use_live;
use crate::policy::{allows, Action as Can};
use crate::session::use_me;

/// How many statements the table shows.
const TOP: i64 = 20;

/// Query text past this many characters is cut in the table (the whole
/// text is in the cell's tooltip).
const SHOWN_CHARS: usize = 160;

#[component]
pub fn Diagnostics(name: Memo<String>) -> impl IntoView {
    let live = use_live();
    let me = use_me();
    let db = Memo::new(move |_| live.get(&name.get()));
    let (can_end, can_reset) = {
        let me = me.clone();
        let can = move |what: fn(&crate::model::DatabaseView) -> Can<'_>| {
            let me = me.clone();
            Signal::derive(move || db.with(|d| d.as_ref().is_some_and(|d| allows(me.role, &me.name, what(d)))))
        };
        (can(|d| Can::EndSession(d)), can(|d| Can::ResetStatements(d)))
    };
    let sampled = Memo::new(move |_| live.sampled.with(|s| s.get(&name.get()).copied()));
    // Bumped after an action, so the tables show what it did at once.
    let acted = RwSignal::new(0u64);
    let order = RwSignal::new(StatementOrder::TotalTime);
    let statements = crate::fetched::fetched(move || {
        let (name, order, _, _) = (name.get(), order.get(), sampled.get(), acted.get());
        async move { database_statements(name, StatementsQuery { order: Some(order), limit: Some(TOP) }).await }
    });
    let sessions = crate::fetched::fetched(move || {
        let (name, _, _) = (name.get(), sampled.get(), acted.get());
        async move { database_sessions(name).await }
    });
    let locks = crate::fetched::fetched(move || {
        let (name, _, _) = (name.get(), sampled.get(), acted.get());
        async move { database_locks(name).await }
    });
    let said = RwSignal::new(None::<Result<String, String>>);
    let end = Action::new(move |(name, pid, terminate): &(String, i32, bool)| {
        let (name, pid, terminate) = (name.clone(), *pid, *terminate);
        async move { end_session(name, pid.into(), terminate).await }
    });
    Effect::new(move |_| {
        let Some(answer) = end.value().get() else { return };
        said.set(Some(answer.map(|e| ended(&e)).map_err(|e| e.message)));
        acted.update(|n| *n += 1);
    });
    let reset = Action::new(move |name: &String| {
        let name = name.clone();
        async move { reset_statements(name).await }
    });
    Effect::new(move |_| {
        let Some(answer) = reset.value().get() else { return };
        said.set(Some(answer.map(|()| "Statement statistics reset.".to_string()).map_err(|e| e.message)));
        acted.update(|n| *n += 1);
    });
    let on_end = Callback::new(move |(pid, terminate): (i32, bool)| {
        said.set(None);
        end.dispatch((name.get_untracked(), pid, terminate));
    });
    view! {
        <div class="diagnostics">
            <p class="said" role="status" data-testid="diagnostics-said">
                {move || said.get().map(|s| match s {
                    Ok(s) => view! { <span>{s}</span> }.into_any(),
                    Err(e) => view! { <span class="error">{e}</span> }.into_any(),
                })}
            </p>
            <section class="card" data-testid="top-queries" aria-labelledby="top-queries-title">
                <div class="card-head">
                    <h2 id="top-queries-title">"Top queries"</h2>
                    <div class="range" role="group" aria-label="Rank by">
                        {[(StatementOrder::TotalTime, "Total time"), (StatementOrder::MeanTime, "Mean time"), (StatementOrder::Calls, "Calls")]
                            .into_iter().map(|(o, label)| view! {
                                <button type="button" class="button secondary small" aria-pressed=move || (order.get() == o).to_string()
                                    on:click=move |_| order.set(o)>{label}</button>
                            }).collect_view()}
                        <Show when=move || can_reset.get()>
                            <button type="button" class="button secondary small" data-testid="reset-statements"
                                disabled=move || reset.pending().get()
                                on:click=move |_| {
                                    said.set(None);
                                    reset.dispatch(name.get_untracked());
                                }>"Reset statistics"</button>
                        </Show>
                    </div>
                </div>
                {move || match statements.get() {
                    None => view! { <p class="muted">"Loading…"</p> }.into_any(),
                    Some(Err(e)) => view! { <p class="error">{e.message}</p> }.into_any(),
                    Some(Ok(s)) if !s.loaded => view! {
                        <p class="warning" data-testid="statements-note">
                            {s.note.unwrap_or_else(|| "pg_stat_statements is not loaded on this server.".into())}
                        </p>
                    }.into_any(),
                    Some(Ok(s)) if s.statements.is_empty() => view! { <p class="muted">"No statements recorded yet."</p> }.into_any(),
                    Some(Ok(s)) => view! { <StatementTable list=s.statements/> }.into_any(),
                }}
            </section>
            <section class="card" data-testid="sessions" aria-labelledby="sessions-title">
                <h2 id="sessions-title">"Sessions"</h2>
                {move || match sessions.get() {
                    None => view! { <p class="muted">"Loading…"</p> }.into_any(),
                    Some(Err(e)) => view! { <p class="error">{e.message}</p> }.into_any(),
                    Some(Ok(list)) if list.is_empty() => view! { <p class="muted">"No client is connected."</p> }.into_any(),
                    Some(Ok(list)) => view! { <SessionTable list can_end on_end busy=end.pending()/> }.into_any(),
                }}
            </section>
            <section class="card" data-testid="locks" aria-labelledby="locks-title">
                <h2 id="locks-title">"Blocked sessions"</h2>
                {move || match locks.get() {
                    None => view! { <p class="muted">"Loading…"</p> }.into_any(),
                    Some(Err(e)) => view! { <p class="error">{e.message}</p> }.into_any(),
                    Some(Ok(list)) if list.is_empty() => view! { <p class="muted">"No session waits for a lock."</p> }.into_any(),
                    Some(Ok(list)) => view! { <LockTable list/> }.into_any(),
                }}
            </section>
        </div>
    }
}

#[component]
fn StatementTable(list: Vec<Statement>) -> impl IntoView {
    view! {
        <table class="table diag" data-testid="statement-list">
            <thead><tr>
                <th scope="col" class="text">"Query"</th><th scope="col">"Calls"</th><th scope="col">"Mean"</th>
                <th scope="col">"Total"</th><th scope="col">"Rows"</th><th scope="col">"Share"</th>
            </tr></thead>
            <tbody>
                <For each=move || list.clone() key=|s| (s.query_id, s.user.clone()) let:s>
                    <tr>
                        <td class="text"><QueryText text=Some(s.query.clone())/></td>
                        <td>{s.calls}</td>
                        <td>{millis(s.mean_ms)}</td>
                        <td>{millis(s.total_ms)}</td>
                        <td>{s.rows}</td>
                        <td>{format!("{:.1}%", s.share * 100.0)}</td>
                    </tr>
                </For>
            </tbody>
        </table>
    }
}

#[component]
fn SessionTable(
    list: Vec<Session>,
    can_end: Signal<bool>,
    on_end: Callback<(i32, bool)>,
    busy: Memo<bool>,
) -> impl IntoView {
    view! {
        <table class="table diag" data-testid="session-list">
            <thead><tr>
                <th scope="col">"Pid"</th><th scope="col">"User"</th><th scope="col">"State"</th>
                <th scope="col">"For"</th><th scope="col">"Waiting on"</th><th scope="col" class="text">"Query"</th>
                <Show when=move || can_end.get()><th scope="col"><span class="visually-hidden">"Actions"</span></th></Show>
            </tr></thead>
            <tbody>
                <For each=move || list.clone() key=|s| s.pid let:s>
                    <tr data-pid=s.pid>
                        <td>{s.pid}</td>
                        <td>{s.user.clone().unwrap_or_default()}</td>
                        <td>{s.state.clone().unwrap_or_default()}</td>
                        <td>{s.duration_seconds.map(format::duration).unwrap_or_default()}</td>
                        <td>{waiting_on(&s)}</td>
                        <td class="text"><QueryText text=s.query.clone()/></td>
                        <Show when=move || can_end.get()>
                            <td class="actions">
                                <button type="button" class="button secondary small" disabled=move || busy.get()
                                    aria-label=format!("Cancel the query of session {}", s.pid)
                                    on:click=move |_| on_end.run((s.pid, false))>"Cancel"</button>
                                <button type="button" class="button danger small" disabled=move || busy.get()
                                    aria-label=format!("Terminate session {}", s.pid)
                                    on:click=move |_| on_end.run((s.pid, true))>"Terminate"</button>
                            </td>
                        </Show>
                    </tr>
                </For>
            </tbody>
        </table>
    }
}

#[component]
fn LockTable(list: Vec<Blocking>) -> impl IntoView {
    view! {
        <table class="table diag" data-testid="lock-list">
            <thead><tr>
                <th scope="col">"Waiting"</th><th scope="col">"For"</th><th scope="col">"Blocked by"</th>
                <th scope="col">"On"</th><th scope="col" class="text">"Waiting query"</th><th scope="col" class="text">"Blocking query"</th>
            </tr></thead>
            <tbody>
                <For each=move || list.clone() key=|b| (b.blocked_pid, b.blocking_pid) let:b>
                    <tr>
                        <td>{who(b.blocked_pid, &b.blocked_user)}</td>
                        <td>{format::duration(b.waiting_seconds)}</td>
                        <td>{who(b.blocking_pid, &b.blocking_user)}
                            {b.blocking_state.clone().map(|s| view! { <span class="muted">{format!(" ({s})")}</span> })}</td>
                        <td>{[b.relation.clone(), b.mode.clone()].into_iter().flatten().collect::<Vec<_>>().join(", ")}</td>
                        <td class="text"><QueryText text=b.blocked_query.clone()/></td>
                        <td class="text"><QueryText text=b.blocking_query.clone()/></td>
                    </tr>
                </For>
            </tbody>
        </table>
    }
}

/// A query's text, cut to [`SHOWN_CHARS`]; "hidden" when the reader may
/// not see it.
#[component]
fn QueryText(text: Option<String>) -> impl IntoView {
    match text {
        None => view! { <span class="muted">"hidden"</span> }.into_any(),
        Some(text) => {
            let shown = cut(&text);
            view! { <code class="query" title=text>{shown}</code> }.into_any()
        }
    }
}

fn cut(text: &str) -> String {
    let flat = text.split_whitespace().collect::<Vec<_>>().join(" ");
    match flat.char_indices().nth(SHOWN_CHARS) {
        Some((at, _)) => format!("{}…", &flat[..at]),
        None => flat,
    }
}

/// Statement times: a mean is often well under a millisecond, which
/// `format::duration` would show as "0 ms".
fn millis(ms: f64) -> String {
    match ms {
        ms if !ms.is_finite() || ms < 0.0 => "unknown".into(),
        ms if ms < 10.0 => format!("{ms:.2} ms"),
        ms if ms < 1000.0 => format!("{ms:.0} ms"),
        ms => format::duration(ms / 1000.0),
    }
}

/// What a session waits for: the sessions holding its lock, else its
/// wait event. An idle session always waits for its client, which says
/// nothing, so that is left out.
fn waiting_on(s: &Session) -> String {
    if !s.blocked_by.is_empty() {
        let pids: Vec<String> = s.blocked_by.iter().map(i32::to_string).collect();
        return format!("pid {}", pids.join(", "));
    }
    match (&s.wait_event, s.state.as_deref()) {
        (_, Some("idle")) | (None, _) => String::new(),
        (Some(w), _) => w.clone(),
    }
}

fn who(pid: i32, user: &Option<String>) -> String {
    match user {
        Some(u) => format!("{pid} ({u})"),
        None => pid.to_string(),
    }
}

fn ended(e: &Ended) -> String {
    let what = match e.how.as_str() {
        "terminate" => format!("Session {} terminated.", e.pid),
        _ => format!("Query of session {} cancelled.", e.pid),
    };
    match e.signalled {
        true => what,
        false => format!("Session {} had already ended.", e.pid),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn long_queries_are_cut_and_whitespace_folded() {
        assert_eq!(cut("select\n   1"), "select 1");
        let long = "x".repeat(SHOWN_CHARS + 10);
        let shown = cut(&long);
        assert_eq!(shown.chars().count(), SHOWN_CHARS + 1);
        assert!(shown.ends_with('…'));
    }

    #[test]
    fn statement_times_keep_their_precision() {
        assert_eq!(millis(0.042), "0.04 ms");
        assert_eq!(millis(123.4), "123 ms");
        assert_eq!(millis(2500.0), "3s");
    }

    #[test]
    fn an_idle_session_waits_on_nothing_worth_saying() {
        let mut s = Session {
            pid: 1,
            user: None,
            database: None,
            application: String::new(),
            client: None,
            state: Some("idle".into()),
            wait_event: Some("Client: ClientRead".into()),
            query_start: None,
            duration_seconds: None,
            query: None,
            blocked_by: vec![],
        };
        assert_eq!(waiting_on(&s), "");
        s.state = Some("active".into());
        assert_eq!(waiting_on(&s), "Client: ClientRead");
        s.blocked_by = vec![4, 5];
        assert_eq!(waiting_on(&s), "pid 4, 5");
    }

    #[test]
    fn an_ended_session_is_told_plainly() {
        let e = |how: &str, signalled| Ended { pid: 7, how: how.into(), signalled };
        assert_eq!(ended(&e("cancel", true)), "Query of session 7 cancelled.");
        assert_eq!(ended(&e("terminate", true)), "Session 7 terminated.");
        assert_eq!(ended(&e("terminate", false)), "Session 7 had already ended.");
    }
}
