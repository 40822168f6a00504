//! A modal dialog that behaves as keyboard and screen-reader users expect:
//! focus moves into it when it opens, Tab and Shift+Tab stay inside it,
//! Escape or the backdrop closes it, and focus goes back to whatever opened
//! it. Every dialog of the console (create, follow, fork, request a fork,
//! promote, destroy) is one of these, shown while its `<Show>` is true.
//!
//! The keys are read on the window, not the dialog: a button that becomes
//! disabled while its request runs drops the focus to the page, and Escape
//! must still close the dialog then.

use leptos::prelude::*;

#[component]
pub fn Modal(
    /// What Escape and the backdrop do.
    on_close: Callback<()>,
    /// The id of the dialog's heading.
    labelledby: &'static str,
    testid: &'static str,
    children: Children,
) -> impl IntoView {
    let dialog: NodeRef<leptos::html::Div> = NodeRef::new();
    #[cfg(feature = "hydrate")]
    {
        use send_wrapper::SendWrapper;
        // Made as the dialog opens, so the focus is still on its opener.
        let opener = SendWrapper::new(document().active_element());
        Effect::new(move |_| {
            if let Some(root) = dialog.get() {
                focus::initial(&root);
            }
        });
        let keys = window_event_listener(leptos::ev::keydown, move |ev| match ev.key().as_str() {
            "Escape" => {
                ev.prevent_default();
                on_close.run(());
            }
            "Tab" => {
                if let Some(root) = dialog.get_untracked() {
                    focus::trap(&root, &ev);
                }
            }
            _ => {}
        });
        on_cleanup(move || {
            keys.remove();
            focus::restore(opener.take());
        });
    }
    view! {
        <div class="backdrop" on:click=move |_| on_close.run(())></div>
        <div class="dialog" role="dialog" aria-modal="true" aria-labelledby=labelledby data-testid=testid node_ref=dialog>
            {children()}
        </div>
    }
}

#[cfg(feature = "hydrate")]
mod focus {
    use wasm_bindgen::JsCast;
    use web_sys::{Element, HtmlElement, KeyboardEvent};

    const FOCUSABLE: &str = "a[href], button:not([disabled]), input:not([disabled]), select:not([disabled]), \
                             textarea:not([disabled]), [tabindex]:not([tabindex='-1'])";

    fn focusables(root: &Element) -> Vec<HtmlElement> {
        let Ok(list) = root.query_selector_all(FOCUSABLE) else { return Vec::new() };
        (0..list.length()).filter_map(|i| list.item(i)?.dyn_into::<HtmlElement>().ok()).collect()
    }

    /// The field marked `autofocus`, else the first field, else the first
    /// control.
    pub fn initial(root: &Element) {
        let all = focusables(root);
        let field = |e: &&HtmlElement| matches!(e.tag_name().as_str(), "INPUT" | "SELECT" | "TEXTAREA");
        let target = all
            .iter()
            .find(|e| e.has_attribute("autofocus"))
            .or_else(|| all.iter().find(field))
            .or_else(|| all.first());
        if let Some(target) = target {
            let _ = target.focus();
        }
    }

    /// Keeps Tab inside the dialog: from the last control to the first, from
    /// the first (Shift+Tab) to the last, and from outside it into it.
    pub fn trap(root: &Element, ev: &KeyboardEvent) {
        let all = focusables(root);
        let (Some(first), Some(last)) = (all.first(), all.last()) else {
            ev.prevent_default();
            return;
        };
        let active = leptos::prelude::document().active_element();
        let at = active.as_ref().and_then(|a| all.iter().position(|e| e.is_same_node(Some(a))));
        let target = match (at, ev.shift_key()) {
            (None, true) | (Some(0), true) => last,
            (None, false) => first,
            (Some(i), false) if i + 1 == all.len() => first,
            _ => return,
        };
        ev.prevent_default();
        let _ = target.focus();
    }

    pub fn restore(opener: Option<Element>) {
        if let Some(opener) = opener.filter(|o| o.is_connected()).and_then(|o| o.dyn_into::<HtmlElement>().ok()) {
            let _ = opener.focus();
        }
    }
}
