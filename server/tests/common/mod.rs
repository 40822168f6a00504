//! Test helpers: a real pgfleet on port 0 with its own home directory. The
//! home is removed after a passing test and kept (its path printed) after a
//! failing one, for post-mortem.

#![allow(dead_code)]

pub mod accounts;
pub mod binary;
pub mod cli;
pub mod crd;
pub mod kube_api;
pub mod kube_fleet;
pub mod openapi;
pub mod operator;
pub mod pg;
pub mod pod_api;
pub mod reflink;

use std::net::SocketAddr;
use std::path::{Path, PathBuf};

use pgfleet::config::Config;
use pgfleet::serve::Running;

pub struct TestApp {
    pub addr: SocketAddr,
    pub client: reqwest::Client,
    running: Option<Running>,
    /// pgfleet's home: the test home or a folder inside it.
    pgfleet_home: PathBuf,
    home: TestHome,
}

impl TestApp {
    pub fn url(&self, path: &str) -> String {
        format!("http://{}{}", self.addr, path)
    }

    pub fn home(&self) -> &Path {
        &self.pgfleet_home
    }

    pub async fn shutdown(mut self) {
        if let Some(running) = self.running.take() {
            running.shutdown().await.expect("pgfleet shut down cleanly");
        }
    }

    pub fn engine(&self) -> &pgfleet::engine::Engine {
        self.running.as_ref().expect("running").engine()
    }

    pub fn store(&self) -> pgfleet::store::Store {
        self.running.as_ref().expect("running").engine().store().clone()
    }

    pub fn token(&self) -> String {
        std::fs::read_to_string(self.home().join("admin-token")).expect("admin token written").trim().to_string()
    }

    pub fn api(&self) -> pgfleet::client::Client {
        pgfleet::client::Client::new(format!("http://{}", self.addr), Some(self.token()))
    }

    pub fn authed(&self, method: reqwest::Method, path: &str) -> reqwest::RequestBuilder {
        self.client.request(method, self.url(path)).bearer_auth(self.token())
    }
}

impl Drop for TestApp {
    fn drop(&mut self) {
        if let Some(running) = &self.running {
            running.engine().abort();
        }
        pg::stop_all_servers(&self.pgfleet_home);
    }
}

/// Test logs go to the test's captured output, at `RUST_LOG` or warn.
pub fn init_logs() {
    let filter = tracing_subscriber::EnvFilter::try_from_default_env()
        .unwrap_or_else(|_| tracing_subscriber::EnvFilter::new("warn,pgfleet=info"));
    let _ = tracing_subscriber::fmt().with_env_filter(filter).with_test_writer().try_init();
}

/// Starts pgfleet on 127.0.0.1:0 with a fresh home.
pub async fn spawn_app() -> TestApp {
    spawn_app_with(|_| {}).await
}

/// [`spawn_app`] with changes to its configuration.
pub async fn spawn_app_with(change: impl FnOnce(&mut Config)) -> TestApp {
    init_logs();
    let home = TestHome::new();
    let mut config = Config::new(home.path());
    config.listen = SocketAddr::from(([127, 0, 0, 1], 0));
    config.engine = pg::test_engine_config();
    change(&mut config);
    if config.store == Config::new(&config.home).store {
        config.store = store_for(&config.home);
    }
    // Inside the test home, or on a file system the test made (and
    // removes) itself.
    let pgfleet_home = config.home.clone();
    let running = pgfleet::serve::start(config).await.expect("pgfleet starts");
    TestApp { addr: running.addr, client: reqwest::Client::new(), running: Some(running), pgfleet_home, home }
}

/// The metadata store of a pgfleet in `home`: its SQLite file, or, when
/// `PGFLEET_TEST_STORE` names a PostgreSQL server (`make test` runs the
/// suite once that way), a database of its own there, named after the home
/// so a restarted pgfleet finds the same one.
pub fn store_for(home: &Path) -> pgfleet::store::StoreLocation {
    let Ok(server) = std::env::var("PGFLEET_TEST_STORE") else {
        return pgfleet::store::StoreLocation::Sqlite(home.join("pgfleet.sqlite3"));
    };
    use sha2::Digest;
    let digest = sha2::Sha256::digest(home.as_os_str().as_encoded_bytes());
    let name: String = format!("t_{}", digest.iter().take(8).map(|b| format!("{b:02x}")).collect::<String>());
    let base = server.rsplit_once('/').filter(|(scheme, _)| !scheme.ends_with('/')).map_or(server.as_str(), |(b, _)| b);
    let url = format!("{base}/{name}");
    let (server, db) = (server.clone(), name.clone());
    // Called from sync code inside async tests: a thread of its own may
    // run a runtime.
    std::thread::spawn(move || {
        let runtime = tokio::runtime::Builder::new_current_thread().enable_all().build().expect("runtime");
        runtime.block_on(async {
            use sqlx::Connection;
            let mut conn = sqlx::PgConnection::connect(&server).await.expect("PGFLEET_TEST_STORE answers");
            let exists: bool = sqlx::query_scalar("SELECT EXISTS (SELECT 1 FROM pg_database WHERE datname = $1)")
                .bind(&db)
                .fetch_one(&mut conn)
                .await
                .expect("pg_database reads");
            if !exists {
                sqlx::query(&format!("CREATE DATABASE {db}")).execute(&mut conn).await.expect("test store created");
            }
        })
    })
    .join()
    .expect("the test store is made");
    pgfleet::store::StoreLocation::Postgres(url)
}

/// A temporary pgfleet home that survives a failed test.
pub struct TestHome {
    dir: Option<tempfile::TempDir>,
    path: PathBuf,
}

impl TestHome {
    pub fn new() -> Self {
        let dir = tempfile::Builder::new().prefix("pgfleet-test-").tempdir().expect("temp home");
        let path = dir.path().to_path_buf();
        TestHome { dir: Some(dir), path }
    }

    pub fn path(&self) -> &Path {
        &self.path
    }
}

impl Drop for TestHome {
    fn drop(&mut self) {
        // A template build the test never waited for (initdb and the
        // postgres it runs) would outlive the test and write into the home
        // while it is being removed.
        kill_processes_in(&self.path);
        if std::thread::panicking() {
            if let Some(dir) = self.dir.take() {
                let kept = dir.keep();
                eprintln!("test failed; pgfleet home kept for post-mortem at {}", kept.display());
            }
        }
    }
}

/// Kills every process working in `home` and waits until none is left.
pub fn kill_processes_in(home: &Path) {
    let deadline = std::time::Instant::now() + std::time::Duration::from_secs(10);
    loop {
        let pids = pgfleet::provisioner::local::os::processes_using(home);
        if pids.is_empty() || std::time::Instant::now() > deadline {
            return;
        }
        for pid in pids {
            // SAFETY: signalling a process found working in this test's home.
            unsafe { libc::kill(pid, libc::SIGKILL) };
        }
        std::thread::sleep(std::time::Duration::from_millis(25));
    }
}
