//! Parts of a page that load when first wanted, such as its dialogs.
//!
//! A dialog's code is only needed once someone opens it, so it is a
//! `#[lazy]` function: the browser build cuts it out of the first page's
//! WASM (`.ci/build-site`) and fetches it on the first open. From then on it
//! stays rendered, and its own `Show`/`Modal` follow the signal as before.
//! The server never renders a closed dialog, so it never asks for the part.

use std::{future::Future, pin::Pin, sync::Arc};

use leptos::prelude::*;

/// `load`'s view, from the first time `wanted` is true on.
pub fn deferred<Load, Loading>(wanted: impl Fn() -> bool + Send + Sync + 'static, load: Load) -> AnyView
where
    Load: Fn() -> Loading + Send + Sync + 'static,
    Loading: Future<Output = AnyView> + Send + 'static,
{
    erased(Arc::new(wanted), Arc::new(move || Box::pin(load()) as BoxedLoad))
}

type BoxedLoad = Pin<Box<dyn Future<Output = AnyView> + Send>>;

/// The work of [`deferred`], once for every use rather than once per
/// closure type: each copy of the memo, suspense and suspend was WASM of
/// the first page.
fn erased(wanted: Arc<dyn Fn() -> bool + Send + Sync>, load: Arc<dyn Fn() -> BoxedLoad + Send + Sync>) -> AnyView {
    let ever = Memo::new(move |before: Option<&bool>| before.copied().unwrap_or(false) || wanted());
    (move || {
        ever.get().then(|| {
            let load = load.clone();
            view! { <Suspense fallback=|| ()>{Suspend::new(async move { load().await })}</Suspense> }
        })
    })
    .into_any()
}
