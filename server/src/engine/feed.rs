//! Events and wake-ups across the servers sharing a PostgreSQL store.
//!
//! Every event is appended to the store's log in one order: appends take a
//! transaction-level advisory lock, so ids commit in the order they are
//! given, and each append notifies [`EVENTS`]. Every server (the one that
//! appended included) runs this loop: it listens, reads what the log holds
//! past the last event it published, and publishes it on its own bus, so a
//! console connected to any server sees every event once and in order. A
//! notification lost while the listening connection was down is made good
//! by reading the log again on reconnect and every [`CATCH_UP_EVERY`].
//!
//! A request served by a standby writes desired state and notifies
//! [`WAKE`]; the leader's loops wake on it as on their own server's
//! requests.

use std::sync::Arc;
use std::time::Duration;

use sqlx::postgres::PgListener;
use tokio::sync::{watch, Mutex, Notify};

use super::bus::Bus;
use crate::store::events::{EVENTS, WAKE};
use crate::store::{Store, StoreError};

/// How often the log is read even without a notification.
const CATCH_UP_EVERY: Duration = Duration::from_secs(5);

/// The loop `events` of a server on a PostgreSQL store.
pub struct Feed {
    url: String,
    store: Store,
    bus: Bus,
    wakes: Vec<Arc<Notify>>,
    /// The last event published here, kept across restarts of the loop.
    published: Arc<Mutex<Option<i64>>>,
}

impl Feed {
    pub fn new(url: &str, store: Store, bus: Bus, wakes: Vec<Arc<Notify>>) -> Feed {
        Feed { url: url.to_string(), store, bus, wakes, published: Default::default() }
    }

    pub async fn run(&self, mut stop: watch::Receiver<bool>) {
        {
            // First run: what came before is the subscribers' snapshot.
            // Read before listening, so nothing falls between the two.
            let mut published = self.published.lock().await;
            if published.is_none() {
                match self.store.last_event_id().await {
                    Ok(id) => *published = Some(id),
                    Err(e) => {
                        tracing::error!(error = %e, "events: cannot read the event log");
                        return;
                    }
                }
            }
        }
        let mut listener = match PgListener::connect(&self.url).await {
            Ok(listener) => listener,
            Err(e) => {
                // The supervisor starts the loop again after its backoff.
                tracing::error!(error = %e, "events: cannot listen on the metadata store");
                return;
            }
        };
        if let Err(e) = listener.listen_all([EVENTS, WAKE]).await {
            tracing::error!(error = %e, "events: cannot listen on the metadata store");
            return;
        }
        loop {
            if let Err(e) = self.catch_up().await {
                tracing::warn!(error = %e, "events: cannot read the event log");
            }
            tokio::select! {
                received = listener.try_recv() => match received {
                    Ok(Some(notification)) if notification.channel() == WAKE => {
                        for wake in &self.wakes {
                            wake.notify_one();
                        }
                    }
                    Ok(Some(_)) => {}
                    // The connection dropped; the next try_recv reconnects
                    // and the catch-up above covers what it missed.
                    Ok(None) => tracing::warn!("events: the listening connection dropped; reconnecting"),
                    Err(e) => {
                        tracing::error!(error = %e, "events: listening failed");
                        return;
                    }
                },
                _ = tokio::time::sleep(CATCH_UP_EVERY) => {}
                _ = stop.wait_for(|s| *s) => return,
            }
        }
    }

    /// Publishes what the log holds past the last event published here.
    async fn catch_up(&self) -> Result<(), StoreError> {
        let mut published = self.published.lock().await;
        let Some(after) = *published else { return Ok(()) };
        match self.store.events_after(after).await? {
            Some(events) => {
                for event in events {
                    *published = Some(event.id);
                    self.bus.publish(event);
                }
            }
            // Pruned past: nothing to replay; go on from the newest.
            None => *published = Some(self.store.last_event_id().await?),
        }
        Ok(())
    }
}
