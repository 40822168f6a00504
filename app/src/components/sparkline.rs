//! A follower's recent lag as a small SVG line.

use leptos::prelude::*;

#[component]
pub fn Sparkline(#[prop(into)] samples: Signal<Vec<u64>>) -> impl IntoView {
    const W: f64 = 240.0;
    const H: f64 = 40.0;
    let points = move || {
        let s = samples.get();
        let max = s.iter().copied().max().unwrap_or(0).max(1) as f64;
        let step = if s.len() > 1 { W / (s.len() - 1) as f64 } else { W };
        s.iter()
            .enumerate()
            .map(|(i, v)| format!("{:.1},{:.1}", i as f64 * step, H - (*v as f64 / max) * (H - 2.0) - 1.0))
            .collect::<Vec<_>>()
            .join(" ")
    };
    view! {
        <svg class="sparkline" viewBox=format!("0 0 {W} {H}") width=W height=H role="img"
            aria-label="replication lag over the last minutes" data-testid="lag-chart">
            <polyline points=points fill="none" stroke="currentColor" stroke-width="1.5"/>
        </svg>
    }
}
