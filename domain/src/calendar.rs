//! Calendar views, the days they show and how to move between them (F-CAL-4/5/6).

use chrono::{Datelike, Months, NaiveDate, TimeDelta, Weekday};
use serde::{Deserialize, Serialize};

#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Hash, Serialize, Deserialize)]
pub enum CalendarView {
    Month,
    #[default]
    Week,
    Day,
}

impl CalendarView {
    pub const ALL: [CalendarView; 3] = [CalendarView::Month, CalendarView::Week, CalendarView::Day];

    pub fn as_str(self) -> &'static str {
        match self {
            CalendarView::Month => "month",
            CalendarView::Week => "week",
            CalendarView::Day => "day",
        }
    }

    pub fn label(self) -> &'static str {
        match self {
            CalendarView::Month => "Month",
            CalendarView::Week => "Week",
            CalendarView::Day => "Day",
        }
    }

    /// Unknown or missing values fall back to the week view: a bad link never shows an error.
    pub fn parse_or_default(s: Option<&str>) -> CalendarView {
        match s.map(str::trim) {
            Some("month") => CalendarView::Month,
            Some("day") => CalendarView::Day,
            _ => CalendarView::Week,
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

/// `YYYY-MM-DD`; anything else (or a date out of range) falls back to `today`.
pub fn parse_date_or(s: Option<&str>, today: NaiveDate) -> NaiveDate {
    s.and_then(|s| NaiveDate::parse_from_str(s.trim(), "%Y-%m-%d").ok())
        .filter(|d| (MIN_DATE..=MAX_DATE).contains(d))
        .unwrap_or(today)
}

pub fn is_weekend(d: NaiveDate) -> bool {
    matches!(d.weekday(), Weekday::Sat | Weekday::Sun)
}

/// First day of the week containing `d`, for a week that starts on `week_start`.
pub fn start_of_week(d: NaiveDate, week_start: Weekday) -> NaiveDate {
    let back = (7 + d.weekday().num_days_from_monday() - week_start.num_days_from_monday()) % 7;
    d - TimeDelta::days(back as i64)
}

/// Where the calendar stands: which view, which date, and the user's week settings.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct Nav {
    pub view: CalendarView,
    pub date: NaiveDate,
    pub week_start: Weekday,
    pub show_weekends: bool,
}

impl Nav {
    /// The days shown, in order. Month: whole weeks covering the month. Hidden weekends are
    /// left out, except in the day view, which always shows the day asked for.
    pub fn visible_days(&self) -> Vec<NaiveDate> {
        let (first, count) = match self.view {
            CalendarView::Day => return vec![self.date],
            CalendarView::Week => (start_of_week(self.date, self.week_start), 7),
            CalendarView::Month => {
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

    /// Half-open date range `[first, end)` to load meetings for (whole weeks, weekends included,
    /// so toggling weekends needs no new load).
    pub fn load_range(&self) -> (NaiveDate, NaiveDate) {
        match self.view {
            CalendarView::Day => (self.date, self.date + TimeDelta::days(1)),
            CalendarView::Week | CalendarView::Month => {
                let all = Nav { show_weekends: true, ..*self }.visible_days();
                (all[0], *all.last().expect("weeks have days") + TimeDelta::days(1))
            }
        }
    }

    /// The date the "previous" (`forward == false`) or "next" button goes to.
    pub fn step(&self, forward: bool) -> NaiveDate {
        let sign = if forward { 1 } else { -1 };
        let moved = match self.view {
            CalendarView::Month => {
                let first = self.date.with_day(1).expect("day 1 exists");
                if forward {
                    first + Months::new(1)
                } else {
                    first - Months::new(1)
                }
            }
            CalendarView::Week => self.date + TimeDelta::days(7 * sign),
            CalendarView::Day => {
                let mut d = self.date + TimeDelta::days(sign);
                while !self.show_weekends && is_weekend(d) {
                    d += TimeDelta::days(sign);
                }
                d
            }
        };
        moved.clamp(MIN_DATE, MAX_DATE)
    }

    /// Heading for the period shown, e.g. "November 2026", "23 – 29 Nov 2026".
    pub fn title(&self) -> String {
        match self.view {
            CalendarView::Month => self.date.format("%B %Y").to_string(),
            CalendarView::Day => self.date.format("%A %-d %B %Y").to_string(),
            CalendarView::Week => {
                let days = self.visible_days();
                let (a, b) = (days[0], *days.last().expect("a week has days"));
                if a.year() != b.year() {
                    format!("{} – {}", a.format("%-d %b %Y"), b.format("%-d %b %Y"))
                } else if a.month() != b.month() {
                    format!("{} – {}", a.format("%-d %b"), b.format("%-d %b %Y"))
                } else {
                    format!("{} – {}", a.format("%-d"), b.format("%-d %b %Y"))
                }
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn d(s: &str) -> NaiveDate {
        NaiveDate::parse_from_str(s, "%Y-%m-%d").unwrap()
    }

    fn nav(view: CalendarView, date: &str) -> Nav {
        Nav { view, date: d(date), week_start: Weekday::Mon, show_weekends: true }
    }

    #[test]
    fn bad_query_values_fall_back() {
        // F-CAL-5: malformed links fall back to today / week, never an error.
        let today = d("2026-11-26");
        assert_eq!(CalendarView::parse_or_default(Some("year")), CalendarView::Week);
        assert_eq!(CalendarView::parse_or_default(None), CalendarView::Week);
        assert_eq!(CalendarView::parse_or_default(Some("month")), CalendarView::Month);
        assert_eq!(parse_date_or(Some("2026-13-01"), today), today);
        assert_eq!(parse_date_or(Some("yesterday"), today), today);
        assert_eq!(parse_date_or(Some("99999-01-01"), today), today);
        assert_eq!(parse_date_or(Some("2026-02-03"), today), d("2026-02-03"));
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
        // The load range still covers the whole week.
        assert_eq!(n.load_range(), (d("2026-11-23"), d("2026-11-30")));
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
        assert_eq!(nav(CalendarView::Month, "2026-11-26").title(), "November 2026");
        assert_eq!(nav(CalendarView::Week, "2026-11-26").title(), "23 – 29 Nov 2026");
        assert_eq!(nav(CalendarView::Week, "2026-12-02").title(), "30 Nov – 6 Dec 2026");
        assert_eq!(nav(CalendarView::Week, "2026-12-30").title(), "28 Dec 2026 – 3 Jan 2027");
        assert_eq!(nav(CalendarView::Day, "2026-11-26").title(), "Thursday 26 November 2026");
    }
}
