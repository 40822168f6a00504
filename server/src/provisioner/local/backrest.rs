//! pgBackRest for local servers: continuous WAL archiving and full backups
//! into one repository (`<home>/backups/repo` by default), one stanza per
//! database, named after it.
//!
//! Each stanza has a config file of its own (`conf/<name>.conf`), written
//! when the database is made, so no two databases ever edit one file.
//! Every pgBackRest process runs as PostgreSQL's OS user (the archiver
//! starts `archive-push` itself); its lock, spool and log folders sit
//! beside the repository. Archiving is asynchronous (`archive-async`):
//! the archiver hands a segment over and a background pgBackRest pushes
//! it, so a slow repository does not hold up the server.

use std::path::{Path, PathBuf};
use std::time::Duration;

use app::model::{Backup, BackupKind, Progress};
use chrono::{DateTime, TimeZone, Utc};
use serde_json::Value;

use super::os::{self, OsUser};
use crate::provisioner::{ProgressSink, ProvisionError};

/// Where backups go.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Repo {
    /// A folder on this machine.
    Local(PathBuf),
    /// An S3-compatible bucket over TLS: `s3://bucket/path?endpoint=host[:port]&region=r`.
    S3 {
        bucket: String,
        path: String,
        endpoint: String,
        region: String,
        verify_tls: bool,
        key: Option<String>,
        secret: Option<String>,
    },
}

impl Repo {
    /// Reads `--backup-repo`: a path, or an `s3://` URL, whose keys come from
    /// `PGFLEET_S3_KEY` / `PGFLEET_S3_KEY_SECRET`.
    pub fn parse(text: &str) -> Result<Repo, String> {
        let Some(rest) = text.strip_prefix("s3://") else {
            if text.is_empty() || text.contains(['\'', '"', '\\', '$', '`', '\n']) {
                return Err(format!("--backup-repo {text:?}: give a folder without quotes, $ or backslashes"));
            }
            return Ok(Repo::Local(PathBuf::from(text)));
        };
        let (location, query) = rest.split_once('?').unwrap_or((rest, ""));
        let (bucket, path) = location.split_once('/').unwrap_or((location, ""));
        let mut endpoint = None;
        let mut region = "us-east-1".to_string();
        let mut verify_tls = true;
        for pair in query.split('&').filter(|p| !p.is_empty()) {
            match pair.split_once('=') {
                Some(("endpoint", v)) => endpoint = Some(v.to_string()),
                Some(("region", v)) => region = v.to_string(),
                Some(("verify_tls", "false")) => verify_tls = false,
                _ => return Err(format!("--backup-repo: unknown setting {pair:?} (endpoint, region, verify_tls)")),
            }
        }
        let plain = |s: &str| s.chars().all(|c| c.is_ascii_alphanumeric() || "-_./:".contains(c));
        let endpoint = endpoint.ok_or("--backup-repo s3://…: add ?endpoint=host[:port]")?;
        if bucket.is_empty() || ![bucket, path, &endpoint, &region].iter().all(|s| plain(s)) {
            return Err(format!("--backup-repo {text:?} is not s3://bucket/path?endpoint=host"));
        }
        let env = |name: &str| std::env::var(name).ok().filter(|v| !v.is_empty());
        Ok(Repo::S3 {
            bucket: bucket.into(),
            path: format!("/{path}"),
            endpoint,
            region,
            verify_tls,
            key: env("PGFLEET_S3_KEY"),
            secret: env("PGFLEET_S3_KEY_SECRET"),
        })
    }
}

/// pgBackRest's exit code (its error code) for "archive/backup directory
/// not empty" with no info file in either.
const PATH_NOT_EMPTY: i32 = 40;
/// pgBackRest's exit code for one info file without the other.
const FILE_MISSING: i32 = 55;

/// One stanza's server: where pgBackRest finds it.
pub struct Server<'a> {
    pub data: &'a Path,
    pub socket_dir: &'a Path,
    pub port: u16,
}

/// pgBackRest as pgfleet drives it.
#[derive(Clone, Debug)]
pub struct Backrest {
    exe: PathBuf,
    user: OsUser,
    /// `conf/`, `lock/`, `spool/`, `log/` (and the local repository).
    root: PathBuf,
    repo: Repo,
}

/// What a restore brings back.
pub struct Restore<'a> {
    pub stanza: &'a str,
    pub set: &'a str,
    pub target: &'a Path,
}

/// A backup as the repository lists it, with what a restore needs.
#[derive(Clone, Debug)]
pub struct RepoBackup {
    pub backup: Backup,
    pub stop_lsn: u64,
}

impl Backrest {
    /// Finds `pgbackrest` on `PATH`.
    pub fn new(root: PathBuf, repo: Repo, user: OsUser) -> Result<Backrest, ProvisionError> {
        let exe = std::env::split_paths(&std::env::var_os("PATH").unwrap_or_default())
            .chain([PathBuf::from("/usr/bin")])
            .map(|dir| dir.join("pgbackrest"))
            .find(|p| p.exists())
            .ok_or_else(|| {
                ProvisionError::Invalid(
                    "pgBackRest is missing; pgfleet archives and backs up every database with it: \
                     apt-get install -y pgbackrest"
                        .into(),
                )
            })?;
        Ok(Backrest { exe, user, root, repo })
    }

    pub fn root(&self) -> &Path {
        &self.root
    }

    fn conf(&self, stanza: &str) -> PathBuf {
        self.root.join("conf").join(format!("{stanza}.conf"))
    }

    fn local_repo(&self) -> Option<PathBuf> {
        match &self.repo {
            Repo::Local(path) => Some(path.clone()),
            Repo::S3 { .. } => None,
        }
    }

    /// Makes the folders pgBackRest writes in, owned by PostgreSQL's user.
    fn ensure_dirs(&self) -> Result<(), ProvisionError> {
        let mut dirs = vec![self.root.clone()];
        dirs.extend(["conf", "lock", "spool", "log"].map(|d| self.root.join(d)));
        dirs.extend(self.local_repo());
        for dir in dirs {
            std::fs::create_dir_all(&dir)?;
            std::fs::set_permissions(&dir, std::os::unix::fs::PermissionsExt::from_mode(0o700))?;
            self.user.own(&dir)?;
        }
        Ok(())
    }

    /// Writes `stanza`'s config: where its server is and how long its
    /// backups are kept (pgBackRest expires backups, and the WAL only
    /// they need, after each backup).
    pub fn configure(&self, stanza: &str, server: &Server<'_>, retention_days: u32) -> Result<(), ProvisionError> {
        self.ensure_dirs()?;
        let repo = match &self.repo {
            Repo::Local(path) => format!("repo1-path={}\n", path.display()),
            Repo::S3 { bucket, path, endpoint, region, verify_tls, key, secret } => {
                // pgBackRest takes the port apart from the host.
                let (host, port) = match endpoint.rsplit_once(':') {
                    Some((host, port)) if port.parse::<u16>().is_ok() => (host, format!("repo1-storage-port={port}\n")),
                    _ => (endpoint.as_str(), String::new()),
                };
                // In the file (0600, PostgreSQL's user's), because the
                // archiver runs archive-push without pgfleet's environment.
                let keys: String = [("repo1-s3-key", key), ("repo1-s3-key-secret", secret)]
                    .iter()
                    .filter_map(|(k, v)| v.as_ref().map(|v| format!("{k}={v}\n")))
                    .collect();
                format!(
                    "repo1-type=s3\nrepo1-path={path}\nrepo1-s3-bucket={bucket}\nrepo1-s3-endpoint={host}\n{port}\
                     repo1-s3-region={region}\nrepo1-s3-uri-style=path\nrepo1-storage-verify-tls={}\n{keys}",
                    if *verify_tls { "y" } else { "n" }
                )
            }
        };
        let text = format!(
            "# Written by pgfleet for the database {stanza}; rewritten when it is made.\n\
             [global]\n{repo}repo1-retention-full-type=time\nrepo1-retention-full={retention_days}\n\
             lock-path={lock}\nspool-path={spool}\nlog-path={log}\nlog-level-file=warn\nlog-level-console=warn\n\
             log-level-stderr=off\narchive-async=y\narchive-timeout=120\ncompress-type=lz4\nstart-fast=y\n\
             process-max=1\n\n[{stanza}]\npg1-path={data}\npg1-socket-path={socket}\npg1-port={port}\n\
             pg1-user={user}\n",
            lock = self.root.join("lock").display(),
            spool = self.root.join("spool").display(),
            log = self.root.join("log").display(),
            data = server.data.display(),
            socket = server.socket_dir.display(),
            port = server.port,
            user = super::sql::SUPERUSER,
        );
        let path = self.conf(stanza);
        let tmp = path.with_extension("conf.tmp");
        std::fs::write(&tmp, text)?;
        std::fs::set_permissions(&tmp, std::os::unix::fs::PermissionsExt::from_mode(0o600))?;
        self.user.own(&tmp)?;
        std::fs::rename(&tmp, &path)?;
        Ok(())
    }

    pub fn is_configured(&self, stanza: &str) -> bool {
        self.conf(stanza).exists()
    }

    /// The server's `archive_command`.
    pub fn archive_command(&self, stanza: &str) -> String {
        format!("{} --config={} --stanza={stanza} archive-push %p", self.exe.display(), self.conf(stanza).display())
    }

    /// A `restore_command` that reads `stanza`'s archive into the server
    /// whose data dir is `data` (pgBackRest checks it runs there). Without
    /// async prefetch: its queue is per stanza, and forks of one source
    /// restoring at once would share (and spoil) it.
    pub fn restore_command(&self, stanza: &str, data: &Path) -> String {
        format!(
            "{} --config={} --stanza={stanza} --pg1-path={} --no-archive-async archive-get %f %p",
            self.exe.display(),
            self.conf(stanza).display(),
            data.display()
        )
    }

    fn command(&self, stanza: &str) -> tokio::process::Command {
        let mut cmd = os::tool(self.exe.parent().unwrap_or(Path::new("/usr/bin")), "pgbackrest", &self.user);
        if let Repo::S3 { .. } = self.repo {
            for (ours, theirs) in [
                ("PGFLEET_S3_KEY", "PGBACKREST_REPO1_S3_KEY"),
                ("PGFLEET_S3_KEY_SECRET", "PGBACKREST_REPO1_S3_KEY_SECRET"),
            ] {
                if let Some(v) = std::env::var_os(ours) {
                    cmd.env(theirs, v);
                }
            }
        }
        cmd.current_dir(&self.root)
            .arg(format!("--config={}", self.conf(stanza).display()))
            .arg(format!("--stanza={stanza}"));
        cmd
    }

    /// Creates the stanza if its repository has none yet.
    ///
    /// A `stanza-create` cut short (pgfleet killed while it ran) leaves the
    /// stanza's folders holding an info file, or only its temporary copy,
    /// but no whole stanza, and pgBackRest refuses every later create
    /// ([`PATH_NOT_EMPTY`], [`FILE_MISSING`]). With no backup set in the
    /// repository nothing there can restore anything, so those remains go
    /// and the stanza is made again; with one, the repository is left as it
    /// is and the error stands.
    ///
    /// `online: false` reads the server's identity from its data dir rather
    /// than asking it, which a standby cannot answer for.
    pub async fn ensure_stanza(&self, stanza: &str, online: bool) -> Result<(), ProvisionError> {
        let info = self.info_json(stanza).await?;
        if info.get("db").and_then(Value::as_array).is_some_and(|dbs| !dbs.is_empty()) {
            return Ok(());
        }
        let create = || {
            let mut cmd = self.command(stanza);
            if !online {
                cmd.arg("--no-online");
            }
            cmd.arg("stanza-create");
            os::finish("pgbackrest stanza-create", cmd)
        };
        let first = create().await?;
        if !first.code.is_some_and(|c| c == PATH_NOT_EMPTY || c == FILE_MISSING)
            || self.holds_backup_sets(stanza).await?
        {
            return first.into_result().map(|_| ());
        }
        tracing::warn!(
            stanza,
            "clearing what a stanza-create cut short left in the repository, then creating it again"
        );
        self.delete_stanza(stanza).await?;
        create().await?.into_result().map(|_| ())
    }

    /// Whether the repository keeps a backup set (any folder) for `stanza`.
    async fn holds_backup_sets(&self, stanza: &str) -> Result<bool, ProvisionError> {
        let mut cmd = self.command(stanza);
        cmd.args(["--output=json", "repo-ls"]).arg(format!("backup/{stanza}"));
        let out = os::run("pgbackrest repo-ls", cmd).await?;
        let list: serde_json::Map<String, Value> = serde_json::from_str(out.trim()).map_err(|e| {
            ProvisionError::Tool { tool: "pgbackrest repo-ls", reason: format!("unreadable answer: {e}") }
        })?;
        Ok(list.iter().any(|(name, entry)| name != "." && entry["type"] != "file"))
    }

    /// pgBackRest's own way to drop a stanza from any repository: `stop`,
    /// then `stanza-delete --force` (the server may be running), which also
    /// removes the stop file.
    async fn delete_stanza(&self, stanza: &str) -> Result<(), ProvisionError> {
        let mut cmd = self.command(stanza);
        cmd.arg("stop");
        os::run("pgbackrest stop", cmd).await?;
        let mut cmd = self.command(stanza);
        cmd.args(["--force", "stanza-delete"]);
        os::run("pgbackrest stanza-delete", cmd).await.map(|_| ())
    }

    async fn info_json(&self, stanza: &str) -> Result<Value, ProvisionError> {
        let mut cmd = self.command(stanza);
        cmd.args(["--output=json", "info"]);
        let out = os::run("pgbackrest info", cmd).await?;
        let list: Value = serde_json::from_str(out.trim())
            .map_err(|e| ProvisionError::Tool { tool: "pgbackrest info", reason: format!("unreadable answer: {e}") })?;
        Ok(list.as_array().and_then(|a| a.first()).cloned().unwrap_or(Value::Null))
    }

    /// `stanza`'s full backups, oldest first.
    pub async fn backups(&self, stanza: &str) -> Result<Vec<RepoBackup>, ProvisionError> {
        let info = self.info_json(stanza).await?;
        let list = info.get("backup").and_then(Value::as_array).cloned().unwrap_or_default();
        Ok(list.iter().filter_map(repo_backup).collect())
    }

    /// Takes a full backup of the running server, reporting pgBackRest's
    /// progress.
    pub async fn backup(&self, stanza: &str, sink: &dyn ProgressSink) -> Result<(), ProvisionError> {
        let mut cmd = self.command(stanza);
        cmd.args(["--type=full", "backup"]);
        let run = os::run("pgbackrest backup", cmd);
        tokio::pin!(run);
        let started = std::time::Instant::now();
        sink.progress(Progress {
            step: "backing up: checkpoint".into(),
            bytes_done: 0,
            bytes_total: None,
            eta_seconds: None,
            unit: app::model::ProgressUnit::Bytes,
        });
        let mut tick = tokio::time::interval(Duration::from_millis(500));
        loop {
            tokio::select! {
                done = &mut run => return done.map(|_| ()),
                _ = tick.tick() => {
                    if let Ok(info) = self.info_json(stanza).await {
                        let lock = &info["status"]["lock"]["backup"];
                        if let (Some(total), Some(done)) = (lock["size"].as_u64(), lock["size-cplt"].as_u64()) {
                            let seconds = started.elapsed().as_secs_f64();
                            let eta = (done > 0).then(|| seconds * total.saturating_sub(done) as f64 / done as f64);
                            sink.progress(Progress {
                                step: "backing up".into(),
                                bytes_done: done,
                                bytes_total: Some(total),
                                eta_seconds: eta,
                                unit: app::model::ProgressUnit::Bytes,
                            });
                        }
                    }
                }
            }
        }
    }

    /// Restores backup `set` of `stanza` into an empty data dir, with no
    /// recovery settings: the caller's server options carry them.
    pub async fn restore(&self, r: Restore<'_>) -> Result<(), ProvisionError> {
        let mut cmd = self.command(r.stanza);
        cmd.arg(format!("--set={}", r.set)).arg(format!("--pg1-path={}", r.target.display()));
        cmd.args(["--type=none", "--delta", "restore"]);
        os::run("pgbackrest restore", cmd).await.map(|_| ())
    }

    /// The last error pgBackRest logged while pushing `stanza`'s WAL.
    pub fn last_push_error(&self, stanza: &str) -> Option<String> {
        let log = ["archive-push-async", "archive-push"]
            .iter()
            .filter_map(|kind| std::fs::read_to_string(self.root.join("log").join(format!("{stanza}-{kind}.log"))).ok())
            .collect::<Vec<_>>()
            .join("\n");
        let line = log.lines().rev().find(|l| l.contains("ERROR:"))?;
        Some(line.split_once("ERROR:").map(|(_, m)| m.trim()).unwrap_or(line).to_string())
    }

    /// The bytes `stanza` keeps in a local repository (backups and WAL).
    pub fn stored_bytes(&self, stanza: &str) -> u64 {
        let Some(repo) = self.local_repo() else { return 0 };
        ["backup", "archive"].iter().map(|d| super::copy::dir_size(&repo.join(d).join(stanza))).sum()
    }

    /// Forgets `stanza`: its backups, archived WAL, spool and config. A
    /// database made later with the same name starts a new stanza.
    pub async fn remove_stanza(&self, stanza: &str) -> Result<(), ProvisionError> {
        match self.local_repo() {
            Some(repo) => {
                for dir in [repo.join("backup").join(stanza), repo.join("archive").join(stanza)] {
                    if dir.exists() {
                        tokio::fs::remove_dir_all(&dir).await?;
                    }
                }
            }
            None if self.is_configured(stanza) => self.delete_stanza(stanza).await?,
            None => {}
        }
        for dir in ["archive", "backup"] {
            let spool = self.root.join("spool").join(dir).join(stanza);
            if spool.exists() {
                tokio::fs::remove_dir_all(&spool).await?;
            }
        }
        for file in std::fs::read_dir(self.root.join("lock")).into_iter().flatten().flatten() {
            let file_name = file.file_name().to_string_lossy().to_string();
            // Its locks, and the stop file stanza-delete needed.
            if file_name.starts_with(&format!("{stanza}-")) || file_name == format!("{stanza}.stop") {
                let _ = std::fs::remove_file(file.path());
            }
        }
        let conf = self.conf(stanza);
        if conf.exists() {
            tokio::fs::remove_file(&conf).await?;
        }
        Ok(())
    }
}

fn repo_backup(b: &Value) -> Option<RepoBackup> {
    if b["error"].as_bool() == Some(true) {
        return None;
    }
    let time = |v: &Value| v.as_i64().and_then(|s| Utc.timestamp_opt(s, 0).single());
    let started_at: DateTime<Utc> = time(&b["timestamp"]["start"])?;
    let finished_at = time(&b["timestamp"]["stop"])?;
    Some(RepoBackup {
        backup: Backup {
            id: b["label"].as_str()?.to_string(),
            kind: BackupKind::Full,
            started_at,
            finished_at,
            size_bytes: b["info"]["size"].as_u64().unwrap_or(0),
            stored_bytes: b["info"]["repository"]["size"].as_u64().unwrap_or(0),
            duration_seconds: (finished_at - started_at).num_milliseconds().max(0) as f64 / 1000.0,
        },
        stop_lsn: app::model::parse_lsn(b["lsn"]["stop"].as_str()?)?,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn repos_parse() {
        assert_eq!(Repo::parse("/srv/backups"), Ok(Repo::Local("/srv/backups".into())));
        assert!(Repo::parse("/srv/$HOME").is_err());
        let s3 = Repo::parse("s3://fleet/backups?endpoint=127.0.0.1:9000&region=eu&verify_tls=false").unwrap();
        assert_eq!(
            s3,
            Repo::S3 {
                bucket: "fleet".into(),
                path: "/backups".into(),
                endpoint: "127.0.0.1:9000".into(),
                region: "eu".into(),
                verify_tls: false,
                key: std::env::var("PGFLEET_S3_KEY").ok().filter(|v| !v.is_empty()),
                secret: std::env::var("PGFLEET_S3_KEY_SECRET").ok().filter(|v| !v.is_empty()),
            }
        );
        assert!(Repo::parse("s3://fleet/x").unwrap_err().contains("endpoint"));
        assert!(Repo::parse("s3://fleet/x?endpoint=h&colour=red").is_err());
    }

    #[test]
    fn backups_read_from_info() {
        let b = serde_json::json!({
            "error": false, "label": "20261201-100929F",
            "info": {"size": 22992374, "repository": {"size": 4521920}},
            "lsn": {"start": "0/2000028", "stop": "0/2000100"},
            "timestamp": {"start": 1796119769, "stop": 1796119771}
        });
        let r = repo_backup(&b).unwrap();
        assert_eq!(r.backup.id, "20261201-100929F");
        assert_eq!(r.stop_lsn, 0x2000100);
        assert_eq!(r.backup.duration_seconds, 2.0);
        assert_eq!(r.backup.stored_bytes, 4521920);
        assert!(repo_backup(&serde_json::json!({"error": true})).is_none());
    }
}
