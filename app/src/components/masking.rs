//! The Masking card of a database's page: the rules its forks are masked
//! with (per table and column), the columns that look personal and have
//! no rule yet, the columns copied as they are, and a preview of masked
//! rows computed on the database without writing anything. Whoever may
//! change the rules adds one (or a suggested one) or removes one; each
//! change saves a new version, checked against the schema first.
//!
//! Drawn in the browser only, once hydrated, like the Roles card.

use leptos::prelude::*;

use crate::api::{masking_preview, masking_rules, save_masking};
use crate::masking::{MaskMethod, MaskPreview, MaskRule, MaskRules, MaskingView};
use crate::model::ApiError;

/// The methods offered, as the API spells them, with what the parameter
/// field asks for.
const METHODS: [(&str, &str); 10] = [
    ("fake_email", ""),
    ("fake_name", ""),
    ("fake_phone", ""),
    ("hash", ""),
    ("null", ""),
    ("keep", ""),
    ("fixed", "the value"),
    ("partial", "characters kept first,last (e.g. 0,4)"),
    ("shift_date", "days, at most (e.g. 30)"),
    ("sql", "an SQL expression, e.g. left(note, 3)"),
];

/// The method the form describes, or why it does not.
fn method_from(kind: &str, parameter: &str) -> Result<MaskMethod, String> {
    let p = parameter.trim();
    let number = |s: &str, what: &str| s.trim().parse::<u32>().map_err(|_| format!("{what} is a whole number"));
    Ok(match kind {
        "keep" => MaskMethod::Keep,
        "null" => MaskMethod::Null,
        "fake_email" => MaskMethod::FakeEmail,
        "fake_name" => MaskMethod::FakeName,
        "fake_phone" => MaskMethod::FakePhone,
        "hash" => MaskMethod::Hash,
        "fixed" => MaskMethod::Fixed { value: parameter.to_string() },
        "partial" => {
            let (first, last) = p.split_once(',').unwrap_or(("0", p));
            MaskMethod::Partial { first: number(first, "first")?, last: number(last, "last")? }
        }
        "shift_date" => MaskMethod::ShiftDate { days: number(p, "days")? },
        "sql" => MaskMethod::Sql { sql: p.to_string() },
        other => return Err(format!("unknown method {other}")),
    })
}

#[component]
pub fn MaskingCard(
    name: Memo<String>,
    /// A primary (a follower's forks use its source's rules).
    shown: Signal<bool>,
    /// Add and remove rules.
    can_edit: Signal<bool>,
    /// Read the rules' text and preview masked rows.
    can_preview: Signal<bool>,
) -> impl IntoView {
    let mounted = crate::ready::mounted();
    let current = RwSignal::new(None::<Result<MaskingView, ApiError>>);
    let error = RwSignal::new(None::<String>);
    let loaded = crate::fetched::fetched(move || {
        let (name, show) = (name.get(), shown.get() && mounted.get());
        async move {
            match show {
                true => Some(masking_rules(name).await),
                false => None,
            }
        }
    });
    Effect::new(move |_| {
        if let Some(Some(answer)) = loaded.get() {
            current.set(Some(answer));
        }
    });
    Effect::new(move |_| {
        name.track();
        error.set(None);
    });
    let save = Action::new(move |rules: &Vec<MaskRule>| {
        let body = serde_json::to_string(&MaskRules { rules: rules.clone() }).expect("rules serialise");
        async move {
            match save_masking(name.get_untracked(), body).await {
                Ok(view) => {
                    error.set(None);
                    current.set(Some(Ok(view)));
                }
                Err(e) => error.set(Some(e.message)),
            }
        }
    });
    let rules_now = move || current.with(|c| c.as_ref().and_then(|c| c.as_ref().ok()).map(|v| v.rules.clone()));
    let add = move |rule: MaskRule| {
        let mut rules = rules_now().unwrap_or_default();
        rules.retain(|r| !(r.table == rule.table && r.column == rule.column));
        rules.push(rule);
        save.dispatch(rules);
    };
    let remove = move |table: String, column: String| {
        let mut rules = rules_now().unwrap_or_default();
        rules.retain(|r| !(r.table == table && r.column == column));
        save.dispatch(rules);
    };
    let preview = Action::new(move |_: &()| async move { masking_preview(name.get_untracked()).await });
    view! {
        <Show when=move || mounted.get() && shown.get()>
            <section class="card masking" data-testid="masking" aria-labelledby="masking-title">
                <h2 id="masking-title">"Masking"</h2>
                <p class="muted small">{move || format!(
                    "Every fork of {} is masked by these rules before anyone can connect to it: the values are replaced in the fork, never in {}.",
                    name.get(), name.get()
                )}</p>
                {move || match current.get() {
                    None => view! { <p class="muted">"Loading the rules…"</p> }.into_any(),
                    Some(Err(e)) => view! { <p class="error">{e.message}</p> }.into_any(),
                    Some(Ok(v)) => view! {
                        <MaskingBody view=v can_edit=can_edit.get() busy=save.pending() add remove/>
                    }.into_any(),
                }}
                <Show when=move || error.get().is_some()>
                    <p class="error" role="alert" data-testid="masking-error">{move || error.get()}</p>
                </Show>
                <Show when=move || can_edit.get()>
                    <AddRule current busy=save.pending() add/>
                </Show>
                <Show when=move || can_preview.get()>
                    <button class="button secondary" data-testid="masking-preview" disabled=move || preview.pending().get()
                        on:click=move |_| { preview.dispatch(()); }>
                        {move || if preview.pending().get() { "Previewing…" } else { "Preview masked rows" }}
                    </button>
                    {move || preview.value().get().map(|answer| match answer {
                        Ok(p) => view! { <PreviewTables preview=p/> }.into_any(),
                        Err(e) => view! { <p class="error" role="alert">{e.message}</p> }.into_any(),
                    })}
                </Show>
            </section>
        </Show>
    }
}

#[component]
fn MaskingBody(
    view: MaskingView,
    can_edit: bool,
    busy: Memo<bool>,
    add: impl Fn(MaskRule) + Copy + Send + Sync + 'static,
    remove: impl Fn(String, String) + Copy + Send + Sync + 'static,
) -> impl IntoView {
    let version = match view.versions.first() {
        Some(v) => format!(
            "Version {}, saved by {} on {}.",
            v.version,
            v.by.as_deref().unwrap_or("pgfleet"),
            v.at.format("%Y-%m-%d %H:%M UTC")
        ),
        None => "No rules: its forks are plain copies of its data.".to_string(),
    };
    let withheld = view.withheld;
    let rules = (!view.rules.is_empty()).then(|| view! {
        <table class="masking-table" data-testid="masking-rules">
            <thead><tr><th scope="col">"Column"</th><th scope="col">"Masked as"</th><th scope="col"><span class="visually-hidden">"Actions"</span></th></tr></thead>
            <tbody>
                {view.rules.into_iter().map(|r| {
                    let how = if withheld && r.method.has_literal() {
                        format!("{} (withheld from viewers)", r.method.as_str())
                    } else {
                        r.method.describe()
                    };
                    let (table, column) = (r.table.clone(), r.column.clone());
                    let label = format!("Remove the rule on {}.{}", r.table, r.column);
                    view! {
                        <tr data-testid=format!("rule-{}.{}", r.table, r.column)>
                            <td><code>{format!("{}.{}", r.table, r.column)}</code></td>
                            <td>{how}</td>
                            <td>{can_edit.then(|| view! {
                                <button class="button small secondary" aria-label=label disabled=move || busy.get()
                                    on:click=move |_| remove(table.clone(), column.clone())>"Remove"</button>
                            })}</td>
                        </tr>
                    }
                }).collect_view()}
            </tbody>
        </table>
    });
    let suggestions = (!view.suggestions.is_empty()).then(|| {
        view! {
            <h3>"Probably personal, not masked yet"</h3>
            <ul class="suggestions" data-testid="masking-suggestions">
                {view.suggestions.into_iter().map(|s| {
                    let rule = MaskRule { table: s.table.clone(), column: s.column.clone(), method: s.method.clone() };
                    let label = format!("Add this rule: mask {}.{} as {}", s.table, s.column, s.method.describe());
                    view! {
                        <li>
                            <code>{format!("{}.{}", s.table, s.column)}</code>
                            {format!(": {}; suggested: {}. ", s.why, s.method.describe())}
                            {can_edit.then(|| view! {
                                <button class="button small secondary" aria-label=label disabled=move || busy.get()
                                    on:click=move |_| add(rule.clone())>"Add this rule"</button>
                            })}
                        </li>
                    }
                }).collect_view()}
            </ul>
        }
    });
    let uncovered = (!view.uncovered.is_empty()).then(|| {
        let count = view.uncovered.len();
        view! {
            <details class="uncovered" data-testid="masking-uncovered">
                <summary>{format!("{count} columns copied as they are")}</summary>
                <ul>
                    {view.uncovered.into_iter().map(|c| view! {
                        <li><code>{format!("{}.{}", c.table, c.column)}</code>{format!(" ({})", c.data_type)}</li>
                    }).collect_view()}
                </ul>
            </details>
        }
    });
    view! {
        <p data-testid="masking-version">{version}</p>
        {rules}
        {suggestions}
        {uncovered}
        {view.schema_error.map(|e| view! { <p class="muted small">{e}</p> })}
    }
}

#[component]
fn AddRule(
    current: RwSignal<Option<Result<MaskingView, ApiError>>>,
    busy: Memo<bool>,
    add: impl Fn(MaskRule) + Copy + Send + Sync + 'static,
) -> impl IntoView {
    let column = RwSignal::new(String::new());
    let method = RwSignal::new("hash".to_string());
    let parameter = RwSignal::new(String::new());
    let problem = RwSignal::new(None::<String>);
    let columns = Memo::new(move |_| {
        current.with(|c| match c {
            Some(Ok(v)) => v.uncovered.iter().map(|c| format!("{}.{}", c.table, c.column)).collect::<Vec<_>>(),
            _ => Vec::new(),
        })
    });
    let hint = move || METHODS.iter().find(|(m, _)| *m == method.get()).map(|(_, h)| *h).unwrap_or("");
    let on_submit = move |ev: leptos::ev::SubmitEvent| {
        ev.prevent_default();
        let chosen = column.get_untracked();
        let chosen =
            if chosen.is_empty() { columns.get_untracked().first().cloned().unwrap_or_default() } else { chosen };
        let Some((table, col)) = chosen.rsplit_once('.') else {
            problem.set(Some("choose a column".into()));
            return;
        };
        match method_from(&method.get_untracked(), &parameter.get_untracked()) {
            Ok(m) => {
                problem.set(None);
                parameter.set(String::new());
                column.set(String::new());
                add(MaskRule { table: table.to_string(), column: col.to_string(), method: m });
            }
            Err(e) => problem.set(Some(e)),
        }
    };
    view! {
        <Show when=move || !columns.with(Vec::is_empty)>
            <form class="add-rule" data-testid="add-rule" on:submit=on_submit>
                <label for="rule-column">"Column"</label>
                <select id="rule-column" data-testid="rule-column" on:change=move |ev| column.set(event_target_value(&ev))>
                    {move || columns.get().into_iter().map(|c| {
                        let selected = c == column.get();
                        view! { <option value=c.clone() selected=selected>{c.clone()}</option> }
                    }).collect_view()}
                </select>
                <label for="rule-method">"Masked as"</label>
                <select id="rule-method" data-testid="rule-method" on:change=move |ev| method.set(event_target_value(&ev))>
                    {METHODS.iter().map(|(m, _)| view! { <option value=*m selected=*m == "hash">{*m}</option> }).collect_view()}
                </select>
                <Show when=move || !hint().is_empty()>
                    <label for="rule-parameter">{hint}</label>
                    <input id="rule-parameter" data-testid="rule-parameter"
                        prop:value=move || parameter.get() on:input=move |ev| parameter.set(event_target_value(&ev))/>
                </Show>
                <Show when=move || problem.get().is_some()>
                    <p class="error" role="alert">{move || problem.get()}</p>
                </Show>
                <button type="submit" class="button" data-testid="add-rule-submit" disabled=move || busy.get()>"Add rule"</button>
            </form>
        </Show>
    }
}

#[component]
fn PreviewTables(preview: MaskPreview) -> impl IntoView {
    if preview.tables.is_empty() {
        return view! { <p class="muted" data-testid="masking-preview-empty">"No rules, so nothing is masked."</p> }
            .into_any();
    }
    view! {
        <div data-testid="masking-preview-rows">
            {preview.tables.into_iter().map(|t| view! {
                <h3>{t.table.clone()}</h3>
                <table class="masking-table preview">
                    <thead><tr>{t.columns.iter().map(|c| view! { <th scope="col">{c.clone()}</th> }).collect_view()}</tr></thead>
                    <tbody>
                        {t.rows.into_iter().map(|row| view! {
                            <tr>{row.into_iter().map(|v| view! { <td>{v.unwrap_or_else(|| "NULL".into())}</td> }).collect_view()}</tr>
                        }).collect_view()}
                    </tbody>
                </table>
            }).collect_view()}
        </div>
    }
    .into_any()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_form_reads_as_a_method() {
        assert_eq!(method_from("partial", "0,4").unwrap(), MaskMethod::Partial { first: 0, last: 4 });
        assert_eq!(method_from("partial", "4").unwrap(), MaskMethod::Partial { first: 0, last: 4 });
        assert_eq!(method_from("shift_date", " 30 ").unwrap(), MaskMethod::ShiftDate { days: 30 });
        assert!(method_from("shift_date", "a month").is_err());
        assert_eq!(method_from("sql", " left(note, 3) ").unwrap(), MaskMethod::Sql { sql: "left(note, 3)".into() });
    }
}
