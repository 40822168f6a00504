//! How `pgfleet diagnose` and `pgfleet sizes` print: one line per check,
//! its colour first as `heroku pg:diagnose` does, with what to do beneath
//! the ones that are not green; sizes as aligned tables.

use app::diagnose::{Diagnosis, Sizes};
use app::format::{self, Clock};

use super::insights::table;

pub fn diagnosis_text(name: &str, d: &Diagnosis) -> String {
    let mut out =
        format!("{name} at {} UTC: {}\n\n", format::utc(d.at, Clock::DateSeconds), d.overall.as_str().to_uppercase());
    let width = d.findings.iter().map(|f| f.check.title().len()).max().unwrap_or(0);
    for f in &d.findings {
        out.push_str(&format!("{:<8} {:<width$}  {}\n", f.status.as_str().to_uppercase(), f.check.title(), f.value));
        if let Some(advice) = &f.advice {
            out.push_str(&format!("{:<8} {:<width$}  → {advice}\n", "", ""));
        }
    }
    out
}

pub fn sizes_text(s: &Sizes) -> String {
    if s.tables.is_empty() && s.indexes.is_empty() {
        return "No tables yet.\n".into();
    }
    let bytes = |n: i64| format::bytes(n.max(0) as u64);
    let tables = s
        .tables
        .iter()
        .map(|t| {
            vec![
                t.name.clone(),
                bytes(t.total_bytes),
                bytes(t.table_bytes),
                bytes(t.index_bytes),
                bytes(t.toast_bytes),
                t.live_rows.to_string(),
                t.dead_rows.to_string(),
                t.seq_scans.to_string(),
                t.index_scans.to_string(),
            ]
        })
        .collect();
    let indexes = s
        .indexes
        .iter()
        .map(|i| vec![i.name.clone(), i.table.clone(), bytes(i.bytes), i.scans.to_string(), i.note()])
        .collect();
    format!(
        "{}\n{}",
        table(
            &["TABLE", "TOTAL", "HEAP", "INDEXES", "TOAST", "LIVE ROWS", "DEAD ROWS", "SEQ SCANS", "INDEX SCANS"],
            tables
        ),
        table(&["INDEX", "TABLE", "SIZE", "SCANS", "NOTE"], indexes)
    )
}

#[cfg(test)]
mod tests {
    use super::*;
    use app::diagnose::{Check, Finding, Status};

    #[test]
    fn each_check_is_a_line_and_advice_follows_the_bad_ones() {
        let at = chrono::DateTime::parse_from_rfc3339("2026-12-04T10:00:00Z").unwrap().to_utc();
        let d = Diagnosis::new(
            at,
            vec![
                Finding {
                    check: Check::Connections,
                    status: Status::Green,
                    value: "3 of 20 (15%)".into(),
                    advice: None,
                },
                Finding {
                    check: Check::IdleInTransaction,
                    status: Status::Yellow,
                    value: "longest 2m 0s (pid 7)".into(),
                    advice: Some("Commit it.".into()),
                },
            ],
        );
        let text = diagnosis_text("shop", &d);
        let lines: Vec<&str> = text.lines().collect();
        assert_eq!(lines[0], "shop at 2026-12-04 10:00:00 UTC: YELLOW");
        assert!(lines[2].starts_with("GREEN    Connections "), "{text}");
        assert!(lines[3].starts_with("YELLOW   Idle in transaction  longest 2m 0s"), "{text}");
        assert!(lines[4].trim_start().starts_with("→ Commit it."), "{text}");
        assert_eq!(lines.len(), 5, "{text}");
    }
}
