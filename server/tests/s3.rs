//! Backups in an S3-compatible store (`--backup-repo s3://…`): moto's S3
//! server, behind stunnel for the TLS pgBackRest insists on, both set up by
//! `make test`. A database archives and backs up into the bucket, and a
//! point-in-time fork is restored from it.

mod common;

use std::path::PathBuf;
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use app::model::{BackupKind, Phase};
use pgfleet::provisioner::local::backrest::Repo;
use reqwest::Method;
use serde_json::json;
use sqlx::Connection;

/// moto and stunnel, stopped when dropped (even when the test fails).
struct S3Store {
    moto: Child,
    stunnel: Child,
    /// The TLS port pgBackRest talks to.
    port: u16,
    _dir: tempfile::TempDir,
}

fn free_port() -> u16 {
    std::net::TcpListener::bind("127.0.0.1:0").unwrap().local_addr().unwrap().port()
}

fn moto_server() -> PathBuf {
    let tools = std::env::var_os("PGFLEET_TOOLS").map(PathBuf::from).unwrap_or_else(|| {
        let cache = std::env::var_os("XDG_CACHE_HOME")
            .map(PathBuf::from)
            .unwrap_or_else(|| PathBuf::from(std::env::var_os("HOME").expect("HOME")).join(".cache"));
        cache.join("pgfleet").join("tools")
    });
    let exe = tools.join("moto").join("bin").join("moto_server");
    assert!(exe.exists(), "{} is missing: run `make test` (or `bash .ci/setup test`) to install moto", exe.display());
    exe
}

/// Polls until something accepts connections on `port`.
fn wait_for_port(port: u16, what: &str) {
    let deadline = Instant::now() + Duration::from_secs(30);
    while std::net::TcpStream::connect(("127.0.0.1", port)).is_err() {
        assert!(Instant::now() < deadline, "{what} did not listen on {port}");
        std::thread::sleep(Duration::from_millis(50));
    }
}

impl S3Store {
    fn start(bucket: &str) -> S3Store {
        let dir = tempfile::Builder::new().prefix("pgfleet-s3-").tempdir().unwrap();
        let plain = free_port();
        let moto = Command::new(moto_server())
            .args(["-H", "127.0.0.1", "-p", &plain.to_string()])
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn()
            .expect("moto_server starts");
        let (cert, key) = (dir.path().join("cert.pem"), dir.path().join("key.pem"));
        let made = Command::new("openssl")
            .args(["req", "-x509", "-newkey", "rsa:2048", "-nodes", "-days", "1", "-subj", "/CN=127.0.0.1"])
            .arg("-keyout")
            .arg(&key)
            .arg("-out")
            .arg(&cert)
            .output()
            .expect("openssl runs");
        assert!(made.status.success(), "openssl: {}", String::from_utf8_lossy(&made.stderr));
        let port = free_port();
        let conf = dir.path().join("stunnel.conf");
        std::fs::write(
            &conf,
            format!(
                "foreground = yes\n[s3]\naccept = 127.0.0.1:{port}\nconnect = 127.0.0.1:{plain}\ncert = {}\nkey = {}\n",
                cert.display(),
                key.display()
            ),
        )
        .unwrap();
        let stunnel = Command::new("stunnel4")
            .arg(&conf)
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn()
            .expect("stunnel4 starts (apt-get install stunnel4)");
        let store = S3Store { moto, stunnel, port, _dir: dir };
        wait_for_port(plain, "moto");
        wait_for_port(port, "stunnel");
        let created = Command::new("curl")
            .args(["-sf", "-X", "PUT", &format!("http://127.0.0.1:{plain}/{bucket}")])
            .status()
            .expect("curl runs");
        assert!(created.success(), "the bucket was not made");
        store
    }
}

impl Drop for S3Store {
    fn drop(&mut self) {
        for child in [&mut self.stunnel, &mut self.moto] {
            let _ = child.kill();
            let _ = child.wait();
        }
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn backups_go_to_an_s3_bucket_and_forks_come_back_from_it() {
    let s3 = S3Store::start("fleet");
    let repo = Repo::S3 {
        bucket: "fleet".into(),
        path: "/pgfleet".into(),
        endpoint: format!("127.0.0.1:{}", s3.port),
        region: "us-east-1".into(),
        verify_tls: false,
        key: Some("test-key".into()),
        secret: Some("test-secret".into()),
    };
    let app = common::spawn_app_with(move |config| config.local.backup_repo = Some(repo)).await;
    let create = |body: serde_json::Value| app.authed(Method::POST, "/api/v1/databases").json(&body).send();
    assert_eq!(create(json!({"name": "cloud"})).await.unwrap().status(), 202);
    app.wait_phase("cloud", Phase::Available).await;
    let backed_up = |db: &app::model::DatabaseView| db.restore_window.is_some();
    app.wait_until("cloud", "its first backup, in the bucket", Duration::from_secs(180), backed_up).await;
    let backups = app.api().backups("cloud").await.unwrap();
    assert!(backups.iter().any(|b| b.kind == BackupKind::Full && b.stored_bytes > 0), "{backups:?}");
    assert!(!app.home().join("backups").join("repo").exists(), "nothing went to the local repository");

    let url = app.api().credentials("cloud").await.unwrap();
    let mut source = sqlx::PgConnection::connect(&url).await.unwrap();
    common::pg::exec(&mut source, "CREATE TABLE marks (i int); INSERT INTO marks VALUES (1)").await;
    let (moment,): (chrono::DateTime<chrono::Utc>,) =
        sqlx::query_as("SELECT clock_timestamp()").fetch_one(&mut source).await.unwrap();
    common::pg::exec(&mut source, "INSERT INTO marks VALUES (2)").await;
    let body = json!({"name": "from-cloud", "fork": "cloud", "at": moment.to_rfc3339()});
    assert_eq!(create(body).await.unwrap().status(), 202);
    app.wait_phase("from-cloud", Phase::Available).await;
    let fork_url = app.api().credentials("from-cloud").await.unwrap();
    let mut fork = sqlx::PgConnection::connect(&fork_url).await.unwrap();
    assert_eq!(common::pg::scalar(&mut fork, "SELECT count(*) FROM marks").await, 1, "the bucket's WAL, to the moment");
    app.shutdown().await;
}
