//! The real `pgfleet serve` binary in a child process, for the tests that
//! kill it (SIGKILL): its log lines go to the test's output with a tag, and
//! the child is killed if the test drops it.

use std::path::Path;
use std::time::Duration;

use pgfleet::client::Client;
use tokio::io::{AsyncBufReadExt, BufReader};
use tokio::process::{Child, Command};

pub struct Server {
    child: Child,
    pub addr: String,
    pub client: Client,
}

impl Server {
    /// Kills it as a crash would and waits until it is gone.
    pub async fn kill9(mut self) {
        self.child.start_kill().unwrap();
        self.child.wait().await.unwrap();
    }

    pub async fn health(&self) -> app::model::Health {
        reqwest::get(format!("http://{}/healthz", self.addr)).await.unwrap().json().await.unwrap()
    }
}

/// `pgfleet serve` on `home` with its metadata in `store`, on a free port,
/// its databases on a block of ports of its own;
/// `tag` marks its log lines.
pub async fn serve(home: &Path, store: &str, tag: &'static str) -> Server {
    serve_on(home, store, tag, super::pg::port_block()).await
}

/// [`serve`], its databases on `ports` (servers that share a store can be
/// given the same).
pub async fn serve_on(home: &Path, store: &str, tag: &'static str, ports: std::ops::RangeInclusive<u16>) -> Server {
    let mut child = Command::new(env!("CARGO_BIN_EXE_pgfleet"))
        .args(["serve", "--listen", "127.0.0.1:0", "--store", store, "--home"])
        .arg(home)
        .arg("--pg-ports")
        .arg(format!("{}-{}", ports.start(), ports.end()))
        .env("RUST_LOG", "info")
        .stdout(std::process::Stdio::piped())
        .stderr(std::process::Stdio::inherit())
        .kill_on_drop(true)
        .spawn()
        .expect("pgfleet starts");
    let mut lines = BufReader::new(child.stdout.take().unwrap()).lines();
    let addr = tokio::time::timeout(Duration::from_secs(60), async {
        while let Some(line) = lines.next_line().await.unwrap() {
            eprintln!("[{tag}] {line}");
            if let Some(rest) = line.split("pgfleet is serving addr=").nth(1) {
                return rest.split_whitespace().next().unwrap().to_string();
            }
        }
        panic!("pgfleet exited before serving");
    })
    .await
    .expect("pgfleet reports its address");
    tokio::spawn(async move {
        while let Ok(Some(line)) = lines.next_line().await {
            eprintln!("[{tag}] {line}");
        }
    });
    let token = std::fs::read_to_string(home.join("admin-token")).unwrap().trim().to_string();
    Server { child, client: Client::new(format!("http://{addr}"), Some(token)), addr }
}
