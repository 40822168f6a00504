//! Self-service forks against real PostgreSQL: a member's request of a
//! protected database waits for an admin, is approved or rejected with a
//! reason, becomes a fork owned by the member, and is destroyed at the end
//! of its (short, here) time to live, with the expiry recorded. Quotas and
//! extension limits refuse with clear messages.

mod common;

use std::time::{Duration, Instant};

use app::accounts::{AuditEntry, ForkRequestView, RequestState, UserRole};
use app::model::{EventKind, Phase};
use reqwest::Method;
use serde_json::{json, Value};

struct Member<'a> {
    app: &'a common::TestApp,
    token: String,
}

impl Member<'_> {
    fn call(&self, method: Method, path: &str) -> reqwest::RequestBuilder {
        self.app.client.request(method, self.app.url(path)).bearer_auth(&self.token)
    }

    async fn request(&self, id: i64) -> ForkRequestView {
        self.call(Method::GET, &format!("/api/v1/fork-requests/{id}")).send().await.unwrap().json().await.unwrap()
    }

    /// Polls the request until `state`.
    async fn wait_request(&self, id: i64, state: RequestState) -> ForkRequestView {
        let deadline = Instant::now() + Duration::from_secs(120);
        loop {
            let r = self.request(id).await;
            if r.state == state {
                return r;
            }
            assert!(r.state.is_open() || r.state == state, "request {id} ended {:?}: {:?}", r.state, r.message);
            assert!(Instant::now() < deadline, "request {id} is {:?}, not {state:?}", r.state);
            tokio::time::sleep(Duration::from_millis(100)).await;
        }
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_requested_fork_is_approved_made_and_expires() {
    let app = common::spawn_app().await;
    let member = Member { app: &app, token: app.user_with_token("mia", UserRole::Member).await };

    app.protected_database("prod").await;
    let r = app
        .authed(Method::PUT, "/api/v1/settings")
        .json(&json!({"fork_ttl_default_seconds": 3600, "fork_ttl_max_seconds": 7200, "member_fork_quota": 1}))
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 200);

    // Forking directly is refused with a pointer to requests.
    let direct = member.call(Method::POST, "/api/v1/databases").json(&json!({"fork": "prod"})).send().await.unwrap();
    assert_eq!(direct.status(), 403);
    let body: Value = direct.json().await.unwrap();
    assert!(body["error"]["message"].as_str().unwrap().contains("fork-requests"), "{body}");

    // A request past the admins' limit is refused.
    let long = member
        .call(Method::POST, "/api/v1/fork-requests")
        .json(&json!({"source": "prod", "reason": "migration test", "ttl_seconds": 99999}))
        .send()
        .await
        .unwrap();
    assert_eq!(long.status(), 422);

    // The request: pending until an admin decides.
    let ttl = 15;
    let r = member
        .call(Method::POST, "/api/v1/fork-requests")
        .json(&json!({"source": "prod", "name": "trial", "reason": "try the orders migration", "ttl_seconds": ttl}))
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 201);
    let request: ForkRequestView = r.json().await.unwrap();
    assert_eq!(request.state, RequestState::Pending);
    assert_eq!(request.requester, "mia");
    assert!(app.api().get("trial").await.is_err(), "nothing is made before approval");

    // The quota (1) counts the pending request.
    let over = member
        .call(Method::POST, "/api/v1/fork-requests")
        .json(&json!({"source": "prod", "reason": "another", "ttl_seconds": 60}))
        .send()
        .await
        .unwrap();
    assert_eq!(over.status(), 409);
    let body: Value = over.json().await.unwrap();
    assert!(body["error"]["message"].as_str().unwrap().contains("1 of your 1 forks"), "{body}");

    // Rejecting needs a reason; a rejected request can't be approved.
    let id = request.id;
    let r =
        app.authed(Method::POST, &format!("/api/v1/fork-requests/{id}/reject")).json(&json!({})).send().await.unwrap();
    assert_eq!(r.status(), 400);

    let r =
        app.authed(Method::POST, &format!("/api/v1/fork-requests/{id}/approve")).json(&json!({})).send().await.unwrap();
    assert_eq!(r.status(), 200, "{}", r.text().await.unwrap());
    let again = app.authed(Method::POST, &format!("/api/v1/fork-requests/{id}/approve")).json(&json!({})).send().await;
    assert_eq!(again.unwrap().status(), 409);

    let available = member.wait_request(id, RequestState::Available).await;
    assert_eq!(available.decided_by.as_deref(), Some("admin"));
    let fork = app.api().get("trial").await.unwrap();
    assert_eq!(fork.phase, Phase::Available);
    assert_eq!(fork.owner.as_deref(), Some("mia"));
    assert_eq!(fork.forked_from.as_deref(), Some("prod"));
    let expires = fork.expires_at.expect("a member's fork expires");
    assert!(expires > chrono::Utc::now(), "{expires}");
    // The member may use it (their own) but not push it past the limit.
    let url = member.call(Method::GET, "/api/v1/databases/trial/credentials").send().await.unwrap();
    assert_eq!(url.status(), 200);
    let too_long = member
        .call(Method::POST, "/api/v1/databases/trial/extend")
        .json(&json!({"seconds": 10_000}))
        .send()
        .await
        .unwrap();
    assert_eq!(too_long.status(), 422);

    // At the end of its time the fork is destroyed and the request expired.
    let expired = member.wait_request(id, RequestState::Expired).await;
    assert_eq!(expired.state, RequestState::Expired);
    let deadline = Instant::now() + Duration::from_secs(60);
    while app.api().get("trial").await.is_ok() {
        assert!(Instant::now() < deadline, "trial was not destroyed");
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    assert_eq!(app.api().get("prod").await.unwrap().phase, Phase::Available, "the source is untouched");
    let audit: Vec<AuditEntry> = app.authed(Method::GET, "/api/v1/audit").send().await.unwrap().json().await.unwrap();
    let expiry = audit.iter().find(|e| e.action == "database.expire").expect("expiry audited");
    assert_eq!(
        (expiry.actor.as_str(), expiry.database.as_deref(), expiry.outcome.as_str()),
        ("pgfleet", Some("trial"), "ok")
    );
    for action in ["request.create", "request.approve"] {
        assert!(audit.iter().any(|e| e.action == action && e.outcome == "ok"), "{action} audited");
    }
    let events = app.store().events_after(0).await.unwrap().expect("events kept");
    assert!(events.iter().any(|e| e.database == "trial" && e.kind == EventKind::Expired), "expiry event recorded");

    // With the fork gone the quota is free again; a rejection carries its reason.
    let r = member
        .call(Method::POST, "/api/v1/fork-requests")
        .json(&json!({"source": "prod", "reason": "again", "ttl_seconds": 60}))
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 201);
    let second: ForkRequestView = r.json().await.unwrap();
    let r = app
        .authed(Method::POST, &format!("/api/v1/fork-requests/{}/reject", second.id))
        .json(&json!({"reason": "use yesterday's fork"}))
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 200);
    let rejected = member.request(second.id).await;
    assert_eq!(rejected.state, RequestState::Rejected);
    assert_eq!(rejected.decision_reason.as_deref(), Some("use yesterday's fork"));
    app.shutdown().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn open_policy_forks_at_once_and_members_change_only_their_own() {
    let app = common::spawn_app().await;
    let member = Member { app: &app, token: app.user_with_token("max", UserRole::Member).await };
    app.authed(Method::POST, "/api/v1/databases").json(&json!({"name": "shared"})).send().await.unwrap();
    app.wait_phase("shared", Phase::Available).await;

    // Open policy: a request is approved on the spot and made.
    let r = member
        .call(Method::POST, "/api/v1/fork-requests")
        .json(&json!({"source": "shared", "name": "scratch", "reason": "quick look"}))
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 201);
    let request: ForkRequestView = r.json().await.unwrap();
    assert_eq!(request.decided_by.as_deref(), Some("open fork policy"));
    member.wait_request(request.id, RequestState::Available).await;
    let scratch = app.api().get("scratch").await.unwrap();
    let ttl = (scratch.expires_at.unwrap() - scratch.created_at).num_seconds();
    assert!((72 * 3600 - 60..=72 * 3600 + 60).contains(&ttl), "the default time to live: {ttl}");

    // The member can't destroy the admin's database but can their own fork.
    let r = member.call(Method::DELETE, "/api/v1/databases/shared").send().await.unwrap();
    assert_eq!(r.status(), 403);
    let r = member.call(Method::DELETE, "/api/v1/databases/scratch").send().await.unwrap();
    assert_eq!(r.status(), 202);
    member.wait_request(request.id, RequestState::Destroyed).await;
    app.shutdown().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_fork_request_can_ask_for_a_past_moment_and_the_fork_is_of_it() {
    let app = common::spawn_app().await;
    let member = Member { app: &app, token: app.user_with_token("max", UserRole::Member).await };
    app.protected_database("ledger").await;
    let has_window = |db: &app::model::DatabaseView| db.restore_window.is_some();
    app.wait_until("ledger", "its first backup", Duration::from_secs(180), has_window).await;
    let url = app.api().credentials("ledger").await.unwrap();
    let mut source = <sqlx::PgConnection as sqlx::Connection>::connect(&url).await.unwrap();
    common::pg::exec(&mut source, "CREATE TABLE marks (i int); INSERT INTO marks VALUES (1)").await;
    let (moment,): (chrono::DateTime<chrono::Utc>,) =
        sqlx::query_as("SELECT clock_timestamp()").fetch_one(&mut source).await.unwrap();
    common::pg::exec(&mut source, "INSERT INTO marks VALUES (2)").await;

    // A moment in the future is refused at once, naming why.
    let future = chrono::Utc::now() + chrono::Duration::hours(2);
    let body = json!({"source": "ledger", "reason": "audit", "at": future.to_rfc3339()});
    let refused = member.call(Method::POST, "/api/v1/fork-requests").json(&body).send().await.unwrap();
    assert_eq!(refused.status(), 422);
    let body = json!({"source": "ledger", "name": "audit-then", "reason": "audit", "at": moment.to_rfc3339()});
    let asked = member.call(Method::POST, "/api/v1/fork-requests").json(&body).send().await.unwrap();
    assert_eq!(asked.status(), 201, "{:?}", asked.text().await);
    let requests: Vec<ForkRequestView> =
        app.authed(Method::GET, "/api/v1/fork-requests").send().await.unwrap().json().await.unwrap();
    let request = requests.iter().find(|r| r.name == "audit-then").expect("the admin sees the request");
    assert_eq!(request.at, Some(moment), "the admin sees the moment asked for");
    let approved = app
        .authed(Method::POST, &format!("/api/v1/fork-requests/{}/approve", request.id))
        .json(&json!({"reason": "fine"}))
        .send()
        .await
        .unwrap();
    assert!(approved.status().is_success(), "{:?}", approved.text().await);
    member.wait_request(request.id, RequestState::Available).await;
    let fork = app.wait_phase("audit-then", Phase::Available).await;
    assert_eq!(fork.fork_point, Some(app::model::ForkPoint::Time(moment)));
    let fork_url = app.api().credentials("audit-then").await.unwrap();
    let mut fork = <sqlx::PgConnection as sqlx::Connection>::connect(&fork_url).await.unwrap();
    assert_eq!(common::pg::scalar(&mut fork, "SELECT count(*) FROM marks").await, 1, "the fork is of the moment");
    app.shutdown().await;
}
