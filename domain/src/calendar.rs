//! Calendar views, the days they show and how to move between them (F-CAL-4/5/6).

use chrono::{Datelike, Months, NaiveDate, TimeDelta, Weekday};
use serde::{Deserialize, Serialize};

#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Hash, Serialize, Deserialize)]
pub enum CalendarView {
    Month,
    #[default]
    Week,
    /// The chosen users side by side, one lane each, for a day or a work week.
    Schedule,
    Day,
    /// A chronological list of a week's meetings.
    Agenda,
}

impl CalendarView {
    /// In the order of the view switch.
    pub const ALL: [CalendarView; 5] = [CalendarView::Month, CalendarView::Week, CalendarView::Schedule, CalendarView::Day, CalendarView::Agenda];

    pub fn as_str(self) -> &'static str {
        match self {
            CalendarView::Month => "month",
            CalendarView::Week => "week",
            CalendarView::Schedule => "schedule",
            CalendarView::Day => "day",
            CalendarView::Agenda => "agenda",
        }
    }

    /// A known view name, or None (a bad link falls back to the user's default view, never
    /// to an error).
    pub fn parse(s: Option<&str>) -> Option<CalendarView> {
        CalendarView::ALL.into_iter().find(|v| Some(v.as_str()) == s.map(str::trim))
    }

    /// Views drawn on a time grid (now line, click and drag to create).
    pub fn has_time_grid(self) -> bool {
        matches!(self, CalendarView::Week | CalendarView::Day | CalendarView::Schedule)
    }
}

/// How many days the schedule view lays side by side.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Hash, Serialize, Deserialize)]
pub enum Span {
    #[default]
    Day,
    Week,
}

impl Span {
    pub fn as_str(self) -> &'static str {
        match self {
            Span::Day => "day",
            Span::Week => "week",
        }
    }
    pub fn parse(s: Option<&str>) -> Span {
        match s.map(str::trim) {
            Some("week") => Span::Week,
            _ => Span::Day,
        }
    }
}

/// The earliest and latest dates the calendar navigates to; keeps date arithmetic far from
/// chrono's limits whatever a URL says.
pub const MIN_DATE: NaiveDate = match NaiveDate::from_ymd_opt(1900, 1, 1) {
    Some(d) => d,
    None => panic!(),
};
pub const MAX_DATE: NaiveDate = match NaiveDate::from_ymd_opt(2199, 12, 31) {
    Some(d) => d,
    None => panic!(),
};

/// How many days the agenda lists at a time (and moves by).
pub const AGENDA_DAYS: i64 = 7;
/// How many days the week view shows on a phone-sized screen (and moves by there).
pub const PHONE_DAYS: usize = 3;

/// `YYYY-MM-DD`; anything else (or a date out of range) falls back to `today`.
pub fn parse_date_or(s: Option<&str>, today: NaiveDate) -> NaiveDate {
    parse_date(s).unwrap_or(today)
}

/// `YYYY-MM-DD` within the calendar's range.
pub fn parse_date(s: Option<&str>) -> Option<NaiveDate> {
    s.and_then(|s| crate::iso::parse_date(s.trim())).filter(|d| (MIN_DATE..=MAX_DATE).contains(d))
}

/// "09:05": a time of day on the 24-hour clock. (Written out rather than with chrono's
/// `format`, whose pattern interpreter would otherwise be shipped in the WebAssembly.)
pub fn hh_mm(t: impl chrono::Timelike) -> String {
    format!("{:02}:{:02}", t.hour(), t.minute())
}

pub fn is_weekend(d: NaiveDate) -> bool {
    matches!(d.weekday(), Weekday::Sat | Weekday::Sun)
}

/// First day of the week containing `d`, for a week that starts on `week_start`.
pub fn start_of_week(d: NaiveDate, week_start: Weekday) -> NaiveDate {
    let back = (7 + d.weekday().num_days_from_monday() - week_start.num_days_from_monday()) % 7;
    d - TimeDelta::days(back as i64)
}

/// The ISO 8601 week number (weeks start on Monday; week 1 holds the year's first Thursday),
/// as Danish and most European calendars print it.
pub fn iso_week(d: NaiveDate) -> u32 {
    d.iso_week().week()
}

/// What the heading of a period says; the app words it in the user's language.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub enum Title {
    /// The month of this date.
    Month(NaiveDate),
    Day(NaiveDate),
    /// From the first to the last day shown (inclusive).
    Range(NaiveDate, NaiveDate),
}

/// Where the calendar stands: which view, which date, and the user's week settings.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct Nav {
    pub view: CalendarView,
    #[serde(with = "crate::iso::date")]
    pub date: NaiveDate,
    #[serde(with = "crate::iso::weekday")]
    pub week_start: Weekday,
    pub show_weekends: bool,
    /// Schedule view: one day or a (work) week.
    pub span: Span,
}

impl Nav {
    /// The days shown, in order. Month: whole weeks covering the month. Hidden weekends are
    /// left out, except in the day views, which always show the day asked for.
    pub fn visible_days(&self) -> Vec<NaiveDate> {
        let (first, count) = match (self.view, self.span) {
            (CalendarView::Day, _) | (CalendarView::Schedule, Span::Day) => return vec![self.date],
            (CalendarView::Week, _) | (CalendarView::Schedule, Span::Week) => (start_of_week(self.date, self.week_start), 7),
            (CalendarView::Agenda, _) => (self.date, AGENDA_DAYS),
            (CalendarView::Month, _) => {
                let first_of_month = self.date.with_day(1).expect("day 1 exists");
                let last_of_month = first_of_month + Months::new(1) - TimeDelta::days(1);
                let first = start_of_week(first_of_month, self.week_start);
                let last = start_of_week(last_of_month, self.week_start) + TimeDelta::days(6);
                (first, (last - first).num_days() + 1)
            }
        };
        (0..count)
            .map(|i| first + TimeDelta::days(i))
            .filter(|d| self.show_weekends || !is_weekend(*d))
            .collect()
    }

    /// The week view on a phone-sized screen: [`PHONE_DAYS`] shown days from the date on
    /// (the page shows these there instead of the whole week; no script needed).
    pub fn phone_days(&self) -> Vec<NaiveDate> {
        if self.view != CalendarView::Week {
            return self.visible_days();
        }
        let mut days = Vec::with_capacity(PHONE_DAYS);
        let mut d = self.date;
        while days.len() < PHONE_DAYS && d <= MAX_DATE {
            if self.show_weekends || !is_weekend(d) {
                days.push(d);
            }
            d += TimeDelta::days(1);
        }
        days
    }

    /// Half-open date range `[first, end)` to load meetings for (whole weeks, weekends included,
    /// so toggling weekends needs no new load; the week view's phone days included).
    pub fn load_range(&self) -> (NaiveDate, NaiveDate) {
        let all = Nav { show_weekends: true, ..*self }.visible_days();
        let (mut first, mut end) = (all[0], *all.last().expect("views have days") + TimeDelta::days(1));
        if self.view == CalendarView::Week {
            let phone = self.phone_days();
            first = first.min(phone[0]);
            end = end.max(*phone.last().expect("phone days") + TimeDelta::days(1));
        }
        (first, end)
    }

    /// The date the "previous" (`forward == false`) or "next" button goes to.
    pub fn step(&self, forward: bool) -> NaiveDate {
        let sign = if forward { 1 } else { -1 };
        let moved = match (self.view, self.span) {
            (CalendarView::Month, _) => {
                let first = self.date.with_day(1).expect("day 1 exists");
                if forward {
                    first + Months::new(1)
                } else {
                    first - Months::new(1)
                }
            }
            (CalendarView::Week, _) | (CalendarView::Schedule, Span::Week) => self.date + TimeDelta::days(7 * sign),
            (CalendarView::Agenda, _) => self.date + TimeDelta::days(AGENDA_DAYS * sign),
            (CalendarView::Day, _) | (CalendarView::Schedule, Span::Day) => self.shown_day_after(self.date, sign),
        };
        moved.clamp(MIN_DATE, MAX_DATE)
    }

    /// The week view's previous / next on a phone: [`PHONE_DAYS`] shown days at a time.
    pub fn phone_step(&self, forward: bool) -> NaiveDate {
        if self.view != CalendarView::Week {
            return self.step(forward);
        }
        let sign = if forward { 1 } else { -1 };
        let mut d = self.date;
        for _ in 0..PHONE_DAYS {
            d = self.shown_day_after(d, sign);
        }
        d.clamp(MIN_DATE, MAX_DATE)
    }

    /// The next (or previous) day shown, skipping hidden weekends.
    fn shown_day_after(&self, from: NaiveDate, sign: i64) -> NaiveDate {
        let mut d = from + TimeDelta::days(sign);
        while !self.show_weekends && is_weekend(d) {
            d += TimeDelta::days(sign);
        }
        d
    }

    /// What the period heading says.
    pub fn title(&self) -> Title {
        match (self.view, self.span) {
            (CalendarView::Month, _) => Title::Month(self.date),
            (CalendarView::Day, _) | (CalendarView::Schedule, Span::Day) => Title::Day(self.date),
            _ => {
                let days = self.visible_days();
                match (days.first(), days.last()) {
                    (Some(a), Some(b)) => Title::Range(*a, *b),
                    _ => Title::Day(self.date),
                }
            }
        }
    }

    /// Whether the period shown contains `day`.
    pub fn shows(&self, day: NaiveDate) -> bool {
        self.visible_days().contains(&day)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn d(s: &str) -> NaiveDate {
        NaiveDate::parse_from_str(s, "%Y-%m-%d").unwrap()
    }

    fn nav(view: CalendarView, date: &str) -> Nav {
        Nav { view, date: d(date), week_start: Weekday::Mon, show_weekends: true, span: Span::Day }
    }

    #[test]
    fn bad_query_values_fall_back() {
        // F-CAL-5: malformed links fall back to today / the default view, never an error.
        let today = d("2026-11-26");
        assert_eq!(CalendarView::parse(Some("year")), None);
        assert_eq!(CalendarView::parse(None), None);
        assert_eq!(CalendarView::parse(Some("month")), Some(CalendarView::Month));
        assert_eq!(CalendarView::parse(Some("schedule")), Some(CalendarView::Schedule));
        assert_eq!(CalendarView::parse(Some("agenda")), Some(CalendarView::Agenda));
        assert_eq!(Span::parse(Some("fortnight")), Span::Day);
        assert_eq!(parse_date_or(Some("2026-13-01"), today), today);
        assert_eq!(parse_date_or(Some("yesterday"), today), today);
        assert_eq!(parse_date_or(Some("99999-01-01"), today), today);
        assert_eq!(parse_date_or(Some("2026-02-03"), today), d("2026-02-03"));
    }

    #[test]
    fn every_view_round_trips_through_its_name() {
        // F-CAL-4, F-CAL-5: all five views live in the URL.
        for v in CalendarView::ALL {
            assert_eq!(CalendarView::parse(Some(v.as_str())), Some(v));
        }
        assert_eq!(CalendarView::ALL.len(), 5);
    }

    #[test]
    fn week_starts_on_users_week_start() {
        // F-X-5: week start per user.
        assert_eq!(start_of_week(d("2026-11-26"), Weekday::Mon), d("2026-11-23"));
        assert_eq!(start_of_week(d("2026-11-26"), Weekday::Sun), d("2026-11-22"));
        assert_eq!(start_of_week(d("2026-11-22"), Weekday::Mon), d("2026-11-16"));
        let sunday_week = Nav { week_start: Weekday::Sun, ..nav(CalendarView::Week, "2026-11-26") };
        assert_eq!(sunday_week.visible_days()[0], d("2026-11-22"));
    }

    #[test]
    fn work_week_hides_weekends() {
        // F-CAL-6
        let mut n = nav(CalendarView::Week, "2026-11-26");
        assert_eq!(n.visible_days().len(), 7);
        n.show_weekends = false;
        let days = n.visible_days();
        assert_eq!(days.len(), 5);
        assert_eq!((days[0], days[4]), (d("2026-11-23"), d("2026-11-27")));
        // The load range covers the whole week, and the phone's three days from Thursday.
        assert_eq!(n.load_range(), (d("2026-11-23"), d("2026-12-01")));
    }

    #[test]
    fn month_covers_whole_weeks() {
        let n = nav(CalendarView::Month, "2026-11-26");
        let days = n.visible_days();
        assert_eq!(days[0], d("2026-10-26"));
        assert_eq!(*days.last().unwrap(), d("2026-12-06"));
        assert_eq!(days.len() % 7, 0);
    }

    #[test]
    fn schedule_shows_a_day_or_a_work_week() {
        // F-CAL-4
        let day = nav(CalendarView::Schedule, "2026-11-26");
        assert_eq!(day.visible_days(), vec![d("2026-11-26")]);
        assert_eq!(day.step(true), d("2026-11-27"));
        let week = Nav { span: Span::Week, show_weekends: false, ..day };
        assert_eq!(week.visible_days().len(), 5);
        assert_eq!(week.visible_days()[0], d("2026-11-23"));
        assert_eq!(week.step(false), d("2026-11-19"));
        assert_eq!(week.title(), Title::Range(d("2026-11-23"), d("2026-11-27")));
        assert_eq!(Nav { show_weekends: false, ..day }.step(true), d("2026-11-27"));
        assert_eq!(Nav { show_weekends: false, date: d("2026-11-27"), ..day }.step(true), d("2026-11-30"));
    }

    #[test]
    fn agenda_lists_a_week_from_the_date_and_moves_by_it() {
        // F-CAL-4
        let n = nav(CalendarView::Agenda, "2026-11-26");
        assert_eq!(n.visible_days().len(), 7);
        assert_eq!(n.visible_days()[0], d("2026-11-26"));
        assert_eq!(n.load_range(), (d("2026-11-26"), d("2026-12-03")));
        assert_eq!(n.step(true), d("2026-12-03"));
        assert_eq!(n.step(false), d("2026-11-19"));
        assert_eq!(n.title(), Title::Range(d("2026-11-26"), d("2026-12-02")));
    }

    #[test]
    fn the_phone_shows_three_days_of_the_week_view() {
        // F-X-7: three days from the date, moving three at a time, weekends skipped when hidden.
        let n = nav(CalendarView::Week, "2026-11-28"); // a Saturday
        assert_eq!(n.phone_days(), vec![d("2026-11-28"), d("2026-11-29"), d("2026-11-30")]);
        assert_eq!(n.load_range(), (d("2026-11-23"), d("2026-12-01")));
        assert_eq!(n.phone_step(true), d("2026-12-01"));
        assert_eq!(n.phone_step(false), d("2026-11-25"));
        let work = Nav { show_weekends: false, date: d("2026-11-27"), ..n };
        assert_eq!(work.phone_days(), vec![d("2026-11-27"), d("2026-11-30"), d("2026-12-01")]);
        assert_eq!(work.phone_step(true), d("2026-12-02"));
    }

    #[test]
    fn stepping() {
        // F-CAL-5
        assert_eq!(nav(CalendarView::Week, "2026-11-26").step(true), d("2026-12-03"));
        assert_eq!(nav(CalendarView::Week, "2026-11-26").step(false), d("2026-11-19"));
        assert_eq!(nav(CalendarView::Month, "2026-01-31").step(true), d("2026-02-01"));
        assert_eq!(nav(CalendarView::Month, "2026-01-31").step(false), d("2025-12-01"));
        assert_eq!(nav(CalendarView::Day, "2026-11-27").step(true), d("2026-11-28"));
        let work = Nav { show_weekends: false, ..nav(CalendarView::Day, "2026-11-27") };
        assert_eq!(work.step(true), d("2026-11-30"));
        assert_eq!(Nav { date: d("2026-11-30"), ..work }.step(false), d("2026-11-27"));
        assert_eq!(nav(CalendarView::Day, "2199-12-31").step(true), MAX_DATE);
    }

    #[test]
    fn titles() {
        assert_eq!(nav(CalendarView::Month, "2026-11-26").title(), Title::Month(d("2026-11-26")));
        assert_eq!(nav(CalendarView::Week, "2026-11-26").title(), Title::Range(d("2026-11-23"), d("2026-11-29")));
        assert_eq!(nav(CalendarView::Day, "2026-11-26").title(), Title::Day(d("2026-11-26")));
    }

    #[test]
    fn iso_week_numbers() {
        // F-CAL-4: week numbers as printed in Danish calendars.
        assert_eq!(iso_week(d("2026-01-01")), 1);
        assert_eq!(iso_week(d("2026-12-31")), 53);
        assert_eq!(iso_week(d("2027-01-03")), 53);
        assert_eq!(iso_week(d("2027-01-04")), 1);
        assert_eq!(iso_week(d("2026-11-26")), 48);
    }
}
