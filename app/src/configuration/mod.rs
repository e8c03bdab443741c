//! Configuration (administrators only, F-X-1): Main settings → Main features (the company's
//! calendar integration switch, F-ADM-1), Integration → Calendar (every user's calendar
//! connection, F-ADM-2 …) and the audit log. One lazily loaded route: its code is a
//! WebAssembly chunk of its own. Its server functions refuse everyone but administrators;
//! the app bar shows the way here to administrators only.

pub mod api;
mod audit;
mod calendars;
pub mod calendars_api;
mod features;
mod service_accounts;

use leptos::prelude::*;
use leptos_router::hooks::use_params_map;
use leptos_router::{lazy_route, LazyRoute};

use crate::components::{AppBar, ErrorView, PageTitle};
use crate::error::AppError;
use crate::i18n::*;
use crate::me::{use_me, SignedIn};
use crate::routes;

/// The sections of the Configuration area, in the order of its menu.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Section {
    Features,
    Calendars,
    Audit,
}

impl Section {
    pub const ALL: [Section; 3] = [Section::Features, Section::Calendars, Section::Audit];

    pub fn slug(self) -> &'static str {
        match self {
            Section::Features => "features",
            Section::Calendars => "calendar",
            Section::Audit => "audit",
        }
    }

    /// `/configuration/<slug>`; a missing or unknown one is the first section.
    fn parse(s: Option<&str>) -> Option<Section> {
        match s {
            None => Some(Section::Features),
            Some(s) => Section::ALL.into_iter().find(|x| x.slug() == s),
        }
    }

    fn name(self, l: Locale) -> &'static str {
        match self {
            Section::Features => td_string!(l, config.features),
            Section::Calendars => td_string!(l, config.calendars),
            Section::Audit => td_string!(l, config.audit),
        }
    }

    /// The heading of its group in the menu.
    fn group(self, l: Locale) -> &'static str {
        match self {
            Section::Features => td_string!(l, config.main_settings),
            Section::Calendars => td_string!(l, config.integration_group),
            Section::Audit => td_string!(l, config.activity),
        }
    }
}

pub struct ConfigurationRoute;

#[lazy_route]
impl LazyRoute for ConfigurationRoute {
    fn data() -> Self {
        ConfigurationRoute
    }

    fn view(_this: Self) -> AnyView {
        view! {
            <SignedIn>
                <ConfigurationPage/>
            </SignedIn>
        }
        .into_any()
    }
}

#[component]
fn ConfigurationPage() -> impl IntoView {
    let l = crate::lang::use_locale();
    // Not for users (the server functions refuse them anyway): say so, show nothing of it.
    if !use_me().0.with_untracked(|m| m.admin) {
        return view! {
            <PageTitle page=td_string!(l, config.title).to_string()/>
            <ErrorView error=AppError::Forbidden/>
        }
        .into_any();
    }
    let params = use_params_map();
    let section = Memo::new(move |_| params.with(|p| Section::parse(p.get("section").as_deref())));
    let title = move || match section.get() {
        Some(s) => format!("{} · {}", s.name(l), td_string!(l, config.title)),
        None => td_string!(l, errors.page_not_found).to_string(),
    };
    view! {
        <PageTitle page=Signal::derive(title)/>
        <crate::connect::PageStyles/>
        <AppBar>
            <h1 class="page-name">{td_string!(l, config.title)}</h1>
        </AppBar>
        <div class="configuration">
            <ConfigurationMenu current=section/>
            <main id="main" class="config-section">
                {move || match section.get() {
                    Some(Section::Features) => view! { <features::MainFeatures/> }.into_any(),
                    Some(Section::Calendars) => view! { <calendars::Calendars/> }.into_any(),
                    Some(Section::Audit) => view! { <audit::AuditLog/> }.into_any(),
                    None => view! {
                        <h2>{td_string!(l, errors.page_not_found)}</h2>
                        <p>{td_string!(l, errors.page_not_found_text)}</p>
                    }
                    .into_any(),
                }}
            </main>
        </div>
    }
    .into_any()
}

/// The area's menu: each section under its group's heading.
#[component]
fn ConfigurationMenu(current: Memo<Option<Section>>) -> impl IntoView {
    let l = crate::lang::use_locale();
    let items = Section::ALL
        .into_iter()
        .map(|s| {
            view! {
                <li>
                    <span class="group">{s.group(l)}</span>
                    <a href=format!("{}/{}", routes::CONFIGURATION, s.slug()) aria-current=move || (current.get() == Some(s)).then_some("page")>{s.name(l)}</a>
                </li>
            }
        })
        .collect_view();
    view! {
        <nav class="config-menu" aria-label=td_string!(l, config.menu)>
            <ul>{items}</ul>
        </nav>
    }
}
