//! The in-process event bus: a broadcast channel. Subscribers that fall
//! behind lose events (and are told so) instead of slowing publishers; the
//! event log in the store lets them catch up.

use app::model::Event;
use tokio::sync::broadcast;

/// How many events a slow subscriber may fall behind before it is dropped
/// to a resync.
const CAPACITY: usize = 4096;

#[derive(Clone)]
pub struct Bus {
    sender: broadcast::Sender<Event>,
}

impl Default for Bus {
    fn default() -> Self {
        Bus { sender: broadcast::channel(CAPACITY).0 }
    }
}

impl Bus {
    pub fn publish(&self, event: Event) {
        // No subscriber is not an error.
        let _ = self.sender.send(event);
    }

    pub fn subscribe(&self) -> broadcast::Receiver<Event> {
        self.sender.subscribe()
    }
}
