//! The user's language (F-X-6): which one a page is in, and the words for what is not a plain
//! catalogue entry — dates in the user's language (month and day names come from the
//! catalogue, not from ICU data in the WebAssembly), and the server's codes (errors,
//! problems, sync reasons, notices).
//!
//! The language is the user's setting, else the browser's `Accept-Language`, else English.
//! The server decides it for each page and writes it into `<html lang>`; the browser reads it
//! back from there when it hydrates, so both render the same words.

use chrono::{Datelike, NaiveDate, NaiveDateTime};
use domain::{Answer, AuthKind, Problem, ProviderKind, StatusReason, SyncNotice, Title};
use leptos::prelude::*;

use crate::error::AppError;
use crate::i18n::*;

/// `template` with each `{name}` replaced by its value (unknown names are left as they are).
pub fn fill(template: &str, args: &[(&str, &dyn std::fmt::Display)]) -> String {
    let mut out = String::with_capacity(template.len() + 16);
    let mut rest = template;
    while let Some(open) = rest.find('{') {
        out.push_str(&rest[..open]);
        let after = &rest[open + 1..];
        match after.find('}').map(|close| (&after[..close], close)) {
            Some((name, close)) if args.iter().any(|(n, _)| *n == name) => {
                if let Some((_, v)) = args.iter().find(|(n, _)| *n == name) {
                    use std::fmt::Write;
                    let _ = write!(out, "{v}");
                }
                rest = &after[close + 1..];
            }
            _ => {
                out.push('{');
                rest = after;
            }
        }
    }
    out.push_str(rest);
    out
}

/// The languages a user can choose ("" = follow the browser).
pub const CHOICES: [&str; 2] = ["en", "da"];

/// A locale from a stored choice or a language tag (`da`, `da-DK`, `en-GB`, …).
pub fn parse_locale(tag: &str) -> Option<Locale> {
    let primary = tag.trim().split(['-', '_']).next().unwrap_or_default().to_ascii_lowercase();
    match primary.as_str() {
        "en" => Some(Locale::en),
        "da" => Some(Locale::da),
        _ => None,
    }
}

/// The best supported language of an `Accept-Language` header (`da-DK,da;q=0.9,en;q=0.8`).
pub fn from_accept_language(header: &str) -> Option<Locale> {
    let mut tags: Vec<(f32, usize, &str)> = header
        .split(',')
        .enumerate()
        .filter_map(|(i, part)| {
            let mut bits = part.split(';');
            let tag = bits.next()?.trim();
            let q = bits.find_map(|b| b.trim().strip_prefix("q=").and_then(|q| q.parse::<f32>().ok())).unwrap_or(1.0);
            (q > 0.0 && !tag.is_empty()).then_some((q, i, tag))
        })
        .collect();
    // Highest quality first; equal qualities keep the browser's order.
    tags.sort_by(|a, b| b.0.partial_cmp(&a.0).unwrap_or(std::cmp::Ordering::Equal).then(a.1.cmp(&b.1)));
    tags.into_iter().find_map(|(_, _, tag)| parse_locale(tag))
}

/// The language of the page being rendered (server side): the signed-in user's choice (the
/// guard put the user in the request), else the browser's.
#[cfg(feature = "ssr")]
pub fn request_locale() -> Locale {
    let Some(parts) = use_context::<http::request::Parts>() else { return Locale::en };
    locale_for(parts.extensions.get::<store::User>(), &parts.headers)
}

/// The language of a request: the user's choice, else the browser's, else English.
#[cfg(feature = "ssr")]
pub fn locale_for(user: Option<&store::User>, headers: &http::HeaderMap) -> Locale {
    if let Some(l) = user.and_then(|u| parse_locale(&u.locale)) {
        return l;
    }
    headers.get(http::header::ACCEPT_LANGUAGE).and_then(|v| v.to_str().ok()).and_then(from_accept_language).unwrap_or(Locale::en)
}

/// The language the page was rendered in (browser side: `<html lang>`).
#[cfg(not(feature = "ssr"))]
pub fn request_locale() -> Locale {
    document().document_element().and_then(|e| e.get_attribute("lang")).and_then(|l| parse_locale(&l)).unwrap_or(Locale::en)
}

/// The language of the page, fixed for its life: its words are plain text, not signals (a
/// reactive text per word would cost WebAssembly size and hydration time for a change users
/// make once). Choosing another language reloads the page.
#[derive(Clone, Copy)]
struct PageLocale(Locale);

/// Provides the page's language to the whole app.
pub fn provide_language() {
    provide_context(PageLocale(request_locale()));
}

/// The page's language (English outside the app, e.g. in a unit test).
pub fn use_locale() -> Locale {
    use_context::<PageLocale>().map_or(Locale::en, |p| p.0)
}

pub fn month_name(l: Locale, month: u32) -> &'static str {
    match month {
        1 => td_string!(l, dates.months.m1),
        2 => td_string!(l, dates.months.m2),
        3 => td_string!(l, dates.months.m3),
        4 => td_string!(l, dates.months.m4),
        5 => td_string!(l, dates.months.m5),
        6 => td_string!(l, dates.months.m6),
        7 => td_string!(l, dates.months.m7),
        8 => td_string!(l, dates.months.m8),
        9 => td_string!(l, dates.months.m9),
        10 => td_string!(l, dates.months.m10),
        11 => td_string!(l, dates.months.m11),
        _ => td_string!(l, dates.months.m12),
    }
}

pub fn month_short(l: Locale, month: u32) -> &'static str {
    match month {
        1 => td_string!(l, dates.months_short.m1),
        2 => td_string!(l, dates.months_short.m2),
        3 => td_string!(l, dates.months_short.m3),
        4 => td_string!(l, dates.months_short.m4),
        5 => td_string!(l, dates.months_short.m5),
        6 => td_string!(l, dates.months_short.m6),
        7 => td_string!(l, dates.months_short.m7),
        8 => td_string!(l, dates.months_short.m8),
        9 => td_string!(l, dates.months_short.m9),
        10 => td_string!(l, dates.months_short.m10),
        11 => td_string!(l, dates.months_short.m11),
        _ => td_string!(l, dates.months_short.m12),
    }
}

/// `number_from_monday`: 1 = Monday … 7 = Sunday.
pub fn weekday_name(l: Locale, number_from_monday: u32) -> &'static str {
    match number_from_monday {
        1 => td_string!(l, dates.weekdays.d1),
        2 => td_string!(l, dates.weekdays.d2),
        3 => td_string!(l, dates.weekdays.d3),
        4 => td_string!(l, dates.weekdays.d4),
        5 => td_string!(l, dates.weekdays.d5),
        6 => td_string!(l, dates.weekdays.d6),
        _ => td_string!(l, dates.weekdays.d7),
    }
}

pub fn weekday_short(l: Locale, number_from_monday: u32) -> &'static str {
    match number_from_monday {
        1 => td_string!(l, dates.weekdays_short.d1),
        2 => td_string!(l, dates.weekdays_short.d2),
        3 => td_string!(l, dates.weekdays_short.d3),
        4 => td_string!(l, dates.weekdays_short.d4),
        5 => td_string!(l, dates.weekdays_short.d5),
        6 => td_string!(l, dates.weekdays_short.d6),
        _ => td_string!(l, dates.weekdays_short.d7),
    }
}

fn wd(d: NaiveDate) -> u32 {
    d.weekday().number_from_monday()
}

/// The heading of a period: "November 2026", "Thursday 26 November 2026", "23 – 29 Nov 2026"
/// (Danish: "november 2026", "torsdag d. 26. november 2026", "23.–29. nov. 2026").
pub fn title(l: Locale, t: Title) -> String {
    match t {
        Title::Month(d) => tdf!(l, dates.title_month, month = month_name(l, d.month()), year = d.year()),
        Title::Day(d) => long_date(l, d),
        Title::Range(a, b) if a.year() != b.year() => tdf!(
            l,
            dates.range,
            d1 = a.day(),
            m1 = month_short(l, a.month()),
            y1 = a.year(),
            d2 = b.day(),
            m2 = month_short(l, b.month()),
            y2 = b.year()
        )
        .to_string(),
        Title::Range(a, b) if a.month() != b.month() => {
            tdf!(l, dates.range_same_year, d1 = a.day(), m1 = month_short(l, a.month()), d2 = b.day(), m2 = month_short(l, b.month()), year = b.year())
        }
        Title::Range(a, b) => tdf!(l, dates.range_same_month, d1 = a.day(), d2 = b.day(), month = month_short(l, b.month()), year = b.year()),
    }
}

/// "Thursday 26 November 2026" / "torsdag d. 26. november 2026".
pub fn long_date(l: Locale, d: NaiveDate) -> String {
    tdf!(l, dates.title_day, weekday = weekday_name(l, wd(d)), day = d.day(), month = month_name(l, d.month()), year = d.year())
}

/// "Thursday 26 November" / "torsdag d. 26. november" (agenda days).
pub fn date_long(l: Locale, d: NaiveDate) -> String {
    tdf!(l, dates.date_long, weekday = weekday_name(l, wd(d)), day = d.day(), month = month_name(l, d.month()))
}

/// "Thu 26" / "tor. 26." (day columns).
pub fn day_head(l: Locale, d: NaiveDate) -> String {
    tdf!(l, dates.day_head, weekday = weekday_short(l, wd(d)), day = d.day())
}

/// "26 Nov" / "26. nov.".
pub fn date_short(l: Locale, d: NaiveDate) -> String {
    tdf!(l, dates.date_short, day = d.day(), month = month_short(l, d.month()))
}

/// How dates are typed and shown in forms: "26/11/2026" / "26.11.2026".
pub fn date_numeric(l: Locale, d: NaiveDate) -> String {
    tdf!(l, dates.date_numeric, day = format!("{:02}", d.day()), month = format!("{:02}", d.month()), year = d.year())
}

/// A date typed by a user: day first (`26/11/2026`, `26.11.2026`, `26-11-2026`, `26.11.26`,
/// `26/11` this year), or ISO (`2026-11-26`). None when it is not a real date.
pub fn parse_typed_date(s: &str, this_year: i32) -> Option<NaiveDate> {
    let s = s.trim().trim_end_matches('.');
    let iso = s.len() >= 8 && s.as_bytes()[..4].iter().all(u8::is_ascii_digit) && s.as_bytes()[4] == b'-';
    if iso {
        return domain::iso::parse_date(s).filter(|d| (domain::calendar::MIN_DATE..=domain::calendar::MAX_DATE).contains(d));
    }
    let parts: Vec<&str> = s.split(['/', '.', '-', ' ']).filter(|p| !p.is_empty()).collect();
    let num = |p: &str| p.parse::<u32>().ok();
    let (day, month, year) = match parts.as_slice() {
        [d, m] => (num(d)?, num(m)?, this_year),
        [d, m, y] => {
            let y = num(y)? as i32;
            (num(d)?, num(m)?, if y < 100 { 2000 + y } else { y })
        }
        _ => return None,
    };
    NaiveDate::from_ymd_opt(year, month, day).filter(|d| (domain::calendar::MIN_DATE..=domain::calendar::MAX_DATE).contains(d))
}

/// A time typed by a user, always on the 24-hour clock: `9`, `09`, `930`, `0930`, `9:30`,
/// `9.30`, `14:05`. None when it is not a time of day.
pub fn parse_typed_time(s: &str) -> Option<(u32, u32)> {
    let s = s.trim();
    let (h, m) = if let Some((h, m)) = s.split_once([':', '.']) {
        (h.trim().parse::<u32>().ok()?, m.trim().parse::<u32>().ok()?)
    } else if s.chars().all(|c| c.is_ascii_digit()) && !s.is_empty() {
        match s.len() {
            1 | 2 => (s.parse().ok()?, 0),
            3 | 4 => (s[..s.len() - 2].parse().ok()?, s[s.len() - 2..].parse().ok()?),
            _ => return None,
        }
    } else {
        return None;
    };
    (h < 24 && m < 60).then_some((h, m))
}

/// "09:05": the time of day on the 24-hour clock (both languages).
pub fn time(t: NaiveDateTime) -> String {
    domain::calendar::hh_mm(t)
}

/// "Thursday 26 November, 09:00" / "torsdag d. 26. november kl. 09:00".
pub fn when(l: Locale, t: NaiveDateTime) -> String {
    tdf!(l, dates.when, date = date_long(l, t.date()), time = time(t))
}

/// "Anna Berg’s calendar" / "Anna Bergs kalender" (Danish: "Carla Diaz’ kalender").
pub fn calendar_of(l: Locale, name: &str) -> String {
    let ends_in_s = name.trim_end().ends_with(['s', 'x', 'z', 'S', 'X', 'Z']);
    if ends_in_s {
        tdf!(l, calendar.calendar_of_s, name = name)
    } else {
        tdf!(l, calendar.calendar_of, name = name)
    }
}

pub fn answer(l: Locale, a: Answer) -> Option<&'static str> {
    match a {
        Answer::Declined => Some(td_string!(l, calendar.answer_declined)),
        Answer::Tentative => Some(td_string!(l, calendar.answer_tentative)),
        Answer::None => Some(td_string!(l, calendar.answer_none)),
        Answer::Organiser | Answer::Accepted => None,
    }
}

/// What to do about a calendar that must be connected again (F-ADM-7).
pub fn reason_todo(l: Locale, r: &StatusReason) -> &'static str {
    match r {
        StatusReason::PasswordRefused { .. } => td_string!(l, config.todo_password),
        StatusReason::MailboxNotFound { .. } => td_string!(l, config.todo_mailbox),
        StatusReason::ImpersonationDenied { .. } => td_string!(l, config.todo_impersonation),
        StatusReason::AccessDenied { .. } => td_string!(l, config.todo_access),
        _ => td_string!(l, config.todo_reconnect),
    }
}

/// A calendar provider's name.
pub fn provider_name(l: Locale, p: ProviderKind) -> &'static str {
    match p {
        ProviderKind::Google => td_string!(l, settings.provider_google),
        ProviderKind::Graph => td_string!(l, settings.provider_graph),
        ProviderKind::Ews => td_string!(l, settings.provider_ews),
    }
}

/// How the CRM signs in to a calendar.
pub fn auth_name(l: Locale, a: AuthKind) -> &'static str {
    match a {
        AuthKind::OAuth => td_string!(l, config.auth_oauth),
        AuthKind::Basic => td_string!(l, config.auth_basic),
        AuthKind::Impersonation => td_string!(l, config.auth_impersonation),
        AuthKind::Bearer => td_string!(l, config.auth_bearer),
    }
}

/// The words for a failed server call.
pub fn error_text(l: Locale, e: &AppError) -> String {
    match e {
        AppError::InvalidCredentials => td_string!(l, errors.invalid_credentials).to_string(),
        AppError::RateLimited => td_string!(l, errors.rate_limited).to_string(),
        AppError::NotSignedIn => td_string!(l, errors.not_signed_in).to_string(),
        AppError::SessionExpired => td_string!(l, errors.session_expired).to_string(),
        AppError::Invalid { problem, .. } => problem_text(l, problem),
        AppError::NotFound => td_string!(l, errors.not_found).to_string(),
        AppError::Forbidden => td_string!(l, errors.forbidden).to_string(),
        AppError::Malformed => td_string!(l, errors.malformed).to_string(),
        AppError::Internal => td_string!(l, errors.internal).to_string(),
        AppError::Transport(_) => td_string!(l, errors.transport).to_string(),
    }
}

pub fn problem_text(l: Locale, p: &Problem) -> String {
    match p {
        Problem::SignInIncomplete => td_string!(l, problems.sign_in_incomplete).to_string(),
        Problem::Required => td_string!(l, problems.required).to_string(),
        Problem::TooLong { max } => tdf!(l, problems.too_long, max = *max),
        Problem::SubjectMissing => td_string!(l, problems.subject_missing).to_string(),
        Problem::EndBeforeStart => td_string!(l, problems.end_before_start).to_string(),
        Problem::NotAnEmail { value } => tdf!(l, problems.not_an_email, value = value),
        Problem::TooManyAttendees { max } => tdf!(l, problems.too_many_attendees, max = *max),
        Problem::NotADate => tdf!(l, problems.not_a_date, example = td_string!(l, dates.date_example)),
        Problem::NotATime => td_string!(l, problems.not_a_time).to_string(),
        Problem::UnknownTimeZone => td_string!(l, problems.unknown_time_zone).to_string(),
        Problem::NotAChoice => td_string!(l, problems.not_a_choice).to_string(),
        Problem::WorkingHours => td_string!(l, problems.working_hours).to_string(),
        Problem::Stale => td_string!(l, problems.stale).to_string(),
        Problem::CalendarNotConnected => td_string!(l, problems.calendar_not_connected).to_string(),
        Problem::NotMovable => td_string!(l, problems.not_movable).to_string(),
        Problem::IntegrationOff => td_string!(l, problems.integration_off).to_string(),
    }
}

/// Why a calendar connection is not working, with the provider's own words in brackets.
pub fn reason_text(l: Locale, r: &StatusReason) -> String {
    let text = match r {
        StatusReason::None => return String::new(),
        StatusReason::Text { text } => return text.clone(),
        StatusReason::Throttled { retry_secs: Some(s) } => return tdf!(l, reasons.throttled_in, seconds = *s),
        StatusReason::Throttled { retry_secs: None } => return td_string!(l, reasons.throttled).to_string(),
        StatusReason::Reconnect { .. } => td_string!(l, reasons.reconnect),
        StatusReason::AccessRevoked { .. } => td_string!(l, reasons.access_revoked),
        StatusReason::PasswordRefused { .. } => td_string!(l, reasons.password_refused),
        StatusReason::MailboxNotFound { .. } => td_string!(l, reasons.mailbox_not_found),
        StatusReason::ImpersonationDenied { .. } => td_string!(l, reasons.impersonation_denied),
        StatusReason::AccessDenied { .. } => td_string!(l, reasons.access_denied),
        StatusReason::Retrying { .. } => td_string!(l, reasons.retrying),
        StatusReason::Failed { .. } => td_string!(l, reasons.failed),
    };
    match r.detail() {
        "" => text.to_string(),
        detail => tdf!(l, reasons.detail, reason = text, detail = detail),
    }
}

pub fn notice_text(l: Locale, n: &SyncNotice) -> String {
    match n {
        SyncNotice::Conflict { fields } => {
            let names: Vec<&str> = fields
                .iter()
                .map(|f| match f.as_str() {
                    "subject" => td_string!(l, notices.field_subject),
                    "location" => td_string!(l, notices.field_location),
                    "description" => td_string!(l, notices.field_description),
                    "time" => td_string!(l, notices.field_time),
                    "private" => td_string!(l, notices.field_private),
                    other => other,
                })
                .collect();
            tdf!(l, notices.conflict, fields = names.join(", "))
        }
        SyncNotice::NotDeleted => td_string!(l, notices.not_deleted).to_string(),
        SyncNotice::Refused { detail } => tdf!(l, notices.refused, detail = detail),
        SyncNotice::Text { text } => text.clone(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn d(s: &str) -> NaiveDate {
        s.parse::<NaiveDate>().unwrap()
    }

    #[test]
    fn titles_in_both_languages() {
        // F-X-6: Danish month and weekday names, `d. MMMM yyyy` titles.
        assert_eq!(title(Locale::en, Title::Month(d("2026-11-26"))), "November 2026");
        assert_eq!(title(Locale::da, Title::Month(d("2026-11-26"))), "november 2026");
        assert_eq!(title(Locale::en, Title::Day(d("2026-11-26"))), "Thursday 26 November 2026");
        assert_eq!(title(Locale::da, Title::Day(d("2026-11-26"))), "torsdag d. 26. november 2026");
        assert_eq!(title(Locale::en, Title::Range(d("2026-11-23"), d("2026-11-29"))), "23 – 29 Nov 2026");
        assert_eq!(title(Locale::da, Title::Range(d("2026-11-23"), d("2026-11-29"))), "23.–29. nov. 2026");
        assert_eq!(title(Locale::en, Title::Range(d("2026-11-30"), d("2026-12-06"))), "30 Nov – 6 Dec 2026");
        assert_eq!(title(Locale::da, Title::Range(d("2026-11-30"), d("2026-12-06"))), "30. nov. – 6. dec. 2026");
        assert_eq!(title(Locale::en, Title::Range(d("2026-12-28"), d("2027-01-03"))), "28 Dec 2026 – 3 Jan 2027");
        assert_eq!(day_head(Locale::da, d("2026-11-26")), "tor. 26.");
        assert_eq!(date_numeric(Locale::da, d("2026-03-05")), "05.03.2026");
        assert_eq!(date_numeric(Locale::en, d("2026-03-05")), "05/03/2026");
    }

    #[test]
    fn typed_dates_and_times_day_first_and_24_hours() {
        assert_eq!(parse_typed_date("26.11.2026", 2026), Some(d("2026-11-26")));
        assert_eq!(parse_typed_date("26/11/2026", 2026), Some(d("2026-11-26")));
        assert_eq!(parse_typed_date("2026-11-26", 2000), Some(d("2026-11-26")));
        assert_eq!(parse_typed_date("5-3-27", 2026), Some(d("2027-03-05")));
        assert_eq!(parse_typed_date("5.3.", 2026), Some(d("2026-03-05")));
        assert_eq!(parse_typed_date("31.02.2026", 2026), None);
        assert_eq!(parse_typed_date("tomorrow", 2026), None);
        assert_eq!(parse_typed_time("9"), Some((9, 0)));
        assert_eq!(parse_typed_time("930"), Some((9, 30)));
        assert_eq!(parse_typed_time("14.05"), Some((14, 5)));
        assert_eq!(parse_typed_time("23:59"), Some((23, 59)));
        assert_eq!(parse_typed_time("24:00"), None);
        assert_eq!(parse_typed_time("2 PM"), None);
    }

    #[test]
    fn the_browser_language_picks_from_what_we_speak() {
        assert_eq!(from_accept_language("da-DK,da;q=0.9,en-US;q=0.8,en;q=0.7"), Some(Locale::da));
        assert_eq!(from_accept_language("en-GB,en;q=0.9"), Some(Locale::en));
        assert_eq!(from_accept_language("de-DE,de;q=0.9,da;q=0.5,en;q=0.4"), Some(Locale::da));
        assert_eq!(from_accept_language("fr"), None);
        assert_eq!(from_accept_language("en;q=0.2,da;q=0.8"), Some(Locale::da));
    }

    #[test]
    fn placeholders_are_filled_by_name() {
        assert_eq!(fill("{d1}.–{d2}. {month}", &[("d1", &23), ("d2", &29), ("month", &"nov.")]), "23.–29. nov.");
        assert_eq!(fill("{unknown} {x}", &[("x", &1)]), "{unknown} 1");
        assert_eq!(fill("no braces", &[]), "no braces");
    }

    #[test]
    fn possessives() {
        assert_eq!(calendar_of(Locale::da, "Anna Berg"), "Anna Bergs kalender");
        assert_eq!(calendar_of(Locale::da, "Carla Diaz"), "Carla Diaz’ kalender");
        assert_eq!(calendar_of(Locale::en, "Anna Berg"), "Anna Berg’s calendar");
    }

    /// F-X-6: every key exists in both languages with the same placeholders; leptos_i18n
    /// only warns about a missing one (and then shows English), so this test is the guard.
    #[test]
    fn both_languages_have_every_key_with_the_same_placeholders() {
        fn flatten(prefix: &str, v: &serde_json::Value, out: &mut std::collections::BTreeMap<String, String>) {
            match v {
                serde_json::Value::Object(m) => {
                    for (k, v) in m {
                        flatten(&format!("{prefix}{k}."), v, out);
                    }
                }
                serde_json::Value::String(s) => {
                    out.insert(prefix.trim_end_matches('.').to_string(), s.clone());
                }
                other => panic!("{prefix}: not a string: {other}"),
            }
        }
        fn placeholders(s: &str) -> std::collections::BTreeSet<String> {
            s.split('{').skip(1).filter_map(|p| p.split('}').next()).map(|p| p.trim().to_string()).collect()
        }
        let load = |name: &str| {
            let path = format!("{}/locales/{name}.json", env!("CARGO_MANIFEST_DIR"));
            let mut out = std::collections::BTreeMap::new();
            flatten("", &serde_json::from_str(&std::fs::read_to_string(path).unwrap()).unwrap(), &mut out);
            out
        };
        let (en, da) = (load("en"), load("da"));
        let missing_da: Vec<_> = en.keys().filter(|k| !da.contains_key(*k)).collect();
        let missing_en: Vec<_> = da.keys().filter(|k| !en.contains_key(*k)).collect();
        assert!(missing_da.is_empty() && missing_en.is_empty(), "missing in da: {missing_da:?}; missing in en: {missing_en:?}");
        for (k, v) in &en {
            assert!(!v.trim().is_empty() && !da[k].trim().is_empty(), "{k} is empty");
            assert_eq!(placeholders(v), placeholders(&da[k]), "{k}: placeholders differ");
        }
    }
}
