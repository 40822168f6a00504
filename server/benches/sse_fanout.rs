//! `cargo bench --bench sse_fanout`: N concurrent subscribers of
//! `/api/v1/events` (N from `PGFLEET_FANOUT`, default "100,1000,3000"),
//! events published through the real recorder (store, bus, SSE); prints
//! delivery latency p50/p99 and the server's memory per subscriber.
//!
//! The subscribers run in a child process (this binary again), so the
//! server's resident memory is measured alone.

use std::time::{Duration, SystemTime, UNIX_EPOCH};

use app::model::EventKind;
use futures::StreamExt;
use pgfleet::client::SseParser;
use pgfleet::config::Config;

const EVENTS: usize = 40;

#[tokio::main]
async fn main() -> anyhow::Result<()> {
    raise_fd_limit();
    if let Ok(spec) = std::env::var("PGFLEET_FANOUT_CLIENT") {
        return clients(&spec).await;
    }
    let counts: Vec<usize> = std::env::var("PGFLEET_FANOUT")
        .unwrap_or_else(|_| "100,1000,3000".into())
        .split(',')
        .filter_map(|n| n.trim().parse().ok())
        .collect();
    let home = tempfile::Builder::new().prefix("pgfleet-fanout-").tempdir()?;
    let mut config = Config::new(home.path());
    config.listen = ([127, 0, 0, 1], 0).into();
    let running = pgfleet::serve::start(config).await?;
    let url = format!("http://{}", running.addr);
    let token = std::fs::read_to_string(home.path().join("admin-token"))?.trim().to_string();
    let engine = running.engine().clone();

    println!("{:>8} {:>10} {:>10} {:>12} {:>16}", "clients", "p50", "p99", "delivered", "server KiB/sub");
    for n in counts {
        let before = rss_kib();
        let mut child = tokio::process::Command::new(std::env::current_exe()?)
            .env("PGFLEET_FANOUT_CLIENT", format!("{url} {token} {n}"))
            .stdout(std::process::Stdio::piped())
            .stdin(std::process::Stdio::piped())
            .kill_on_drop(true)
            .spawn()?;
        let mut lines = tokio::io::AsyncBufReadExt::lines(tokio::io::BufReader::new(child.stdout.take().unwrap()));
        // The child says when every subscriber has its snapshot.
        let ready = lines.next_line().await?.unwrap_or_default();
        anyhow::ensure!(ready == "ready", "clients failed: {ready}");
        let during = rss_kib();
        for i in 0..EVENTS {
            let sent = SystemTime::now().duration_since(UNIX_EPOCH)?.as_nanos();
            engine.recorder().note("bench", EventKind::Info, format!("t={sent} i={i}")).await?;
            tokio::time::sleep(Duration::from_millis(50)).await;
        }
        let report = lines.next_line().await?.unwrap_or_default();
        drop(child.stdin.take());
        let _ = child.wait().await;
        let mut parts = report.split_whitespace();
        let p50: f64 = parts.next().and_then(|v| v.parse().ok()).unwrap_or(f64::NAN);
        let p99: f64 = parts.next().and_then(|v| v.parse().ok()).unwrap_or(f64::NAN);
        let delivered: usize = parts.next().and_then(|v| v.parse().ok()).unwrap_or(0);
        println!(
            "{:>8} {:>8.2}ms {:>8.2}ms {:>5}/{:<6} {:>16.1}",
            n,
            p50,
            p99,
            delivered,
            n * EVENTS,
            during.saturating_sub(before) as f64 / n as f64
        );
    }
    running.shutdown().await?;
    Ok(())
}

/// The child: `n` subscribers; prints "ready", then "p50 p99 delivered".
async fn clients(spec: &str) -> anyhow::Result<()> {
    let mut parts = spec.split_whitespace();
    let (url, token, n) =
        (parts.next().unwrap().to_string(), parts.next().unwrap().to_string(), parts.next().unwrap().parse::<usize>()?);
    let (ready_tx, mut ready_rx) = tokio::sync::mpsc::unbounded_channel::<()>();
    let (lat_tx, mut lat_rx) = tokio::sync::mpsc::unbounded_channel::<f64>();
    let http = reqwest::Client::builder().pool_max_idle_per_host(0).build()?;
    for _ in 0..n {
        let (http, url, token, ready_tx, lat_tx) =
            (http.clone(), url.clone(), token.clone(), ready_tx.clone(), lat_tx.clone());
        tokio::spawn(async move {
            let Ok(response) = http.get(format!("{url}/api/v1/events")).bearer_auth(token).send().await else { return };
            let mut body = response.bytes_stream();
            let mut parser = SseParser::default();
            let mut seen = 0;
            while let Some(Ok(chunk)) = body.next().await {
                for m in parser.push(&chunk) {
                    if m.event == "snapshot" {
                        let _ = ready_tx.send(());
                        continue;
                    }
                    let now = SystemTime::now().duration_since(UNIX_EPOCH).unwrap().as_nanos();
                    if let Some(sent) =
                        m.data.split("t=").nth(1).and_then(|r| r.split(' ').next()).and_then(|t| t.parse::<u128>().ok())
                    {
                        let _ = lat_tx.send((now.saturating_sub(sent)) as f64 / 1e6);
                        seen += 1;
                        if seen == EVENTS {
                            return;
                        }
                    }
                }
            }
        });
    }
    drop(lat_tx);
    for _ in 0..n {
        ready_rx.recv().await;
    }
    println!("ready");
    let mut latencies = Vec::with_capacity(n * EVENTS);
    let deadline = tokio::time::Instant::now() + Duration::from_secs(120);
    while latencies.len() < n * EVENTS {
        match tokio::time::timeout_at(deadline, lat_rx.recv()).await {
            Ok(Some(l)) => latencies.push(l),
            _ => break,
        }
    }
    latencies.sort_by(|a, b| a.total_cmp(b));
    let pick = |q: f64| {
        latencies
            .get(((latencies.len() as f64 * q) as usize).min(latencies.len().saturating_sub(1)))
            .copied()
            .unwrap_or(f64::NAN)
    };
    println!("{} {} {}", pick(0.5), pick(0.99), latencies.len());
    Ok(())
}

fn rss_kib() -> u64 {
    std::fs::read_to_string("/proc/self/status")
        .ok()
        .and_then(|s| {
            s.lines().find(|l| l.starts_with("VmRSS:")).and_then(|l| l.split_whitespace().nth(1)?.parse().ok())
        })
        .unwrap_or(0)
}

fn raise_fd_limit() {
    let mut limit = libc::rlimit { rlim_cur: 0, rlim_max: 0 };
    // SAFETY: plain rlimit calls on a valid struct.
    unsafe {
        if libc::getrlimit(libc::RLIMIT_NOFILE, &mut limit) == 0 {
            limit.rlim_cur = limit.rlim_max.min(65_536);
            libc::setrlimit(libc::RLIMIT_NOFILE, &limit);
        }
    }
}
