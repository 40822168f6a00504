//! Follow, Fork or Request fork for one database: the same buttons, with
//! the same rules, in the databases list and on the database's own page
//! (which also offers Request unmasked where forks are masked).

use leptos::prelude::*;

use crate::accounts::Me;
use crate::components::create_dialog::CreateMode;
use crate::model::{DatabaseView, Phase};
use crate::policy::{allows, fork_needs_approval, Action as Can};

/// The buttons `me` may press for `db`; they open the dialogs behind
/// `create` and `request`, which the page renders once.
#[component]
pub fn CopyActions(
    db: DatabaseView,
    me: Me,
    create: RwSignal<Option<CreateMode>>,
    request: RwSignal<Option<String>>,
    /// The list's compact buttons, or the page's full-size ones.
    #[prop(optional)]
    small: bool,
) -> impl IntoView {
    let usable = db.phase == Phase::Available;
    let can_follow = allows(me.role, &me.name, Can::Follow(&db));
    let can_fork = allows(me.role, &me.name, Can::Fork(&db));
    let needs_approval = fork_needs_approval(me.role, &db, false);
    let unmasked_needs_approval = fork_needs_approval(me.role, &db, true);
    let class = if small { "button small secondary" } else { "button secondary" };
    let name = db.name;
    let follow_name = name.clone();
    let follow = can_follow.then(|| {
        view! {
            <button class=class data-testid="follow" disabled=!usable aria-label=format!("Follow {name}")
                on:click=move |_| create.set(Some(CreateMode::Follow(follow_name.clone())))>"Follow"</button>
        }
    });
    let fork_name = name.clone();
    let fork = match (can_fork, needs_approval) {
        (false, _) => None,
        (true, false) => Some(
            view! {
                <button class=class data-testid="fork" disabled=!usable aria-label=format!("Fork {name}")
                    on:click=move |_| create.set(Some(CreateMode::Fork(fork_name.clone())))>"Fork"</button>
            }
            .into_any(),
        ),
        (true, true) => Some(
            view! {
                <button class=class data-testid="request-fork" disabled=!usable
                    aria-label=format!("Request fork of {name}")
                    on:click=move |_| request.set(Some(fork_name.clone()))>"Request fork"</button>
            }
            .into_any(),
        ),
    };
    // On its page, a database whose forks are masked also offers to ask
    // for an unmasked one (the list keeps to one fork button).
    let unmasked_name = name.clone();
    let unmasked = (can_fork && !small && !needs_approval && unmasked_needs_approval).then(|| {
        view! {
            <button class=class data-testid="request-unmasked" disabled=!usable
                aria-label=format!("Request an unmasked fork of {name}")
                on:click=move |_| request.set(Some(unmasked_name.clone()))>"Request unmasked"</button>
        }
    });
    view! { {follow}{fork}{unmasked} }
}
