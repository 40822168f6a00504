//! `pgfleet masking`: a database's masking rules, what they leave
//! uncovered and what looks personal, as text; and a preview's rows.

use std::fmt::Write;

use app::masking::{MaskPreview, MaskingView};

pub fn masking_text(view: &MaskingView) -> String {
    let mut out = String::new();
    match view.versions.first() {
        Some(v) => {
            let by = v.by.as_deref().unwrap_or("pgfleet");
            let _ = writeln!(
                out,
                "{}: masking rules version {} (saved by {by} at {})",
                view.database,
                view.version,
                v.at.format("%Y-%m-%d %H:%M UTC")
            );
        }
        None => {
            let _ = writeln!(out, "{}: no masking rules; its forks are plain copies", view.database);
        }
    }
    if !view.rules.is_empty() {
        let _ = writeln!(out, "\nRules:");
        for r in &view.rules {
            let how = if view.withheld && r.method.has_literal() {
                format!("{} (withheld from viewers)", r.method.as_str())
            } else {
                r.method.describe()
            };
            let _ = writeln!(out, "  {}.{}: {how}", r.table, r.column);
        }
    }
    if !view.suggestions.is_empty() {
        let _ = writeln!(out, "\nProbably personal, not masked yet:");
        for s in &view.suggestions {
            let _ = writeln!(out, "  {}.{}: {} (suggested: {})", s.table, s.column, s.why, s.method.describe());
        }
    }
    if !view.uncovered.is_empty() {
        let _ = writeln!(out, "\nCopied as they are ({} columns):", view.uncovered.len());
        for c in &view.uncovered {
            let _ = writeln!(out, "  {}.{} ({})", c.table, c.column, c.data_type);
        }
    }
    if let Some(e) = &view.schema_error {
        let _ = writeln!(out, "\n{e}");
    }
    out
}

pub fn preview_text(preview: &MaskPreview) -> String {
    if preview.tables.is_empty() {
        return "no masking rules: nothing to preview\n".into();
    }
    let mut out = String::new();
    for t in &preview.tables {
        let _ = writeln!(out, "{} ({}):", t.table, t.columns.join(", "));
        for row in &t.rows {
            let cells: Vec<&str> = row.iter().map(|v| v.as_deref().unwrap_or("NULL")).collect();
            let _ = writeln!(out, "  {}", cells.join(" | "));
        }
        if t.rows.is_empty() {
            let _ = writeln!(out, "  (no rows)");
        }
    }
    out
}
