//! Personal settings (F-X-5, F-X-6, F-CAL-6): language, time zone, week start, default view,
//! weekends, working hours, and the calendar connection at a glance. Every change is saved
//! at once and applies at once (a new language re-words the page without a reload). A lazily
//! loaded route: its code is a WebAssembly chunk of its own.

pub mod api;

use api::{get_settings, SaveSettings, SettingsData, SettingsForm};
use domain::CalendarView;
use leptos::prelude::*;
use leptos_router::{lazy_route, LazyRoute};

use crate::components::{field_error, AppBar, CheckField, Combobox, ErrorView, Interactive, Loading, PageTitle, SelectField, TimeField};
use crate::connect::CalendarConnection;
use crate::error::AppError;
use crate::i18n::*;
use crate::lang;
use crate::me::{use_me, Me, SignedIn};

/// The settings page, in a WebAssembly chunk of its own. Its data is read from within that
/// chunk too (not in `data()`, which runs in the main one), so the calendar's first load
/// carries none of this page's code.
pub struct SettingsRoute;

#[lazy_route]
impl LazyRoute for SettingsRoute {
    fn data() -> Self {
        SettingsRoute
    }

    fn view(_this: Self) -> AnyView {
        let data = Resource::new(|| (), |_| get_settings());
        view! {
            <SignedIn>
                <SettingsPage data/>
            </SignedIn>
        }
        .into_any()
    }
}

#[component]
fn SettingsPage(data: Resource<Result<SettingsData, AppError>>) -> impl IntoView {
    let l = crate::lang::use_locale();
    view! {
        <PageTitle page=td_string!(l, settings.title).to_string()/>
        <crate::connect::PageStyles/>
        <AppBar>
            <h1 class="page-name">{td_string!(l, settings.title)}</h1>
        </AppBar>
        <Suspense fallback=Loading>
            {move || Suspend::new(async move {
                match data.await {
                    Ok(d) => view! { <SettingsForm data=d/> <Interactive/> }.into_any(),
                    Err(error) => view! { <ErrorView error/> }.into_any(),
                }
            })}
        </Suspense>
    }
}

fn hhmm(minutes: u32) -> String {
    format!("{:02}:{:02}", minutes / 60, minutes % 60)
}

#[component]
fn SettingsForm(data: SettingsData) -> impl IntoView {
    let l = crate::lang::use_locale();
    let me = use_me();
    let m = me.0.get_untracked();
    let language = RwSignal::new(m.language.clone());
    let time_zone = RwSignal::new(m.time_zone.clone());
    let week_start = RwSignal::new(m.week_start.to_string());
    let default_view = RwSignal::new(m.default_view.as_str().to_string());
    let show_weekends = RwSignal::new(m.show_weekends);
    let work_start = RwSignal::new(hhmm(m.work.start_minute));
    let work_end = RwSignal::new(hhmm(m.work.end_minute));
    let work_days: [RwSignal<bool>; 7] = std::array::from_fn(|i| RwSignal::new(m.work.days & (1 << i) != 0));
    let save = ServerAction::<SaveSettings>::new();
    let form = move || SettingsForm {
        language: language.get(),
        time_zone: time_zone.get(),
        week_start: week_start.get().parse().unwrap_or(0),
        default_view: default_view.get(),
        show_weekends: show_weekends.get(),
        work_start: work_start.get(),
        work_end: work_end.get(),
        work_days: work_days.iter().enumerate().fold(0u8, |acc, (i, d)| if d.get() { acc | (1 << i) } else { acc }),
    };
    // Every change is saved at once (the first run only takes note of the form as loaded).
    Effect::new(move |prev: Option<SettingsForm>| {
        let now = form();
        if prev.as_ref().is_some_and(|p| *p != now) {
            save.dispatch(SaveSettings { form: now.clone() });
        }
        now
    });
    // Saved: the whole app follows (language, zone, week start, …).
    Effect::new(move |_| {
        if let Some(Ok(saved)) = save.value().get() {
            apply(l, &saved);
            me.0.set(saved);
        }
    });
    let error = Signal::derive(move || save.value().get().and_then(Result::err));
    let status = move || {
        if save.pending().get() {
            Some(td_string!(l, settings.saving).to_string())
        } else {
            match save.value().get() {
                Some(Ok(_)) => Some(td_string!(l, settings.saved).to_string()),
                Some(Err(e)) => Some(tdf!(l, settings.not_saved, reason = lang::error_text(l, &e))),
                None => None,
            }
        }
    };
    let languages = Signal::derive(move || {
        vec![
            (String::new(), td_string!(l, settings.language_auto).to_string()),
            ("en".to_string(), td_string!(l, settings.english).to_string()),
            ("da".to_string(), td_string!(l, settings.danish).to_string()),
        ]
    });
    let week_starts = Signal::derive(move || {
        let l = l;
        [0u32, 5, 6].iter().map(|d| (d.to_string(), lang::weekday_name(l, d + 1).to_string())).collect::<Vec<_>>()
    });
    let views = Signal::derive(move || CalendarView::ALL.iter().map(|v| (v.as_str().to_string(), crate::calendar::view_name(l, *v).to_string())).collect::<Vec<_>>());
    let zones = Signal::stored(data.zones.clone());
    let day_boxes = work_days
        .iter()
        .enumerate()
        .map(|(i, d)| {
            let d = *d;
            view! {
                <CheckField name="work_day" value=d>{lang::weekday_short(l, i as u32 + 1)}</CheckField>
            }
        })
        .collect_view();
    view! {
        <main class="settings" id="main">
            <p class="save-status" role="status" aria-live="polite">{status}</p>
            <section aria-labelledby="s-region">
                <h2 id="s-region">{td_string!(l, settings.region)}</h2>
                <SelectField name="language" value=language options=languages error=field_error(error, "language")>{td_string!(l, settings.language)}</SelectField>
                <Combobox name="time_zone" value=time_zone options=zones error=field_error(error, "time_zone")
                    hint=td_string!(l, settings.time_zone_hint).to_string()>
                    {td_string!(l, settings.time_zone)}
                </Combobox>
                <SelectField name="week_start" value=week_start options=week_starts error=field_error(error, "week_start")>{td_string!(l, settings.week_start)}</SelectField>
            </section>
            <section aria-labelledby="s-calendar">
                <h2 id="s-calendar">{td_string!(l, settings.calendar)}</h2>
                <SelectField name="default_view" value=default_view options=views error=field_error(error, "default_view")>{td_string!(l, settings.default_view)}</SelectField>
                <CheckField name="show_weekends" value=show_weekends>{td_string!(l, settings.show_weekends)}</CheckField>
            </section>
            <section aria-labelledby="s-work">
                <h2 id="s-work">{td_string!(l, settings.work)}</h2>
                <p class="hint">{td_string!(l, settings.work_hint)}</p>
                <div class="row">
                    <TimeField name="work_start" value=work_start error=field_error(error, "work_start")>{td_string!(l, settings.work_from)}</TimeField>
                    <TimeField name="work_end" value=work_end error=field_error(error, "work_end")>{td_string!(l, settings.work_to)}</TimeField>
                </div>
                <fieldset class="days">
                    <legend>{td_string!(l, settings.work_days)}</legend>
                    {day_boxes}
                </fieldset>
                {move || field_error(error, "work").get().map(|m| view! { <p class="field-error" role="alert">{m}</p> })}
            </section>
            <section aria-labelledby="s-connection">
                <h2 id="s-connection">{td_string!(l, settings.connection)}</h2>
                <CalendarConnection user_id=m.id.clone() name=m.name.clone() email=m.email.clone() me=true connected=data.connected/>
            </section>
        </main>
    }
}

/// Applies a saved user's language at once (the user's choice, else the browser's). The
/// page's words are fixed for its life, so a new language reloads it: the server renders it
/// anew in that language, `<html lang>` included.
fn apply(page: Locale, saved: &Me) {
    let locale = lang::parse_locale(&saved.language).unwrap_or_else(browser_locale);
    if locale != page {
        #[cfg(feature = "hydrate")]
        let _ = window().location().reload();
    }
}

/// The browser's preferred language among ours (the choice "the browser's language").
fn browser_locale() -> Locale {
    #[cfg(feature = "hydrate")]
    {
        let langs = window().navigator().languages();
        for l in langs.iter() {
            if let Some(found) = l.as_string().and_then(|l| lang::parse_locale(&l)) {
                return found;
            }
        }
    }
    Locale::en
}
