//! When a fork ends: a quiet note while there is time, a warning in its
//! last day (or its last quarter, for short-lived ones).

use chrono::{DateTime, Utc};
use leptos::prelude::*;

use crate::format;

#[component]
pub fn Expiry(at: DateTime<Utc>, created: DateTime<Utc>) -> impl IntoView {
    let left = (at - Utc::now()).num_seconds();
    let life = (at - created).num_seconds().max(1);
    let soon = left < 86_400.min(life / 4 + 1);
    let text = if left <= 0 { "expiring now".to_string() } else { format!("expires in {}", format::span(left)) };
    view! {
        <span class=if soon { "expiry warning small" } else { "expiry muted small" } data-testid="expiry"
            data-soon=soon.to_string() title=format!("{} UTC", format::utc(at, format::Clock::DateMinutes))>
            {if soon { format!("⚠ {text}") } else { text }}
        </span>
    }
}
