//! The `pgfleet` CLI against a real server: create --wait, wait, and the
//! failures it must report with a reason and a non-zero exit.

mod common;

use std::process::Output;

use common::cli::{pgfleet, run};

fn text(out: &Output) -> String {
    format!("{}{}", String::from_utf8_lossy(&out.stdout), String::from_utf8_lossy(&out.stderr))
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn create_fork_wait_and_wait_exit_zero_when_ready() {
    let app = common::spawn_app().await;
    let out = run(&app, &["create", "prod", "--wait"]).await;
    assert!(out.status.success(), "{}", text(&out));
    let out = run(&app, &["create", "trial", "--fork", "prod", "--wait"]).await;
    assert!(out.status.success(), "{}", text(&out));
    assert!(text(&out).contains("ready"));

    let out = run(&app, &["create", "reader", "--follow", "prod"]).await;
    assert!(out.status.success(), "{}", text(&out));
    let out = run(&app, &["wait", "--timeout", "240"]).await;
    assert!(out.status.success(), "{}", text(&out));
    assert!(text(&out).contains("reader: available"), "{}", text(&out));

    let out = run(&app, &["info", "trial"]).await;
    assert!(text(&out).lines().any(|l| l.starts_with("Forked from:") && l.ends_with(" prod")), "{}", text(&out));
    let out = run(&app, &["list", "--json"]).await;
    let list: Vec<app::model::DatabaseView> = serde_json::from_slice(&out.stdout).unwrap();
    assert_eq!(list.len(), 3);
    let out = run(&app, &["credentials", "prod"]).await;
    assert!(String::from_utf8_lossy(&out.stdout).starts_with("postgres://"));

    // The token is found in the home when PGFLEET_TOKEN is not set.
    let out = pgfleet(&app, &["list"]).env_remove("PGFLEET_TOKEN").output().await.unwrap();
    assert!(out.status.success(), "{}", text(&out));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn wait_exits_non_zero_with_the_reason_when_provisioning_fails() {
    let app = common::spawn_app().await;
    // Something in the way of the copy makes provisioning fail.
    std::fs::create_dir_all(app.home().join("databases")).unwrap();
    std::fs::write(app.home().join("databases").join("doomed.partial"), "in the way").unwrap();
    let out = run(&app, &["create", "doomed", "--wait"]).await;
    assert_eq!(out.status.code(), Some(1), "{}", text(&out));
    assert!(text(&out).contains("doomed: failed: could not create the database"), "{}", text(&out));
    let out = run(&app, &["wait", "doomed"]).await;
    assert_eq!(out.status.code(), Some(1));

    let out = run(&app, &["wait", "ghost"]).await;
    assert_eq!(out.status.code(), Some(1));
    assert!(text(&out).contains("there is no database named ghost"), "{}", text(&out));

    let out = run(&app, &["destroy", "doomed", "--confirm", "other"]).await;
    assert_eq!(out.status.code(), Some(1));
    assert!(text(&out).contains("does not match"));
    assert_eq!(app.api().list().await.unwrap().len(), 1, "nothing was destroyed");

    let out = run(&app, &["create", "Bad_Name"]).await;
    assert_eq!(out.status.code(), Some(1));
    assert!(text(&out).contains("invalid name"), "{}", text(&out));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn backups_are_listed_taken_and_forked_from_a_moment_back() {
    let app = common::spawn_app().await;
    let out = run(&app, &["create", "books", "--wait"]).await;
    assert!(out.status.success(), "{}", text(&out));
    let backed_up = |db: &app::model::DatabaseView| db.restore_window.is_some();
    app.wait_until("books", "its first backup", std::time::Duration::from_secs(180), backed_up).await;

    let out = run(&app, &["backups", "books"]).await;
    assert!(out.status.success(), "{}", text(&out));
    assert_eq!(text(&out).lines().filter(|l| l.contains(" full ")).count(), 1, "{}", text(&out));
    let out = run(&app, &["backups:capture", "books"]).await;
    assert!(out.status.success(), "{}", text(&out));
    assert!(text(&out).contains("Backed up books:"), "{}", text(&out));
    let out = run(&app, &["backups", "books", "--json"]).await;
    let list: Vec<app::model::Backup> = serde_json::from_slice(&out.stdout).unwrap();
    assert_eq!(list.len(), 2, "{list:?}");
    let out = run(&app, &["info", "books"]).await;
    assert!(text(&out).lines().any(|l| l.starts_with("Fork window:")), "{}", text(&out));
    assert!(text(&out).lines().any(|l| l.starts_with("Backups:") && l.contains('2')), "{}", text(&out));

    // A second back: inside the window, made and said so.
    let out = run(&app, &["create", "books-then", "--fork", "books", "--by", "1s", "--wait"]).await;
    assert!(out.status.success(), "{}", text(&out));
    let out = run(&app, &["info", "books-then"]).await;
    assert!(text(&out).lines().any(|l| l.starts_with("Forked as of:")), "{}", text(&out));
    // Before the window: refused with the window named, nothing made.
    let out = run(&app, &["create", "books-old", "--fork", "books", "--by", "2 days"]).await;
    assert!(!out.status.success());
    assert!(text(&out).contains("restore window"), "{}", text(&out));
    let out = run(&app, &["create", "books-bad", "--fork", "books", "--by", "2 fortnights"]).await;
    assert!(!out.status.success());
    assert!(text(&out).contains("--by"), "{}", text(&out));
    app.shutdown().await;
}
