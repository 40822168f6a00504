//! Which of the pgfleet servers sharing a store does the background work.
//!
//! Every server serves the API, the console and the event streams; only the
//! leader runs the reconciler, the backup loop and the lease keeper, so two
//! servers never act on one database at once. On a SQLite store there is
//! one server and it leads. On PostgreSQL the leader is whoever holds a
//! session-level advisory lock ([`LOCK_KEY`]): the lock lives exactly as
//! long as the leader's connection, so a leader that is killed loses it as
//! soon as PostgreSQL sees that connection close, and a standby, trying
//! every [`TRY_EVERY`], takes over within seconds. A leader that cannot
//! reach the store any more steps down at once; the supervisor then stops
//! its gated loops (see `supervisor`).

use std::time::Duration;

use sqlx::Connection;
use tokio::sync::watch;

/// The advisory lock key: "pgfleet" and a version byte.
pub const LOCK_KEY: i64 = 0x7067_666c_6565_7401;
/// How often a standby tries for the lock and a leader checks it still
/// has its connection.
pub const TRY_EVERY: Duration = Duration::from_secs(1);
/// A leader whose store does not answer a ping this long steps down.
const PING_TIMEOUT: Duration = Duration::from_secs(3);

/// Whether this server leads; cheap to clone.
#[derive(Clone, Debug)]
pub struct Leadership {
    leading: watch::Receiver<bool>,
    /// The sole server's own sender: a gate whose sender is gone reads as
    /// "nobody will ever lead".
    _always: Option<std::sync::Arc<watch::Sender<bool>>>,
}

impl Leadership {
    /// The only server of a store: it always leads.
    pub fn sole() -> Leadership {
        let (sender, leading) = watch::channel(true);
        Leadership { leading, _always: Some(std::sync::Arc::new(sender)) }
    }

    /// A server that leads once its [`Campaign`] holds the lock.
    pub fn campaign(url: &str) -> (Leadership, Campaign) {
        let (leading_tx, leading) = watch::channel(false);
        (Leadership { leading, _always: None }, Campaign { url: url.to_string(), leading: leading_tx })
    }

    pub fn is_leader(&self) -> bool {
        *self.leading.borrow()
    }

    /// Opens when this server leads, closes when it stops leading.
    pub fn gate(&self) -> watch::Receiver<bool> {
        self.leading.clone()
    }
}

/// Holds or waits for the lock; runs as the supervised loop `leadership`.
pub struct Campaign {
    url: String,
    leading: watch::Sender<bool>,
}

impl Campaign {
    pub async fn run(&self, mut stop: watch::Receiver<bool>) {
        loop {
            match sqlx::PgConnection::connect(&self.url).await {
                Ok(conn) => {
                    self.hold(conn, &mut stop).await;
                }
                Err(e) => tracing::warn!(error = %e, "leadership: cannot reach the metadata store"),
            }
            self.step_down();
            tokio::select! {
                _ = tokio::time::sleep(TRY_EVERY) => {}
                _ = stop.wait_for(|s| *s) => return,
            }
        }
    }

    /// Tries for the lock, then keeps checking the connection that holds
    /// it, until the connection fails or pgfleet stops.
    async fn hold(&self, mut conn: sqlx::PgConnection, stop: &mut watch::Receiver<bool>) {
        loop {
            if *stop.borrow() {
                self.step_down();
                let _ = conn.close().await;
                return;
            }
            if *self.leading.borrow() {
                let ping = tokio::time::timeout(PING_TIMEOUT, sqlx::query("SELECT 1").execute(&mut conn)).await;
                if !matches!(ping, Ok(Ok(_))) {
                    tracing::error!("leadership: the store's connection failed; this server steps down");
                    return;
                }
            } else {
                match sqlx::query_scalar::<_, bool>("SELECT pg_try_advisory_lock($1)")
                    .bind(LOCK_KEY)
                    .fetch_one(&mut conn)
                    .await
                {
                    Ok(true) => {
                        tracing::info!("this server leads: it runs the reconciler and the other background work");
                        self.leading.send_replace(true);
                    }
                    Ok(false) => {}
                    Err(e) => {
                        tracing::warn!(error = %e, "leadership: the lock could not be tried");
                        return;
                    }
                }
            }
            tokio::select! {
                _ = tokio::time::sleep(TRY_EVERY) => {}
                _ = stop.wait_for(|s| *s) => {}
            }
        }
    }

    fn step_down(&self) {
        if self.leading.send_replace(false) {
            tracing::warn!("this server no longer leads");
        }
    }
}
