//! The `pgfleet` commands other than `serve`: a Heroku-style client of the
//! API. `wait` follows the event stream live rather than polling.

pub mod diagnose;
pub mod insights;
pub mod masking;

use std::collections::BTreeMap;
use std::io::{IsTerminal, Write};
use std::time::{Duration, Instant};

use app::format;
use app::model::{DatabaseView, Event, Phase};

use crate::api::events::Snapshot;
use crate::client::{Client, ClientError, SseMessage};

/// How `wait` ended.
#[derive(Debug, PartialEq, Eq)]
pub enum WaitOutcome {
    Ready,
    Failed(String),
    TimedOut(String),
}

impl WaitOutcome {
    pub fn exit_code(&self) -> i32 {
        match self {
            WaitOutcome::Ready => 0,
            WaitOutcome::Failed(_) => 1,
            WaitOutcome::TimedOut(_) => 2,
        }
    }
}

/// One line a person reads about a database.
pub fn describe(db: &DatabaseView) -> String {
    let mut line = format!("{}: {}", db.name, db.phase.label());
    match db.phase {
        Phase::Provisioning | Phase::Masking => {
            if let Some(p) = &db.progress {
                line.push_str(&format!(", {}", progress_bar(p, &p.step)));
            }
        }
        Phase::CatchingUp => {
            if let Some(lag) = &db.lag {
                line.push_str(&format!(", {}", format::lag(lag)));
            }
        }
        Phase::Failed | Phase::Restarting => {
            if let Some(m) = &db.message {
                line.push_str(&format!(": {m}"));
            }
        }
        Phase::Available | Phase::Promoting | Phase::Deleting => {}
    }
    line
}

fn progress_bar(p: &app::model::Progress, step: &str) -> String {
    let (done, eta) = (p.bytes_done, p.eta_seconds);
    let what = match p.unit {
        app::model::ProgressUnit::Bytes => String::new(),
        app::model::ProgressUnit::Rows => format!("{step}: "),
    };
    match p.bytes_total.filter(|t| *t > 0) {
        Some(total) => {
            let ratio = (done as f64 / total as f64).clamp(0.0, 1.0);
            let filled = (ratio * 20.0).round() as usize;
            let eta = eta.map(|s| format!(", ETA {}", format::eta(s))).unwrap_or_default();
            format!(
                "{what}[{}{}] {:>3.0}% {}{eta}",
                "#".repeat(filled),
                " ".repeat(20 - filled),
                ratio * 100.0,
                format::done_of(done, total, p.unit)
            )
        }
        None => step.to_string(),
    }
}

/// Waits until every database in `names` (all when empty) is available.
pub async fn wait(
    client: &Client,
    names: &[String],
    timeout: Option<Duration>,
    json: bool,
) -> Result<WaitOutcome, ClientError> {
    let deadline = timeout.map(|t| Instant::now() + t);
    let mut targets: Vec<String> = names.to_vec();
    let mut state: BTreeMap<String, DatabaseView> = BTreeMap::new();
    let mut shown: BTreeMap<String, String> = BTreeMap::new();
    let mut outcome: Option<WaitOutcome> = None;
    let mut first_snapshot = true;
    let tty = std::io::stdout().is_terminal() && !json;
    let mut stdout = std::io::stdout();

    let follow = client.follow_events(
        |message: SseMessage| {
            match message.event.as_str() {
                "snapshot" => {
                    let Ok(snapshot) = serde_json::from_str::<Snapshot>(&message.data) else { return true };
                    state = snapshot.databases.into_iter().map(|d| (d.name.clone(), d)).collect();
                    if first_snapshot && targets.is_empty() {
                        targets = state.keys().cloned().collect();
                    }
                    if first_snapshot {
                        if let Some(missing) = targets.iter().find(|t| !state.contains_key(*t)) {
                            outcome = Some(WaitOutcome::Failed(format!("there is no database named {missing}")));
                            return false;
                        }
                    }
                    first_snapshot = false;
                }
                _ => {
                    let Ok(event) = serde_json::from_str::<Event>(&message.data) else { return true };
                    if json && targets.contains(&event.database) {
                        let _ = writeln!(stdout, "{}", message.data);
                    }
                    match event.view {
                        Some(view) => {
                            state.insert(view.name.clone(), view);
                        }
                        None => {
                            if event.kind == app::model::EventKind::Deleted && targets.contains(&event.database) {
                                outcome = Some(WaitOutcome::Failed(format!("{} was destroyed", event.database)));
                                return false;
                            }
                        }
                    }
                }
            }
            for name in &targets {
                let Some(db) = state.get(name) else { continue };
                let line = describe(db);
                if !json && shown.get(name) != Some(&line) {
                    let is_progress = db.phase == Phase::Provisioning && db.progress.is_some();
                    if tty && is_progress {
                        let _ = write!(stdout, "\r\x1b[2K{line}");
                    } else {
                        let _ = writeln!(stdout, "{}{line}", if tty { "\r\x1b[2K" } else { "" });
                    }
                    let _ = stdout.flush();
                    shown.insert(name.clone(), line);
                }
                if db.phase == Phase::Failed {
                    outcome = Some(WaitOutcome::Failed(describe(db)));
                    return false;
                }
            }
            if targets.iter().all(|t| state.get(t).is_some_and(|d| d.phase == Phase::Available)) {
                outcome = Some(WaitOutcome::Ready);
                return false;
            }
            true
        },
        |err| {
            if !json {
                eprintln!("connection lost ({err}); reconnecting…");
            }
        },
    );
    let result = match deadline {
        Some(deadline) => match tokio::time::timeout_at(deadline.into(), follow).await {
            Ok(r) => r,
            Err(_) => {
                let pending: Vec<String> = targets
                    .iter()
                    .filter_map(|t| state.get(t).filter(|d| d.phase != Phase::Available).map(describe))
                    .collect();
                return Ok(WaitOutcome::TimedOut(format!("timed out; still waiting for {}", pending.join("; "))));
            }
        },
        None => follow.await,
    };
    result?;
    Ok(outcome.unwrap_or(WaitOutcome::Ready))
}

/// Follows a backup asked for with `backups:capture` until a full backup
/// newer than `before` is listed (exit 0) or the backup ends without one
/// (exit 1), printing its progress live.
pub async fn follow_backup(
    client: &Client,
    name: &str,
    before: Option<chrono::DateTime<chrono::Utc>>,
) -> Result<i32, ClientError> {
    let tty = std::io::stdout().is_terminal();
    loop {
        let list = client.backups(name).await?;
        let new =
            list.iter().find(|b| b.kind == app::model::BackupKind::Full && before.is_none_or(|t| b.started_at > t));
        if let Some(b) = new {
            println!(
                "{}Backed up {name}: {} ({} of data, {} stored) in {}",
                if tty { "\r\x1b[2K" } else { "" },
                b.id,
                format::bytes(b.size_bytes),
                format::bytes(b.stored_bytes),
                format::duration(b.duration_seconds)
            );
            return Ok(0);
        }
        let mut ended: Option<String> = None;
        let mut stdout = std::io::stdout();
        client
            .follow_events(
                |message: SseMessage| {
                    let Ok(event) = serde_json::from_str::<Event>(&message.data) else { return true };
                    if event.database != name {
                        return true;
                    }
                    match event.kind {
                        app::model::EventKind::Progress => {
                            if let Some(p) = event.view.and_then(|v| v.progress) {
                                let line = progress_bar(&p, &p.step);
                                let _ =
                                    if tty { write!(stdout, "\r\x1b[2K{line}") } else { writeln!(stdout, "{line}") };
                                let _ = stdout.flush();
                            }
                            true
                        }
                        // Taken (maybe a snapshot first): look at the list again.
                        app::model::EventKind::Backup => false,
                        app::model::EventKind::BackupFailed => {
                            ended = event.message;
                            false
                        }
                        app::model::EventKind::Deleted => {
                            ended = Some(format!("{name} was destroyed"));
                            false
                        }
                        _ => true,
                    }
                },
                |_| {},
            )
            .await?;
        let list = client.backups(name).await?;
        let taken =
            list.iter().any(|b| b.kind == app::model::BackupKind::Full && before.is_none_or(|t| b.started_at > t));
        if !taken {
            if let Some(why) = ended {
                eprintln!("{}error: {why}", if tty { "\r\x1b[2K" } else { "" });
                return Ok(1);
            }
        }
    }
}

/// `pgfleet info` as text.
pub fn info_text(db: &DatabaseView) -> String {
    let mut out = String::new();
    let mut row = |k: &str, v: String| out.push_str(&format!("{k:<14} {v}\n"));
    row("Name:", db.name.clone());
    row("Plan:", db.plan.clone());
    row("Role:", db.role.as_str().to_string());
    row("Status:", db.phase.label().to_string());
    if let Some(m) = &db.message {
        row("Message:", m.clone());
    }
    if let Some(f) = &db.following {
        row("Following:", f.clone());
    }
    if !db.followers.is_empty() {
        row("Followers:", db.followers.join(", "));
    }
    if let Some(f) = &db.forked_from {
        row("Forked from:", f.clone());
    }
    if let Some(c) = &db.copy {
        row("Copied by:", format!("{} ({})", c.method.as_str(), c.why));
    }
    if let Some(lag) = &db.lag {
        row("Lag:", format::lag(lag));
    }
    if let Some(p) = &db.progress {
        row("Progress:", progress_bar(p, &p.step));
    }
    if let Some(point) = &db.fork_point {
        row("Forked as of:", point.describe());
    }
    if let Some(w) = &db.restore_window {
        row("Fork window:", format!("any moment {}", w.describe()));
    }
    if let Some(a) = &db.archiving {
        if let Some(w) = &a.warning {
            row("WARNING:", w.clone());
        }
        let last =
            a.last_archived_at.map(|t| t.format("%H:%M:%S UTC").to_string()).unwrap_or_else(|| "nothing yet".into());
        row("Archived:", format!("last WAL at {last}, {} waiting", a.pending_segments));
        let newest =
            a.last_backup_at.map(|t| format!(", newest {}", t.format("%Y-%m-%d %H:%M UTC"))).unwrap_or_default();
        row("Backups:", format!("{}{newest}, {} stored", a.backups, format::bytes(a.stored_bytes)));
    }
    if let Some(i) = &db.info {
        row("PG version:", i.pg_version.clone());
        row("Data size:", format::bytes(i.data_size_bytes));
        if let Some(own) = i.unshared_bytes {
            row("Own space:", format!("{} (the rest is shared with its source)", format::bytes(own)));
        }
        row("Tables:", i.tables.to_string());
        row("Connections:", format!("{}/{}", i.connections, i.max_connections));
    }
    row("Created:", db.created_at.format("%Y-%m-%d %H:%M UTC").to_string());
    out
}

/// `pgfleet backups` as a table.
pub fn backups_text(list: &[app::model::Backup]) -> String {
    if list.is_empty() {
        return "No backups yet; the first is taken once the database is available.\n".into();
    }
    let mut out =
        format!("{:<20} {:<9} {:<20} {:>10} {:>10} {:>9}\n", "ID", "KIND", "FINISHED", "SIZE", "STORED", "TOOK");
    for b in list {
        out.push_str(&format!(
            "{:<20} {:<9} {:<20} {:>10} {:>10} {:>9}\n",
            b.id,
            b.kind.as_str(),
            b.finished_at.format("%Y-%m-%d %H:%M:%S"),
            format::bytes(b.size_bytes),
            format::bytes(b.stored_bytes),
            format::duration(b.duration_seconds)
        ));
    }
    out
}

/// A schema diff as text: one line per object (`+` added, `-` removed,
/// `~` changed) under its schema, with its definitions indented below.
pub fn diff_text(diff: &app::schema_diff::SchemaDiff) -> String {
    let (a, b) = (&diff.a, &diff.b);
    if diff.count() == 0 {
        return format!("{a}'s schema is the same as {b}'s.\n");
    }
    let count = diff.count();
    let mut out = format!("{a} against {b}: {count} difference{}\n", if count == 1 { "" } else { "s" });
    let indent = |text: &str| text.trim_end().lines().map(|l| format!("      {l}\n")).collect::<String>();
    for group in &diff.schemas {
        let schema = if group.schema.is_empty() { "(database)" } else { group.schema.as_str() };
        out.push_str(&format!("\n{schema}\n"));
        for o in &group.objects {
            out.push_str(&format!("  {} {:<11} {}\n", o.change.sign(), o.kind.label(), o.name));
            match (&o.before, &o.after) {
                (Some(before), Some(after)) => {
                    out.push_str(&format!("    in {b}:\n{}    in {a}:\n{}", indent(before), indent(after)));
                }
                (None, Some(def)) | (Some(def), None) => out.push_str(&indent(def)),
                (None, None) => {}
            }
        }
    }
    out
}

/// A database's additional roles as a table.
pub fn roles_text(list: &[app::roles::RoleView]) -> String {
    if list.is_empty() {
        return "No additional roles; add one with credentials:create NAME --role ROLE.\n".into();
    }
    let mut out = format!("{:<40} {:<10} {:<20} {:<16} {:<20}\n", "ROLE", "ACCESS", "CREATED", "BY", "PASSWORD SET");
    for r in list {
        out.push_str(&format!(
            "{:<40} {:<10} {:<20} {:<16} {:<20}\n",
            r.name,
            r.access.describe(),
            r.created_at.format("%Y-%m-%d %H:%M:%S"),
            r.created_by.as_deref().unwrap_or("-"),
            r.password_set_at.format("%Y-%m-%d %H:%M:%S"),
        ));
    }
    out
}

/// Reads `--at`: RFC 3339, or `YYYY-MM-DD HH:MM[:SS]` with an optional `Z`
/// or `UTC` (times are UTC).
pub fn parse_at(text: &str) -> Result<chrono::DateTime<chrono::Utc>, String> {
    let text = text.trim();
    if let Ok(t) = chrono::DateTime::parse_from_rfc3339(text) {
        return Ok(t.with_timezone(&chrono::Utc));
    }
    let bare = text.trim_end_matches("UTC").trim_end_matches('Z').trim().replace('T', " ");
    ["%Y-%m-%d %H:%M:%S%.f", "%Y-%m-%d %H:%M:%S", "%Y-%m-%d %H:%M"]
        .iter()
        .find_map(|f| chrono::NaiveDateTime::parse_from_str(&bare, f).ok())
        .map(|t| t.and_utc())
        .ok_or_else(|| format!("--at {text:?}: give a UTC time like '2026-12-01 10:00Z' or RFC 3339"))
}

/// Reads a span such as `--by`'s "2 hours" (how long ago) or
/// `--backup-every`'s "24h": a number and s, m, h or d (or their words),
/// from 1 s to 366 days.
pub fn parse_by(text: &str) -> Result<chrono::Duration, String> {
    let bad = || format!("{text:?}: give a span like '2 hours', '30 minutes' or '90s' (at most 366 days)");
    let t = text.trim().to_lowercase();
    let split = t.find(|c: char| !c.is_ascii_digit()).unwrap_or(t.len());
    let (number, unit) = t.split_at(split);
    let n: i64 = number.parse().map_err(|_| bad())?;
    let unit = unit.trim();
    let seconds = match unit {
        "s" | "sec" | "secs" | "second" | "seconds" => 1,
        "m" | "min" | "mins" | "minute" | "minutes" => 60,
        "h" | "hr" | "hrs" | "hour" | "hours" => 3600,
        "d" | "day" | "days" => 86400,
        _ => return Err(bad()),
    };
    let total = n.checked_mul(seconds).filter(|s| (1..=366 * 86400).contains(s)).ok_or_else(bad)?;
    Ok(chrono::Duration::seconds(total))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn moments_read_as_people_write_them() {
        let t = parse_at("2026-12-01 10:00Z").unwrap();
        assert_eq!(t.to_rfc3339(), "2026-12-01T10:00:00+00:00");
        assert_eq!(parse_at("2026-12-01T10:00:05+01:00").unwrap().to_rfc3339(), "2026-12-01T09:00:05+00:00");
        assert_eq!(parse_at("2026-12-01 10:00:05 UTC").unwrap().to_rfc3339(), "2026-12-01T10:00:05+00:00");
        assert!(parse_at("yesterday").is_err());
        assert_eq!(parse_by("2 hours").unwrap().num_seconds(), 7200);
        assert_eq!(parse_by("90s").unwrap().num_seconds(), 90);
        assert_eq!(parse_by("1 day").unwrap().num_seconds(), 86400);
        assert!(parse_by("2 fortnights").is_err());
        assert!(parse_by("0 hours").is_err());
    }

    #[test]
    fn progress_reads_for_people() {
        let p = |done, total, eta, unit| app::model::Progress {
            step: "masking public.users".into(),
            bytes_done: done,
            bytes_total: total,
            eta_seconds: eta,
            unit,
        };
        let bytes = app::model::ProgressUnit::Bytes;
        assert_eq!(
            progress_bar(&p(50, Some(100), Some(3.0), bytes), "x"),
            "[##########          ]  50% 50 B / 100 B, ETA 3s"
        );
        assert_eq!(
            progress_bar(&p(0, None, None, bytes), "waiting for checkpoint to finish"),
            "waiting for checkpoint to finish"
        );
        let rows = p(1500, Some(3000), None, app::model::ProgressUnit::Rows);
        assert_eq!(
            progress_bar(&rows, &rows.step),
            "masking public.users: [##########          ]  50% 1,500 / 3,000 rows"
        );
    }
}
