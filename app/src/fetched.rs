//! Data only the browser fetches, after hydration: things the server's
//! page does without (a chart's history, a count in the nav, a setting
//! that hides a button). A `LocalResource` read inside a `<Suspense>`
//! would hold the server's render of that Suspense open for ever, since it
//! never resolves there; an effect runs only in the browser, so the
//! server renders the "not yet" state and the browser fills it in.

use std::future::Future;

use leptos::prelude::*;

/// `None` until `fetch`'s future resolves, then its value; fetched again
/// whenever a signal `fetch` reads (before its future) changes. A slower
/// answer to an older question never overwrites a newer one.
pub fn fetched<T, Fut>(fetch: impl Fn() -> Fut + 'static) -> ReadSignal<Option<T>>
where
    T: Send + Sync + 'static,
    Fut: Future<Output = T> + 'static,
{
    let value = RwSignal::new(None);
    let asked = StoredValue::new(0u64);
    Effect::new(move |_| {
        let future = fetch();
        let this = asked.get_value() + 1;
        asked.set_value(this);
        leptos::task::spawn_local(async move {
            let answer = future.await;
            if asked.try_get_value() == Some(this) {
                value.try_set(Some(answer));
            }
        });
    });
    value.read_only()
}
