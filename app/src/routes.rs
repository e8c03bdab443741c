//! The app's addresses in one place: the paths of its pages, the builders of links to them,
//! and which paths are open without signing in (the server's guard denies everything else).

use chrono::NaiveDate;
use domain::{CalendarView, Span};

pub const HOME: &str = "/";
pub const LOGIN: &str = "/login";
pub const CALENDAR: &str = "/calendar";
pub const SETTINGS: &str = "/settings";
/// Administrators only; `/configuration/<section>`.
pub const CONFIGURATION: &str = "/configuration";
/// The stylesheet of the pages other than the calendar (`public/pages.css`).
pub const PAGE_STYLES: &str = "/pages.css";
/// Server functions live under this prefix (Leptos' default).
pub const API: &str = "/api/";

/// Paths anyone may open: the sign-in page and its server functions, the compiled front end
/// and icons, and the operations probes and provider webhooks (which carry no tenant data and
/// check their own secrets).
pub fn is_public(path: &str) -> bool {
    const EXACT: [&str; 8] = [LOGIN, "/api/login", "/api/logout", "/favicon.svg", PAGE_STYLES, "/healthz", "/readyz", "/metrics"];
    const PREFIXES: [&str; 2] = ["/pkg/", "/hooks/"];
    EXACT.contains(&path) || PREFIXES.iter().any(|p| path.starts_with(p))
}

/// `/login?next=…` (and `expired=1` when a session ran out).
pub fn login_href(next: &str, expired: bool) -> String {
    let next: String = url_escape(next);
    format!("{LOGIN}?{}next={next}", if expired { "expired=1&" } else { "" })
}

fn url_escape(s: &str) -> String {
    s.bytes()
        .map(|b| match b {
            b'A'..=b'Z' | b'a'..=b'z' | b'0'..=b'9' | b'-' | b'.' | b'_' | b'~' => (b as char).to_string(),
            _ => format!("%{b:02X}"),
        })
        .collect()
}

/// What the calendar's address says. Everything is optional: a missing view is the user's
/// default view, a missing date is today, missing users are the user's remembered choice.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct CalendarUrl {
    pub view: Option<CalendarView>,
    pub date: Option<NaiveDate>,
    /// Colleagues shown beside the viewer (`Some(vec![])`: explicitly nobody).
    pub users: Option<Vec<String>>,
    pub span: Span,
}

impl CalendarUrl {
    /// From the raw query values (malformed ones count as missing).
    pub fn parse(view: Option<&str>, date: Option<&str>, users: Option<&str>, span: Option<&str>) -> CalendarUrl {
        CalendarUrl {
            view: CalendarView::parse(view),
            date: domain::calendar::parse_date(date),
            users: users.map(|u| u.split(',').map(str::trim).filter(|s| !s.is_empty()).map(str::to_string).collect()),
            span: Span::parse(span),
        }
    }

    pub fn href(&self) -> String {
        let mut q: Vec<String> = Vec::new();
        if let Some(v) = self.view {
            q.push(format!("view={}", v.as_str()));
        }
        if let Some(d) = self.date {
            q.push(format!("date={d}"));
        }
        if let Some(users) = &self.users {
            q.push(format!("users={}", users.join(",")));
        }
        if self.span == Span::Week {
            q.push("span=week".into());
        }
        if q.is_empty() {
            CALENDAR.to_string()
        } else {
            format!("{CALENDAR}?{}", q.join("&"))
        }
    }

    pub fn with_view(&self, view: CalendarView) -> CalendarUrl {
        CalendarUrl { view: Some(view), ..self.clone() }
    }

    pub fn with_date(&self, date: NaiveDate) -> CalendarUrl {
        CalendarUrl { date: Some(date), ..self.clone() }
    }

    pub fn with_users(&self, users: Vec<String>) -> CalendarUrl {
        CalendarUrl { users: Some(users), ..self.clone() }
    }

    pub fn with_span(&self, span: Span) -> CalendarUrl {
        CalendarUrl { span, ..self.clone() }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn only_sign_in_assets_probes_and_hooks_are_public() {
        for open in ["/login", "/api/login", "/pkg/crmcal.wasm", "/favicon.svg", "/pages.css", "/healthz", "/metrics", "/hooks/google"] {
            assert!(is_public(open), "{open}");
        }
        for closed in ["/", "/calendar", "/settings", "/api/calendar", "/api/live", "/connect/google", "/no/such/page", "/loginx", "/pkgx"] {
            assert!(!is_public(closed), "{closed}");
        }
    }

    #[test]
    fn calendar_links_keep_what_the_address_says() {
        // F-CAL-5
        let u = CalendarUrl::parse(Some("schedule"), Some("2026-12-03"), Some("a,b"), Some("week"));
        assert_eq!(u.href(), "/calendar?view=schedule&date=2026-12-03&users=a,b&span=week");
        assert_eq!(CalendarUrl::parse(None, None, None, None).href(), "/calendar");
        assert_eq!(CalendarUrl::parse(Some("bogus"), Some("2026-02-30"), Some(""), None).href(), "/calendar?users=");
        let moved = u.with_date(NaiveDate::from_ymd_opt(2026, 12, 10).unwrap()).with_view(CalendarView::Day);
        assert_eq!(moved.href(), "/calendar?view=day&date=2026-12-10&users=a,b&span=week");
    }

    #[test]
    fn login_links_escape_the_way_back() {
        assert_eq!(login_href("/calendar?view=day&date=2026-12-03", true), "/login?expired=1&next=%2Fcalendar%3Fview%3Dday%26date%3D2026-12-03");
    }
}
