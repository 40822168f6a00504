//! How `pgfleet ps`, `locks` and `outliers` print: aligned columns, as
//! `heroku pg:ps` does, with long query text cut to one line.

use app::format;
use app::insights::{Blocking, Session, Statements};

/// One line of at most `width` characters.
fn one_line(text: &str, width: usize) -> String {
    let flat: String = text.split_whitespace().collect::<Vec<_>>().join(" ");
    if flat.chars().count() <= width {
        flat
    } else {
        format!("{}…", flat.chars().take(width - 1).collect::<String>())
    }
}

pub fn table(header: &[&str], rows: Vec<Vec<String>>) -> String {
    let mut widths: Vec<usize> = header.iter().map(|h| h.len()).collect();
    for row in &rows {
        for (i, cell) in row.iter().enumerate() {
            widths[i] = widths[i].max(cell.chars().count());
        }
    }
    let line = |cells: Vec<String>| {
        let last = cells.len() - 1;
        let mut out = String::new();
        for (i, cell) in cells.into_iter().enumerate() {
            if i == last {
                out.push_str(&cell);
            } else {
                out.push_str(&format!("{cell:<w$}  ", w = widths[i]));
            }
        }
        out.trim_end().to_string() + "\n"
    };
    let mut out = line(header.iter().map(|h| h.to_string()).collect());
    for row in rows {
        out.push_str(&line(row));
    }
    out
}

pub fn sessions_text(sessions: &[Session]) -> String {
    if sessions.is_empty() {
        return "No client sessions.\n".into();
    }
    let rows = sessions
        .iter()
        .map(|s| {
            vec![
                s.pid.to_string(),
                s.user.clone().unwrap_or_default(),
                s.state.clone().unwrap_or_default(),
                s.duration_seconds.map(format::duration).unwrap_or_default(),
                s.wait_event.clone().unwrap_or_default(),
                match &s.query {
                    Some(q) => one_line(q, 60),
                    None => "(hidden)".into(),
                },
            ]
        })
        .collect();
    table(&["PID", "USER", "STATE", "RUNNING", "WAITING ON", "QUERY"], rows)
}

pub fn blocking_text(list: &[Blocking]) -> String {
    if list.is_empty() {
        return "No session waits on a lock.\n".into();
    }
    let rows = list
        .iter()
        .map(|b| {
            vec![
                b.blocked_pid.to_string(),
                format::duration(b.waiting_seconds),
                b.blocking_pid.to_string(),
                b.relation.clone().unwrap_or_default(),
                b.mode.clone().unwrap_or_default(),
                b.blocking_query.as_deref().map(|q| one_line(q, 50)).unwrap_or_else(|| "(hidden)".into()),
            ]
        })
        .collect();
    table(&["WAITING PID", "WAITED", "BLOCKED BY", "RELATION", "MODE", "BLOCKER'S QUERY"], rows)
}

pub fn statements_text(s: &Statements) -> String {
    if !s.loaded {
        return format!("{}.\n", s.note.as_deref().unwrap_or("pg_stat_statements is not loaded"));
    }
    if s.statements.is_empty() {
        return "No statements recorded yet.\n".into();
    }
    let rows = s
        .statements
        .iter()
        .map(|st| {
            vec![
                format!("{:.1}", st.total_ms),
                format!("{:.2}", st.mean_ms),
                st.calls.to_string(),
                st.rows.to_string(),
                format!("{:.1}%", st.share * 100.0),
                one_line(&st.query, 70),
            ]
        })
        .collect();
    table(&["TOTAL MS", "MEAN MS", "CALLS", "ROWS", "SHARE", "QUERY"], rows)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn columns_line_up_and_queries_fit_one_line() {
        let session = |pid, query: Option<&str>| Session {
            pid,
            user: Some("shop".into()),
            database: Some("shop".into()),
            application: "psql".into(),
            client: None,
            state: Some("active".into()),
            wait_event: None,
            query_start: None,
            duration_seconds: Some(75.0),
            query: query.map(str::to_string),
            blocked_by: vec![],
        };
        let long = format!("SELECT\n  {}", "x, ".repeat(40));
        let text = sessions_text(&[session(7, Some(&long)), session(12345, None)]);
        let lines: Vec<&str> = text.lines().collect();
        assert_eq!(lines.len(), 3);
        assert!(lines[0].starts_with("PID    USER"), "{text}");
        assert!(lines[1].contains("1m 15s") && lines[1].ends_with('…') && !lines[1].contains('\n'), "{text}");
        assert!(lines[2].ends_with("(hidden)"), "{text}");
        assert_eq!(lines[1].find("shop"), lines[2].find("shop"), "aligned:\n{text}");
        assert_eq!(sessions_text(&[]), "No client sessions.\n");
    }
}
