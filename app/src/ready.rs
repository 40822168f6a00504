//! Clicks and submits made before the WASM has taken over the page. On a
//! slow link the server-rendered console is visible seconds before it is
//! interactive; a button pressed then would do nothing, and a form would be
//! submitted by the browser itself (a GET to the same page, with what was
//! typed in the URL). The page's first script, [`PRELUDE`], holds the last
//! such press instead (the control shows it is waiting), and once the page
//! is hydrated [`mark_hydrated`] hands it to the control, now live.
//!
//! Links are left alone: they work without the WASM.

use leptos::prelude::*;

/// Runs in `<head>`, before anything can be pressed.
pub const PRELUDE: &str = r#"(function () {
  var root = document.documentElement;
  var held = null;
  function hold(event) {
    if (root.hasAttribute("data-hydrated")) return;
    var control = event.type === "submit" ? event.target : event.target.closest && event.target.closest("button");
    if (!control) return;
    // A form's submit button: the submit event that follows is held instead.
    if (event.type === "click" && control.type === "submit" && control.form) return;
    event.preventDefault();
    event.stopPropagation();
    if (held) { held.removeAttribute("data-held"); held.removeAttribute("aria-busy"); }
    held = control;
    held.setAttribute("data-held", "");
    held.setAttribute("aria-busy", "true");
  }
  document.addEventListener("click", hold, true);
  document.addEventListener("submit", hold, true);
  window.__pgfleetReplay = function () {
    var control = held;
    held = null;
    if (!control) return;
    control.removeAttribute("data-held");
    control.removeAttribute("aria-busy");
    if (!control.isConnected) return;
    if (control.tagName === "FORM") control.requestSubmit(); else control.click();
  };
})();"#;

/// Sets `data-hydrated` on `<html>` once the WASM has taken over the page
/// (tests and styles read it), then replays a held press. Each route calls
/// it (`routes.rs`): a lazy page hydrates after the rest of the app. The
/// page's suspended parts ([`hydrating`]) hydrate later still, each in a
/// task of its own, so the mark waits for them too: marked sooner, a press
/// on a control in one of them would be neither held nor handled.
pub fn mark_hydrated() {
    Effect::new(move |_| {
        #[cfg(feature = "hydrate")]
        done();
    });
}

/// False until the component calling it has been drawn in the browser:
/// what the server renders, and hydration finds, is the `false` state.
pub fn mounted() -> ReadSignal<bool> {
    let mounted = RwSignal::new(false);
    Effect::new(move |_| mounted.set(true));
    mounted.read_only()
}

/// A suspended part's content (what a `Suspense` or `Transition` awaits),
/// waited for until it has hydrated, on the page's first load.
pub fn hydrating<F: std::future::Future>(content: F) -> impl std::future::Future<Output = F::Output> {
    #[cfg(feature = "hydrate")]
    {
        use futures::FutureExt;
        let waiting = Waiting::new();
        content.inspect(move |_| drop(waiting))
    }
    #[cfg(not(feature = "hydrate"))]
    content
}

#[cfg(feature = "hydrate")]
thread_local! {
    /// How many things the first load still waits for (the page, then each
    /// suspended part), or `None` once the console is marked live.
    static WAITING: std::cell::Cell<Option<u32>> = const { std::cell::Cell::new(Some(1)) };
}

/// One suspended part not hydrated yet, before the console is live;
/// dropped when its content is ready (or the part is gone).
#[cfg(feature = "hydrate")]
struct Waiting;

#[cfg(feature = "hydrate")]
impl Waiting {
    fn new() -> Option<Self> {
        let n = WAITING.get()?;
        WAITING.set(Some(n + 1));
        Some(Waiting)
    }
}

#[cfg(feature = "hydrate")]
impl Drop for Waiting {
    fn drop(&mut self) {
        done();
    }
}

/// One thing less to wait for. A tick later (the content just awaited is
/// drawn by then, and has counted the parts inside it), marks the console
/// live if nothing is left.
#[cfg(feature = "hydrate")]
fn done() {
    let Some(n) = WAITING.get() else { return };
    WAITING.set(Some(n.saturating_sub(1)));
    leptos::task::spawn_local(async {
        leptos::task::tick().await;
        if WAITING.get() != Some(0) {
            return;
        }
        WAITING.set(None);
        if let Some(root) = document().document_element() {
            let _ = root.set_attribute("data-hydrated", "true");
        }
        replay();
    });
}

#[cfg(feature = "hydrate")]
fn replay() {
    use wasm_bindgen::JsCast;
    use web_sys::js_sys;
    let replay = js_sys::Reflect::get(&window(), &"__pgfleetReplay".into()).ok();
    if let Some(replay) = replay.and_then(|f| f.dyn_into::<js_sys::Function>().ok()) {
        let _ = replay.call0(&wasm_bindgen::JsValue::NULL);
    }
}
