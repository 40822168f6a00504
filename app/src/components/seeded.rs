//! Waits for the server's list of databases (rendered into the first
//! paint), hands it to the live state, then shows its children.

use leptos::prelude::*;

use crate::api::list_databases;
use crate::live::use_live;
use crate::ready::hydrating;

#[component]
pub fn Seeded(children: ChildrenFn) -> impl IntoView {
    let live = use_live();
    let initial = Resource::new(|| (), |_| list_databases());
    let children = StoredValue::new(children);
    view! {
        <Suspense fallback=|| view! { <p class="notice">"Loading databases…"</p> }>
            {move || Suspend::new(hydrating(async move {
                match initial.await {
                    Ok(list) => {
                        live.seed(list);
                        children.with_value(|c| c()).into_any()
                    }
                    Err(e) => view! {
                        <p class="error" role="alert">{format!("Could not load databases: {e}")}</p>
                    }
                    .into_any(),
                }
            }))}
        </Suspense>
    }
}
