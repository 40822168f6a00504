//! Parts of a page that load when first wanted, such as its dialogs.
//!
//! A dialog's code is only needed once someone opens it, so it is a
//! `#[lazy]` function: the browser build cuts it out of the first page's
//! WASM (`.ci/build-site`) and fetches it on the first open. From then on it
//! stays rendered, and its own `Show`/`Modal` follow the signal as before.
//! The server never renders a closed dialog, so it never asks for the part.

use std::future::Future;

use leptos::prelude::*;

/// `load`'s view, from the first time `wanted` is true on.
pub fn deferred<Load, Loading>(wanted: impl Fn() -> bool + Send + Sync + 'static, load: Load) -> impl IntoView
where
    Load: Fn() -> Loading + Clone + Send + Sync + 'static,
    Loading: Future<Output = AnyView> + Send + 'static,
{
    let ever = Memo::new(move |before: Option<&bool>| before.copied().unwrap_or(false) || wanted());
    move || {
        ever.get().then(|| {
            let load = load.clone();
            view! { <Suspense fallback=|| ()>{Suspend::new(async move { load().await })}</Suspense> }
        })
    }
}
