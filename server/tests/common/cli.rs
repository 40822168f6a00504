//! The `pgfleet` binary as a client of a test's server.

pub fn pgfleet(app: &super::TestApp, args: &[&str]) -> tokio::process::Command {
    let mut cmd = tokio::process::Command::new(env!("CARGO_BIN_EXE_pgfleet"));
    cmd.args(args)
        .env("PGFLEET_URL", format!("http://{}", app.addr))
        .env("PGFLEET_TOKEN", app.token())
        .env("PGFLEET_HOME", app.home())
        .env("PGFLEET_STORE", app.store().location().url())
        .kill_on_drop(true);
    cmd
}

pub async fn run(app: &super::TestApp, args: &[&str]) -> std::process::Output {
    let out = tokio::time::timeout(std::time::Duration::from_secs(300), pgfleet(app, args).output())
        .await
        .expect("the command finishes")
        .expect("the command runs");
    eprintln!(
        "pgfleet {args:?} → {:?}\n{}{}",
        out.status,
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    );
    out
}
