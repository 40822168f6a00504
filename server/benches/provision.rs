//! `cargo bench --bench provision`: how long pgfleet takes to make an empty
//! database, a fork and a follower, next to the same thing done by hand
//! with PostgreSQL's own tools in the same run, as ratios.
//!
//! The source is made with `pgbench -i -s $PGFLEET_BENCH_SCALE` (default 70,
//! about 1 GB) and kept under `pgbench` write load while forks and
//! followers are made. Targets: fork and follower within 1.1x of by hand,
//! an empty database in under a second.
//!
//! Then, as root with `mkfs.xfs` at hand, the same on a reflink XFS for
//! each scale in `$PGFLEET_BENCH_CLONE_SCALES` (default the scale above;
//! `70,350` adds the 5 GB source): see [`clone`].

#[path = "support/clone.rs"]
mod clone;

use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::time::{Duration, Instant};

use app::model::Phase;
use pgfleet::engine::{CreateRequest, Engine, EngineConfig};
use pgfleet::provisioner::local::os::OsUser;
use pgfleet::provisioner::local::{LocalConfig, LocalProvisioner};
use pgfleet::store::Store;
use tokio::process::Command;

const ROUNDS: usize = 3;

/// The backup loop kept idle: a full backup of each fork made would land
/// inside the next measurement (pgfleet and by hand alike). The
/// point-in-time row takes its snapshot itself.
fn quiet_backups() -> pgfleet::engine::backups::Schedule {
    pgfleet::engine::backups::Schedule { tick: Duration::from_secs(7 * 24 * 3600), ..Default::default() }
}

#[tokio::main]
async fn main() -> anyhow::Result<()> {
    let scale: u32 = std::env::var("PGFLEET_BENCH_SCALE").ok().and_then(|s| s.parse().ok()).unwrap_or(70);
    let home = tempfile::Builder::new().prefix("pgfleet-bench-").tempdir()?;
    let result = run(home.path(), scale).await;
    stop_servers(home.path());
    result?;
    let scales: Vec<u32> = std::env::var("PGFLEET_BENCH_CLONE_SCALES")
        .ok()
        .map(|s| s.split(',').filter_map(|n| n.trim().parse().ok()).collect())
        .unwrap_or_else(|| vec![scale]);
    // SAFETY: geteuid has no preconditions.
    let root = unsafe { libc::geteuid() } == 0;
    if !root || std::process::Command::new("mkfs.xfs").arg("-V").output().is_err() {
        println!("\nclone rows skipped: they need root and mkfs.xfs (apt-get install xfsprogs) for a reflink XFS");
        return Ok(());
    }
    let pitr_seconds: u64 =
        std::env::var("PGFLEET_BENCH_PITR_SECONDS").ok().and_then(|s| s.parse().ok()).unwrap_or(300);
    let mut rows = Vec::new();
    for (i, scale) in scales.into_iter().enumerate() {
        let fs = clone::ReflinkFs::new(16 + scale / 8)?;
        let pitr = (i == 0 && pitr_seconds > 0).then(|| Duration::from_secs(pitr_seconds));
        rows.push(clone::run(&fs, scale, pitr).await?);
    }
    print_clone_rows(&rows);
    Ok(())
}

fn print_clone_rows(rows: &[clone::Rows]) {
    println!();
    println!("clones on a reflink XFS, median of {ROUNDS}; source under pgbench write load");
    println!(
        "{:>5} {:>8} {:<9} {:>9} {:>16} {:>7} {:>19}",
        "scale", "size", "operation", "pgfleet", "by hand (clone)", "ratio", "pg_basebackup fork"
    );
    for r in rows {
        let (ours, hand, basebackup) = r.fork;
        println!(
            "{:>5} {:>6.2}GB {:<9} {:>8.2}s {:>15.2}s {:>6.2}x {:>18.2}s",
            r.scale,
            r.gigabytes,
            "fork",
            ours.as_secs_f64(),
            hand.as_secs_f64(),
            ours.as_secs_f64() / hand.as_secs_f64(),
            basebackup.as_secs_f64()
        );
        let (ours, hand) = r.follower;
        println!(
            "{:>5} {:>6.2}GB {:<9} {:>8.2}s {:>15.2}s {:>6.2}x",
            r.scale,
            r.gigabytes,
            "follower",
            ours.as_secs_f64(),
            hand.as_secs_f64(),
            ours.as_secs_f64() / hand.as_secs_f64()
        );
    }
    if let (Some(small), Some(large)) = (rows.first(), rows.last()) {
        if rows.len() > 1 {
            println!(
                "the scale-{} fork took {:.2}x the scale-{} fork",
                large.scale,
                large.fork.0.as_secs_f64() / small.fork.0.as_secs_f64(),
                small.scale
            );
        }
    }
    for r in rows {
        if let Some((ours, hand, wal, seconds)) = r.pitr {
            println!(
                "{:>5} {:>6.2}GB {:<9} {:>8.2}s {:>15.2}s {:>6.2}x   ({} of WAL, {seconds} s of load, replayed)",
                r.scale,
                r.gigabytes,
                "pitr fork",
                ours.as_secs_f64(),
                hand.as_secs_f64(),
                ours.as_secs_f64() / hand.as_secs_f64(),
                app::format::bytes(wal)
            );
        }
    }
    println!("by hand (clone): backup API held in one session + cp -a --reflink=always + start until writable");
    println!("                 (follower: its slot first, standby.signal, until replay reached the source)");
    println!("by hand (pitr):  cp -a --reflink=always of the same snapshot + start with the same restore_command");
    println!("                 and recovery_target_time, until writable");
}

async fn run(home: &Path, scale: u32) -> anyhow::Result<()> {
    let store = Store::open(&home.join("pgfleet.sqlite3")).await?;
    let provisioner = Arc::new(LocalProvisioner::new(LocalConfig::new(home))?);
    let config = EngineConfig { tick: Duration::from_millis(100), backups: quiet_backups(), ..EngineConfig::default() };
    let engine = Engine::start(store.clone(), provisioner.clone(), config);
    let bin = provisioner.pg_bin().to_path_buf();
    let user = provisioner.os_user().clone();

    engine.create(named("src")).await?;
    wait(&engine, "src").await?;
    let url = engine.credentials("src").await?;
    eprintln!("making a source of pgbench scale {scale}…");
    let init = Command::new(bin.join("pgbench")).args(["-i", "-q", "-s", &scale.to_string(), &url]).output().await?;
    anyhow::ensure!(init.status.success(), "pgbench -i failed: {}", String::from_utf8_lossy(&init.stderr));
    let size = provisioner.layout().data("src");
    eprintln!("source data dir: {:.2} GB", dir_size(&size) as f64 / 1e9);
    let mut load: Option<tokio::process::Child> = None;

    let by_hand_dir = home.join("by-hand");
    std::fs::create_dir_all(&by_hand_dir)?;
    user.own(&by_hand_dir)?;
    let src = store.spec("src").await?.expect("src spec");
    let src_socket = provisioner.layout().run("src");
    // Below the kernel's ephemeral range, above pgfleet's default ports.
    let mut hand_port = 16_900;
    // A copy recovers only with settings at least its source's (hot standby
    // checks them): take them from the running source, whatever pgfleet
    // sets, so a change there cannot silently break the by-hand side.
    let source_settings = hot_standby_settings(&bin, &user, &src_socket, src.port).await?;

    let mut rows = Vec::new();
    for (label, kind) in [("empty database (idle)", 0), ("fork (under load)", 1), ("follower (under load)", 2)] {
        // Empty databases are measured on an idle machine; copies under load.
        if kind > 0 && load.is_none() {
            load = Some(
                Command::new(bin.join("pgbench"))
                    .args(["-n", "-c", "2", "-T", "3600", &url])
                    .stdout(std::process::Stdio::null())
                    .stderr(std::process::Stdio::null())
                    .kill_on_drop(true)
                    .spawn()?,
            );
        }
        let mut ours = Vec::new();
        let mut theirs = Vec::new();
        for round in 0..ROUNDS {
            let name = format!("b{kind}-{round}");
            // Neither side should pay for the previous step's writeback.
            flush().await;
            let started = Instant::now();
            let req = match kind {
                0 => named(&name),
                1 => CreateRequest { name: Some(name.clone()), fork: Some("src".into()), ..Default::default() },
                _ => CreateRequest { name: Some(name.clone()), follow: Some("src".into()), ..Default::default() },
            };
            engine.create(req).await?;
            wait(&engine, &name).await?;
            ours.push(started.elapsed());
            engine.destroy(&name, false).await?;

            hand_port += 1;
            let dir = by_hand_dir.join(&name);
            flush().await;
            let started = Instant::now();
            let target = ByHand { kind, dir: &dir, port: hand_port, src_socket: &src_socket, src_port: src.port };
            by_hand(&bin, &user, &target, &source_settings, &name).await?;
            theirs.push(started.elapsed());
            pg_ctl_stop(&bin, &user, &dir).await;
            std::fs::remove_dir_all(&dir)?;
            if kind == 2 {
                drop_slot(&bin, &user, &src_socket, src.port, &format!("hand_{}", name.replace('-', "_"))).await;
            }
        }
        rows.push((label, median(ours), median(theirs)));
    }
    if let Some(mut load) = load {
        let _ = load.kill().await;
    }
    engine.shutdown().await;

    println!();
    println!(
        "pgfleet vs by hand, median of {ROUNDS}; source: pgbench scale {scale}, under pgbench write load for copies"
    );
    println!("{:<24} {:>10} {:>10} {:>7}", "operation", "pgfleet", "by hand", "ratio");
    for (label, ours, theirs) in rows {
        println!(
            "{:<24} {:>9.2}s {:>9.2}s {:>6.2}x",
            label,
            ours.as_secs_f64(),
            theirs.as_secs_f64(),
            ours.as_secs_f64() / theirs.as_secs_f64()
        );
    }
    println!(
        "by hand: empty = initdb + pg_ctl start -w; fork = pg_basebackup -X stream -c fast + start until writable;"
    );
    println!("         follower = pg_basebackup -R -C -S -c fast + start + replay caught up with the source");
    Ok(())
}

async fn flush() {
    let _ = Command::new("sync").status().await;
}

fn named(name: &str) -> CreateRequest {
    CreateRequest { name: Some(name.into()), ..Default::default() }
}

async fn wait(engine: &Engine, name: &str) -> anyhow::Result<()> {
    let mut events = engine.subscribe();
    loop {
        let view = engine.get(name).await?;
        match view.phase {
            Phase::Available => return Ok(()),
            Phase::Failed => anyhow::bail!("{name} failed: {:?}", view.message),
            _ => {}
        }
        let _ = tokio::time::timeout(Duration::from_millis(200), events.recv()).await;
    }
}

fn tool(bin: &Path, name: &str, user: &OsUser) -> Command {
    let mut cmd = Command::new(bin.join(name));
    if user.switch {
        cmd.uid(user.uid).gid(user.gid);
    }
    cmd.stdout(std::process::Stdio::null()).stderr(std::process::Stdio::piped());
    cmd
}

async fn ok(mut cmd: Command, what: &str) -> anyhow::Result<()> {
    let out = cmd.output().await?;
    anyhow::ensure!(out.status.success(), "{what}: {}", String::from_utf8_lossy(&out.stderr));
    Ok(())
}

/// The settings PostgreSQL requires a recovering copy to have at least as
/// high as its source, as `-c name=value` options.
async fn hot_standby_settings(bin: &Path, user: &OsUser, socket: &Path, port: u16) -> anyhow::Result<String> {
    let mut cmd = tool(bin, "psql", user);
    cmd.args(["-h", &socket.to_string_lossy(), "-p", &port.to_string(), "-U", "pgfleet", "-d", "postgres", "-Atc"])
        .arg(
            "SELECT string_agg(format('-c %s=%s', name, setting), ' ') FROM pg_settings WHERE name IN \
             ('max_connections', 'max_worker_processes', 'max_wal_senders', 'max_replication_slots', \
             'max_prepared_transactions', 'max_locks_per_transaction')",
        )
        .stdout(std::process::Stdio::piped());
    let out = cmd.output().await?;
    anyhow::ensure!(out.status.success(), "reading the source's settings: {}", String::from_utf8_lossy(&out.stderr));
    Ok(String::from_utf8_lossy(&out.stdout).trim().to_string())
}

/// What one by-hand copy makes, and from where.
struct ByHand<'a> {
    /// 0 empty, 1 fork, 2 follower.
    kind: u8,
    dir: &'a Path,
    port: u16,
    src_socket: &'a Path,
    src_port: u16,
}

async fn by_hand(bin: &Path, user: &OsUser, t: &ByHand<'_>, settings: &str, name: &str) -> anyhow::Result<()> {
    let (kind, dir, port, src_socket, src_port) = (t.kind, t.dir, t.port, t.src_socket, t.src_port);
    let socket_opts = format!("-p {port} -k {} -c listen_addresses='' {settings}", dir.parent().unwrap().display());
    let src_conn = format!("host={} port={src_port} user=pgfleet dbname=postgres", src_socket.display());
    match kind {
        0 => {
            let mut initdb = tool(bin, "initdb", user);
            initdb.arg("-D").arg(dir).args(["-U", "pgfleet", "-A", "trust"]);
            ok(initdb, "initdb").await?;
        }
        _ => {
            let mut bb = tool(bin, "pg_basebackup", user);
            bb.arg("-d").arg(&src_conn).arg("-D").arg(dir).args(["-X", "stream", "-c", "fast"]);
            if kind == 2 {
                bb.args(["-R", "-C", "-S", &format!("hand_{}", name.replace('-', "_"))]);
            }
            ok(bb, "pg_basebackup").await?;
        }
    }
    let mut opts = socket_opts.clone();
    if kind == 1 {
        std::fs::write(dir.join("recovery.signal"), "")?;
        opts.push_str(" -c recovery_target=immediate -c recovery_target_action=promote -c restore_command=false");
    }
    let mut start = tool(bin, "pg_ctl", user);
    start.arg("start").arg("-D").arg(dir).arg("-l").arg(dir.join("log")).args(["-w", "-s", "-o", &opts]);
    ok(start, "pg_ctl start").await?;
    let psql = |sql: &str| {
        let mut cmd = tool(bin, "psql", user);
        cmd.args([
            "-h",
            &dir.parent().unwrap().to_string_lossy(),
            "-p",
            &port.to_string(),
            "-U",
            "pgfleet",
            "-d",
            "postgres",
            "-Atc",
            sql,
        ]);
        cmd.stdout(std::process::Stdio::piped());
        cmd
    };
    match kind {
        1 => loop {
            let out = psql("SELECT pg_is_in_recovery()").output().await?;
            if String::from_utf8_lossy(&out.stdout).trim() == "f" {
                break;
            }
        },
        2 => {
            let mut src = tool(bin, "psql", user);
            src.arg("-d")
                .arg(&src_conn)
                .args(["-Atc", "SELECT pg_current_wal_lsn()"])
                .stdout(std::process::Stdio::piped());
            let out = src.output().await?;
            anyhow::ensure!(out.status.success(), "psql on the source: {}", String::from_utf8_lossy(&out.stderr));
            let target = String::from_utf8_lossy(&out.stdout).trim().to_string();
            loop {
                let out = psql(&format!("SELECT pg_last_wal_replay_lsn() >= '{target}'::pg_lsn")).output().await?;
                if String::from_utf8_lossy(&out.stdout).trim() == "t" {
                    break;
                }
            }
        }
        _ => {}
    }
    Ok(())
}

async fn pg_ctl_stop(bin: &Path, user: &OsUser, dir: &Path) {
    let mut stop = tool(bin, "pg_ctl", user);
    stop.arg("stop").arg("-D").arg(dir).args(["-m", "immediate", "-w", "-s"]);
    let _ = stop.output().await;
}

async fn drop_slot(bin: &Path, user: &OsUser, socket: &Path, port: u16, slot: &str) {
    let mut cmd = tool(bin, "psql", user);
    cmd.args(["-h", &socket.to_string_lossy(), "-p", &port.to_string(), "-U", "pgfleet", "-d", "postgres", "-Atc"])
        .arg(format!("SELECT pg_drop_replication_slot('{slot}')"));
    let _ = cmd.output().await;
}

fn median(mut v: Vec<Duration>) -> Duration {
    v.sort();
    v[v.len() / 2]
}

fn dir_size(path: &Path) -> u64 {
    let mut total = 0;
    let mut stack: Vec<PathBuf> = vec![path.to_path_buf()];
    while let Some(dir) = stack.pop() {
        for entry in std::fs::read_dir(&dir).into_iter().flatten().flatten() {
            match entry.metadata() {
                Ok(m) if m.is_dir() => stack.push(entry.path()),
                Ok(m) => total += m.len(),
                Err(_) => {}
            }
        }
    }
    total
}

/// Stops every server the bench started, whatever happened.
fn stop_servers(home: &Path) {
    for root in [home.join("databases"), home.join("by-hand")] {
        for entry in std::fs::read_dir(&root).into_iter().flatten().flatten() {
            let pidfile = entry.path().join("data").join("postmaster.pid");
            let pidfile = if pidfile.exists() { pidfile } else { entry.path().join("postmaster.pid") };
            if let Some(pid) =
                std::fs::read_to_string(&pidfile).ok().and_then(|t| t.lines().next()?.trim().parse::<i32>().ok())
            {
                // SAFETY: signalling a postmaster this bench started.
                unsafe { libc::kill(pid, libc::SIGQUIT) };
            }
        }
    }
}
