//! `t:CalendarItem` both ways: rendering a model event (or one of its occurrences) in the
//! response shape a request asked for, in schema order; and reading the CalendarItem a client
//! sends to CreateItem / UpdateItem. Also the `t:Recurrence` of a series, through `domain::recurrence`.

use chrono::{DateTime, Duration, NaiveTime, Utc};
use domain::recurrence as shared;
use domain::xml::Element;

use super::ids::{self, Folder};
use super::soap::{fmt_dt, parse_bool, zone_from_windows, Fault, T, W};
use crate::model::{Attendee, Event, Fields, Instance, InstanceKind, Mailbox, Response, Sensitivity, ShowAs, When};
use crate::recurrence;

// ---- response shapes ---------------------------------------------------------------------

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Base {
    IdOnly,
    Default,
    All,
}

/// An `ExtendedFieldURI` as the client wrote it.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct ExtUri {
    pub set_id: Option<String>,
    pub distinguished: Option<String>,
    pub tag: Option<String>,
    pub name: Option<String>,
    pub id: Option<String>,
    pub ptype: String,
}

impl ExtUri {
    pub fn from_el(el: &Element) -> Option<ExtUri> {
        let get = |n: &str| el.attr(n).map(str::to_string);
        let uri = ExtUri {
            set_id: get("PropertySetId"),
            distinguished: get("DistinguishedPropertySetId"),
            tag: get("PropertyTag"),
            name: get("PropertyName"),
            id: get("PropertyId"),
            ptype: get("PropertyType")?,
        };
        if uri.tag.is_none() && uri.name.is_none() && uri.id.is_none() {
            return None;
        }
        Some(uri)
    }

    /// The key in `Event::private_props`: the CRM id under `crmId` (shared convention of all
    /// front-ends), anything else under its full EWS identity.
    pub fn key(&self) -> String {
        if self.distinguished.as_deref() == Some("PublicStrings") && self.name.as_deref() == Some("crmId") {
            return "crmId".into();
        }
        let set = self.distinguished.clone().or_else(|| self.set_id.as_ref().map(|s| s.to_ascii_lowercase())).unwrap_or_default();
        match (&self.tag, &self.name, &self.id) {
            (Some(tag), _, _) => format!("{} Tag {}", self.ptype, tag.to_ascii_lowercase()),
            (_, Some(name), _) => format!("{} {set} Name {name}", self.ptype),
            (_, _, Some(id)) => format!("{} {set} Id {id}", self.ptype),
            _ => String::new(),
        }
    }

    pub fn write(&self, w: &mut W) {
        let mut attrs: Vec<(&str, &str)> = Vec::new();
        if let Some(v) = &self.distinguished {
            attrs.push(("DistinguishedPropertySetId", v));
        }
        if let Some(v) = &self.set_id {
            attrs.push(("PropertySetId", v));
        }
        if let Some(v) = &self.tag {
            attrs.push(("PropertyTag", v));
        }
        if let Some(v) = &self.name {
            attrs.push(("PropertyName", v));
        }
        if let Some(v) = &self.id {
            attrs.push(("PropertyId", v));
        }
        attrs.push(("PropertyType", &self.ptype));
        w.empty("t:ExtendedFieldURI", &attrs);
    }
}

/// What an `ItemShape` asked for.
#[derive(Clone, Debug)]
pub struct Shape {
    pub base: Base,
    pub extra: Vec<String>,
    pub ext: Vec<ExtUri>,
    /// `BodyType`: Text or HTML converts the body; Best (the default) gives it as stored.
    pub body_type: Option<String>,
}

/// Properties of the Default shape (calendar items).
const DEFAULT_PROPS: &[&str] = &[
    "item:ParentFolderId",
    "item:ItemClass",
    "item:Subject",
    "item:Sensitivity",
    "item:HasAttachments",
    "calendar:Start",
    "calendar:End",
    "calendar:IsAllDayEvent",
    "calendar:LegacyFreeBusyStatus",
    "calendar:Location",
    "calendar:CalendarItemType",
    "calendar:Organizer",
];

/// Properties FindItem cannot return (GetItem only).
const COMPLEX: &[&str] = &[
    "item:Body",
    "calendar:RequiredAttendees",
    "calendar:OptionalAttendees",
    "calendar:Recurrence",
    "calendar:FirstOccurrence",
    "calendar:LastOccurrence",
    "calendar:ModifiedOccurrences",
    "calendar:DeletedOccurrences",
];

impl Shape {
    pub fn id_only() -> Shape {
        Shape { base: Base::IdOnly, extra: Vec::new(), ext: Vec::new(), body_type: None }
    }

    pub fn parse(el: Option<&Element>) -> Result<Shape, Fault> {
        let Some(el) = el else { return Ok(Shape::id_only()) };
        let base = match el.child_text(T, "BaseShape") {
            Some("IdOnly") => Base::IdOnly,
            Some("Default") => Base::Default,
            Some("AllProperties") => Base::All,
            other => return Err(Fault::schema(format!("invalid BaseShape {other:?}"))),
        };
        let body_type = match el.child_text(T, "BodyType") {
            None | Some("Best") => None,
            Some(t @ ("Text" | "HTML")) => Some(t.to_string()),
            Some(other) => return Err(Fault::schema(format!("invalid BodyType {other:?}"))),
        };
        let mut shape = Shape { base, extra: Vec::new(), ext: Vec::new(), body_type };
        if let Some(add) = el.child(T, "AdditionalProperties") {
            for p in &add.children {
                if p.is(T, "FieldURI") {
                    if let Some(uri) = p.attr("FieldURI") {
                        shape.extra.push(uri.to_string());
                    }
                } else if p.is(T, "ExtendedFieldURI") {
                    shape.ext.push(ExtUri::from_el(p).ok_or_else(|| Fault::schema("ExtendedFieldURI needs PropertyType and a name, id or tag"))?);
                }
            }
        }
        Ok(shape)
    }

    fn wants(&self, uri: &str, in_find: bool) -> bool {
        if in_find && COMPLEX.contains(&uri) {
            return false;
        }
        if self.extra.iter().any(|u| u == uri) {
            return true;
        }
        match self.base {
            Base::IdOnly => false,
            Base::Default => {
                DEFAULT_PROPS.contains(&uri)
                    || (!in_find && matches!(uri, "item:Body" | "calendar:RequiredAttendees" | "calendar:OptionalAttendees" | "calendar:Recurrence"))
            }
            Base::All => true,
        }
    }
}

// ---- rendering ---------------------------------------------------------------------------

pub struct Render<'a> {
    pub mailbox: &'a Mailbox,
    pub shape: &'a Shape,
    pub in_find: bool,
}

pub fn kind_name(ev: &Event, inst: Option<&Instance>) -> &'static str {
    match inst.map(|i| i.kind) {
        Some(InstanceKind::Occurrence) => "Occurrence",
        Some(InstanceKind::Exception) => "Exception",
        Some(InstanceKind::Single) | None if ev.is_series() => "RecurringMaster",
        _ => "Single",
    }
}

/// `(Id, ChangeKey)` of an event or one of its occurrences.
pub fn item_id(ev: &Event, inst: Option<&Instance>) -> (String, String) {
    match inst.and_then(|i| i.original_start.map(|s| (s, i))) {
        Some((start, i)) => (ids::occurrence_id(&ev.id, start), i.change_key.clone()),
        None => (ev.id.clone(), ev.change_key.clone()),
    }
}

pub fn write_item_id(w: &mut W, tag: &str, id: &str, change_key: &str) {
    w.empty(tag, &[("Id", id), ("ChangeKey", change_key)]);
}

fn sensitivity_name(s: Sensitivity) -> &'static str {
    match s {
        Sensitivity::Normal => "Normal",
        Sensitivity::Personal => "Personal",
        Sensitivity::Private => "Private",
        Sensitivity::Confidential => "Confidential",
    }
}

fn show_as_name(s: ShowAs) -> &'static str {
    match s {
        ShowAs::Free => "Free",
        ShowAs::Tentative => "Tentative",
        ShowAs::Busy => "Busy",
        ShowAs::Oof => "OOF",
        ShowAs::WorkingElsewhere => "WorkingElsewhere",
    }
}

pub fn busy_name(s: ShowAs) -> &'static str {
    show_as_name(s)
}

fn response_name(r: Response) -> &'static str {
    match r {
        Response::NeedsAction => "NoResponseReceived",
        Response::Accepted => "Accept",
        Response::Tentative => "Tentative",
        Response::Declined => "Decline",
        Response::Organizer => "Organizer",
    }
}

fn write_mailbox(w: &mut W, name: &str, email: &str) {
    w.open("t:Mailbox");
    w.leaf("t:Name", if name.is_empty() { email } else { name });
    w.leaf("t:EmailAddress", email);
    w.leaf("t:RoutingType", "SMTP");
    w.leaf("t:MailboxType", "Mailbox");
    w.close("t:Mailbox");
}

/// The instant an occurrence slot stands for (all-day series are keyed by UTC midnight).
fn slot_instant(ev: &Event, slot: DateTime<Utc>) -> DateTime<Utc> {
    if ev.fields.is_all_day() {
        When::Date(slot.date_naive()).instant(&ev.fields.time_zone)
    } else {
        slot
    }
}

/// Writes `<t:CalendarItem>` for `ev`, or for one of its occurrences when `inst` is given.
pub fn calendar_item(w: &mut W, r: &Render, ev: &Event, inst: Option<&Instance>) {
    let f: &Fields = inst.map(|i| &i.fields).unwrap_or(&ev.fields);
    let kind = kind_name(ev, inst);
    let is_master = kind == "RecurringMaster";
    let want = |uri: &str| r.shape.wants(uri, r.in_find);
    let (id, ck) = item_id(ev, inst);
    let me = r.mailbox.email.as_str();

    w.open("t:CalendarItem");
    write_item_id(w, "t:ItemId", &id, &ck);
    if want("item:ParentFolderId") {
        w.empty("t:ParentFolderId", &[("Id", &ids::folder_id(me, Folder::Calendar)), ("ChangeKey", ids::FOLDER_CHANGE_KEY)]);
    }
    if want("item:ItemClass") {
        w.leaf("t:ItemClass", "IPM.Appointment");
    }
    if want("item:Subject") {
        w.leaf("t:Subject", &f.subject);
    }
    if want("item:Sensitivity") {
        w.leaf("t:Sensitivity", sensitivity_name(f.sensitivity));
    }
    if want("item:Body") {
        let html = match r.shape.body_type.as_deref() {
            Some("Text") => false,
            Some(_) => true,
            None => crate::body::is_html(&f.body),
        };
        let body = if html { crate::body::as_html(&f.body) } else { crate::body::as_text(&f.body) };
        w.leaf_a("t:Body", &[("BodyType", if html { "HTML" } else { "Text" })], &body);
    }
    if want("item:DateTimeCreated") {
        w.leaf("t:DateTimeCreated", fmt_dt(ev.created));
    }
    if want("item:HasAttachments") {
        w.leaf("t:HasAttachments", "false");
    }
    for uri in &r.shape.ext {
        if let Some(value) = ev.private_props.get(&uri.key()) {
            w.open("t:ExtendedProperty");
            uri.write(w);
            w.leaf("t:Value", value);
            w.close("t:ExtendedProperty");
        }
    }
    if want("item:LastModifiedTime") {
        w.leaf("t:LastModifiedTime", fmt_dt(ev.updated));
    }
    if want("calendar:UID") {
        w.leaf("t:UID", &ev.ical_uid);
    }
    let original = inst.and_then(|i| i.original_start).map(|s| slot_instant(ev, s));
    if let Some(orig) = original {
        if want("calendar:RecurrenceId") {
            w.leaf("t:RecurrenceId", fmt_dt(orig));
        }
    }
    if want("calendar:DateTimeStamp") {
        w.leaf("t:DateTimeStamp", fmt_dt(ev.updated));
    }
    if want("calendar:Start") {
        w.leaf("t:Start", fmt_dt(f.start_utc()));
    }
    if want("calendar:End") {
        w.leaf("t:End", fmt_dt(f.end_utc()));
    }
    if let Some(orig) = original {
        if want("calendar:OriginalStart") {
            w.leaf("t:OriginalStart", fmt_dt(orig));
        }
    }
    if want("calendar:IsAllDayEvent") {
        w.leaf("t:IsAllDayEvent", f.is_all_day());
    }
    if want("calendar:LegacyFreeBusyStatus") {
        w.leaf("t:LegacyFreeBusyStatus", show_as_name(f.show_as));
    }
    if want("calendar:Location") {
        w.leaf("t:Location", &f.location);
    }
    let is_meeting = !f.attendees.is_empty();
    if want("calendar:IsMeeting") {
        w.leaf("t:IsMeeting", is_meeting);
    }
    if want("calendar:IsCancelled") {
        w.leaf("t:IsCancelled", ev.cancelled);
    }
    if want("calendar:IsRecurring") {
        // Exchange sets IsRecurring on occurrences and exceptions, not on the master.
        w.leaf("t:IsRecurring", matches!(kind, "Occurrence" | "Exception"));
    }
    if want("calendar:CalendarItemType") {
        w.leaf("t:CalendarItemType", kind);
    }
    let organizer_is_me = ev.organizer.email.eq_ignore_ascii_case(me);
    if want("calendar:MyResponseType") {
        let mine = if organizer_is_me {
            Response::Organizer
        } else {
            f.attendees.iter().find(|a| a.email.eq_ignore_ascii_case(me)).map(|a| a.response).unwrap_or(Response::NeedsAction)
        };
        w.leaf("t:MyResponseType", if mine == Response::NeedsAction && !organizer_is_me { "NoResponseReceived" } else { response_name(mine) });
    }
    if want("calendar:Organizer") {
        w.open("t:Organizer");
        write_mailbox(w, &ev.organizer.name, &ev.organizer.email);
        w.close("t:Organizer");
    }
    for (uri, tag, optional) in [("calendar:RequiredAttendees", "t:RequiredAttendees", false), ("calendar:OptionalAttendees", "t:OptionalAttendees", true)] {
        if !want(uri) {
            continue;
        }
        let list: Vec<&Attendee> = f
            .attendees
            .iter()
            .filter(|a| a.optional == optional && !a.email.eq_ignore_ascii_case(&ev.organizer.email))
            .collect();
        if list.is_empty() {
            continue; // NonEmptyArrayOfAttendeesType: absent when empty
        }
        w.open(tag);
        for a in list {
            w.open("t:Attendee");
            write_mailbox(w, &a.name, &a.email);
            w.leaf("t:ResponseType", response_name(a.response));
            w.close("t:Attendee");
        }
        w.close(tag);
    }
    if is_master {
        if want("calendar:Recurrence") {
            write_recurrence(w, ev);
        }
        write_occurrence_lists(w, r, ev);
    }
    if want("calendar:StartTimeZone") {
        w.empty("t:StartTimeZone", &[("Id", super::soap::windows_zone(&f.time_zone))]);
    }
    if want("calendar:EndTimeZone") {
        w.empty("t:EndTimeZone", &[("Id", super::soap::windows_zone(&f.time_zone))]);
    }
    if want("calendar:StartTimeZoneId") {
        w.leaf("t:StartTimeZoneId", super::soap::windows_zone(&f.time_zone));
    }
    if want("calendar:EndTimeZoneId") {
        w.leaf("t:EndTimeZoneId", super::soap::windows_zone(&f.time_zone));
    }
    if want("calendar:IsOrganizer") {
        w.leaf("t:IsOrganizer", organizer_is_me);
    }
    w.close("t:CalendarItem");
}

fn write_occurrence_info(w: &mut W, tag: &str, ev: &Event, inst: &Instance) {
    let Some(orig) = inst.original_start else { return };
    let (id, ck) = item_id(ev, Some(inst));
    w.open(tag);
    write_item_id(w, "t:ItemId", &id, &ck);
    w.leaf("t:Start", fmt_dt(inst.fields.start_utc()));
    w.leaf("t:End", fmt_dt(inst.fields.end_utc()));
    w.leaf("t:OriginalStart", fmt_dt(slot_instant(ev, orig)));
    w.close(tag);
}

fn write_occurrence_lists(w: &mut W, r: &Render, ev: &Event) {
    let want = |uri: &str| r.shape.wants(uri, r.in_find);
    if want("calendar:FirstOccurrence") {
        if let Some(first) = recurrence::slot_at_index(ev, 1).and_then(|s| recurrence::occurrence(ev, s).ok()) {
            write_occurrence_info(w, "t:FirstOccurrence", ev, &first);
        }
    }
    if want("calendar:LastOccurrence") && rule_is_bounded(ev) {
        let from = ev.fields.start_utc() - Duration::days(2);
        let all = recurrence::instances(ev, from, from + Duration::days(365 * 200), false);
        if let Some(last) = all.iter().max_by_key(|i| i.original_start) {
            write_occurrence_info(w, "t:LastOccurrence", ev, last);
        }
    }
    if want("calendar:ModifiedOccurrences") {
        let changed: Vec<Instance> =
            ev.overrides.keys().filter_map(|slot| recurrence::occurrence(ev, *slot).ok()).filter(|i| i.kind == InstanceKind::Exception).collect();
        if !changed.is_empty() {
            w.open("t:ModifiedOccurrences");
            for inst in &changed {
                write_occurrence_info(w, "t:Occurrence", ev, inst);
            }
            w.close("t:ModifiedOccurrences");
        }
    }
    if want("calendar:DeletedOccurrences") {
        let deleted: Vec<DateTime<Utc>> = ev
            .overrides
            .iter()
            .filter(|(_, o)| matches!(o, crate::model::Override::Cancelled { .. }))
            .map(|(slot, _)| slot_instant(ev, *slot))
            .collect();
        if !deleted.is_empty() {
            w.open("t:DeletedOccurrences");
            for start in deleted {
                w.open("t:DeletedOccurrence");
                w.leaf("t:Start", fmt_dt(start));
                w.close("t:DeletedOccurrence");
            }
            w.close("t:DeletedOccurrences");
        }
    }
}

// ---- recurrence ------------------------------------------------------------------------------

fn rule_is_bounded(ev: &Event) -> bool {
    recurrence::rrule_line(&ev.recurrence).is_some_and(|line| {
        line.split(';').filter_map(|p| p.split_once('=')).any(|(k, _)| {
            let k = k.trim();
            k.eq_ignore_ascii_case("COUNT") || k.eq_ignore_ascii_case("UNTIL")
        })
    })
}

/// The series' `t:Recurrence`. Rules written through another protocol that EWS cannot hold
/// are left out: Exchange would not have such a series.
fn write_recurrence(w: &mut W, ev: &Event) {
    let Some(rule) = recurrence::rrule_line(&ev.recurrence) else { return };
    let (tz, local_start) = recurrence::rule_zone(&ev.fields);
    if let Ok(xml) = shared::from_rrule(rule, local_start, tz, false).and_then(|r| shared::ews::to_xml(&r)) {
        w.s.push_str(&xml);
    }
}

/// An EWS `Recurrence` element as RRULE lines, for a series starting at `fields.start`.
pub fn recurrence_to_rrule(el: &Element, fields: &Fields) -> Result<Vec<String>, Fault> {
    let rec = shared::ews::from_xml(el).map_err(|e| Fault::schema(format!("Recurrence: {e}")))?;
    let (tz, _) = recurrence::rule_zone(fields);
    Ok(vec![format!("RRULE:{}", shared::to_rrule(&rec, tz, false))])
}

// ---- reading a CalendarItem from a request -------------------------------------------------

/// The properties a client set on a `t:CalendarItem` (all optional: UpdateItem sets one at a
/// time). Times stay text until the zone they are read in is known.
#[derive(Default, Debug)]
pub struct ItemInput {
    pub subject: Option<String>,
    pub body: Option<String>,
    pub sensitivity: Option<Sensitivity>,
    pub location: Option<String>,
    pub start: Option<String>,
    pub end: Option<String>,
    pub all_day: Option<bool>,
    pub show_as: Option<ShowAs>,
    pub required: Option<Vec<Attendee>>,
    pub optional: Option<Vec<Attendee>>,
    pub recurrence: Option<Element>,
    pub start_tz: Option<chrono_tz::Tz>,
    pub end_tz: Option<chrono_tz::Tz>,
    pub meeting_tz: Option<chrono_tz::Tz>,
    pub uid: Option<String>,
    pub ext: Vec<(String, String)>,
}

fn attendees(el: &Element, optional: bool) -> Vec<Attendee> {
    el.children_named(T, "Attendee")
        .filter_map(|a| {
            let mb = a.child(T, "Mailbox")?;
            let email = mb.child_text(T, "EmailAddress")?.to_ascii_lowercase();
            if email.is_empty() {
                return None;
            }
            let response = match a.child_text(T, "ResponseType") {
                Some("Accept") => Response::Accepted,
                Some("Tentative") => Response::Tentative,
                Some("Decline") => Response::Declined,
                Some("Organizer") => Response::Organizer,
                _ => Response::NeedsAction,
            };
            Some(Attendee { name: mb.child_text(T, "Name").unwrap_or("").to_string(), email, response, optional })
        })
        .collect()
}

/// A TimeZone element's zone: `Id` attribute (Windows name) of a TimeZoneDefinition.
fn zone_of(el: &Element) -> Result<Option<chrono_tz::Tz>, Fault> {
    let Some(id) = el.attr("Id").or_else(|| el.attr("TimeZoneName")) else { return Ok(None) };
    zone_from_windows(id).map(Some).ok_or_else(|| Fault::new("ErrorInvalidTimeZone", format!("Unknown time zone id: {id}")))
}

pub fn read_item(el: &Element) -> Result<ItemInput, Fault> {
    let mut it = ItemInput::default();
    for c in &el.children {
        if c.ns.as_deref() != Some(T) {
            continue;
        }
        let text = c.text.as_str();
        match c.name.as_str() {
            "Subject" => it.subject = Some(text.to_string()),
            "Body" => it.body = Some(text.to_string()),
            "Sensitivity" => {
                it.sensitivity = Some(match text.trim() {
                    "Normal" => Sensitivity::Normal,
                    "Personal" => Sensitivity::Personal,
                    "Private" => Sensitivity::Private,
                    "Confidential" => Sensitivity::Confidential,
                    other => return Err(Fault::schema(format!("invalid Sensitivity {other}"))),
                })
            }
            "Location" => it.location = Some(text.to_string()),
            "Start" => it.start = Some(text.trim().to_string()),
            "End" => it.end = Some(text.trim().to_string()),
            "IsAllDayEvent" => it.all_day = Some(parse_bool(text).ok_or_else(|| Fault::schema("IsAllDayEvent must be a boolean"))?),
            "LegacyFreeBusyStatus" => {
                it.show_as = Some(match text.trim() {
                    "Free" => ShowAs::Free,
                    "Tentative" => ShowAs::Tentative,
                    "Busy" | "NoData" => ShowAs::Busy,
                    "OOF" => ShowAs::Oof,
                    "WorkingElsewhere" => ShowAs::WorkingElsewhere,
                    other => return Err(Fault::schema(format!("invalid LegacyFreeBusyStatus {other}"))),
                })
            }
            "RequiredAttendees" => it.required = Some(attendees(c, false)),
            "OptionalAttendees" => it.optional = Some(attendees(c, true)),
            "Recurrence" => it.recurrence = Some(c.clone()),
            "StartTimeZone" => it.start_tz = zone_of(c)?,
            "EndTimeZone" => it.end_tz = zone_of(c)?,
            "MeetingTimeZone" => it.meeting_tz = zone_of(c)?,
            "StartTimeZoneId" => it.start_tz = Some(zone_from_windows(text).ok_or_else(|| Fault::new("ErrorInvalidTimeZone", "Unknown time zone id"))?),
            "EndTimeZoneId" => it.end_tz = Some(zone_from_windows(text).ok_or_else(|| Fault::new("ErrorInvalidTimeZone", "Unknown time zone id"))?),
            "UID" => it.uid = Some(text.trim().to_string()),
            "ExtendedProperty" => {
                let uri = c.child(T, "ExtendedFieldURI").and_then(ExtUri::from_el).ok_or_else(|| Fault::schema("ExtendedProperty needs an ExtendedFieldURI"))?;
                let value = c
                    .child(T, "Value")
                    .map(|v| v.text.clone())
                    .or_else(|| c.child(T, "Values").and_then(|vs| vs.child(T, "Value")).map(|v| v.text.clone()))
                    .unwrap_or_default();
                it.ext.push((uri.key(), value));
            }
            _ => {}
        }
    }
    Ok(it)
}

/// Start and end as stored: all-day items become floating dates (a start that is not a
/// midnight moves back to the previous one, an end forward to the next, in the item's zone).
pub fn to_whens(start: DateTime<Utc>, end: DateTime<Utc>, all_day: bool, zone: chrono_tz::Tz) -> (When, When) {
    if !all_day {
        return (When::At(start), When::At(end));
    }
    let s = start.with_timezone(&zone);
    let e = end.with_timezone(&zone);
    let first = s.date_naive();
    let mut last = if e.time() == NaiveTime::MIN { e.date_naive() } else { e.date_naive() + Duration::days(1) };
    if last <= first {
        last = first + Duration::days(1);
    }
    (When::Date(first), When::Date(last))
}

#[cfg(test)]
mod tests {
    use std::collections::BTreeMap;

    use chrono::NaiveDate;

    use super::*;
    use crate::model::{utc, Person};

    fn series(rule: &str, start: When, tz: &str) -> Event {
        let end = match start {
            When::At(t) => When::At(t + Duration::minutes(30)),
            When::Date(d) => When::Date(d + Duration::days(1)),
        };
        Event {
            id: "m".into(),
            ical_uid: "u".into(),
            change_key: "k".into(),
            fields: Fields {
                subject: "S".into(),
                body: String::new(),
                location: String::new(),
                start,
                end,
                time_zone: tz.into(),
                sensitivity: Sensitivity::Normal,
                show_as: ShowAs::Busy,
                attendees: vec![],
            },
            organizer: Person { email: "a@x".into(), name: "A".into() },
            recurrence: vec![rule.into()],
            overrides: BTreeMap::new(),
            private_props: BTreeMap::new(),
            shared_props: BTreeMap::new(),
            created: utc(2026, 1, 1, 0, 0),
            updated: utc(2026, 1, 1, 0, 0),
            seq: 1,
            cancelled: false,
        }
    }

    fn round_trip(rule: &str) -> String {
        let ev = series(rule, When::At(utc(2026, 1, 5, 8, 0)), "Europe/Copenhagen");
        let mut w = W::new();
        write_recurrence(&mut w, &ev);
        let xml = format!(r#"<r xmlns:t="{T}">{}</r>"#, w.s);
        let root = domain::xml::parse(xml.as_bytes(), Default::default()).unwrap();
        let rec = root.child(T, "Recurrence").unwrap();
        recurrence_to_rrule(rec, &ev.fields).unwrap().remove(0)
    }

    #[test]
    fn patterns_round_trip_through_ews() {
        assert_eq!(round_trip("RRULE:FREQ=DAILY;INTERVAL=2;COUNT=5"), "RRULE:FREQ=DAILY;INTERVAL=2;COUNT=5");
        assert_eq!(round_trip("RRULE:FREQ=WEEKLY;BYDAY=MO,WE"), "RRULE:FREQ=WEEKLY;BYDAY=MO,WE");
        assert_eq!(round_trip("RRULE:FREQ=MONTHLY;BYDAY=-1FR;COUNT=3"), "RRULE:FREQ=MONTHLY;BYDAY=-1FR;COUNT=3");
        assert_eq!(round_trip("RRULE:FREQ=MONTHLY;INTERVAL=3;BYMONTHDAY=15"), "RRULE:FREQ=MONTHLY;INTERVAL=3;BYMONTHDAY=15");
        assert_eq!(round_trip("RRULE:FREQ=YEARLY"), "RRULE:FREQ=YEARLY;BYMONTH=1;BYMONTHDAY=5");
        assert_eq!(round_trip("RRULE:FREQ=YEARLY;BYMONTH=3;BYDAY=MO,TU,WE,TH,FR;BYSETPOS=2"), "RRULE:FREQ=YEARLY;BYMONTH=3;BYDAY=MO,TU,WE,TH,FR;BYSETPOS=2");
        // UNTIL is the end of the EndDate in the series' zone.
        assert_eq!(round_trip("RRULE:FREQ=DAILY;UNTIL=20260110T225959Z"), "RRULE:FREQ=DAILY;UNTIL=20260110T225959Z");
        // An all-day series ends on a floating date (the model expands those as UTC dates).
        let ev = series("RRULE:FREQ=DAILY;UNTIL=20260110T235959Z", When::Date(NaiveDate::from_ymd_opt(2026, 1, 5).unwrap()), "America/New_York");
        let mut w = W::new();
        write_recurrence(&mut w, &ev);
        assert!(w.s.contains("<t:EndDate>2026-01-10</t:EndDate>"), "{}", w.s);
    }

    #[test]
    fn rules_ews_cannot_hold_are_left_out() {
        for rule in ["RRULE:FREQ=YEARLY;INTERVAL=2", "RRULE:FREQ=MONTHLY;BYDAY=1MO,3MO", "RRULE:FREQ=HOURLY"] {
            let mut w = W::new();
            write_recurrence(&mut w, &series(rule, When::At(utc(2026, 1, 5, 8, 0)), "Europe/Copenhagen"));
            assert_eq!(w.s, "", "{rule}");
        }
        let ev = series("RRULE:FREQ=DAILY;COUNT=3", When::At(utc(2026, 1, 5, 8, 0)), "Europe/Copenhagen");
        assert!(rule_is_bounded(&ev));
        assert!(!rule_is_bounded(&series("RRULE:FREQ=DAILY", When::At(utc(2026, 1, 5, 8, 0)), "Europe/Copenhagen")));
    }

    #[test]
    fn all_day_times_snap_to_midnights() {
        let cph: chrono_tz::Tz = "Europe/Copenhagen".parse().unwrap();
        let (s, e) = to_whens(utc(2026, 1, 4, 23, 0), utc(2026, 1, 5, 23, 0), true, cph);
        assert_eq!((s, e), (When::Date(NaiveDate::from_ymd_opt(2026, 1, 5).unwrap()), When::Date(NaiveDate::from_ymd_opt(2026, 1, 6).unwrap())));
        let (s, e) = to_whens(utc(2026, 1, 5, 10, 0), utc(2026, 1, 5, 11, 0), true, cph);
        assert_eq!((s, e), (When::Date(NaiveDate::from_ymd_opt(2026, 1, 5).unwrap()), When::Date(NaiveDate::from_ymd_opt(2026, 1, 6).unwrap())));
    }

    #[test]
    fn crm_id_key_follows_the_convention() {
        let xml = format!(r#"<u xmlns="{T}" DistinguishedPropertySetId="PublicStrings" PropertyName="crmId" PropertyType="String"/>"#);
        let el = domain::xml::parse(xml.as_bytes(), Default::default()).unwrap();
        assert_eq!(ExtUri::from_el(&el).unwrap().key(), "crmId");
        let xml = format!(r#"<u xmlns="{T}" PropertySetId="{{ABC}}" PropertyName="x" PropertyType="Integer"/>"#);
        let el = domain::xml::parse(xml.as_bytes(), Default::default()).unwrap();
        assert_eq!(ExtUri::from_el(&el).unwrap().key(), "Integer {abc} Name x");
    }
}
