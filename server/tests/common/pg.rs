//! Helpers for tests that run real PostgreSQL through the engine: a test
//! engine with its own home and port range, whose Drop stops every server
//! it started (even when the test fails) and keeps the home of a failed
//! test for post-mortem.

use std::path::Path;
use std::sync::Arc;
use std::time::{Duration, Instant};

use app::model::{DatabaseView, Phase};
use pgfleet::engine::{CreateRequest, Engine, EngineConfig};
use pgfleet::provisioner::local::{LocalConfig, LocalProvisioner};
use pgfleet::store::Store;
use sqlx::postgres::PgConnection;
use sqlx::Connection;

use super::TestHome;

/// Ports 20000–31999 (below the kernel's ephemeral range, which clients'
/// sockets draw from) in blocks of 20. A block is held through an exclusive
/// `flock` on its file for as long as the test process lives, so engines
/// of one binary, and of binaries running at once (`make test` runs its
/// two store passes side by side), never share a port; the kernel drops
/// the locks of a process however it ends.
pub fn port_block() -> std::ops::RangeInclusive<u16> {
    use std::os::fd::AsRawFd;
    static HELD: std::sync::Mutex<Vec<std::fs::File>> = std::sync::Mutex::new(Vec::new());
    const FIRST: u16 = 20_000;
    const SIZE: u16 = 20;
    const BLOCKS: u16 = 600;
    let dir = std::env::temp_dir().join("pgfleet-test-ports");
    std::fs::create_dir_all(&dir).expect("a folder for port locks");
    let mut held = HELD.lock().unwrap_or_else(|poisoned| poisoned.into_inner());
    for block in 0..BLOCKS {
        let file = std::fs::OpenOptions::new()
            .create(true)
            .truncate(false)
            .write(true)
            .open(dir.join(format!("{block}.lock")))
            .expect("a port lock file");
        // SAFETY: flock on a descriptor this function owns.
        if unsafe { libc::flock(file.as_raw_fd(), libc::LOCK_EX | libc::LOCK_NB) } == 0 {
            held.push(file);
            let base = FIRST + block * SIZE;
            return base..=base + SIZE - 1;
        }
    }
    panic!("all {BLOCKS} test port blocks are held by running tests");
}

/// A fast-ticking engine with a block of ports of its own.
pub fn test_engine_config() -> EngineConfig {
    EngineConfig {
        ports: port_block(),
        tick: Duration::from_millis(200),
        info_every: Duration::from_secs(1),
        backups: pgfleet::engine::backups::Schedule { tick: Duration::from_millis(500), ..Default::default() },
        sample_every: Duration::from_secs(1),
    }
}

pub struct TestEngine {
    pub engine: Engine,
    pub store: Store,
    pub provisioner: Arc<LocalProvisioner>,
    pub config: EngineConfig,
    /// `None` once handed on by [`TestEngine::crash`].
    home: Option<TestHome>,
}

impl TestEngine {
    pub async fn start() -> TestEngine {
        super::init_logs();
        Self::start_in(TestHome::new(), test_engine_config()).await
    }

    /// A new engine over the same home (as after a restart of pgfleet).
    pub async fn start_in(home: TestHome, config: EngineConfig) -> TestEngine {
        let store = Store::open(super::store_for(home.path())).await.expect("store opens");
        let provisioner =
            Arc::new(LocalProvisioner::new(LocalConfig::new(home.path())).expect("PostgreSQL is installed"));
        let engine = Engine::start(store.clone(), provisioner.clone(), config.clone());
        TestEngine { engine, store, provisioner, config, home: Some(home) }
    }

    pub fn home(&self) -> &Path {
        self.home.as_ref().expect("home").path()
    }

    /// Stops the control plane abruptly, as a crash would, and hands back
    /// the home (its servers keep running, like after a real crash).
    pub async fn crash(mut self) -> (TestHome, EngineConfig) {
        self.engine.shutdown().await;
        (self.home.take().expect("home"), self.config.clone())
    }

    pub async fn create(&self, req: CreateRequest) -> DatabaseView {
        self.engine.create(req).await.expect("create accepted")
    }

    pub async fn create_named(&self, name: &str) -> DatabaseView {
        self.create(CreateRequest { name: Some(name.into()), ..Default::default() }).await
    }

    /// Polls until `name` is `phase`; fails early if it fails instead.
    pub async fn wait_for(&self, name: &str, phase: Phase, within: Duration) -> DatabaseView {
        wait_phase(&self.store, name, phase, within).await
    }

    pub async fn wait_until_gone(&self, name: &str, within: Duration) {
        let deadline = Instant::now() + within;
        while self.store.view(name).await.expect("store answers").is_some() {
            assert!(Instant::now() < deadline, "{name} still there after {within:?}");
            tokio::time::sleep(Duration::from_millis(50)).await;
        }
    }

    pub async fn connect(&self, name: &str) -> PgConnection {
        connect_to(&self.engine, name).await
    }

    pub fn data_dir(&self, name: &str) -> std::path::PathBuf {
        self.provisioner.layout().data(name)
    }
}

impl Drop for TestEngine {
    fn drop(&mut self) {
        // The reconciler would restart what is stopped below.
        self.engine.abort();
        if let Some(home) = &self.home {
            stop_all_servers(home.path());
        }
    }
}

/// Postmaster pids under `home` that are alive.
fn live_servers(home: &Path) -> Vec<i32> {
    let Ok(entries) = std::fs::read_dir(home.join("databases")) else { return Vec::new() };
    entries
        .flatten()
        .filter_map(|entry| {
            let text = std::fs::read_to_string(entry.path().join("data").join("postmaster.pid")).ok()?;
            text.lines().next()?.trim().parse::<i32>().ok()
        })
        .filter(|pid| pgfleet::provisioner::local::os::process_alive(*pid))
        .collect()
}

/// Stops every PostgreSQL server under `home`: fast shutdown, then kill,
/// until none has been alive for a moment (an aborted reconciler step may
/// still be starting one).
pub fn stop_all_servers(home: &Path) {
    let deadline = Instant::now() + Duration::from_secs(30);
    let mut quiet_since: Option<Instant> = None;
    loop {
        let pids = live_servers(home);
        if pids.is_empty() {
            let since = *quiet_since.get_or_insert_with(Instant::now);
            if since.elapsed() > Duration::from_millis(500) || Instant::now() > deadline {
                return;
            }
        } else {
            quiet_since = None;
            let signal = if Instant::now() + Duration::from_secs(15) > deadline { libc::SIGKILL } else { libc::SIGINT };
            for pid in pids {
                // SAFETY: signalling a live postmaster pid read from its pidfile.
                unsafe { libc::kill(pid, signal) };
            }
        }
        if Instant::now() > deadline {
            return;
        }
        std::thread::sleep(Duration::from_millis(25));
    }
}

/// Whether a process runs (zombies do not count).
pub fn alive(pid: i32) -> bool {
    pgfleet::provisioner::local::os::process_alive(pid)
}

/// Runs a query that returns one i64.
/// Polls `store` until `name` is `phase`; fails early if it fails instead.
pub async fn wait_phase(store: &Store, name: &str, phase: Phase, within: Duration) -> DatabaseView {
    let deadline = Instant::now() + within;
    loop {
        let view = store.view(name).await.expect("store answers");
        if let Some(view) = &view {
            if view.phase == phase {
                return view.clone();
            }
            if view.phase == Phase::Failed && phase != Phase::Failed {
                panic!("{name} failed: {:?}", view.message);
            }
        }
        assert!(Instant::now() < deadline, "{name} not {phase:?} within {within:?}: {view:?}");
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
}

/// A connection to `name` with the credentials `engine` hands out.
pub async fn connect_to(engine: &Engine, name: &str) -> PgConnection {
    let url = engine.credentials(name).await.expect("credentials");
    PgConnection::connect(&url).await.unwrap_or_else(|e| panic!("connect to {name}: {e}"))
}

pub async fn scalar(conn: &mut PgConnection, sql: &str) -> i64 {
    sqlx::query_scalar::<_, i64>(sql).fetch_one(conn).await.unwrap_or_else(|e| panic!("{sql}: {e}"))
}

pub async fn exec(conn: &mut PgConnection, sql: &str) {
    sqlx::raw_sql(sql).execute(conn).await.unwrap_or_else(|e| panic!("{sql}: {e}"));
}

/// Slots on `db`'s server.
pub async fn slots(t: &TestEngine, db: &str) -> Vec<String> {
    let spec = t.store.spec(db).await.unwrap().unwrap();
    t.provisioner.list_slots(&spec).await.unwrap()
}

/// pgbench's tpcb-like transactions keep this true at every commit.
pub const INVARIANT: &str =
    "SELECT ((SELECT sum(abalance) FROM pgbench_accounts) = (SELECT sum(tbalance) FROM pgbench_tellers) \
     AND (SELECT sum(tbalance) FROM pgbench_tellers) = (SELECT sum(bbalance) FROM pgbench_branches))::int::int8";

/// Fills `url`'s database with `pgbench -i -s scale`, then starts a writer
/// that keeps committing until the returned child is dropped: 100
/// transactions a second, steady writes that leave the two cores to the
/// copies, backups and recoveries under test (unthrottled, pgbench alone
/// takes most of them).
pub async fn pgbench_load(url: &str, scale: u32) -> tokio::process::Child {
    let pgbench = pgfleet::provisioner::local::os::find_pg_bin(None).expect("PostgreSQL is installed").join("pgbench");
    let init = tokio::process::Command::new(&pgbench)
        .args(["-i", "-q", "-s", &scale.to_string(), url])
        .output()
        .await
        .expect("pgbench runs");
    assert!(init.status.success(), "pgbench -i: {}", String::from_utf8_lossy(&init.stderr));
    tokio::process::Command::new(&pgbench)
        .args(["-n", "-c", "2", "-R", "100", "-T", "900", url])
        .stdout(std::process::Stdio::null())
        .stderr(std::process::Stdio::null())
        .kill_on_drop(true)
        .spawn()
        .expect("pgbench load starts")
}
