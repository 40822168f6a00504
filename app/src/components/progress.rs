//! Long work's progress (a copy's bytes, a masking's rows): a bar with
//! how far it is and an ETA.

use leptos::prelude::*;

use crate::format;
use crate::model::{Progress, ProgressUnit};

#[component]
pub fn ProgressBar(progress: Progress) -> impl IntoView {
    // Whole percent, in integers (no float printing in the WASM).
    let percent = progress
        .bytes_total
        .filter(|t| *t > 0)
        .map(|t| (u128::from(progress.bytes_done.min(t)) * 100 / u128::from(t)) as u64);
    let text = match progress.bytes_total {
        Some(total) => {
            let eta = progress.eta_seconds.map(|s| format!(", ETA {}", format::eta(s))).unwrap_or_default();
            let step = match progress.unit {
                ProgressUnit::Bytes => String::new(),
                ProgressUnit::Rows => format!("{}: ", progress.step),
            };
            format!("{step}{}{eta}", format::done_of(progress.bytes_done, total, progress.unit))
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
                aria-valuenow=percent.map(|p| p.to_string())
            >
                <div class="progress-fill" style=format!("width: {}%", percent.unwrap_or(0))></div>
            </div>
            <span class="progress-text" data-testid="progress-text">{text}</span>
        </div>
    }
}
