//! A copy's progress: a bar with bytes and an ETA.

use leptos::prelude::*;

use crate::format;
use crate::model::Progress;

#[component]
pub fn ProgressBar(progress: Progress) -> impl IntoView {
    let percent = progress
        .bytes_total
        .filter(|t| *t > 0)
        .map(|t| ((progress.bytes_done as f64 / t as f64) * 100.0).clamp(0.0, 100.0));
    let text = match progress.bytes_total {
        Some(total) => {
            let eta = progress.eta_seconds.map(|s| format!(", ETA {}", format::eta(s))).unwrap_or_default();
            format!("{} / {}{eta}", format::bytes(progress.bytes_done), format::bytes(total))
        }
        None => progress.step.clone(),
    };
    view! {
        <div class="progress" data-testid="progress">
            <div
                class="progress-track"
                role="progressbar"
                aria-label="copy progress"
                aria-valuemin="0"
                aria-valuemax="100"
                aria-valuenow=percent.map(|p| format!("{p:.0}"))
            >
                <div class="progress-fill" style=format!("width: {:.0}%", percent.unwrap_or(0.0))></div>
            </div>
            <span class="progress-text" data-testid="progress-text">{text}</span>
        </div>
    }
}
