//! The console's live view of every database: seeded from the server's
//! render, then kept current by the server-sent event stream. The browser's
//! EventSource reconnects by itself and sends `Last-Event-ID`, so a dropped
//! stream catches up without a reload.

use std::collections::{BTreeMap, HashMap};

use leptos::prelude::*;

use crate::model::{DatabaseView, Event, EventKind};

/// How many lag samples from the stream the lag chart keeps per follower.
pub const LAG_SAMPLES: usize = 120;

/// Where the event stream is, for the header's indicator.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Stream {
    /// Not open yet since the page loaded (or not hydrated yet).
    Connecting,
    Open,
    /// It was open and dropped; the browser is retrying.
    Reconnecting,
}

impl Stream {
    pub fn label(self) -> &'static str {
        match self {
            Stream::Connecting => "○ connecting…",
            Stream::Open => "● live",
            Stream::Reconnecting => "○ reconnecting…",
        }
    }
}

/// When a lag was reported, and how many bytes it was.
pub type LagSample = (chrono::DateTime<chrono::Utc>, u64);

#[derive(Clone, Copy)]
pub struct Live {
    pub dbs: RwSignal<BTreeMap<String, DatabaseView>>,
    pub seeded: RwSignal<bool>,
    pub stream: RwSignal<Stream>,
    started: StoredValue<bool>,
    /// Lag (bytes) of each follower as the stream reported it, oldest first.
    pub lag_history: RwSignal<HashMap<String, Vec<LagSample>>>,
    /// Bumped whenever a fork request changes, so pages that list
    /// requests fetch them again (events carry no request details).
    pub requests_version: RwSignal<u64>,
    /// When each database's statistics were last sampled, so an open
    /// Insights tab fetches the new points.
    pub sampled: RwSignal<HashMap<String, chrono::DateTime<chrono::Utc>>>,
    /// When each database's credentials were last rotated, so a page
    /// showing the old URL hides it.
    pub rotated: RwSignal<HashMap<String, chrono::DateTime<chrono::Utc>>>,
    /// When each database's additional roles last changed, so its Roles
    /// card fetches them again.
    pub roles_changed: RwSignal<HashMap<String, chrono::DateTime<chrono::Utc>>>,
}

impl Live {
    fn new() -> Self {
        Live {
            dbs: RwSignal::new(BTreeMap::new()),
            seeded: RwSignal::new(false),
            stream: RwSignal::new(Stream::Connecting),
            started: StoredValue::new(false),
            lag_history: RwSignal::new(HashMap::new()),
            requests_version: RwSignal::new(0),
            sampled: RwSignal::new(HashMap::new()),
            rotated: RwSignal::new(HashMap::new()),
            roles_changed: RwSignal::new(HashMap::new()),
        }
    }

    /// Takes the server-rendered list once.
    pub fn seed(&self, list: Vec<DatabaseView>) {
        if !self.seeded.get_untracked() {
            self.dbs.set(list.into_iter().map(|d| (d.name.clone(), d)).collect());
            self.seeded.set(true);
        }
    }

    pub fn apply_snapshot(&self, list: Vec<DatabaseView>) {
        self.dbs.set(list.into_iter().map(|d| (d.name.clone(), d)).collect());
        self.seeded.set(true);
    }

    pub fn apply_event(&self, event: Event) {
        if event.kind == EventKind::Request {
            self.requests_version.update(|v| *v += 1);
        }
        // When it last happened to each database, for the pages that
        // fetch again or hide something when it does.
        let stamped = match event.kind {
            EventKind::CredentialsRotated => Some(self.rotated),
            EventKind::Roles => Some(self.roles_changed),
            EventKind::Metrics => Some(self.sampled),
            _ => None,
        };
        if let Some(times) = stamped {
            times.update(|t| {
                t.insert(event.database.clone(), event.at);
            });
        }
        if event.kind == EventKind::Metrics {
            // Sampling changes nothing the list shows.
            return;
        }
        match event.view {
            Some(view) => {
                if event.kind == EventKind::Lag {
                    if let Some(lag) = &view.lag {
                        self.lag_history.update(|h| {
                            let samples = h.entry(view.name.clone()).or_default();
                            samples.push((event.at, lag.bytes));
                            if samples.len() > LAG_SAMPLES {
                                samples.remove(0);
                            }
                        });
                    }
                }
                self.dbs.update(|dbs| {
                    dbs.insert(view.name.clone(), view);
                });
            }
            None if event.kind == EventKind::Deleted => self.dbs.update(|dbs| {
                dbs.remove(&event.database);
            }),
            None => {}
        }
    }

    pub fn get(&self, name: &str) -> Option<DatabaseView> {
        self.dbs.with(|dbs| dbs.get(name).cloned())
    }

    /// Opens the stream, once per page, in the browser. Called where a
    /// signed-in user is known: signed out it would only fail and retry.
    pub fn start(&self) {
        let live = *self;
        Effect::new(move |_| {
            if live.started.get_value() {
                return;
            }
            live.started.set_value(true);
            #[cfg(feature = "hydrate")]
            connect(live);
        });
    }
}

/// Creates the live state for the app; [`Live::start`] opens its stream.
pub fn provide_live() -> Live {
    let live = Live::new();
    provide_context(live);
    live
}

pub fn use_live() -> Live {
    expect_context::<Live>()
}

#[cfg(feature = "hydrate")]
fn connect(live: Live) {
    use wasm_bindgen::prelude::Closure;
    use wasm_bindgen::JsCast;

    let Ok(source) = web_sys::EventSource::new("/console/events") else {
        return;
    };
    let on_open = Closure::<dyn FnMut(web_sys::Event)>::new(move |_| live.stream.set(Stream::Open));
    source.set_onopen(Some(on_open.as_ref().unchecked_ref()));
    on_open.forget();
    // The browser retries on its own; the indicator says so meanwhile.
    let on_error = Closure::<dyn FnMut(web_sys::Event)>::new(move |_| {
        live.stream.update(|s| {
            if *s == Stream::Open {
                *s = Stream::Reconnecting;
            }
        })
    });
    source.set_onerror(Some(on_error.as_ref().unchecked_ref()));
    on_error.forget();

    let on_snapshot = Closure::<dyn FnMut(web_sys::MessageEvent)>::new(move |e: web_sys::MessageEvent| {
        #[derive(serde::Deserialize)]
        struct Snapshot {
            databases: Vec<DatabaseView>,
        }
        if let Some(snapshot) = e.data().as_string().and_then(|d| serde_json::from_str::<Snapshot>(&d).ok()) {
            live.stream.set(Stream::Open);
            live.apply_snapshot(snapshot.databases);
        }
    });
    let _ = source.add_event_listener_with_callback("snapshot", on_snapshot.as_ref().unchecked_ref());
    on_snapshot.forget();

    for kind in EventKind::ALL.map(EventKind::as_str) {
        let on_event = Closure::<dyn FnMut(web_sys::MessageEvent)>::new(move |e: web_sys::MessageEvent| {
            if let Some(event) = e.data().as_string().and_then(|d| serde_json::from_str::<Event>(&d).ok()) {
                live.apply_event(event);
            }
        });
        let _ = source.add_event_listener_with_callback(kind, on_event.as_ref().unchecked_ref());
        on_event.forget();
    }
    // The stream lives as long as the page.
    std::mem::forget(source);
}
