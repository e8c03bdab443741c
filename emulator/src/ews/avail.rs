//! GetUserAvailability: free/busy of several mailboxes in a window given in the request's
//! legacy `t:TimeZone` (bias plus standard/daylight transition rules), answered in that zone.

use chrono::{DateTime, Datelike, Duration, NaiveDate, NaiveDateTime, NaiveTime, Utc, Weekday};
use domain::xml::Element;

use super::items::busy_name;
use super::ops::{err, ItemError};
use super::soap::{Fault, M, T, W};
use super::Ctx;
use crate::model::{Provider, ShowAs, State};

/// Exchange 2016 refuses windows longer than this.
const MAX_WINDOW_DAYS: i64 = 62;

#[derive(Clone, Copy, Debug)]
struct Rule {
    bias: i64,
    time: NaiveTime,
    order: u32,
    month: u32,
    weekday: Weekday,
}

/// The legacy SerializableTimeZone: UTC = local + bias (+ the period's own bias).
#[derive(Clone, Copy, Debug)]
struct LegacyZone {
    bias: i64,
    standard: Option<Rule>,
    daylight: Option<Rule>,
}

fn rule(el: Option<&Element>) -> Option<Rule> {
    let el = el?;
    let month: u32 = el.child_text(T, "Month")?.parse().ok()?;
    if month == 0 {
        return None;
    }
    let weekday = match el.child_text(T, "DayOfWeek")? {
        "Sunday" => Weekday::Sun,
        "Monday" => Weekday::Mon,
        "Tuesday" => Weekday::Tue,
        "Wednesday" => Weekday::Wed,
        "Thursday" => Weekday::Thu,
        "Friday" => Weekday::Fri,
        "Saturday" => Weekday::Sat,
        _ => return None,
    };
    Some(Rule {
        bias: el.child_text(T, "Bias")?.parse().ok()?,
        time: NaiveTime::parse_from_str(el.child_text(T, "Time")?, "%H:%M:%S").ok()?,
        order: el.child_text(T, "DayOrder")?.parse().ok()?,
        month,
        weekday,
    })
}

impl LegacyZone {
    fn parse(el: Option<&Element>) -> Result<LegacyZone, Fault> {
        let Some(el) = el else { return Ok(LegacyZone { bias: 0, standard: None, daylight: None }) };
        let bias = el.child_text(T, "Bias").and_then(|b| b.parse().ok()).ok_or_else(|| Fault::schema("TimeZone needs a Bias"))?;
        let standard = rule(el.child(T, "StandardTime"));
        let daylight = rule(el.child(T, "DaylightTime"));
        Ok(LegacyZone { bias, standard: standard.filter(|_| daylight.is_some()), daylight: daylight.filter(|_| standard.is_some()) })
    }

    /// The local instant a rule switches in `year` (order 5 = last such weekday).
    fn switch(r: &Rule, year: i32) -> Option<NaiveDateTime> {
        let first = NaiveDate::from_ymd_opt(year, r.month, 1)?;
        let offset = (7 + r.weekday.num_days_from_monday() as i64 - first.weekday().num_days_from_monday() as i64) % 7;
        let mut day = first + Duration::days(offset + 7 * (r.order.clamp(1, 5) as i64 - 1));
        while day.month() != r.month {
            day -= Duration::days(7);
        }
        Some(day.and_time(r.time))
    }

    fn is_daylight(self, local: NaiveDateTime) -> bool {
        let (Some(std), Some(dst)) = (self.standard, self.daylight) else { return false };
        let (Some(to_dst), Some(to_std)) = (Self::switch(&dst, local.year()), Self::switch(&std, local.year())) else { return false };
        if to_dst < to_std {
            local >= to_dst && local < to_std
        } else {
            local >= to_dst || local < to_std
        }
    }

    fn bias_at_local(self, local: NaiveDateTime) -> i64 {
        match (self.standard, self.daylight) {
            (Some(s), Some(d)) => self.bias + if self.is_daylight(local) { d.bias } else { s.bias },
            _ => self.bias,
        }
    }

    fn to_utc(self, local: NaiveDateTime) -> DateTime<Utc> {
        (local + Duration::minutes(self.bias_at_local(local))).and_utc()
    }

    fn to_local(self, t: DateTime<Utc>) -> NaiveDateTime {
        let naive = t.naive_utc();
        if let (Some(s), Some(d)) = (self.standard, self.daylight) {
            let as_daylight = naive - Duration::minutes(self.bias + d.bias);
            if self.is_daylight(as_daylight) {
                return as_daylight;
            }
            return naive - Duration::minutes(self.bias + s.bias);
        }
        naive - Duration::minutes(self.bias)
    }
}

fn parse_local(text: &str) -> Option<NaiveDateTime> {
    let t = text.trim();
    // A value with an offset is an instant; otherwise a wall-clock time in the request zone.
    if let Ok(dt) = DateTime::parse_from_rfc3339(t) {
        return Some(dt.naive_utc());
    }
    NaiveDateTime::parse_from_str(t, "%Y-%m-%dT%H:%M:%S%.f").ok()
}

fn has_offset(text: &str) -> bool {
    DateTime::parse_from_rfc3339(text.trim()).is_ok()
}

pub fn get_user_availability(st: &mut State, _ctx: &Ctx, req: &Element) -> Result<String, Fault> {
    let zone = LegacyZone::parse(req.child(T, "TimeZone"))?;
    let options = req.child(T, "FreeBusyViewOptions").ok_or_else(|| Fault::schema("FreeBusyViewOptions is required"))?;
    let window = options.child(T, "TimeWindow").ok_or_else(|| Fault::schema("TimeWindow is required"))?;
    let read = |name: &str| -> Result<DateTime<Utc>, Fault> {
        let text = window.child_text(T, name).ok_or_else(|| Fault::schema(format!("{name} is required")))?;
        let local = parse_local(text).ok_or_else(|| Fault::schema(format!("{name} must be a dateTime")))?;
        Ok(if has_offset(text) { local.and_utc() } else { zone.to_utc(local) })
    };
    let (start, end) = (read("StartTime")?, read("EndTime")?);
    if end <= start || end - start > Duration::days(MAX_WINDOW_DAYS) {
        return Err(Fault::new("ErrorInvalidTimeInterval", "The time window is invalid or longer than allowed."));
    }
    let view = options.child_text(T, "RequestedView").unwrap_or("FreeBusy").to_string();
    if !["None", "MergedOnly", "FreeBusy", "FreeBusyMerged", "Detailed", "DetailedMerged"].contains(&view.as_str()) {
        return Err(Fault::new("ErrorInvalidFreeBusyViewType", "Invalid RequestedView."));
    }
    let interval: i64 = options.child_text(T, "MergedFreeBusyIntervalInMinutes").and_then(|v| v.parse().ok()).unwrap_or(30);
    if !(5..=1440).contains(&interval) {
        return Err(Fault::new("ErrorInvalidMergedFreeBusyInterval", "MergedFreeBusyIntervalInMinutes must be between 5 and 1440."));
    }
    let people: Vec<String> = req
        .child(M, "MailboxDataArray")
        .map(|a| a.children_named(T, "MailboxData").filter_map(|d| d.path(&[(T, "Email"), (T, "Address")]).map(|e| e.text.trim().to_string())).collect())
        .unwrap_or_default();
    if people.is_empty() {
        return Err(Fault::new("ErrorMailboxDataArrayEmpty", "MailboxDataArray is empty."));
    }
    if people.len() > 100 {
        return Err(Fault::new("ErrorMailboxDataArrayTooBig", "At most 100 mailboxes per request."));
    }
    let fmt = |t: DateTime<Utc>| zone.to_local(t).format("%Y-%m-%dT%H:%M:%S").to_string();
    let mut w = W::new();
    w.raw(&format!(r#"<GetUserAvailabilityResponse xmlns="{M}"><FreeBusyResponseArray>"#));
    for address in people {
        w.open("FreeBusyResponse");
        let found = st.mailbox(&address).filter(|m| m.provider == Provider::Ews).cloned();
        let Some(mb) = found else {
            let e: ItemError = err("ErrorMailRecipientNotFound", format!("No mailbox with such guid/address: {address}"));
            w.open_a("ResponseMessage", &[("ResponseClass", "Error")]);
            w.leaf("MessageText", &e.text);
            w.leaf("ResponseCode", e.code);
            w.leaf("DescriptiveLinkKey", "0");
            w.close("ResponseMessage");
            w.raw(&format!(r#"<FreeBusyView><FreeBusyViewType xmlns="{T}">None</FreeBusyViewType></FreeBusyView>"#));
            w.close("FreeBusyResponse");
            continue;
        };
        w.open_a("ResponseMessage", &[("ResponseClass", "Success")]);
        w.leaf("ResponseCode", "NoError");
        w.close("ResponseMessage");
        let instances: Vec<_> = st
            .instances(&mb.email, start, end, false)
            .unwrap_or_default()
            .into_iter()
            .filter(|i| st.event(&mb.email, &i.event_id).is_ok_and(|e| !e.cancelled))
            .collect();
        w.open("FreeBusyView");
        w.raw(&format!(r#"<FreeBusyViewType xmlns="{T}">{view}</FreeBusyViewType>"#));
        if view.ends_with("Merged") || view == "MergedOnly" {
            let mut merged = String::new();
            let mut slot = start;
            while slot < end {
                let slot_end = slot + Duration::minutes(interval);
                let worst = instances
                    .iter()
                    .filter(|i| i.fields.start_utc() < slot_end && i.fields.end_utc() > slot)
                    .map(|i| match i.fields.show_as {
                        ShowAs::Free => 0,
                        ShowAs::Tentative => 1,
                        ShowAs::Busy => 2,
                        ShowAs::Oof => 3,
                        ShowAs::WorkingElsewhere => 4,
                    })
                    // OOF outranks busy, busy tentative, tentative working-elsewhere, as in Outlook.
                    .max_by_key(|c| match c {
                        3 => 4,
                        2 => 3,
                        1 => 2,
                        4 => 1,
                        _ => 0,
                    })
                    .unwrap_or(0);
                merged.push(char::from(b'0' + worst as u8));
                slot = slot_end;
            }
            w.raw(&format!(r#"<MergedFreeBusy xmlns="{T}">{merged}</MergedFreeBusy>"#));
        }
        if matches!(view.as_str(), "FreeBusy" | "FreeBusyMerged" | "Detailed" | "DetailedMerged") {
            let detailed = view.starts_with("Detailed");
            w.raw(&format!(r#"<CalendarEventArray xmlns="{T}">"#));
            for i in &instances {
                w.open("CalendarEvent");
                w.leaf("StartTime", fmt(i.fields.start_utc()));
                w.leaf("EndTime", fmt(i.fields.end_utc()));
                w.leaf("BusyType", busy_name(i.fields.show_as));
                if detailed {
                    let private = i.fields.is_private();
                    w.open("CalendarEventDetails");
                    if !private {
                        w.leaf("Subject", &i.fields.subject);
                        w.leaf("Location", &i.fields.location);
                    }
                    w.leaf("IsMeeting", !i.fields.attendees.is_empty());
                    w.leaf("IsRecurring", i.original_start.is_some());
                    w.leaf("IsException", i.kind == crate::model::InstanceKind::Exception);
                    w.leaf("IsReminderSet", false);
                    w.leaf("IsPrivate", private);
                    w.close("CalendarEventDetails");
                }
                w.close("CalendarEvent");
            }
            w.raw("</CalendarEventArray>");
        }
        w.close("FreeBusyView");
        w.close("FreeBusyResponse");
    }
    w.raw("</FreeBusyResponseArray></GetUserAvailabilityResponse>");
    Ok(w.s)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::model::utc;

    #[test]
    fn legacy_zone_follows_dst_rules() {
        // Central European: bias -60, DST from last Sunday of March 02:00 to last Sunday of October 03:00.
        let xml = format!(
            r#"<t:TimeZone xmlns:t="{T}"><t:Bias>-60</t:Bias><t:StandardTime><t:Bias>0</t:Bias><t:Time>03:00:00</t:Time><t:DayOrder>5</t:DayOrder><t:Month>10</t:Month><t:DayOfWeek>Sunday</t:DayOfWeek></t:StandardTime><t:DaylightTime><t:Bias>-60</t:Bias><t:Time>02:00:00</t:Time><t:DayOrder>5</t:DayOrder><t:Month>3</t:Month><t:DayOfWeek>Sunday</t:DayOfWeek></t:DaylightTime></t:TimeZone>"#
        );
        let el = domain::xml::parse(xml.as_bytes(), Default::default()).unwrap();
        let z = LegacyZone::parse(Some(&el)).unwrap();
        let local = |s: &str| NaiveDateTime::parse_from_str(s, "%Y-%m-%dT%H:%M:%S").unwrap();
        assert_eq!(z.to_utc(local("2026-01-05T10:00:00")), utc(2026, 1, 5, 9, 0));
        assert_eq!(z.to_utc(local("2026-07-05T10:00:00")), utc(2026, 7, 5, 8, 0));
        assert_eq!(z.to_local(utc(2026, 7, 5, 8, 0)), local("2026-07-05T10:00:00"));
        assert_eq!(z.to_local(utc(2026, 1, 5, 9, 0)), local("2026-01-05T10:00:00"));
    }
}
