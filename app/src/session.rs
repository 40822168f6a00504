//! Who is signed in, as the console knows it: one request for the current
//! user, shared by the top bar and every page. Pages wrap themselves in
//! [`Signed`], which shows the password form instead while a one-time
//! password is in use (its code loads only then), and gives children the
//! [`Me`] through context.

use leptos::prelude::*;

use crate::accounts::Me;
use crate::api::current_user;
use crate::model::ApiError;
use crate::pages::password::PasswordGate;
use crate::ready::hydrating;

/// The current user, loaded once per page load.
#[derive(Clone, Copy)]
pub struct Session {
    pub me: Resource<Result<Option<Me>, ApiError>>,
}

pub fn provide_session() -> Session {
    let session = Session { me: Resource::new(|| (), |_| current_user()) };
    provide_context(session);
    session
}

pub fn use_session() -> Session {
    expect_context::<Session>()
}

/// The signed-in user, inside [`Signed`].
pub fn use_me() -> Me {
    expect_context::<Me>()
}

/// Renders `children` for a signed-in user who has chosen a password.
#[component]
pub fn Signed(children: ChildrenFn) -> impl IntoView {
    let session = use_session();
    let children = StoredValue::new(children);
    view! {
        <Suspense fallback=|| view! { <p class="notice">"Loading…"</p> }>
            {move || Suspend::new(hydrating(async move {
                match session.me.await {
                    Ok(Some(me)) if me.must_change_password => view! { <PasswordGate/> }.into_any(),
                    Ok(Some(me)) => {
                        provide_context(me);
                        children.with_value(|c| c()).into_any()
                    }
                    Ok(None) => view! {
                        <p class="notice" data-testid="signed-out">
                            "You are signed out. " <a href="/sign-in">"Sign in"</a>
                        </p>
                    }
                    .into_any(),
                    Err(e) => view! { <p class="error" role="alert">{e.message}</p> }.into_any(),
                }
            }))}
        </Suspense>
    }
}

/// A full page load of `path`, so the new session's cookies take effect
/// everywhere (stream included).
pub fn reload_to(path: &str) {
    #[cfg(feature = "hydrate")]
    {
        let _ = window().location().assign(path);
    }
    #[cfg(not(feature = "hydrate"))]
    let _ = path;
}
