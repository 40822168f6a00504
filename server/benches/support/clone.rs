//! The reflink half of `cargo bench --bench provision`: on an XFS made with
//! `reflink=1` (a sparse image the bench loop-mounts, as root), pgfleet's
//! clone fork and clone follower of a source under pgbench write load, next
//! to the same done by hand in the same run (backup API + `cp -a
//! --reflink=always` + start) and to a `pg_basebackup` fork of the same
//! source. Targets (issue 12): a clone fork within 1.3x of by hand and
//! under 2 s at 1 GB; the 5 GB fork within 1.5x of the 1 GB one; a clone
//! follower available under 3 s at 1 GB.
//!
//! For the first scale, a point-in-time fork too: a clone snapshot of the
//! source, then `$PGFLEET_BENCH_PITR_SECONDS` (default 300) of pgbench
//! load, then pgfleet's fork of the moment at the end of it (the newest
//! snapshot cloned, all that WAL replayed from pgBackRest's archive), next
//! to the same by hand: `cp -a --reflink=always` of the same snapshot and a
//! start with the same `restore_command` and `recovery_target_time`, until
//! writable. Target: within 1.3x of by hand.

use std::path::{Path, PathBuf};
use std::process::Command as StdCommand;
use std::sync::Arc;
use std::time::{Duration, Instant};

use pgfleet::engine::{CreateRequest, Engine, EngineConfig};
use pgfleet::provisioner::local::os::OsUser;
use pgfleet::provisioner::local::{sql, LocalConfig, LocalProvisioner};
use pgfleet::store::Store;
use tokio::process::Command;

use super::{flush, hot_standby_settings, median, ok, tool, wait, ByHand, ROUNDS};

/// A loop-mounted reflink XFS, unmounted and removed when dropped.
pub struct ReflinkFs {
    pub mount: PathBuf,
    image: PathBuf,
}

impl ReflinkFs {
    pub fn new(gib: u32) -> anyhow::Result<ReflinkFs> {
        let mount = std::env::temp_dir().join(format!("pgfleet-bench-reflink-{}", std::process::id()));
        let image = mount.with_extension("img");
        std::fs::create_dir_all(&mount)?;
        let run = |cmd: &mut StdCommand| -> anyhow::Result<()> {
            let out = cmd.output()?;
            anyhow::ensure!(out.status.success(), "{cmd:?}: {}", String::from_utf8_lossy(&out.stderr));
            Ok(())
        };
        run(StdCommand::new("truncate").arg("-s").arg(format!("{gib}G")).arg(&image))?;
        run(StdCommand::new("mkfs.xfs").args(["-q", "-m", "reflink=1"]).arg(&image))?;
        let fs = ReflinkFs { mount, image };
        run(StdCommand::new("mount").args(["-o", "loop"]).arg(&fs.image).arg(&fs.mount))?;
        use std::os::unix::fs::PermissionsExt;
        std::fs::set_permissions(&fs.mount, std::fs::Permissions::from_mode(0o755))?;
        Ok(fs)
    }
}

impl Drop for ReflinkFs {
    fn drop(&mut self) {
        super::stop_servers(&self.mount.join("home"));
        pgfleet::provisioner::local::os::processes_using(&self.mount).into_iter().for_each(|pid| {
            // SAFETY: signalling a process left working on the bench's own mount.
            unsafe { libc::kill(pid, libc::SIGKILL) };
        });
        for _ in 0..100 {
            if StdCommand::new("umount")
                .arg(&self.mount)
                .stderr(std::process::Stdio::null())
                .status()
                .is_ok_and(|s| s.success())
            {
                break;
            }
            std::thread::sleep(Duration::from_millis(100));
        }
        let _ = std::fs::remove_dir(&self.mount);
        let _ = std::fs::remove_file(&self.image);
    }
}

/// One scale's rows: (label, pgfleet, by hand with clones, pg_basebackup fork).
pub struct Rows {
    pub scale: u32,
    pub gigabytes: f64,
    pub fork: (Duration, Duration, Duration),
    pub follower: (Duration, Duration),
    /// pgfleet, by hand, WAL bytes replayed, seconds of load replayed.
    pub pitr: Option<(Duration, Duration, u64, u64)>,
}

pub async fn run(fs: &ReflinkFs, scale: u32, pitr: Option<Duration>) -> anyhow::Result<Rows> {
    let home = fs.mount.join("home");
    std::fs::create_dir_all(&home)?;
    let store = Store::open(&home.join("pgfleet.sqlite3")).await?;
    let provisioner = Arc::new(LocalProvisioner::new(LocalConfig::new(&home))?);
    let config =
        EngineConfig { tick: Duration::from_millis(100), backups: super::quiet_backups(), ..EngineConfig::default() };
    let engine = Engine::start(store.clone(), provisioner.clone(), config);
    let result = measure(&engine, &store, &provisioner, &home, scale, pitr).await;
    engine.shutdown().await;
    super::stop_servers(&home);
    result
}

async fn measure(
    engine: &Engine,
    store: &Store,
    provisioner: &LocalProvisioner,
    home: &Path,
    scale: u32,
    pitr: Option<Duration>,
) -> anyhow::Result<Rows> {
    let bin = provisioner.pg_bin().to_path_buf();
    let user = provisioner.os_user().clone();
    let source = format!("src{scale}");
    engine.create(CreateRequest { name: Some(source.clone()), ..Default::default() }).await?;
    wait(engine, &source).await?;
    let url = engine.credentials(&source).await?;
    eprintln!("reflink: making a source of pgbench scale {scale}…");
    let init = Command::new(bin.join("pgbench")).args(["-i", "-q", "-s", &scale.to_string(), &url]).output().await?;
    anyhow::ensure!(init.status.success(), "pgbench -i failed: {}", String::from_utf8_lossy(&init.stderr));
    let src_data = provisioner.layout().data(&source);
    let gigabytes = super::dir_size(&src_data) as f64 / 1e9;
    let src = store.spec(&source).await?.expect("source spec");
    let src_socket = provisioner.layout().run(&source);
    let settings = hot_standby_settings(&bin, &user, &src_socket, src.port).await?;
    let mut load = Command::new(bin.join("pgbench"))
        .args(["-n", "-c", "2", "-T", "3600", &url])
        .stdout(std::process::Stdio::null())
        .stderr(std::process::Stdio::null())
        .kill_on_drop(true)
        .spawn()?;
    let hand_dir = home.join("by-hand");
    std::fs::create_dir_all(&hand_dir)?;
    user.own(&hand_dir)?;
    let mut port = 17_100 + (scale as u16 % 50) * 10;
    let (mut ours, mut clones, mut basebackups, mut our_followers, mut hand_followers) =
        (Vec::new(), Vec::new(), Vec::new(), Vec::new(), Vec::new());
    for round in 0..ROUNDS {
        for follower in [false, true] {
            let name = format!("c{}-{round}", if follower { "f" } else { "k" });
            flush().await;
            let started = Instant::now();
            let req = if follower {
                CreateRequest { name: Some(name.clone()), follow: Some(source.clone()), ..Default::default() }
            } else {
                CreateRequest { name: Some(name.clone()), fork: Some(source.clone()), ..Default::default() }
            };
            engine.create(req).await?;
            wait(engine, &name).await?;
            let took = started.elapsed();
            let view = engine.get(&name).await?;
            anyhow::ensure!(
                view.copy.as_ref().map(|c| c.method) == Some(app::model::CopyMethod::Clone),
                "{name} was not cloned: {:?}",
                view.copy
            );
            if follower {
                our_followers.push(took)
            } else {
                ours.push(took)
            }
            engine.destroy(&name, false).await?;

            port += 1;
            let dir = hand_dir.join(&name);
            flush().await;
            let started = Instant::now();
            let slot = follower.then(|| format!("hand_{}", name.replace('-', "_")));
            let target =
                Target { bin: &bin, user: &user, src_data: &src_data, src_socket: &src_socket, src_port: src.port };
            hand_clone(&target, &dir, port, &settings, slot.as_deref()).await?;
            if follower {
                hand_followers.push(started.elapsed())
            } else {
                clones.push(started.elapsed())
            }
            super::pg_ctl_stop(&bin, &user, &dir).await;
            std::fs::remove_dir_all(&dir)?;
            if let Some(slot) = &slot {
                super::drop_slot(&bin, &user, &src_socket, src.port, slot).await;
            }
        }
        // The same fork by pg_basebackup, on the same file system.
        port += 1;
        let name = format!("cb-{round}");
        let dir = hand_dir.join(&name);
        flush().await;
        let started = Instant::now();
        let t = ByHand { kind: 1, dir: &dir, port, src_socket: &src_socket, src_port: src.port };
        super::by_hand(&bin, &user, &t, &settings, &name).await?;
        basebackups.push(started.elapsed());
        super::pg_ctl_stop(&bin, &user, &dir).await;
        std::fs::remove_dir_all(&dir)?;
    }
    let pitr = match pitr {
        Some(span) => {
            let target =
                Target { bin: &bin, user: &user, src_data: &src_data, src_socket: &src_socket, src_port: src.port };
            Some(
                point_in_time(engine, provisioner, &src, &target, &hand_dir.join("pitr"), port + 1, &settings, span)
                    .await?,
            )
        }
        None => None,
    };
    let _ = load.kill().await;
    Ok(Rows {
        scale,
        gigabytes,
        fork: (median(ours), median(clones), median(basebackups)),
        follower: (median(our_followers), median(hand_followers)),
        pitr,
    })
}

/// Takes no progress.
struct Quiet;

impl pgfleet::provisioner::ProgressSink for Quiet {
    fn progress(&self, _: app::model::Progress) {}
}

/// A point-in-time fork of the moment `span` after a clone snapshot, by
/// pgfleet and by hand.
#[allow(clippy::too_many_arguments)]
async fn point_in_time(
    engine: &Engine,
    provisioner: &LocalProvisioner,
    src: &pgfleet::engine::spec::Spec,
    t: &Target<'_>,
    dir: &Path,
    port: u16,
    settings: &str,
    span: Duration,
) -> anyhow::Result<(Duration, Duration, u64, u64)> {
    use pgfleet::provisioner::Provisioner;
    provisioner.ensure_archiving(src).await?;
    provisioner.take_backup(src, app::model::BackupKind::Snapshot, &Quiet).await?;
    let snapshot = provisioner.snapshots().list(&src.name).pop().expect("the snapshot just taken");
    eprintln!("reflink: a snapshot, then {} s of load to replay…", span.as_secs());
    tokio::time::sleep(span).await;
    let mut conn = sql::connect(t.src_socket, t.src_port, "postgres").await?;
    let (moment, lsn): (chrono::DateTime<chrono::Utc>, String) =
        sqlx::query_as("SELECT clock_timestamp(), pg_current_wal_lsn()::text").fetch_one(&mut conn).await?;
    let wal = app::model::parse_lsn(&lsn).unwrap_or(0).saturating_sub(snapshot.0.stop_lsn);

    flush().await;
    let started = Instant::now();
    let req = CreateRequest {
        name: Some("pitr".into()),
        fork: Some(src.name.clone()),
        fork_point: Some(app::model::ForkPoint::Time(moment)),
        ..Default::default()
    };
    engine.create(req).await?;
    wait(engine, "pitr").await?;
    let ours = started.elapsed();
    engine.destroy("pitr", false).await?;

    // By hand: the same snapshot, the same archive, the same target. The
    // archive already reaches past the moment (pgfleet made sure).
    flush().await;
    let started = Instant::now();
    let mut cp = Command::new("cp");
    cp.args(["-a", "--reflink=always"]).arg(snapshot.1.join("data")).arg(dir);
    ok(cp, "cp --reflink snapshot").await?;
    std::fs::write(dir.join("recovery.signal"), "")?;
    t.user.own(&dir.join("recovery.signal"))?;
    let restore = format!(
        "pgbackrest --config={} --stanza={} --pg1-path={} archive-get %f %p",
        provisioner
            .layout()
            .root()
            .parent()
            .unwrap()
            .join("backups")
            .join("conf")
            .join(format!("{}.conf", src.name))
            .display(),
        src.name,
        dir.display()
    );
    let opts = format!(
        "-p {port} -k {} -c listen_addresses='' {settings} -c \"restore_command={restore}\" \
         -c \"recovery_target_time={}\" -c recovery_target_action=promote -c archive_mode=off",
        dir.parent().unwrap().display(),
        moment.to_rfc3339()
    );
    let mut start = tool(t.bin, "pg_ctl", t.user);
    start.arg("start").arg("-D").arg(dir).arg("-l").arg(dir.join("log")).args(["-W", "-s", "-o", &opts]);
    ok(start, "pg_ctl start").await?;
    loop {
        if let Ok(mut copy) = sql::connect(dir.parent().unwrap(), port, "postgres").await {
            if !sqlx::query_scalar::<_, bool>("SELECT pg_is_in_recovery()").fetch_one(&mut copy).await? {
                break;
            }
        }
        anyhow::ensure!(
            dir.join("postmaster.pid").exists() || started.elapsed() < Duration::from_secs(10),
            "the by-hand copy stopped; see {}",
            dir.join("log").display()
        );
        tokio::time::sleep(Duration::from_millis(5)).await;
    }
    let hand = started.elapsed();
    super::pg_ctl_stop(t.bin, t.user, dir).await;
    std::fs::remove_dir_all(dir)?;
    Ok((ours, hand, wal, span.as_secs()))
}

struct Target<'a> {
    bin: &'a Path,
    user: &'a OsUser,
    src_data: &'a Path,
    src_socket: &'a Path,
    src_port: u16,
}

/// A fork (or, with `slot`, a follower) by hand: the backup API held in one
/// session, `cp -a --reflink=always`, then start until writable (or caught
/// up).
async fn hand_clone(t: &Target<'_>, dir: &Path, port: u16, settings: &str, slot: Option<&str>) -> anyhow::Result<()> {
    let mut conn = sql::connect(t.src_socket, t.src_port, "postgres").await?;
    let pin = slot.unwrap_or("hand_clone_pin");
    sqlx::query("SELECT pg_create_physical_replication_slot($1, true, $2)")
        .bind(pin)
        .bind(slot.is_none())
        .execute(&mut conn)
        .await?;
    sqlx::query("SELECT pg_backup_start('by hand', true)").execute(&mut conn).await?;
    let mut cp = Command::new("cp");
    cp.args(["-a", "--reflink=always"]).arg(t.src_data).arg(dir);
    ok(cp, "cp --reflink").await?;
    for file in ["postmaster.pid", "postmaster.opts"] {
        let _ = std::fs::remove_file(dir.join(file));
    }
    for entry in std::fs::read_dir(dir.join("pg_replslot"))?.flatten() {
        std::fs::remove_dir_all(entry.path())?;
    }
    let (label,): (String,) =
        sqlx::query_as("SELECT labelfile FROM pg_backup_stop(false)").fetch_one(&mut conn).await?;
    std::fs::write(dir.join("backup_label"), label)?;
    t.user.own(&dir.join("backup_label"))?;
    let mut wal = Command::new("cp");
    wal.args(["-a", "--reflink=always"]).arg(t.src_data.join("pg_wal").join(".")).arg(dir.join("pg_wal"));
    ok(wal, "cp --reflink pg_wal").await?;
    let mut opts = format!("-p {port} -k {} -c listen_addresses='' {settings}", dir.parent().unwrap().display());
    if let Some(slot) = slot {
        std::fs::write(dir.join("standby.signal"), "")?;
        opts.push_str(&format!(
            " -c primary_conninfo='host={} port={} user=pgfleet' -c primary_slot_name={slot}",
            t.src_socket.display(),
            t.src_port
        ));
    } else {
        std::fs::write(dir.join("recovery.signal"), "")?;
        opts.push_str(" -c recovery_target=immediate -c recovery_target_action=promote -c restore_command=false");
    }
    let mut start = tool(t.bin, "pg_ctl", t.user);
    start.arg("start").arg("-D").arg(dir).arg("-l").arg(dir.join("log")).args(["-w", "-t", "600", "-s", "-o", &opts]);
    ok(start, "pg_ctl start").await?;
    let target: Option<String> = match slot {
        Some(_) => Some(sqlx::query_scalar("SELECT pg_current_wal_lsn()::text").fetch_one(&mut conn).await?),
        None => None,
    };
    drop(conn);
    let mut copy = sql::connect(dir.parent().unwrap(), port, "postgres").await?;
    loop {
        let done: bool = match &target {
            None => !sqlx::query_scalar::<_, bool>("SELECT pg_is_in_recovery()").fetch_one(&mut copy).await?,
            Some(lsn) => {
                sqlx::query_scalar("SELECT pg_last_wal_replay_lsn() >= $1::pg_lsn")
                    .bind(lsn)
                    .fetch_one(&mut copy)
                    .await?
            }
        };
        if done {
            return Ok(());
        }
        tokio::time::sleep(Duration::from_millis(5)).await;
    }
}
