//! Who is signed in (F-X-1, F-X-5): the user's name, role and settings, as one context for
//! every signed-in page (`use_me()`), loaded once per page through [`get_me`]. The settings
//! page updates it in place when the user changes something, so a new language or time zone
//! applies at once.

use domain::CalendarView;
use leptos::prelude::*;
use serde::{Deserialize, Serialize};

use crate::error::AppError;

/// Working hours (used by find-a-time): minutes from midnight and the days they apply to
/// (bit 0 = Monday … bit 6 = Sunday), in the user's own zone.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct WorkHours {
    pub start_minute: u32,
    pub end_minute: u32,
    pub days: u8,
}

impl Default for WorkHours {
    /// Monday to Friday, 08:00 to 17:00.
    fn default() -> Self {
        WorkHours { start_minute: 8 * 60, end_minute: 17 * 60, days: 0b0011111 }
    }
}

#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct Me {
    pub id: String,
    pub name: String,
    pub email: String,
    pub admin: bool,
    /// `en`, `da`, or empty: the browser's language.
    pub language: String,
    pub time_zone: String,
    /// 0 = Monday … 6 = Sunday.
    pub week_start: u8,
    pub default_view: CalendarView,
    pub show_weekends: bool,
    pub work: WorkHours,
}

#[server(endpoint = "me", input = crate::codec::Json, output = crate::codec::Json)]
pub async fn get_me() -> Result<Me, AppError> {
    crate::error::respond(async { Ok(server::me(&crate::state::Ctx::signed_in().await?.user)) }.await)
}

#[cfg(feature = "ssr")]
pub mod server {
    use super::*;

    pub fn me(u: &store::User) -> Me {
        Me {
            id: u.id.clone(),
            name: u.display_name.clone(),
            email: u.email.clone(),
            admin: u.role == domain::Role::Administrator,
            language: u.locale.clone(),
            time_zone: u.time_zone.clone(),
            week_start: u.week_start.clamp(0, 6) as u8,
            default_view: CalendarView::parse(Some(&u.default_view)).unwrap_or_default(),
            show_weekends: u.show_weekends,
            work: WorkHours { start_minute: u.work_start as u32, end_minute: u.work_end as u32, days: u.work_days as u8 },
        }
    }
}

/// The signed-in user, for every component below [`SignedIn`].
#[derive(Clone, Copy)]
pub struct MeCtx(pub RwSignal<Me>);

pub fn use_me() -> MeCtx {
    expect_context::<MeCtx>()
}

/// Loads who is signed in and shows `children` with [`MeCtx`] provided (or the error view:
/// e.g. "please sign in" when the session ran out).
#[component]
pub fn SignedIn(children: ChildrenFn) -> impl IntoView {
    let me = Resource::new(|| (), |_| get_me());
    // One `Suspend`, not a closure returning one: on the server, Suspense walks its children
    // several times to find what they load, and re-runs a closure each time — which built the
    // whole page again (and started its data loads again: the calendar's was read and sent to
    // the browser three times per page). A `Suspend` resolves once and keeps its view.
    view! {
        <Suspense fallback=crate::components::Loading>
            {Suspend::new(async move {
                match me.await {
                    Ok(me) => {
                        provide_context(MeCtx(RwSignal::new(me)));
                        children().into_any()
                    }
                    Err(error) => view! { <crate::components::ErrorView error/> }.into_any(),
                }
            })}
        </Suspense>
    }
}
