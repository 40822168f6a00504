//! The tags beside a database's name: protected (with a drawn lock, since
//! an emoji needs a font the machine may not have), public, and for a fork
//! of a database with masking rules, masked or unmasked.

use leptos::prelude::*;

use crate::masking::ForkMasking;
use crate::model::DatabaseView;

#[component]
pub fn Tags(
    db: DatabaseView,
    /// On the database's page the public tag links to its embed.
    #[prop(optional)]
    linked: bool,
) -> impl IntoView {
    let protected = db.protected.then(|| {
        view! {
            <span class="tag protected-tag" data-testid="protected" title="only admins destroy or promote it">
                <LockIcon/>
                "protected"
            </span>
        }
    });
    let public = db.public.then(|| {
        if linked {
            view! {
                <a class="tag public-tag" data-testid="public" href=format!("/embed/{}", db.name) rel="external">"public"</a>
            }
            .into_any()
        } else {
            view! { <span class="tag public-tag" data-testid="public" title="on the public status page">"public"</span> }
                .into_any()
        }
    });
    let masking = db.masking.map(|m| match m {
        ForkMasking::Masked { version } => view! {
            <span class="tag masked-tag" data-testid="masked" title=format!("masked by its source's rules (version {version})")>
                "masked"
            </span>
        }
        .into_any(),
        ForkMasking::Unmasked { reason } => view! {
            <span class="tag unmasked-tag" data-testid="unmasked" title=format!("made without its source's masking rules: {reason}")>
                "unmasked"
            </span>
        }
        .into_any(),
    });
    view! { {protected}{public}{masking} }
}

/// A padlock, drawn in the text colour.
#[component]
pub fn LockIcon() -> impl IntoView {
    view! {
        <svg class="icon" data-testid="lock-icon" viewBox="0 0 16 16" width="12" height="12" aria-hidden="true" focusable="false">
            <path d="M5 7V5a3 3 0 0 1 6 0v2" fill="none" stroke="currentColor" stroke-width="1.6"/>
            <rect x="3" y="7" width="10" height="7.5" rx="1.5" fill="currentColor"/>
        </svg>
    }
}
