//! Test helpers for people: users with tokens, browser sessions signed in
//! through the console's own server function.

use std::time::{Duration, Instant};

use app::accounts::UserRole;
use app::model::{DatabaseView, Phase};
use reqwest::header::{HeaderMap, COOKIE, SET_COOKIE};

use super::TestApp;

/// A browser's session: its cookies and CSRF token.
#[derive(Clone, Debug)]
pub struct BrowserSession {
    pub secret: String,
    pub csrf: String,
}

impl BrowserSession {
    pub fn cookie_header(&self) -> String {
        format!("pgfleet_session={}; pgfleet_csrf={}", self.secret, self.csrf)
    }
}

impl TestApp {
    /// A user with `role`; returns their one-time password.
    pub async fn add_user(&self, name: &str, role: UserRole) -> String {
        pgfleet::access::accounts::add_user(&self.store(), name, role).await.expect("user added").one_time_password
    }

    /// A new API token for `name`.
    pub async fn token_for(&self, name: &str) -> String {
        let store = self.store();
        let user = store.user(name).await.expect("store").expect("user exists");
        let token = format!("pgf_test_{name}_{}", rand_suffix());
        store.add_token("test", &token, Some(user.id)).await.expect("token added");
        token
    }

    /// A user with `role` and a token of theirs.
    pub async fn user_with_token(&self, name: &str, role: UserRole) -> String {
        self.add_user(name, role).await;
        self.token_for(name).await
    }

    /// Signs in through `/api/sign_in` as the console does.
    pub async fn try_sign_in(&self, name: &str, password: &str) -> reqwest::Response {
        self.client
            .post(self.url("/api/sign_in"))
            .form(&[("name", name), ("password", password)])
            .send()
            .await
            .expect("sign-in answered")
    }

    pub async fn sign_in(&self, name: &str, password: &str) -> BrowserSession {
        let response = self.try_sign_in(name, password).await;
        assert!(response.status().is_success(), "sign-in failed: {}", response.text().await.unwrap_or_default());
        session_from(response.headers())
    }

    /// Signs in with a one-time password and chooses `new`.
    pub async fn sign_in_and_choose(&self, name: &str, one_time: &str, new: &str) -> BrowserSession {
        let session = self.sign_in(name, one_time).await;
        let response =
            self.function(&session, "change_password", &[("current", one_time), ("new", new), ("repeat", new)]).await;
        assert!(response.status().is_success(), "change_password: {}", response.text().await.unwrap_or_default());
        session
    }

    /// The first admin, signed in with the one-time password pgfleet wrote
    /// and a password of their own chosen.
    pub async fn admin_session(&self) -> BrowserSession {
        let once = std::fs::read_to_string(self.home().join("admin-password")).expect("admin password written");
        self.sign_in_and_choose("admin", once.trim(), "the admin's own password").await
    }

    /// Calls a server function the way the console does (CSRF token sent).
    pub async fn function(&self, session: &BrowserSession, name: &str, form: &[(&str, &str)]) -> reqwest::Response {
        self.client
            .post(self.url(&format!("/api/{name}")))
            .header(COOKIE, session.cookie_header())
            .header("x-csrf-token", &session.csrf)
            .form(form)
            .send()
            .await
            .expect("server function answered")
    }

    /// An available database of the admin's, protected, whose forks need
    /// approval.
    pub async fn protected_database(&self, name: &str) -> DatabaseView {
        let body = serde_json::json!({ "name": name });
        let r = self.authed(reqwest::Method::POST, "/api/v1/databases").json(&body).send().await.unwrap();
        assert_eq!(r.status(), 202);
        self.wait_phase(name, Phase::Available).await;
        let r = self
            .authed(reqwest::Method::PATCH, &format!("/api/v1/databases/{name}"))
            .json(&serde_json::json!({"protected": true, "fork_policy": "approval"}))
            .send()
            .await
            .unwrap();
        assert_eq!(r.status(), 200);
        r.json().await.unwrap()
    }

    /// Asks for a database (`body` as `POST /api/v1/databases` takes it)
    /// as the admin and waits until it is available.
    pub async fn create_available(&self, body: serde_json::Value) -> DatabaseView {
        let r = self.authed(reqwest::Method::POST, "/api/v1/databases").json(&body).send().await.unwrap();
        assert_eq!(r.status(), 202, "{body}");
        self.wait_phase(body["name"].as_str().expect("a named database"), Phase::Available).await
    }

    /// Polls `GET /api/v1/databases/{name}` (as the admin) until `phase`;
    /// a database that fails on the way fails the test at once.
    pub async fn wait_phase(&self, name: &str, phase: Phase) -> DatabaseView {
        self.wait_until(name, &format!("{phase:?}"), Duration::from_secs(180), |db| {
            assert!(phase == Phase::Failed || db.phase != Phase::Failed, "{name} failed: {:?}", db.message);
            db.phase == phase
        })
        .await
    }

    /// Polls `GET /api/v1/databases/{name}` (as the admin) until `ok`, for
    /// at most `within`; `what` says what was awaited when it times out.
    pub async fn wait_until(
        &self,
        name: &str,
        what: &str,
        within: Duration,
        ok: impl Fn(&DatabaseView) -> bool,
    ) -> DatabaseView {
        let api = self.api();
        let deadline = Instant::now() + within;
        loop {
            let db = api.get(name).await.expect("get");
            if ok(&db) {
                return db;
            }
            assert!(Instant::now() < deadline, "{name}: not {what} within {within:?}: {db:?}");
            tokio::time::sleep(Duration::from_millis(50)).await;
        }
    }
}

fn session_from(headers: &HeaderMap) -> BrowserSession {
    let cookie = |name: &str| {
        headers
            .get_all(SET_COOKIE)
            .iter()
            .filter_map(|v| v.to_str().ok())
            .find_map(|v| v.split(';').next()?.trim().strip_prefix(&format!("{name}=")).map(str::to_string))
            .unwrap_or_else(|| panic!("no {name} cookie set"))
    };
    BrowserSession { secret: cookie("pgfleet_session"), csrf: cookie("pgfleet_csrf") }
}

fn rand_suffix() -> String {
    use std::sync::atomic::{AtomicU64, Ordering};
    static N: AtomicU64 = AtomicU64::new(0);
    format!("{}_{}", std::process::id(), N.fetch_add(1, Ordering::Relaxed))
}
