//! Schema diff against real PostgreSQL: a fork diffs empty against its
//! source; after a migration on the fork (a column added, a type changed,
//! an index added, a constraint dropped, a function created) the diff
//! shows exactly those changes and nothing else, over the API (in its
//! documented shape) and the CLI; the other way round they turn over.

mod common;

use app::accounts::UserRole;
use app::schema_diff::{Change, ObjectKind, SchemaDiff};
use common::pg::exec;
use reqwest::Method;
use serde_json::{json, Value};
use sqlx::Connection;

fn seen(diff: &SchemaDiff) -> Vec<(String, ObjectKind, String, Change)> {
    diff.schemas
        .iter()
        .flat_map(|s| s.objects.iter().map(|o| (s.schema.clone(), o.kind, o.name.clone(), o.change)))
        .collect()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_migration_on_a_fork_shows_exactly_what_it_changed() {
    let app = common::spawn_app().await;
    let documented = common::openapi::Documented::fetch(&app).await;
    app.create_available(json!({"name": "prod"})).await;
    let mut prod = sqlx::PgConnection::connect(&app.api().credentials("prod").await.unwrap()).await.unwrap();
    exec(
        &mut prod,
        "CREATE TYPE mood AS ENUM ('sad', 'ok');
         CREATE TABLE users (id serial PRIMARY KEY, email text NOT NULL UNIQUE, name text, mood mood DEFAULT 'ok');
         CREATE TABLE orders (id int PRIMARY KEY, email text REFERENCES users (email),
                              amount numeric CONSTRAINT amount_positive CHECK (amount > 0));
         CREATE INDEX orders_email ON orders (email);
         CREATE VIEW big_orders AS SELECT * FROM orders WHERE amount > 100;
         CREATE FUNCTION touch() RETURNS trigger LANGUAGE plpgsql AS $$BEGIN RETURN NEW; END$$;
         CREATE TRIGGER users_touch BEFORE UPDATE ON users FOR EACH ROW EXECUTE FUNCTION touch();
         CREATE SCHEMA audit; CREATE TABLE audit.log (at timestamptz DEFAULT now());",
    )
    .await;
    app.create_available(json!({"name": "trial", "fork": "prod"})).await;

    // Two identical databases diff empty, either way round.
    let get = |path: &str| {
        let app = &app;
        let path = path.to_string();
        async move { app.authed(Method::GET, &path).send().await.unwrap() }
    };
    let r = get("/api/v1/databases/trial/diff").await;
    assert_eq!(r.status(), 200);
    let body: Value = r.json().await.unwrap();
    documented.conforms("SchemaDiff", &body).unwrap();
    let same: SchemaDiff = serde_json::from_value(body).unwrap();
    assert_eq!((same.a.as_str(), same.b.as_str(), same.count()), ("trial", "prod", 0), "{same:?}");
    let same: SchemaDiff = get("/api/v1/databases/prod/diff/trial").await.json().await.unwrap();
    assert_eq!(same.count(), 0, "{same:?}");

    // The migration, tried on the fork.
    let mut trial = sqlx::PgConnection::connect(&app.api().credentials("trial").await.unwrap()).await.unwrap();
    exec(
        &mut trial,
        "ALTER TABLE users ADD COLUMN age integer;
         ALTER TABLE users ALTER COLUMN name TYPE varchar(200);
         CREATE INDEX users_age ON users (age);
         ALTER TABLE orders DROP CONSTRAINT amount_positive;
         CREATE FUNCTION total(integer) RETURNS numeric LANGUAGE sql AS 'SELECT sum(amount) FROM orders WHERE id = $1';",
    )
    .await;
    let r = get("/api/v1/databases/trial/diff").await;
    let body: Value = r.json().await.unwrap();
    documented.conforms("SchemaDiff", &body).unwrap();
    let diff: SchemaDiff = serde_json::from_value(body).unwrap();
    let public = |kind, name: &str, change| ("public".to_string(), kind, name.to_string(), change);
    assert_eq!(
        seen(&diff),
        [
            public(ObjectKind::Column, "users.age", Change::Added),
            public(ObjectKind::Column, "users.name", Change::Changed),
            public(ObjectKind::Constraint, "orders.amount_positive", Change::Removed),
            public(ObjectKind::Index, "users_age", Change::Added),
            public(ObjectKind::Function, "total(integer)", Change::Added),
        ],
        "{diff:#?}"
    );
    let objects = &diff.schemas[0].objects;
    assert_eq!(objects[0].after.as_deref(), Some("integer"));
    assert_eq!(
        (objects[1].before.as_deref(), objects[1].after.as_deref()),
        (Some("text"), Some("character varying(200)"))
    );
    assert_eq!(objects[2].before.as_deref(), Some("CHECK (amount > 0::numeric)"));
    assert_eq!(objects[3].after.as_deref(), Some("CREATE INDEX users_age ON public.users USING btree (age)"));
    let function = objects[4].after.as_deref().unwrap();
    assert!(function.contains("CREATE OR REPLACE FUNCTION public.total(integer)"), "{function}");
    assert!(function.contains("SELECT sum(amount) FROM orders WHERE id = $1"), "{function}");

    // The other way round, added and removed turn over.
    let back: SchemaDiff = get("/api/v1/databases/prod/diff/trial").await.json().await.unwrap();
    let changes: Vec<Change> = seen(&back).into_iter().map(|(_, _, _, c)| c).collect();
    assert_eq!(changes, [Change::Removed, Change::Changed, Change::Added, Change::Removed, Change::Removed]);

    // The CLI.
    let out = common::cli::run(&app, &["diff", "trial"]).await;
    assert!(out.status.success(), "{}", String::from_utf8_lossy(&out.stderr));
    let text = String::from_utf8_lossy(&out.stdout);
    assert!(text.starts_with("trial against prod: 5 differences"), "{text}");
    for line in ["+ column      users.age", "~ column      users.name", "- constraint  orders.amount_positive"] {
        assert!(text.contains(line), "{line:?} in\n{text}");
    }
    assert!(text.contains("in prod:\n      text\n    in trial:\n      character varying(200)"), "{text}");
    let out = common::cli::run(&app, &["diff", "prod", "prod", "--json"]).await;
    let same: SchemaDiff = serde_json::from_slice(&out.stdout).unwrap();
    assert_eq!(same.count(), 0);

    // Viewers compare too (a schema is not data); clear refusals.
    let viewer = app.user_with_token("vera", UserRole::Viewer).await;
    let r = app.client.get(app.url("/api/v1/databases/trial/diff")).bearer_auth(&viewer).send().await.unwrap();
    assert_eq!(r.status(), 200);
    let r = get("/api/v1/databases/prod/diff").await;
    assert_eq!(r.status(), 422);
    let e: Value = r.json().await.unwrap();
    assert!(e["error"]["message"].as_str().unwrap().contains("prod was not forked"), "{e}");
    assert_eq!(get("/api/v1/databases/trial/diff/nothing").await.status(), 404);
    assert_eq!(get("/api/v1/databases/nothing/diff").await.status(), 404);
}
