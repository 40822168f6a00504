//! Masking rules against real PostgreSQL: a source with users (email,
//! name, phone, birth date, a note) and orders that reference users by
//! email. A member's fork is masked by the rules before it is available:
//! every value is replaced, the hashed email still joins the two tables,
//! the source is untouched, and no original value is left anywhere in the
//! fork's files (tables, dead tuples, indexes, statistics, WAL). Rules are
//! checked on save; a rule that fails at fork time fails the fork and
//! removes its data. The `masked` policy, unmasked forks by approval, who
//! may read and write rules, the preview, the CLI and the audit log.

mod common;

use std::path::Path;

use app::accounts::UserRole;
use app::masking::ForkMasking;
use app::model::Phase;
use common::pg::{exec, scalar};
use reqwest::Method;
use serde_json::{json, Value};
use sqlx::Connection;

/// Rows of users (orders: three per user).
const USERS: i64 = 3000;

const SCHEMA: &str = "CREATE TABLE users (id bigserial PRIMARY KEY, email text NOT NULL UNIQUE, name text, \
     phone text, born date, note text); \
     CREATE TABLE orders (id bigserial PRIMARY KEY, email text NOT NULL REFERENCES users (email), amount int); \
     INSERT INTO users (email, name, phone, born, note) SELECT format('person%s@realmail.test', g), \
     format('Realname Person%s', g), format('+44 20 7946 %s', lpad(g::text, 4, '0')), \
     date '1980-01-01' + g, format('secret note %s', g) FROM generate_series(1, 3000) g; \
     INSERT INTO orders (email, amount) SELECT u.email, k FROM users u, generate_series(1, 3) k; \
     ANALYZE users; ANALYZE orders";

fn rules() -> Value {
    json!({"rules": [
        {"table": "users", "column": "email", "method": "hash"},
        {"table": "public.orders", "column": "email", "method": "hash"},
        {"table": "users", "column": "name", "method": "fake_name"},
        {"table": "users", "column": "phone", "method": "fake_phone"},
        {"table": "users", "column": "born", "method": "shift_date", "days": 30},
        {"table": "users", "column": "note", "method": "sql", "sql": "left(note, 3)"},
        {"table": "orders", "column": "amount", "method": "keep"}
    ]})
}

/// Every file under `dir` whose bytes contain `needle`.
fn files_containing(dir: &Path, needle: &[u8]) -> Vec<String> {
    let mut found = Vec::new();
    let mut stack = vec![dir.to_path_buf()];
    while let Some(d) = stack.pop() {
        for entry in std::fs::read_dir(&d).unwrap() {
            let path = entry.unwrap().path();
            if path.is_dir() {
                stack.push(path);
            } else if let Ok(bytes) = std::fs::read(&path) {
                if bytes.windows(needle.len()).any(|w| w == needle) {
                    found.push(path.display().to_string());
                }
            }
        }
    }
    found
}

async fn status_and_message(r: reqwest::Response) -> (u16, String) {
    let status = r.status().as_u16();
    let body: Value = r.json().await.unwrap_or(Value::Null);
    (status, body["error"]["message"].as_str().unwrap_or_default().to_string())
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_members_fork_is_masked_and_keeps_nothing_of_the_originals() {
    let app = common::spawn_app().await;
    let documented = common::openapi::Documented::fetch(&app).await;
    app.create_available(json!({"name": "prod"})).await;
    let mut prod = sqlx::PgConnection::connect(&app.api().credentials("prod").await.unwrap()).await.unwrap();
    exec(&mut prod, SCHEMA).await;

    // Before any rule: every column is uncovered, the personal ones are
    // suggested.
    let view: Value =
        app.authed(Method::GET, "/api/v1/databases/prod/masking").send().await.unwrap().json().await.unwrap();
    documented.conforms("MaskingView", &view).unwrap();
    assert_eq!(view["version"], 0);
    assert_eq!(view["uncovered"].as_array().unwrap().len(), 9, "{view}");
    let suggested: Vec<String> = view["suggestions"]
        .as_array()
        .unwrap()
        .iter()
        .map(|s| {
            format!(
                "{}.{}={}",
                s["table"].as_str().unwrap(),
                s["column"].as_str().unwrap(),
                s["method"].as_str().unwrap()
            )
        })
        .collect();
    for want in [
        "public.users.email=fake_email",
        "public.users.name=fake_name",
        "public.users.phone=fake_phone",
        "public.users.born=shift_date",
        "public.orders.email=fake_email",
    ] {
        assert!(suggested.iter().any(|s| s == want), "{want} in {suggested:?}");
    }

    // Checked on save: nothing is saved when a rule does not fit.
    let put = |body: Value| app.authed(Method::PUT, "/api/v1/databases/prod/masking").json(&body).send();
    let bad = |column: &str, method: Value| {
        let mut rule = json!({"table": "users", "column": column});
        rule.as_object_mut().unwrap().extend(method.as_object().unwrap().clone());
        json!({"rules": [rule]})
    };
    let (status, message) = status_and_message(put(bad("emial", json!({"method": "hash"}))).await.unwrap()).await;
    assert_eq!((status, message.contains("public.users has no column emial")), (422, true), "{message}");
    let (status, message) = status_and_message(
        put(json!({"rules": [{"table": "userz", "column": "email", "method": "hash"}]})).await.unwrap(),
    )
    .await;
    assert_eq!((status, message.contains("there is no table public.userz")), (422, true), "{message}");
    let (status, message) =
        status_and_message(put(bad("note", json!({"method": "sql", "sql": "lefty(note)"}))).await.unwrap()).await;
    assert_eq!((status, message.contains("lefty")), (422, true), "{message}");
    let (status, message) =
        status_and_message(put(bad("born", json!({"method": "fixed", "value": "not a date"}))).await.unwrap()).await;
    assert_eq!((status, message.contains("not a date")), (422, true), "{message}");
    let (status, message) = status_and_message(put(bad("email", json!({"method": "null"}))).await.unwrap()).await;
    assert_eq!((status, message.contains("NOT NULL")), (422, true), "{message}");
    let (status, _) =
        status_and_message(put(bad("born", json!({"method": "shift_date", "days": 0}))).await.unwrap()).await;
    assert_eq!(status, 422);
    let view = app.api().masking("prod").await.unwrap();
    assert_eq!(view.version, 0, "a refused save saves nothing");

    let r = put(rules()).await.unwrap();
    assert_eq!(r.status(), 200);
    let view: Value = r.json().await.unwrap();
    documented.conforms("MaskingView", &view).unwrap();
    assert_eq!(view["version"], 1);
    assert_eq!(view["uncovered"].as_array().unwrap().len(), 2, "users.id and orders.id: {view}");
    assert!(view["suggestions"].as_array().unwrap().is_empty(), "{view}");
    assert_eq!(app.api().get("prod").await.unwrap().masking_rules, 7);

    // Who sees and changes what.
    let viewer = app.user_with_token("vera", UserRole::Viewer).await;
    let member = app.user_with_token("max", UserRole::Member).await;
    let as_user = |token: &str, method: Method, path: &str| {
        app.client.request(method, app.url(path)).bearer_auth(token.to_string())
    };
    let seen: Value =
        as_user(&viewer, Method::GET, "/api/v1/databases/prod/masking").send().await.unwrap().json().await.unwrap();
    assert_eq!(seen["withheld"], true);
    let note = seen["rules"].as_array().unwrap().iter().find(|r| r["column"] == "note").unwrap().clone();
    assert_eq!(note["sql"], "", "a viewer does not read the expression: {note}");
    assert_eq!(
        as_user(&viewer, Method::GET, "/api/v1/databases/prod/masking/preview").send().await.unwrap().status(),
        403
    );
    let r = as_user(&member, Method::PUT, "/api/v1/databases/prod/masking").json(&rules()).send().await.unwrap();
    assert_eq!(r.status(), 403, "prod is the admin's");

    // The preview: masked values, computed without writing.
    let preview: Value = as_user(&member, Method::GET, "/api/v1/databases/prod/masking/preview")
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    documented.conforms("MaskPreview", &preview).unwrap();
    let users = preview["tables"].as_array().unwrap().iter().find(|t| t["table"] == "public.users").unwrap();
    assert_eq!(users["rows"].as_array().unwrap().len(), 5);
    assert!(!users.to_string().contains("realmail") && !users.to_string().contains("Realname"), "{users}");
    assert!(users.to_string().contains("+1-555-"), "{users}");

    // A member forks at once and gets a masked fork.
    let r = as_user(&member, Method::POST, "/api/v1/databases")
        .json(&json!({"name": "copy", "fork": "prod"}))
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 202);
    let db = app.wait_phase("copy", Phase::Available).await;
    assert_eq!(db.masking, Some(ForkMasking::Masked { version: 1 }));
    let history = app.store().phase_history("copy", chrono::Utc::now() - chrono::Duration::hours(1)).await.unwrap();
    let phases: Vec<Phase> = history.iter().map(|(_, p)| *p).collect();
    assert!(phases.ends_with(&[Phase::Masking, Phase::Available]), "it went through masking: {phases:?}");

    let url = as_user(&member, Method::GET, "/api/v1/databases/copy/credentials").send().await.unwrap();
    let url: Value = url.json().await.unwrap();
    let mut copy = sqlx::PgConnection::connect(url["url"].as_str().unwrap()).await.unwrap();
    assert_eq!(scalar(&mut copy, "SELECT count(*) FROM users").await, USERS);
    assert_eq!(scalar(&mut copy, "SELECT count(*) FROM users WHERE email LIKE '%realmail%' OR name LIKE 'Realname%' OR phone LIKE '+44%' OR length(note) > 3").await, 0);
    assert_eq!(
        scalar(&mut copy, "SELECT count(*) FROM orders o JOIN users u USING (email)").await,
        3 * USERS,
        "the hash keeps the join"
    );
    assert_eq!(scalar(&mut copy, "SELECT count(*) FROM users WHERE phone NOT LIKE '+1-555-%'").await, 0);
    let shifted: i64 = scalar(&mut copy, "SELECT count(*) FROM users WHERE born <> date '1980-01-01' + id::int").await;
    assert!(shifted > USERS / 2, "most dates moved: {shifted}");
    assert_eq!(
        scalar(&mut copy, "SELECT count(*) FROM users WHERE abs(born - (date '1980-01-01' + id::int)) > 30").await,
        0
    );
    assert_eq!(scalar(&mut copy, "SELECT sum(amount) FROM orders").await, 6 * USERS, "kept columns are kept");
    // The source is untouched.
    assert_eq!(scalar(&mut prod, "SELECT count(*) FROM users WHERE email LIKE '%realmail%'").await, USERS);
    // Nothing of the originals in the fork's files: relations, dead tuples,
    // indexes, statistics, WAL.
    let data = app.home().join("databases").join("copy").join("data");
    for needle in ["realmail.test", "Realname Person", "secret note 1"] {
        let found = files_containing(&data, needle.as_bytes());
        assert!(found.is_empty(), "{needle:?} is still in {found:?}");
    }
    let found = files_containing(&app.home().join("databases").join("prod").join("data"), b"realmail.test");
    assert!(!found.is_empty(), "the scan finds what is there");

    // The CLI.
    let out = common::cli::run(&app, &["masking", "prod"]).await;
    let text = String::from_utf8_lossy(&out.stdout);
    assert!(out.status.success() && text.contains("version 1") && text.contains("public.users.email: hash"), "{text}");
    let out = common::cli::run(&app, &["masking", "prod", "--preview"]).await;
    assert!(String::from_utf8_lossy(&out.stdout).contains("+1-555-"));

    // Audited with what changed.
    let audit: Value =
        app.authed(Method::GET, "/api/v1/audit?database=prod").send().await.unwrap().json().await.unwrap();
    let saved: Vec<&Value> = audit.as_array().unwrap().iter().filter(|e| e["action"] == "masking.update").collect();
    assert!(
        saved.iter().any(|e| e["outcome"] == "ok"
            && e["detail"].as_str().unwrap().contains("version 1 (7 rules): added public.users.email (hash)")),
        "{saved:?}"
    );
    assert!(saved.iter().any(|e| e["outcome"] == "denied"), "{saved:?}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_rule_that_fails_in_the_fork_fails_it_and_removes_its_data() {
    let app = common::spawn_app().await;
    app.create_available(json!({"name": "prod"})).await;
    let mut prod = sqlx::PgConnection::connect(&app.api().credentials("prod").await.unwrap()).await.unwrap();
    exec(&mut prod, "CREATE TABLE t (code text); INSERT INTO t VALUES ('12'), ('abc')").await;
    // Fine when planned; fails on the row 'abc'.
    let rules = json!({"rules": [{"table": "t", "column": "code", "method": "sql", "sql": "(code::int + 1)::text"}]});
    let r = app.authed(Method::PUT, "/api/v1/databases/prod/masking").json(&rules).send().await.unwrap();
    assert_eq!(r.status(), 200);
    let r = app
        .authed(Method::POST, "/api/v1/databases")
        .json(&json!({"name": "copy", "fork": "prod"}))
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 202);
    let db = app.wait_phase("copy", Phase::Failed).await;
    let message = db.message.unwrap_or_default();
    assert!(message.contains("masking public.t failed") && message.contains("invalid input syntax"), "{message}");
    assert!(!app.home().join("databases").join("copy").join("data").exists(), "its data is removed");
    assert_eq!(db.masking, None, "it was never masked");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_masked_policy_and_unmasked_forks_by_approval() {
    let app = common::spawn_app().await;
    app.create_available(json!({"name": "prod"})).await;
    let mut prod = sqlx::PgConnection::connect(&app.api().credentials("prod").await.unwrap()).await.unwrap();
    exec(&mut prod, "CREATE TABLE users (email text); INSERT INTO users VALUES ('a@realmail.test')").await;
    let r = app
        .authed(Method::PATCH, "/api/v1/databases/prod")
        .json(&json!({"protected": true, "fork_policy": "masked"}))
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 200);
    let member = app.user_with_token("max", UserRole::Member).await;
    let fork =
        |body: Value| app.client.post(app.url("/api/v1/databases")).bearer_auth(member.clone()).json(&body).send();

    // Masked, but no rules yet: its forks would carry its data.
    let (status, message) = status_and_message(fork(json!({"name": "early", "fork": "prod"})).await.unwrap()).await;
    assert_eq!((status, message.contains("no masking rules yet")), (403, true), "{message}");

    let rules = json!({"rules": [{"table": "users", "column": "email", "method": "fake_email"}]});
    let r = app.authed(Method::PUT, "/api/v1/databases/prod/masking").json(&rules).send().await.unwrap();
    assert_eq!(r.status(), 200);
    // Now a member forks at once and gets a masked fork...
    assert_eq!(fork(json!({"name": "masked", "fork": "prod"})).await.unwrap().status(), 202);
    // ...but not an unmasked one.
    let (status, message) =
        status_and_message(fork(json!({"name": "raw", "fork": "prod", "unmasked_reason": "debug"})).await.unwrap())
            .await;
    assert_eq!(
        (status, message.contains("an unmasked fork of prod needs an admin's approval")),
        (403, true),
        "{message}"
    );

    let r = app
        .client
        .post(app.url("/api/v1/fork-requests"))
        .bearer_auth(member.clone())
        .json(&json!({"source": "prod", "name": "raw", "reason": "reproduce the encoding bug in emails", "unmasked": true}))
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 201);
    let request: Value = r.json().await.unwrap();
    assert_eq!((request["state"].as_str(), request["unmasked"].as_bool()), (Some("pending"), Some(true)), "{request}");
    let id = request["id"].as_i64().unwrap();
    let r = app.authed(Method::POST, &format!("/api/v1/fork-requests/{id}/approve")).send().await.unwrap();
    assert_eq!(r.status(), 200);

    let masked = app.wait_phase("masked", Phase::Available).await;
    assert_eq!(masked.masking, Some(ForkMasking::Masked { version: 1 }));
    let raw = app.wait_phase("raw", Phase::Available).await;
    assert_eq!(raw.masking, Some(ForkMasking::Unmasked { reason: "reproduce the encoding bug in emails".into() }));
    let email = |name: &'static str| {
        let app = &app;
        async move {
            let url = app.api().credentials(name).await.unwrap();
            let mut c = sqlx::PgConnection::connect(&url).await.unwrap();
            sqlx::query_scalar::<_, String>("SELECT email FROM users").fetch_one(&mut c).await.unwrap()
        }
    };
    assert!(email("masked").await.ends_with("@example.com"));
    assert_eq!(email("raw").await, "a@realmail.test");

    // A member may not save an sql rule even on their own database; other
    // rules, yes.
    let own =
        app.client.post(app.url("/api/v1/databases")).bearer_auth(member.clone()).json(&json!({"name": "mine"})).send();
    assert_eq!(own.await.unwrap().status(), 202);
    app.wait_phase("mine", Phase::Available).await;
    let mut mine = sqlx::PgConnection::connect(&app.api().credentials("mine").await.unwrap()).await.unwrap();
    exec(&mut mine, "CREATE TABLE t (v text)").await;
    let put = |body: Value| {
        app.client.put(app.url("/api/v1/databases/mine/masking")).bearer_auth(member.clone()).json(&body).send()
    };
    let sql = json!({"rules": [{"table": "t", "column": "v", "method": "sql", "sql": "pg_read_file('/etc/passwd')"}]});
    let (status, message) = status_and_message(put(sql).await.unwrap()).await;
    assert_eq!((status, message.contains("only an admin")), (403, true), "{message}");
    assert_eq!(put(json!({"rules": [{"table": "t", "column": "v", "method": "null"}]})).await.unwrap().status(), 200);

    // Unmasked, everywhere: the request's audit entry says why.
    let audit: Value =
        app.authed(Method::GET, "/api/v1/audit?database=prod").send().await.unwrap().json().await.unwrap();
    for action in ["request.create", "request.approve"] {
        let entry = audit.as_array().unwrap().iter().find(|e| e["action"] == action).unwrap();
        assert!(entry["detail"].as_str().unwrap().contains("unmasked, because: reproduce the encoding bug"), "{entry}");
    }
}
