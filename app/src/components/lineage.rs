//! What follows or was forked from what, drawn as a small SVG tree around
//! one database: its source above, itself, its followers and forks below.

use leptos::prelude::*;

use crate::model::DatabaseView;

#[component]
pub fn Lineage(db: DatabaseView, forks: Vec<String>) -> impl IntoView {
    const BOX_W: f64 = 120.0;
    const BOX_H: f64 = 28.0;
    const GAP: f64 = 16.0;
    let parent = db
        .following
        .clone()
        .map(|p| (p, "follows"))
        .or(db.forked_from.clone().map(|p| (p, "forked from")))
        .or(db.followed.as_ref().map(|f| (f.source.clone(), "followed")));
    let children: Vec<(String, &'static str)> =
        db.followers.iter().map(|f| (f.clone(), "follower")).chain(forks.iter().map(|f| (f.clone(), "fork"))).collect();
    let width = ((children.len().max(1)) as f64 * (BOX_W + GAP)).max(BOX_W + 2.0 * GAP);
    let rows = if parent.is_some() { 3.0 } else { 2.0 };
    let height = rows * (BOX_H + 30.0);
    let mid = width / 2.0;
    let self_y = if parent.is_some() { BOX_H + 30.0 } else { 0.0 };
    let node = |x: f64, y: f64, label: String, kind: &'static str| {
        view! {
            <g class=format!("node node-{}", kind.replace(' ', "-"))>
                <rect x=x - BOX_W / 2.0 y=y width=BOX_W height=BOX_H rx="6"/>
                <text x=x y=y + BOX_H / 2.0 + 4.0 text-anchor="middle">{label}</text>
            </g>
        }
    };
    let parent_view = parent.map(|(p, kind)| {
        view! {
            <line x1=mid y1=BOX_H x2=mid y2=self_y class=format!("edge edge-{}", kind.replace(' ', "-"))/>
            {node(mid, 0.0, p, kind)}
        }
    });
    let n = children.len() as f64;
    let child_views = children
        .into_iter()
        .enumerate()
        .map(|(i, (name, kind))| {
            let x = (i as f64 + 0.5) * width / n;
            let y = self_y + BOX_H + 30.0;
            view! {
                <line x1=mid y1=self_y + BOX_H x2=x y2=y class=format!("edge edge-{kind}")/>
                {node(x, y, format!("{name} ({kind})"), kind)}
            }
        })
        .collect_view();
    let summary = format!(
        "{}{} followers, {} forks",
        db.following
            .as_ref()
            .map(|p| format!("follows {p}; "))
            .or(db.forked_from.as_ref().map(|p| format!("forked from {p}; ")))
            .or(db.followed.as_ref().map(|f| format!("{}; ", f.describe(chrono::Utc::now()))))
            .unwrap_or_default(),
        db.followers.len(),
        forks.len()
    );
    view! {
        <svg class="lineage" viewBox=format!("0 0 {width} {height}") width=width height=height role="img"
            aria-label=summary data-testid="lineage">
            {parent_view}
            {node(mid, self_y, db.name.clone(), "self")}
            {child_views}
        </svg>
    }
}
