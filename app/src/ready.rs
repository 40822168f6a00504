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
/// it (`routes.rs`): a lazy page hydrates after the rest of the app.
pub fn mark_hydrated() {
    Effect::new(move |_| {
        #[cfg(feature = "hydrate")]
        {
            if let Some(root) = document().document_element() {
                let _ = root.set_attribute("data-hydrated", "true");
            }
            // Suspended parts of the page hydrate in tasks of their own; a
            // tick later their controls are live too.
            leptos::task::spawn_local(async {
                leptos::task::tick().await;
                replay();
            });
        }
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
