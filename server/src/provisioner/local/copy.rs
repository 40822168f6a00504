//! Making data dirs: the template an empty database is copied from, and
//! `pg_basebackup` copies of a running source (followers and forks) with
//! progress read from the source's `pg_stat_progress_basebackup`.

use std::path::Path;
use std::time::{Duration, Instant};

use app::model::Progress;
use sqlx::Row;

use super::os::{self, OsUser};
use super::sql;
use crate::provisioner::{ProgressSink, ProvisionError};

/// Host-based rules of every pgfleet server: the superuser only through the
/// private socket, everyone else by password (scram-sha-256).
pub const PG_HBA: &str = "\
# Written by pgfleet.
# The socket dir is private to PostgreSQL's OS user (and root): trust there.
local   all             all                                     trust
local   replication     all                                     trust
# Over TCP: passwords only, and never for the superuser.
host    all             pgfleet         0.0.0.0/0               reject
host    all             pgfleet         ::/0                    reject
host    all             all             0.0.0.0/0               scram-sha-256
host    all             all             ::/0                    scram-sha-256
host    replication     all             0.0.0.0/0               scram-sha-256
host    replication     all             ::/0                    scram-sha-256
";

/// Makes the template data dir at `dir` unless it exists: initdb once, so
/// each new database is a copy plus a start (well under a second).
pub async fn ensure_template(bin: &Path, user: &OsUser, dir: &Path, socket_dir: &Path) -> Result<(), ProvisionError> {
    if dir.join("PG_VERSION").exists() {
        return Ok(());
    }
    let partial = dir.with_extension("partial");
    if partial.exists() {
        std::fs::remove_dir_all(&partial)?;
    }
    std::fs::create_dir_all(partial.parent().unwrap_or(Path::new(".")))?;
    let mut cmd = os::tool(bin, "initdb", user);
    cmd.arg("-D").arg(&partial).args(["-U", sql::SUPERUSER, "--auth-local=trust", "--auth-host=scram-sha-256"]).args([
        "-E",
        "UTF8",
        "--locale=C.UTF-8",
        "--data-checksums",
        "--no-sync",
        "--no-instructions",
    ]);
    os::run("initdb", cmd).await?;
    std::fs::write(partial.join("pg_hba.conf"), PG_HBA)?;
    user.own(&partial.join("pg_hba.conf"))?;
    premake_database(bin, user, &partial, socket_dir).await?;
    // initdb ran with --no-sync; sync once here instead of for every copy.
    let mut sync = tokio::process::Command::new("sync");
    sync.arg("-f").arg(&partial);
    os::run("sync", sync).await?;
    std::fs::rename(&partial, dir)?;
    Ok(())
}

/// The database every template carries, renamed and given to its owner
/// when a database is made: a rename is instant where `CREATE DATABASE`
/// copies and syncs a whole template database.
pub const PREMADE_DATABASE: &str = "pgfleet_premade";

/// Starts the template once on a private socket to create
/// [`PREMADE_DATABASE`], then stops it cleanly.
async fn premake_database(bin: &Path, user: &OsUser, data: &Path, socket_dir: &Path) -> Result<(), ProvisionError> {
    let port: u16 = 5432;
    let opts = format!("-p {port} -k '{}' -c listen_addresses=''", socket_dir.display());
    let mut start = os::tool(bin, "pg_ctl", user);
    start
        .arg("start")
        .arg("-D")
        .arg(data)
        .args(["-w", "-t", "120", "-s", "-o", &opts])
        .arg("-l")
        .arg(data.join("template.log"));
    os::run("pg_ctl start (template)", start).await?;
    let created = async {
        let mut conn = sql::connect(socket_dir, port, "postgres").await?;
        let stmt = format!("CREATE DATABASE {}", sql::ident(PREMADE_DATABASE));
        sqlx::query(&stmt).execute(&mut conn).await.map_err(sql::sql_err)?;
        Ok::<(), ProvisionError>(())
    }
    .await;
    let mut stop = os::tool(bin, "pg_ctl", user);
    stop.arg("stop").arg("-D").arg(data).args(["-m", "fast", "-w", "-t", "120", "-s"]);
    let stopped = os::run("pg_ctl stop (template)", stop).await;
    created?;
    stopped?;
    let _ = std::fs::remove_file(data.join("template.log"));
    Ok(())
}

/// What to ask of `pg_basebackup`.
pub struct BaseBackup<'a> {
    pub bin: &'a Path,
    pub user: &'a OsUser,
    pub source_run: &'a Path,
    pub source_port: u16,
    pub target: &'a Path,
    /// A permanent slot to create for a follower.
    pub slot: Option<&'a str>,
    pub label: &'a str,
    /// Held until the copy's WAL stream is running, so no other copy of
    /// the same source starts meanwhile (see [`CopyGates`]).
    pub start_gate: tokio::sync::OwnedMutexGuard<()>,
}

/// How many copies of one source run at once. Each takes two WAL senders
/// (the backup and its WAL stream), and the source's followers need theirs.
pub const COPIES_AT_ONCE: usize = 2;

/// Turns for copying each source. `pg_basebackup` pins the WAL it needs only
/// once its streamer has created its slot, a moment after the backup's
/// checkpoint. A second copy's fast checkpoint in that moment recycles the
/// WAL or invalidates the new slot (measured: 2 of 30 concurrent pairs on
/// PostgreSQL 15 failed, 0 of 30 sequential ones), so copies of one source
/// take turns to start, then run side by side, [`COPIES_AT_ONCE`] at most.
#[derive(Default)]
pub struct CopyGates {
    sources: std::sync::Mutex<std::collections::HashMap<String, SourceGates>>,
}

#[derive(Clone)]
pub struct SourceGates {
    pub running: std::sync::Arc<tokio::sync::Semaphore>,
    pub starting: std::sync::Arc<tokio::sync::Mutex<()>>,
}

impl CopyGates {
    pub fn of(&self, source: &str) -> SourceGates {
        let mut sources = self.sources.lock().expect("copy gates lock");
        sources
            .entry(source.to_string())
            .or_insert_with(|| SourceGates {
                running: std::sync::Arc::new(tokio::sync::Semaphore::new(COPIES_AT_ONCE)),
                starting: std::sync::Arc::default(),
            })
            .clone()
    }
}

/// Whether a failed copy lost its WAL stream (the race above, or a timed
/// checkpoint hitting the same moment), which a fresh attempt cures.
pub fn lost_wal_stream(error: &ProvisionError) -> bool {
    match error {
        ProvisionError::Tool { tool: "pg_basebackup", reason } => {
            reason.contains("background process terminated unexpectedly")
                || reason.contains("has already been removed")
                || reason.contains("unexpected termination of replication stream")
        }
        _ => false,
    }
}

/// Copies a running source with `pg_basebackup -X stream -c fast`, reporting
/// progress until it ends.
pub async fn base_backup(b: BaseBackup<'_>, sink: &dyn ProgressSink) -> Result<(), ProvisionError> {
    // Found again by name in pg_stat_replication, so it must not be
    // truncated to PostgreSQL's identifier length.
    let app_name = crate::provisioner::short_identifier(
        &format!("pgfleet_copy_{}_", std::process::id()),
        &b.label.replace([' ', '-'], "_"),
    );
    let conninfo = format!(
        "host={} port={} user={} application_name={}",
        b.source_run.display(),
        b.source_port,
        sql::SUPERUSER,
        app_name
    );
    let mut cmd = os::tool(b.bin, "pg_basebackup", b.user);
    cmd.arg("-d")
        .arg(&conninfo)
        .arg("-D")
        .arg(b.target)
        // A fast checkpoint: the default spread one can wait minutes under
        // load before copying a byte.
        .args(["-X", "stream", "-c", "fast", "--no-manifest", "--no-sync", "-l", b.label]);
    if let Some(slot) = b.slot {
        cmd.args(["-C", "-S", slot]);
    }
    cmd.stdout(std::process::Stdio::null()).stderr(std::process::Stdio::piped());
    let mut child = cmd.spawn().map_err(|e| ProvisionError::Tool { tool: "pg_basebackup", reason: e.to_string() })?;
    let mut stderr = child.stderr.take();
    let stderr_task = tokio::spawn(async move {
        let mut text = String::new();
        if let Some(s) = stderr.as_mut() {
            use tokio::io::AsyncReadExt;
            let _ = s.read_to_string(&mut text).await;
        }
        text
    });

    let started = Instant::now();
    let mut streaming_since: Option<(Instant, u64)> = None;
    let mut ticker = tokio::time::interval(Duration::from_millis(250));
    let mut monitor = None;
    let mut start_gate = Some(b.start_gate);
    let status = loop {
        tokio::select! {
            status = child.wait() => break status,
            _ = ticker.tick() => {
                if monitor.is_none() {
                    monitor = sql::connect(b.source_run, b.source_port, "postgres").await.ok();
                }
                if let Some(conn) = monitor.as_mut() {
                    if start_gate.is_some() && wal_streaming(conn, &app_name).await.unwrap_or(false) {
                        start_gate = None;
                    }
                    match read_progress(conn, &app_name).await {
                        Ok(Some((step, done, total))) => {
                            let eta = eta(&mut streaming_since, done, total);
                            sink.progress(Progress { step, bytes_done: done, bytes_total: total, eta_seconds: eta, unit: app::model::ProgressUnit::Bytes });
                        }
                        Ok(None) => {}
                        Err(_) => monitor = None,
                    }
                }
            }
        }
    };
    let status = status.map_err(|e| ProvisionError::Tool { tool: "pg_basebackup", reason: e.to_string() })?;
    let output = stderr_task.await.unwrap_or_default();
    if !status.success() {
        return Err(ProvisionError::Tool { tool: "pg_basebackup", reason: os::last_lines(&output, 3) });
    }
    let size = dir_size(b.target);
    sink.progress(Progress {
        step: "copied".into(),
        bytes_done: size,
        bytes_total: Some(size),
        eta_seconds: Some(0.0),
        unit: app::model::ProgressUnit::Bytes,
    });
    tracing::debug!(target = %b.target.display(), elapsed = ?started.elapsed(), "base backup done");
    Ok(())
}

/// Whether the copy's WAL streamer is past `START_REPLICATION`: its slot
/// exists and holds the WAL from the backup's start.
async fn wal_streaming(conn: &mut sqlx::PgConnection, app_name: &str) -> Result<bool, ProvisionError> {
    sqlx::query_scalar(
        "SELECT EXISTS (SELECT 1 FROM pg_stat_replication \
         WHERE application_name = $1 AND state IN ('catchup', 'streaming'))",
    )
    .bind(app_name)
    .fetch_one(conn)
    .await
    .map_err(sql::sql_err)
}

async fn read_progress(
    conn: &mut sqlx::PgConnection,
    app_name: &str,
) -> Result<Option<(String, u64, Option<u64>)>, ProvisionError> {
    let row = sqlx::query(
        "SELECT p.phase, p.backup_streamed, p.backup_total \
         FROM pg_stat_progress_basebackup p JOIN pg_stat_activity a ON a.pid = p.pid \
         WHERE a.application_name = $1",
    )
    .bind(app_name)
    .fetch_optional(conn)
    .await
    .map_err(sql::sql_err)?;
    Ok(match row {
        None => None,
        Some(row) => {
            let phase: String = row.try_get("phase").map_err(sql::sql_err)?;
            let done: i64 = row.try_get("backup_streamed").map_err(sql::sql_err)?;
            let total: Option<i64> = row.try_get("backup_total").map_err(sql::sql_err)?;
            Some((phase, done.max(0) as u64, total.map(|t| t.max(0) as u64)))
        }
    })
}

/// Estimates the seconds left from the rate since streaming began.
fn eta(since: &mut Option<(Instant, u64)>, done: u64, total: Option<u64>) -> Option<f64> {
    let total = total?;
    let (start, start_bytes) = *since.get_or_insert((Instant::now(), done));
    let elapsed = start.elapsed().as_secs_f64();
    let copied = done.saturating_sub(start_bytes) as f64;
    if elapsed < 0.2 || copied <= 0.0 {
        return None;
    }
    Some(total.saturating_sub(done) as f64 / (copied / elapsed))
}

/// Apparent size of a tree, in bytes (reflinked copies would fool `du`).
pub fn dir_size(path: &Path) -> u64 {
    let mut total = 0;
    let mut stack = vec![path.to_path_buf()];
    while let Some(dir) = stack.pop() {
        let Ok(entries) = std::fs::read_dir(&dir) else { continue };
        for entry in entries.flatten() {
            match entry.metadata() {
                Ok(m) if m.is_dir() => stack.push(entry.path()),
                Ok(m) => total += m.len(),
                Err(_) => {}
            }
        }
    }
    total
}

#[cfg(test)]
mod tests {
    use super::*;

    fn failed(reason: &str) -> ProvisionError {
        ProvisionError::Tool { tool: "pg_basebackup", reason: reason.into() }
    }

    #[test]
    fn only_a_lost_wal_stream_is_worth_another_copy() {
        // Both seen on PostgreSQL 15 when a concurrent checkpoint won the race.
        assert!(lost_wal_stream(&failed(
            "pg_basebackup: error: unexpected termination of replication stream: FATAL:  terminating connection \
             due to administrator command / pg_basebackup: error: background process terminated unexpectedly"
        )));
        assert!(lost_wal_stream(&failed(
            "pg_basebackup: error: could not send replication command \"START_REPLICATION\": ERROR:  requested WAL \
             segment 000000010000000000000008 has already been removed"
        )));
        assert!(!lost_wal_stream(&failed("pg_basebackup: error: could not create directory: No space left on device")));
        assert!(!lost_wal_stream(&failed(
            "FATAL:  number of requested standby connections exceeds max_wal_senders (currently 10)"
        )));
        assert!(!lost_wal_stream(&ProvisionError::Sql("has already been removed".into())));
    }
}
