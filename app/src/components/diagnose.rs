//! The Insights tab's Diagnose card (`pg:diagnose`: each check green,
//! yellow or red, in words as well as colour, with the number behind it
//! and what to do) and its Sizes card (largest tables and indexes, dead
//! rows, unused and duplicate indexes).
//!
//! Both are fetched in the browser once the page has hydrated, and again
//! on Diagnose again: a diagnosis reads every table's size, more than is
//! worth doing with every sample.

use leptos::prelude::*;

use crate::api::{database_diagnose, database_sizes};
use crate::diagnose::{Diagnosis, IndexSize, Sizes, Status, TableSize};
use crate::format::{self, Clock};

#[component]
pub fn DiagnoseCard(name: Memo<String>) -> impl IntoView {
    let again = RwSignal::new(0u64);
    let diagnosis = crate::fetched::fetched(move || {
        let (name, _) = (name.get(), again.get());
        async move { database_diagnose(name).await }
    });
    let sizes = crate::fetched::fetched(move || {
        let (name, _) = (name.get(), again.get());
        async move { database_sizes(name).await }
    });
    view! {
        <div class="diagnostics">
        <section class="card diagnose" data-testid="diagnose" aria-labelledby="diagnose-title">
            <div class="card-head">
                <h2 id="diagnose-title">"Diagnose"</h2>
                <button type="button" class="button secondary small" data-testid="diagnose-again"
                    on:click=move |_| again.update(|n| *n += 1)>"Diagnose again"</button>
            </div>
            {move || match diagnosis.get() {
                None => view! { <p class="muted">"Checking…"</p> }.into_any(),
                Some(Err(e)) => view! { <p class="error">{e.message}</p> }.into_any(),
                Some(Ok(d)) => view! { <Findings d/> }.into_any(),
            }}
        </section>
        <section class="card" data-testid="sizes" aria-labelledby="sizes-title">
            <h2 id="sizes-title">"Sizes"</h2>
            {move || match sizes.get() {
                None => view! { <p class="muted">"Loading…"</p> }.into_any(),
                Some(Err(e)) => view! { <p class="error">{e.message}</p> }.into_any(),
                Some(Ok(s)) if s.tables.is_empty() => view! { <p class="muted">"No tables yet."</p> }.into_any(),
                Some(Ok(Sizes { tables, indexes })) => view! {
                    <TableSizes list=tables/>
                    <IndexSizes list=indexes/>
                }.into_any(),
            }}
        </section>
        </div>
    }
}

#[component]
fn Findings(d: Diagnosis) -> impl IntoView {
    let when = format!("Checked at {} UTC: {}.", format::utc(d.at, Clock::Seconds), word(d.overall));
    view! {
        <p class="muted" data-testid="diagnose-overall">{when}</p>
        <ul class="findings" data-testid="findings">
            {d.findings.into_iter().map(|f| view! {
                <li data-check=format!("{:?}", f.check) data-status=f.status.as_str()>
                    <span class=format!("badge status-{}", f.status.as_str())>{word(f.status)}</span>
                    <span class="check">{f.check.title()}</span>
                    <span class="value">{f.value}</span>
                    {f.advice.map(|a| view! { <p class="advice">{a}</p> })}
                </li>
            }).collect_view()}
        </ul>
    }
}

fn word(status: Status) -> &'static str {
    match status {
        Status::Skipped => "Skipped",
        Status::Green => "Green",
        Status::Yellow => "Yellow",
        Status::Red => "Red",
    }
}

fn bytes(n: i64) -> String {
    format::bytes(n.max(0) as u64)
}

#[component]
fn TableSizes(list: Vec<TableSize>) -> impl IntoView {
    view! {
        <table class="table diag" data-testid="table-sizes">
            <thead><tr>
                <th scope="col" class="text">"Table"</th><th scope="col">"Total"</th><th scope="col">"Heap"</th>
                <th scope="col">"Indexes"</th><th scope="col">"TOAST"</th><th scope="col">"Rows"</th>
                <th scope="col">"Dead rows"</th><th scope="col">"Seq scans"</th><th scope="col">"Index scans"</th>
            </tr></thead>
            <tbody>
                {list.into_iter().map(|t| view! {
                    <tr>
                        <td class="text">{t.name}</td>
                        <td>{bytes(t.total_bytes)}</td>
                        <td>{bytes(t.table_bytes)}</td>
                        <td>{bytes(t.index_bytes)}</td>
                        <td>{bytes(t.toast_bytes)}</td>
                        <td>{t.live_rows}</td>
                        <td>{t.dead_rows}</td>
                        <td>{t.seq_scans}</td>
                        <td>{t.index_scans}</td>
                    </tr>
                }).collect_view()}
            </tbody>
        </table>
    }
}

#[component]
fn IndexSizes(list: Vec<IndexSize>) -> impl IntoView {
    view! {
        <table class="table diag" data-testid="index-sizes">
            <thead><tr>
                <th scope="col" class="text">"Index"</th><th scope="col" class="text">"Table"</th>
                <th scope="col">"Size"</th><th scope="col">"Scans"</th><th scope="col" class="text">"Note"</th>
            </tr></thead>
            <tbody>
                {list.into_iter().map(|i| {
                    let note = i.note();
                    view! {
                        <tr>
                            <td class="text" title=i.definition>{i.name}</td>
                            <td class="text">{i.table}</td>
                            <td>{bytes(i.bytes)}</td>
                            <td>{i.scans}</td>
                            <td class="text">{note}</td>
                        </tr>
                    }
                }).collect_view()}
            </tbody>
        </table>
    }
}
