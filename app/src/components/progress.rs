//! Long work's progress (a copy's bytes, a masking's rows): a bar with
//! how far it is and an ETA.

use leptos::prelude::*;

use crate::format;
use crate::model::{Progress, ProgressUnit};

#[component]
pub fn ProgressBar(progress: Progress) -> impl IntoView {
    let percent = progress
        .bytes_total
        .filter(|t| *t > 0)
        .map(|t| ((progress.bytes_done as f64 / t as f64) * 100.0).clamp(0.0, 100.0));
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
                aria-valuenow=percent.map(|p| format!("{p:.0}"))
            >
                <div class="progress-fill" style=format!("width: {:.0}%", percent.unwrap_or(0.0))></div>
            </div>
            <span class="progress-text" data-testid="progress-text">{text}</span>
        </div>
    }
}
