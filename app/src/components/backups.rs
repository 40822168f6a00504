//! The Backups card of a primary's page: its restore window, how its WAL
//! archiving stands (a warning when it fails or falls behind), its backups
//! and snapshots with time, size and duration, and Back up now, whose
//! progress streams like any long work.
//!
//! The card is drawn in the browser only, once the page has hydrated: its
//! list is fetched there, so nothing the server rendered can differ from
//! what the browser would.

use leptos::prelude::*;

use crate::api::{capture_backup, database_backups};
use crate::components::progress::ProgressBar;
use crate::format::{self, Clock};
use crate::live::use_live;
use crate::model::{Backup, Phase};

#[component]
pub fn BackupsCard(name: Memo<String>, can_capture: Signal<bool>) -> impl IntoView {
    let live = use_live();
    let db = Memo::new(move |_| live.get(&name.get()));
    // Refetched when a backup is taken (the count or newest changes).
    let marker = Memo::new(move |_| {
        db.with(|d| d.as_ref().and_then(|d| d.archiving.as_ref()).map(|a| (a.backups, a.last_backup_at)))
    });
    let mounted = crate::ready::mounted();
    let primary = Memo::new(move |_| db.with(|d| d.as_ref().is_some_and(|d| d.following.is_none())));
    // A follower has no backups of its own: nothing is asked for.
    let list = crate::fetched::fetched(move || {
        let (name, _, primary) = (name.get(), marker.get(), primary.get());
        async move {
            match primary {
                true => database_backups(name).await,
                false => Ok(Vec::new()),
            }
        }
    });
    let capture = Action::new(move |name: &String| {
        let name = name.clone();
        async move { capture_backup(name).await }
    });
    let error = RwSignal::new(None::<String>);
    Effect::new(move |_| {
        if let Some(Err(e)) = capture.value().get() {
            error.set(Some(e.message));
        }
    });
    let available = move || db.with(|d| d.as_ref().is_some_and(|d| d.phase == Phase::Available));
    let working =
        move || db.with(|d| d.as_ref().filter(|d| d.phase == Phase::Available).and_then(|d| d.progress.clone()));
    view! {
        <Show when=move || mounted.get() && primary.get()>
            <section class="card backups" data-testid="backups" aria-labelledby="backups-title">
                <h2 id="backups-title">"Backups"</h2>
                <p data-testid="restore-window-line">{move || db.with(|d| match d.as_ref().and_then(|d| d.restore_window.clone()) {
                    Some(w) => format!("Fork from any moment {}.", w.describe()),
                    None => "No backup yet: forks are of the database as it is now.".to_string(),
                })}</p>
                {move || db.with(|d| d.as_ref().and_then(|d| d.archiving.clone())).map(|a| view! {
                    {a.warning.clone().map(|w| view! { <p class="error" role="alert" data-testid="archiving-warning">{w}</p> })}
                    <p class="muted" data-testid="archiving">{format!(
                        "WAL archived {}; backups take {}.",
                        a.last_archived_at.map(|t| format!("up to {} UTC", format::utc(t, Clock::Seconds))).unwrap_or_else(|| "not yet".into()),
                        format::bytes(a.stored_bytes)
                    )}</p>
                })}
                {move || working().map(|p| view! { <ProgressBar progress=p/> })}
                <Suspense fallback=|| view! { <p class="muted">"Loading backups…"</p> }>
                    {move || list.get().map(|r| match r {
                        Ok(list) if list.is_empty() => view! { <p class="muted">"None yet."</p> }.into_any(),
                        Ok(list) => view! { <BackupTable list/> }.into_any(),
                        Err(e) => view! { <p class="error">{e.message}</p> }.into_any(),
                    })}
                </Suspense>
                <Show when=move || error.get().is_some()>
                    <p class="error" role="alert">{move || error.get()}</p>
                </Show>
                <Show when=move || can_capture.get() && available()>
                    <button class="button secondary" data-testid="capture-backup"
                        disabled=move || capture.pending().get() || working().is_some()
                        on:click=move |_| {
                            error.set(None);
                            capture.dispatch(name.get_untracked());
                        }>
                        "Back up now"
                    </button>
                </Show>
            </section>
        </Show>
    }
}

#[component]
fn BackupTable(list: Vec<Backup>) -> impl IntoView {
    view! {
        <table class="table" data-testid="backup-list">
            <thead><tr><th scope="col">"Finished"</th><th scope="col">"Kind"</th><th scope="col">"Size"</th>
                <th scope="col">"Stored"</th><th scope="col">"Took"</th></tr></thead>
            <tbody>
                <For each=move || list.clone().into_iter().rev() key=|b| b.id.clone() let:b>
                    <tr>
                        <td>{format!("{} UTC", format::utc(b.finished_at, Clock::DateSeconds))}</td>
                        <td>{b.kind.as_str()}</td>
                        <td>{format::bytes(b.size_bytes)}</td>
                        <td>{format::bytes(b.stored_bytes)}</td>
                        <td>{format::duration(b.duration_seconds)}</td>
                    </tr>
                </For>
            </tbody>
        </table>
    }
}
