//! The item and folder operations: GetFolder, FindFolder, FindItem, GetItem, CreateItem,
//! UpdateItem, DeleteItem, SyncFolderItems, ResolveNames, ConvertId. Each runs on the model
//! state under one lock and returns the `m:…Response` element.

use std::collections::{BTreeMap, BTreeSet};

use chrono::{DateTime, Duration, Utc};
use domain::xml::Element;
use serde_json::json;

use super::ids::{self, Folder};
use super::items::{self, ExtUri, ItemInput, Render, Shape};
use super::soap::{fmt_dt, parse_dt, response_open, Fault, M, T, W};
use super::Ctx;
use crate::model::{Attendee, Event, Fields, Instance, Mailbox, ModelError, NewEvent, Override, Provider, Send, State};
use crate::recurrence;

/// A per-item error (HTTP 200, `ResponseClass="Error"`).
#[derive(Debug, Clone)]
pub struct ItemError {
    pub code: &'static str,
    pub text: String,
}

pub fn err(code: &'static str, text: impl Into<String>) -> ItemError {
    ItemError { code, text: text.into() }
}

impl From<ModelError> for ItemError {
    fn from(e: ModelError) -> Self {
        match e {
            ModelError::NotFound | ModelError::NoMailbox(_) => err("ErrorItemNotFound", "The specified object was not found in the store."),
            ModelError::Conflict => err("ErrorIrresolvableConflict", "The send or update operation could not be performed because the change key passed in the request does not match the current change key for the item."),
            ModelError::NoOccurrence => err("ErrorCalendarOccurrenceIndexIsOutOfRecurrenceRange", "The occurrence index is out of recurrence range."),
            ModelError::OccurrenceDeleted => err("ErrorCalendarOccurrenceIsDeletedFromRecurrence", "The occurrence was deleted from the recurrence."),
            ModelError::Duplicate => err("ErrorItemSave", "An item with this id already exists."),
            ModelError::MailboxExists(m) => err("ErrorInvalidRequest", m),
            ModelError::Invalid(m) if m.contains("end") => err("ErrorCalendarEndDateIsEarlierThanStartDate", m),
            ModelError::Invalid(m) if m.contains("recurrence") || m.contains("RRULE") => err("ErrorCalendarInvalidRecurrence", m),
            ModelError::Invalid(m) => err("ErrorCalendarInvalidPropertyValue", m),
        }
    }
}

/// Opens `<m:{name} ResponseClass="Success">` with its NoError code.
pub fn ok_open(w: &mut W, name: &str) {
    w.open_a(&format!("m:{name}"), &[("ResponseClass", "Success")]);
    w.leaf("m:ResponseCode", "NoError");
}

/// A whole error response message; `container` is the empty element Exchange still writes
/// (`m:Items`, `m:Folders`).
pub fn error_msg(w: &mut W, name: &str, e: &ItemError, container: Option<&str>) {
    w.open_a(&format!("m:{name}"), &[("ResponseClass", "Error")]);
    w.leaf("m:MessageText", &e.text);
    w.leaf("m:ResponseCode", e.code);
    w.leaf("m:DescriptiveLinkKey", "0");
    if let Some(c) = container {
        w.empty(c, &[]);
    }
    w.close(&format!("m:{name}"));
}

fn wrap(name: &str, messages: &str) -> String {
    format!("{}<m:ResponseMessages>{messages}</m:ResponseMessages></m:{name}>", response_open(name))
}

// ---- folders --------------------------------------------------------------------------------

/// Checks a `t:Mailbox` under a folder id: another mailbox needs delegate rights the
/// emulator never grants (impersonate instead).
fn check_mailbox(st: &State, ctx: &Ctx, el: &Element) -> Result<(), ItemError> {
    let Some(addr) = el.child(T, "Mailbox").and_then(|m| m.child_text(T, "EmailAddress")) else { return Ok(()) };
    if addr.eq_ignore_ascii_case(&ctx.mailbox) {
        return Ok(());
    }
    match st.mailbox(addr) {
        Some(m) if m.provider == Provider::Ews => Err(err("ErrorAccessDenied", "Access is denied. Check credentials and try again.")),
        _ => Err(err("ErrorNonExistentMailbox", format!("The SMTP address has no mailbox associated with it: {addr}"))),
    }
}

/// A `DistinguishedFolderId` or `FolderId` element.
pub fn resolve_folder(st: &State, ctx: &Ctx, el: &Element) -> Result<Folder, ItemError> {
    if el.is(T, "DistinguishedFolderId") {
        check_mailbox(st, ctx, el)?;
        let id = el.attr("Id").unwrap_or("");
        return Folder::distinguished(id).ok_or_else(|| err("ErrorFolderNotFound", format!("The specified folder could not be found in the store: {id}")));
    }
    if el.is(T, "FolderId") {
        let id = el.attr("Id").unwrap_or("");
        let (mailbox, folder) = ids::parse_folder_id(id).ok_or_else(|| err("ErrorInvalidIdMalformed", "Id is malformed."))?;
        if !mailbox.eq_ignore_ascii_case(&ctx.mailbox) {
            return Err(err("ErrorAccessDenied", "Access is denied. Check credentials and try again."));
        }
        return Ok(folder);
    }
    Err(err("ErrorInvalidFolderId", "Unsupported folder id element."))
}

fn folder_ids(container: Option<&Element>) -> Vec<&Element> {
    container.map(|c| c.children.iter().filter(|e| e.is(T, "DistinguishedFolderId") || e.is(T, "FolderId")).collect()).unwrap_or_default()
}

fn write_folder(w: &mut W, st: &State, mailbox: &str, folder: Folder) {
    let tag = if folder == Folder::Calendar { "t:CalendarFolder" } else { "t:Folder" };
    w.open(tag);
    w.empty("t:FolderId", &[("Id", &ids::folder_id(mailbox, folder)), ("ChangeKey", ids::FOLDER_CHANGE_KEY)]);
    if let Some(parent) = folder.parent() {
        w.empty("t:ParentFolderId", &[("Id", &ids::folder_id(mailbox, parent)), ("ChangeKey", ids::FOLDER_CHANGE_KEY)]);
    }
    match folder {
        Folder::Calendar => w.leaf("t:FolderClass", "IPF.Appointment"),
        Folder::MsgFolderRoot => w.leaf("t:FolderClass", "IPF.Note"),
        Folder::Root => {}
    }
    w.leaf("t:DisplayName", folder.display_name());
    let total = if folder == Folder::Calendar { st.calendar(mailbox).map(|c| c.events.len()).unwrap_or(0) } else { 0 };
    w.leaf("t:TotalCount", total);
    w.leaf("t:ChildFolderCount", if folder == Folder::Calendar { 0 } else { 1 });
    w.open("t:EffectiveRights");
    for (k, v) in [("CreateAssociated", true), ("CreateContents", true), ("CreateHierarchy", true), ("Delete", true), ("Modify", true), ("Read", true)] {
        w.leaf(&format!("t:{k}"), v);
    }
    w.close("t:EffectiveRights");
    if folder != Folder::Calendar {
        w.leaf("t:UnreadCount", 0);
    }
    w.close(tag);
}

pub fn get_folder(st: &mut State, ctx: &Ctx, req: &Element) -> Result<String, Fault> {
    let ids = folder_ids(req.child(M, "FolderIds"));
    if ids.is_empty() {
        return Err(Fault::schema("GetFolder needs FolderIds"));
    }
    let mut w = W::new();
    for id in ids {
        match resolve_folder(st, ctx, id) {
            Ok(folder) => {
                ok_open(&mut w, "GetFolderResponseMessage");
                w.open("m:Folders");
                write_folder(&mut w, st, &ctx.mailbox, folder);
                w.close("m:Folders");
                w.close("m:GetFolderResponseMessage");
            }
            Err(e) => error_msg(&mut w, "GetFolderResponseMessage", &e, Some("m:Folders")),
        }
    }
    Ok(wrap("GetFolderResponse", &w.s))
}

pub fn find_folder(st: &mut State, ctx: &Ctx, req: &Element) -> Result<String, Fault> {
    let deep = req.attr("Traversal") == Some("Deep");
    let mut w = W::new();
    for id in folder_ids(req.child(M, "ParentFolderIds")) {
        match resolve_folder(st, ctx, id) {
            Ok(parent) => {
                let mut found = Vec::new();
                for f in [Folder::MsgFolderRoot, Folder::Calendar] {
                    let mut p = f.parent();
                    let mut depth = 1;
                    while let Some(pp) = p {
                        if pp == parent && (deep || depth == 1) {
                            found.push(f);
                            break;
                        }
                        p = pp.parent();
                        depth += 1;
                    }
                }
                ok_open(&mut w, "FindFolderResponseMessage");
                let total = found.len().to_string();
                w.open_a("m:RootFolder", &[("IndexedPagingOffset", &total), ("TotalItemsInView", &total), ("IncludesLastItemInRange", "true")]);
                w.open("t:Folders");
                for f in found {
                    write_folder(&mut w, st, &ctx.mailbox, f);
                }
                w.close("t:Folders");
                w.close("m:RootFolder");
                w.close("m:FindFolderResponseMessage");
            }
            Err(e) => error_msg(&mut w, "FindFolderResponseMessage", &e, None),
        }
    }
    Ok(wrap("FindFolderResponse", &w.s))
}

// ---- restrictions ---------------------------------------------------------------------------

/// The value a FieldURI or ExtendedFieldURI has on an item, as text.
fn field_value(path: &Element, ev: &Event, inst: Option<&Instance>) -> Option<String> {
    let f: &Fields = inst.map(|i| &i.fields).unwrap_or(&ev.fields);
    if path.is(T, "ExtendedFieldURI") {
        let uri = ExtUri::from_el(path)?;
        return ev.private_props.get(&uri.key()).cloned();
    }
    if !path.is(T, "FieldURI") {
        return None;
    }
    let v = match path.attr("FieldURI")? {
        "item:Subject" => f.subject.clone(),
        "item:Body" => f.body.clone(),
        "item:ItemClass" => "IPM.Appointment".into(),
        "item:ItemId" => items::item_id(ev, inst).0,
        "item:Sensitivity" => format!("{:?}", f.sensitivity),
        "item:DateTimeCreated" => fmt_dt(ev.created),
        "item:LastModifiedTime" => fmt_dt(ev.updated),
        "calendar:Start" => fmt_dt(f.start_utc()),
        "calendar:End" => fmt_dt(f.end_utc()),
        "calendar:Location" => f.location.clone(),
        "calendar:UID" => ev.ical_uid.clone(),
        "calendar:IsAllDayEvent" => f.is_all_day().to_string(),
        "calendar:IsCancelled" => ev.cancelled.to_string(),
        "calendar:IsMeeting" => (!f.attendees.is_empty()).to_string(),
        "calendar:IsRecurring" => inst.is_some_and(|i| i.original_start.is_some()).to_string(),
        "calendar:CalendarItemType" => items::kind_name(ev, inst).into(),
        "calendar:LegacyFreeBusyStatus" => items::busy_name(f.show_as).into(),
        "calendar:Organizer" => ev.organizer.email.clone(),
        _ => return None,
    };
    Some(v)
}

fn compare(a: &str, b: &str) -> std::cmp::Ordering {
    if let (Some(x), Some(y)) = (parse_dt(a, None), parse_dt(b, None)) {
        return x.cmp(&y);
    }
    if let (Ok(x), Ok(y)) = (a.trim().parse::<f64>(), b.trim().parse::<f64>()) {
        return x.partial_cmp(&y).unwrap_or(std::cmp::Ordering::Equal);
    }
    a.to_lowercase().cmp(&b.to_lowercase())
}

fn is_path(e: &Element) -> bool {
    e.is(T, "FieldURI") || e.is(T, "ExtendedFieldURI") || e.is(T, "IndexedFieldURI")
}

/// Evaluates one search expression on an item.
fn matches(expr: &Element, ev: &Event, inst: Option<&Instance>) -> Result<bool, Fault> {
    if expr.ns.as_deref() != Some(T) {
        return Err(Fault::schema(format!("unexpected {} in Restriction", expr.name)));
    }
    let path = || expr.children.iter().find(|c| is_path(c));
    let constant = || -> Option<String> {
        let c = expr.child(T, "FieldURIOrConstant")?;
        if let Some(k) = c.child(T, "Constant") {
            return k.attr("Value").map(str::to_string);
        }
        c.children.iter().find(|x| is_path(x)).and_then(|p| field_value(p, ev, inst))
    };
    use std::cmp::Ordering::*;
    let cmp = |want: &[std::cmp::Ordering]| -> Result<bool, Fault> {
        let p = path().ok_or_else(|| Fault::schema(format!("{} needs a property path", expr.name)))?;
        let k = constant().ok_or_else(|| Fault::schema(format!("{} needs FieldURIOrConstant", expr.name)))?;
        Ok(match field_value(p, ev, inst) {
            Some(v) => want.contains(&compare(&v, &k)),
            None => false,
        })
    };
    match expr.name.as_str() {
        "And" => {
            for c in &expr.children {
                if !matches(c, ev, inst)? {
                    return Ok(false);
                }
            }
            Ok(true)
        }
        "Or" => {
            for c in &expr.children {
                if matches(c, ev, inst)? {
                    return Ok(true);
                }
            }
            Ok(false)
        }
        "Not" => {
            let c = expr.children.first().ok_or_else(|| Fault::schema("Not needs an expression"))?;
            Ok(!matches(c, ev, inst)?)
        }
        "Exists" => Ok(path().and_then(|p| field_value(p, ev, inst)).is_some()),
        "IsEqualTo" => cmp(&[Equal]),
        "IsNotEqualTo" => cmp(&[Less, Greater]),
        "IsGreaterThan" => cmp(&[Greater]),
        "IsGreaterThanOrEqualTo" => cmp(&[Greater, Equal]),
        "IsLessThan" => cmp(&[Less]),
        "IsLessThanOrEqualTo" => cmp(&[Less, Equal]),
        "Contains" => {
            let p = path().ok_or_else(|| Fault::schema("Contains needs a property path"))?;
            let k = expr.child(T, "Constant").and_then(|c| c.attr("Value")).unwrap_or("");
            let Some(v) = field_value(p, ev, inst) else { return Ok(false) };
            let ignore_case = expr.attr("ContainmentComparison").is_some_and(|c| c.contains("IgnoreCase"));
            let (v, k) = if ignore_case { (v.to_lowercase(), k.to_lowercase()) } else { (v, k.to_string()) };
            Ok(match expr.attr("ContainmentMode").unwrap_or("Substring") {
                "FullString" => v == k,
                "Prefixed" => v.starts_with(&k),
                "PrefixOnWords" => v.split_whitespace().any(|w| w.starts_with(&k)),
                _ => v.contains(&k),
            })
        }
        other => Err(Fault::schema(format!("unsupported restriction {other}"))),
    }
}

// ---- FindItem -------------------------------------------------------------------------------

pub fn find_item(st: &mut State, ctx: &Ctx, req: &Element) -> Result<String, Fault> {
    let shape = Shape::parse(req.child(M, "ItemShape"))?;
    let restriction = req.child(M, "Restriction").and_then(|r| r.children.first());
    let calendar_view = req.child(M, "CalendarView");
    let paged_view = req.child(M, "IndexedPageItemView");
    let associated = req.attr("Traversal") == Some("Associated");
    let parents = folder_ids(req.child(M, "ParentFolderIds"));
    if parents.is_empty() {
        return Err(Fault::schema("FindItem needs ParentFolderIds"));
    }
    let window = match calendar_view {
        Some(cv) => {
            let start = cv.attr("StartDate").and_then(|v| parse_dt(v, ctx.tz)).ok_or_else(|| Fault::schema("CalendarView StartDate must be a dateTime"))?;
            let end = cv.attr("EndDate").and_then(|v| parse_dt(v, ctx.tz)).ok_or_else(|| Fault::schema("CalendarView EndDate must be a dateTime"))?;
            let max = match cv.attr("MaxEntriesReturned") {
                Some(v) => Some(v.trim().parse::<usize>().map_err(|_| Fault::schema("MaxEntriesReturned must be a number"))?),
                None => None,
            };
            Some((start, end, max))
        }
        None => None,
    };
    let mb = st.mailbox(&ctx.mailbox).cloned().ok_or_else(|| Fault::new("ErrorNonExistentMailbox", "The mailbox does not exist."))?;
    let mut w = W::new();
    for parent in parents {
        let folder = match resolve_folder(st, ctx, parent) {
            Ok(f) => f,
            Err(e) => {
                error_msg(&mut w, "FindItemResponseMessage", &e, None);
                continue;
            }
        };
        if let Some((start, end, _)) = window {
            if folder != Folder::Calendar {
                error_msg(&mut w, "FindItemResponseMessage", &err("ErrorCalendarFolderIsInvalidForCalendarView", "The folder is not a calendar folder."), None);
                continue;
            }
            if end < start {
                error_msg(&mut w, "FindItemResponseMessage", &err("ErrorCalendarEndDateIsEarlierThanStartDate", "EndDate is earlier than StartDate."), None);
                continue;
            }
            if end - start > Duration::days(365 * 2 + 1) {
                error_msg(&mut w, "FindItemResponseMessage", &err("ErrorCalendarViewRangeTooBig", "The time window specified is larger than the maximum allowed (2 years)."), None);
                continue;
            }
        }
        // (event id, instance) pairs in view order.
        let mut hits: Vec<(String, Option<Instance>)> = Vec::new();
        if folder == Folder::Calendar && !associated {
            let cal = st.calendar(&mb.email).map_err(|_| Fault::new("ErrorNonExistentMailbox", "The mailbox does not exist."))?;
            match window {
                Some((start, end, _)) => {
                    for inst in st.instances(&mb.email, start, end, false).unwrap_or_default() {
                        // Zero-length items exactly at the window end stay out, as in Exchange.
                        if inst.fields.start_utc() >= end && inst.fields.end_utc() > inst.fields.start_utc() {
                            continue;
                        }
                        hits.push((inst.event_id.clone(), Some(inst)));
                    }
                }
                None => {
                    let mut evs: Vec<&Event> = cal.events.values().collect();
                    evs.sort_by(|a, b| a.fields.start_utc().cmp(&b.fields.start_utc()).then(a.id.cmp(&b.id)));
                    hits.extend(evs.into_iter().map(|e| (e.id.clone(), None)));
                }
            }
            if let Some(expr) = restriction {
                let mut kept = Vec::new();
                for (id, inst) in hits {
                    if let Some(ev) = cal.events.get(&id) {
                        if matches(expr, ev, inst.as_ref())? {
                            kept.push((id, inst));
                        }
                    }
                }
                hits = kept;
            }
        }
        let total = hits.len();
        let (offset, limit) = match (window, paged_view) {
            (Some((_, _, max)), _) => (0, max.unwrap_or(usize::MAX)),
            (None, Some(p)) => {
                let max = p.attr("MaxEntriesReturned").and_then(|v| v.parse().ok()).unwrap_or(usize::MAX);
                let off: usize = p.attr("Offset").and_then(|v| v.parse().ok()).unwrap_or(0);
                if p.attr("BasePoint") == Some("End") {
                    (total.saturating_sub(off + max.min(total)), max)
                } else {
                    (off, max)
                }
            }
            (None, None) => (0, usize::MAX),
        };
        let page: Vec<&(String, Option<Instance>)> = hits.iter().skip(offset).take(limit).collect();
        let last = offset + page.len() >= total;
        ok_open(&mut w, "FindItemResponseMessage");
        let total_s = total.to_string();
        let next_s = (offset + page.len()).to_string();
        let mut attrs = vec![("TotalItemsInView", total_s.as_str()), ("IncludesLastItemInRange", if last { "true" } else { "false" })];
        if window.is_none() {
            attrs.insert(0, ("IndexedPagingOffset", next_s.as_str()));
        }
        w.open_a("m:RootFolder", &attrs);
        w.open("t:Items");
        let render = Render { mailbox: &mb, shape: &shape, in_find: true };
        for (id, inst) in page {
            if let Ok(ev) = st.event(&mb.email, id) {
                items::calendar_item(&mut w, &render, ev, inst.as_ref());
            }
        }
        w.close("t:Items");
        w.close("m:RootFolder");
        w.close("m:FindItemResponseMessage");
    }
    Ok(wrap("FindItemResponse", &w.s))
}

// ---- item ids --------------------------------------------------------------------------------

/// What an item id element points at.
#[derive(Debug, Clone)]
pub enum Target {
    Event(String),
    Occurrence(String, DateTime<Utc>),
}

pub struct Resolved {
    pub target: Target,
    /// The ChangeKey the client sent, if any.
    pub change_key: Option<String>,
}

pub fn is_item_id(e: &Element) -> bool {
    e.is(T, "ItemId") || e.is(T, "OccurrenceItemId") || e.is(T, "RecurringMasterItemId")
}

fn not_found() -> ItemError {
    err("ErrorItemNotFound", "The specified object was not found in the store.")
}

pub fn resolve_item(st: &State, mailbox: &str, el: &Element) -> Result<Resolved, ItemError> {
    let change_key = el.attr("ChangeKey").map(str::to_string).filter(|k| !k.is_empty());
    let target = if el.is(T, "ItemId") {
        let id = el.attr("Id").unwrap_or("").trim();
        if id.is_empty() {
            return Err(err("ErrorInvalidIdEmpty", "Id is empty."));
        }
        match ids::parse_occurrence_id(id) {
            Some((master, start)) => {
                let ev = st.event(mailbox, &master).map_err(|_| not_found())?;
                recurrence::occurrence(ev, start).map_err(|_| not_found())?;
                Target::Occurrence(master, start)
            }
            None => {
                st.event(mailbox, id).map_err(|_| not_found())?;
                Target::Event(id.to_string())
            }
        }
    } else if el.is(T, "OccurrenceItemId") {
        let master = el.attr("RecurringMasterId").unwrap_or("").trim();
        let index: usize = el.attr("InstanceIndex").and_then(|v| v.trim().parse().ok()).ok_or_else(|| err("ErrorInvalidIdMalformed", "InstanceIndex must be a number."))?;
        let ev = st.event(mailbox, master).map_err(|_| not_found())?;
        if !ev.is_series() {
            return Err(err("ErrorCalendarCannotUseIdForRecurringMasterId", "The id is not the id of a recurring master."));
        }
        let slot = recurrence::slot_at_index(ev, index)
            .ok_or_else(|| err("ErrorCalendarOccurrenceIndexIsOutOfRecurrenceRange", "The occurrence index is out of recurrence range."))?;
        if let Some(Override::Cancelled { .. }) = ev.overrides.get(&slot) {
            return Err(err("ErrorCalendarOccurrenceIsDeletedFromRecurrence", "The occurrence was deleted from the recurrence."));
        }
        Target::Occurrence(master.to_string(), slot)
    } else if el.is(T, "RecurringMasterItemId") {
        let occ = el.attr("OccurrenceId").unwrap_or("").trim();
        match ids::parse_occurrence_id(occ) {
            Some((master, _)) => {
                st.event(mailbox, &master).map_err(|_| not_found())?;
                Target::Event(master)
            }
            None => {
                let ev = st.event(mailbox, occ).map_err(|_| not_found())?;
                if !ev.is_series() {
                    return Err(err("ErrorCalendarCannotUseIdForOccurrenceId", "The id is not the id of an occurrence."));
                }
                Target::Event(occ.to_string())
            }
        }
    } else {
        return Err(err("ErrorInvalidIdMalformed", "Unsupported item id element."));
    };
    Ok(Resolved { target, change_key })
}

/// The event and, for an occurrence, the instance as it is now.
fn load(st: &State, mailbox: &str, t: &Target) -> Result<(Event, Option<Instance>), ItemError> {
    match t {
        Target::Event(id) => Ok((st.event(mailbox, id).map_err(|_| not_found())?.clone(), None)),
        Target::Occurrence(master, start) => {
            let ev = st.event(mailbox, master).map_err(|_| not_found())?.clone();
            let inst = recurrence::occurrence(&ev, *start)?;
            Ok((ev, Some(inst)))
        }
    }
}

// ---- GetItem ---------------------------------------------------------------------------------

pub fn get_item(st: &mut State, ctx: &Ctx, req: &Element) -> Result<String, Fault> {
    let shape = Shape::parse(req.child(M, "ItemShape"))?;
    let list: Vec<&Element> = req.child(M, "ItemIds").map(|c| c.children.iter().filter(|e| is_item_id(e)).collect()).unwrap_or_default();
    if list.is_empty() {
        return Err(Fault::schema("GetItem needs ItemIds"));
    }
    let mb = acting(st, ctx)?;
    let render = Render { mailbox: &mb, shape: &shape, in_find: false };
    let mut w = W::new();
    for el in list {
        match resolve_item(st, &mb.email, el).and_then(|r| load(st, &mb.email, &r.target)) {
            Ok((ev, inst)) => {
                ok_open(&mut w, "GetItemResponseMessage");
                w.open("m:Items");
                items::calendar_item(&mut w, &render, &ev, inst.as_ref());
                w.close("m:Items");
                w.close("m:GetItemResponseMessage");
            }
            Err(e) => error_msg(&mut w, "GetItemResponseMessage", &e, Some("m:Items")),
        }
    }
    Ok(wrap("GetItemResponse", &w.s))
}

fn acting(st: &State, ctx: &Ctx) -> Result<Mailbox, Fault> {
    st.mailbox(&ctx.mailbox).cloned().ok_or_else(|| Fault::new("ErrorNonExistentMailbox", "The mailbox does not exist."))
}

// ---- CreateItem ------------------------------------------------------------------------------

fn send_mode(value: Option<&str>) -> Option<Send> {
    match value? {
        "SendToNone" => Some(Send::None),
        "SendOnlyToAll" | "SendToAllAndSaveCopy" => Some(Send::All),
        "SendOnlyToChanged" | "SendToChangedAndSaveCopy" => Some(Send::Changed),
        _ => None,
    }
}

fn zone_name(tz: chrono_tz::Tz) -> String {
    tz.name().to_string()
}

/// Fields for a new item. Times without an offset are read in the item's StartTimeZone, the
/// MeetingTimeZone, the TimeZoneContext header, else UTC — and that zone becomes the item's.
fn new_fields(it: &ItemInput, ctx: &Ctx) -> Result<Fields, ItemError> {
    let zone = it.start_tz.or(it.meeting_tz).or(ctx.tz).unwrap_or(chrono_tz::UTC);
    let end_zone = it.end_tz.unwrap_or(zone);
    let bad_time = || err("ErrorCalendarInvalidPropertyValue", "Start and End must be valid dateTime values.");
    let start = it.start.as_deref().ok_or_else(|| err("ErrorCalendarInvalidPropertyValue", "A calendar item needs a Start."))?;
    let end = it.end.as_deref().ok_or_else(|| err("ErrorCalendarInvalidPropertyValue", "A calendar item needs an End."))?;
    let start = parse_dt(start, Some(zone)).ok_or_else(bad_time)?;
    let end = parse_dt(end, Some(end_zone)).ok_or_else(bad_time)?;
    if end < start {
        return Err(err("ErrorCalendarEndDateIsEarlierThanStartDate", "EndDate is earlier than StartDate."));
    }
    let (s, e) = items::to_whens(start, end, it.all_day.unwrap_or(false), zone);
    let mut attendees: Vec<Attendee> = it.required.clone().unwrap_or_default();
    attendees.extend(it.optional.clone().unwrap_or_default());
    Ok(Fields {
        subject: it.subject.clone().unwrap_or_default(),
        body: it.body.clone().unwrap_or_default(),
        location: it.location.clone().unwrap_or_default(),
        start: s,
        end: e,
        time_zone: zone_name(zone),
        sensitivity: it.sensitivity.unwrap_or_default(),
        show_as: it.show_as.unwrap_or_default(),
        attendees,
    })
}

pub fn create_item(st: &mut State, ctx: &Ctx, req: &Element) -> Result<String, Fault> {
    let send = req.attr("SendMeetingInvitations");
    let mb = acting(st, ctx)?;
    if let Some(saved) = req.child(M, "SavedItemFolderId") {
        if let Some(f) = saved.children.iter().find(|c| c.is(T, "DistinguishedFolderId") || c.is(T, "FolderId")) {
            if let Err(e) = resolve_folder(st, ctx, f) {
                let mut w = W::new();
                error_msg(&mut w, "CreateItemResponseMessage", &e, Some("m:Items"));
                return Ok(wrap("CreateItemResponse", &w.s));
            }
        }
    }
    let list: Vec<&Element> = req.child(M, "Items").map(|c| c.children.iter().filter(|e| e.ns.as_deref() == Some(T)).collect()).unwrap_or_default();
    if list.is_empty() {
        return Err(Fault::schema("CreateItem needs Items"));
    }
    let mut w = W::new();
    for el in list {
        let result = (|| -> Result<Event, ItemError> {
            if !el.is(T, "CalendarItem") {
                return Err(err("ErrorInvalidItemForOperationCreateItem", "The emulator stores calendar items only."));
            }
            let send = match send {
                None => return Err(err("ErrorSendMeetingInvitationsRequired", "SendMeetingInvitations attribute is required for calendar items.")),
                Some(v) => send_mode(Some(v)).filter(|s| *s != Send::Changed).ok_or_else(|| err("ErrorInvalidRequest", "Invalid SendMeetingInvitations value."))?,
            };
            let it = items::read_item(el).map_err(|f| err("ErrorInvalidPropertySet", f.message))?;
            let fields = new_fields(&it, ctx)?;
            let recurrence = match &it.recurrence {
                Some(r) => items::recurrence_to_rrule(r, &fields).map_err(|f| err("ErrorCalendarInvalidRecurrence", f.message))?,
                None => Vec::new(),
            };
            let private_props: BTreeMap<String, String> = it.ext.iter().cloned().collect();
            let new = NewEvent { id: None, ical_uid: it.uid.clone().filter(|u| !u.is_empty()), fields, recurrence, private_props, shared_props: BTreeMap::new() };
            Ok(st.create_event(&mb.email, new, send)?)
        })();
        match result {
            Ok(ev) => {
                ok_open(&mut w, "CreateItemResponseMessage");
                w.open("m:Items");
                w.open("t:CalendarItem");
                items::write_item_id(&mut w, "t:ItemId", &ev.id, &ev.change_key);
                w.close("t:CalendarItem");
                w.close("m:Items");
                w.close("m:CreateItemResponseMessage");
            }
            Err(e) => error_msg(&mut w, "CreateItemResponseMessage", &e, Some("m:Items")),
        }
    }
    Ok(wrap("CreateItemResponse", &w.s))
}

// ---- UpdateItem ------------------------------------------------------------------------------

/// The new state of an item after an ItemChange's updates.
struct Edit {
    fields: Fields,
    recurrence: Vec<String>,
    props: BTreeMap<String, String>,
    recurrence_touched: bool,
}

fn apply_updates(updates: &Element, ev: &Event, inst: Option<&Instance>, ctx: &Ctx) -> Result<Edit, ItemError> {
    let base = inst.map(|i| i.fields.clone()).unwrap_or_else(|| ev.fields.clone());
    let mut edit = Edit { fields: base.clone(), recurrence: ev.recurrence.clone(), props: ev.private_props.clone(), recurrence_touched: false };
    let mut merged = ItemInput::default();
    let mut deleted: Vec<String> = Vec::new();
    let mut appended: Vec<Attendee> = Vec::new();
    for u in &updates.children {
        if u.ns.as_deref() != Some(T) {
            continue;
        }
        let uri = u.children.iter().find(|c| is_path(c));
        let uri_name = match uri {
            Some(p) if p.is(T, "ExtendedFieldURI") => format!("ext:{}", ExtUri::from_el(p).map(|x| x.key()).unwrap_or_default()),
            Some(p) => p.attr("FieldURI").unwrap_or("").to_string(),
            None => return Err(err("ErrorInvalidPropertySet", "An update needs a property path.")),
        };
        let item = u.children.iter().find(|c| c.is(T, "CalendarItem") || c.is(T, "Item"));
        match u.name.as_str() {
            "SetItemField" => {
                let item = item.ok_or_else(|| err("ErrorInvalidPropertySet", "SetItemField needs a CalendarItem."))?;
                let it = items::read_item(item).map_err(|f| err("ErrorInvalidPropertySet", f.message))?;
                merge(&mut merged, it);
            }
            "AppendToItemField" => {
                let item = item.ok_or_else(|| err("ErrorInvalidPropertySet", "AppendToItemField needs a CalendarItem."))?;
                let it = items::read_item(item).map_err(|f| err("ErrorInvalidPropertySet", f.message))?;
                match uri_name.as_str() {
                    "calendar:RequiredAttendees" | "calendar:OptionalAttendees" => {
                        appended.extend(it.required.unwrap_or_default());
                        appended.extend(it.optional.unwrap_or_default());
                    }
                    "item:Body" => {
                        let add = it.body.unwrap_or_default();
                        merged.body = Some(format!("{}{add}", merged.body.clone().unwrap_or_else(|| base.body.clone())));
                    }
                    _ => return Err(err("ErrorInvalidPropertyAppend", "This property does not support append.")),
                }
            }
            "DeleteItemField" => deleted.push(uri_name),
            _ => {}
        }
    }
    if inst.is_some() && (merged.recurrence.is_some() || deleted.iter().any(|d| d == "calendar:Recurrence")) {
        return Err(err("ErrorInvalidPropertySet", "Recurrence cannot be set on an occurrence."));
    }
    let f = &mut edit.fields;
    if let Some(v) = merged.subject.take() {
        f.subject = v;
    }
    if let Some(v) = merged.body.take() {
        f.body = v;
    }
    if let Some(v) = merged.location.take() {
        f.location = v;
    }
    if let Some(v) = merged.sensitivity {
        f.sensitivity = v;
    }
    if let Some(v) = merged.show_as {
        f.show_as = v;
    }
    // Times: naive values are read in the zone set in this change, the request's
    // TimeZoneContext, or else the item's own zone.
    let old_zone: chrono_tz::Tz = base.time_zone.parse().unwrap_or(chrono_tz::UTC);
    let zone = merged.start_tz.or(merged.meeting_tz).unwrap_or(old_zone);
    let read_zone = merged.start_tz.or(merged.meeting_tz).or(ctx.tz).unwrap_or(old_zone);
    let bad_time = || err("ErrorCalendarInvalidPropertyValue", "Start and End must be valid dateTime values.");
    let start = match &merged.start {
        Some(s) => parse_dt(s, Some(read_zone)).ok_or_else(bad_time)?,
        None => base.start_utc(),
    };
    let end = match &merged.end {
        Some(s) => parse_dt(s, Some(merged.end_tz.unwrap_or(read_zone))).ok_or_else(bad_time)?,
        None => base.end_utc(),
    };
    let all_day = merged.all_day.unwrap_or(base.is_all_day());
    if merged.start.is_some() || merged.end.is_some() || merged.all_day.is_some() || zone != old_zone {
        if end < start {
            return Err(err("ErrorCalendarEndDateIsEarlierThanStartDate", "EndDate is earlier than StartDate."));
        }
        let (s, e) = items::to_whens(start, end, all_day, zone);
        f.start = s;
        f.end = e;
        f.time_zone = zone_name(zone);
    }
    let organizer = ev.organizer.email.to_ascii_lowercase();
    if let Some(list) = merged.required.take() {
        f.attendees.retain(|a| a.optional);
        f.attendees.extend(list);
    }
    if let Some(list) = merged.optional.take() {
        f.attendees.retain(|a| !a.optional);
        f.attendees.extend(list);
    }
    for a in appended {
        if !f.attendees.iter().any(|x| x.email.eq_ignore_ascii_case(&a.email)) {
            f.attendees.push(a);
        }
    }
    f.attendees.retain(|a| a.email != organizer);
    for d in &deleted {
        match d.as_str() {
            "item:Body" => f.body.clear(),
            "calendar:Location" => f.location.clear(),
            "item:Subject" => f.subject.clear(),
            "calendar:RequiredAttendees" => f.attendees.retain(|a| a.optional),
            "calendar:OptionalAttendees" => f.attendees.retain(|a| !a.optional),
            "calendar:Recurrence" => {
                edit.recurrence.clear();
                edit.recurrence_touched = true;
            }
            other => {
                if let Some(key) = other.strip_prefix("ext:") {
                    edit.props.remove(key);
                }
            }
        }
    }
    if let Some(r) = &merged.recurrence {
        edit.recurrence = items::recurrence_to_rrule(r, &edit.fields).map_err(|f| err("ErrorCalendarInvalidRecurrence", f.message))?;
        edit.recurrence_touched = true;
    }
    for (k, v) in merged.ext {
        edit.props.insert(k, v);
    }
    Ok(edit)
}

fn merge(into: &mut ItemInput, it: ItemInput) {
    macro_rules! take {
        ($($f:ident),*) => { $( if it.$f.is_some() { into.$f = it.$f; } )* };
    }
    take!(subject, body, sensitivity, location, start, end, all_day, show_as, required, optional, recurrence, start_tz, end_tz, meeting_tz, uid);
    into.ext.extend(it.ext);
}

pub fn update_item(st: &mut State, ctx: &Ctx, req: &Element) -> Result<String, Fault> {
    let mb = acting(st, ctx)?;
    let never_overwrite = req.attr("ConflictResolution") == Some("NeverOverwrite");
    let send = req.attr("SendMeetingInvitationsOrCancellations");
    let changes: Vec<&Element> = req.child(M, "ItemChanges").map(|c| c.children_named(T, "ItemChange").collect()).unwrap_or_default();
    if changes.is_empty() {
        return Err(Fault::schema("UpdateItem needs ItemChanges"));
    }
    let mut w = W::new();
    for change in changes {
        let result = (|| -> Result<(String, String), ItemError> {
            let id_el = change.children.iter().find(|c| is_item_id(c)).ok_or_else(|| err("ErrorInvalidIdMalformed", "ItemChange needs an item id."))?;
            let resolved = resolve_item(st, &mb.email, id_el)?;
            let send = match send {
                None => return Err(err("ErrorSendMeetingInvitationsOrCancellationsRequired", "SendMeetingInvitationsOrCancellations attribute is required for calendar items.")),
                Some(v) => send_mode(Some(v)).ok_or_else(|| err("ErrorInvalidRequest", "Invalid SendMeetingInvitationsOrCancellations value."))?,
            };
            let (ev, inst) = load(st, &mb.email, &resolved.target)?;
            let current_key = inst.as_ref().map(|i| i.change_key.clone()).unwrap_or_else(|| ev.change_key.clone());
            let if_match = match (&resolved.change_key, never_overwrite) {
                (Some(k), true) => {
                    if *k != current_key {
                        return Err(ModelError::Conflict.into());
                    }
                    Some(k.clone())
                }
                _ => None,
            };
            let updates = change.child(T, "Updates").ok_or_else(|| err("ErrorInvalidPropertySet", "ItemChange needs Updates."))?;
            let edit = apply_updates(updates, &ev, inst.as_ref(), ctx)?;
            match resolved.target {
                Target::Occurrence(master, slot) => {
                    let fields = edit.fields;
                    let props = edit.props;
                    let inst = st.update_occurrence(&mb.email, &master, slot, if_match.as_deref(), send, |f| {
                        *f = fields;
                        Ok(())
                    })?;
                    if props != ev.private_props {
                        st.update_event(&mb.email, &master, None, Send::None, |e| {
                            e.private_props = props;
                            Ok(())
                        })?;
                    }
                    Ok((ids::occurrence_id(&master, slot), inst.change_key))
                }
                Target::Event(id) => {
                    let updated = st.update_event(&mb.email, &id, if_match.as_deref(), send, |e| {
                        e.fields = edit.fields;
                        if edit.recurrence_touched {
                            e.recurrence = edit.recurrence;
                        }
                        e.private_props = edit.props;
                        Ok(())
                    })?;
                    Ok((updated.id, updated.change_key))
                }
            }
        })();
        match result {
            Ok((id, ck)) => {
                ok_open(&mut w, "UpdateItemResponseMessage");
                w.open("m:Items");
                w.open("t:CalendarItem");
                items::write_item_id(&mut w, "t:ItemId", &id, &ck);
                w.close("t:CalendarItem");
                w.close("m:Items");
                w.open("m:ConflictResults");
                w.leaf("t:Count", 0);
                w.close("m:ConflictResults");
                w.close("m:UpdateItemResponseMessage");
            }
            Err(e) => error_msg(&mut w, "UpdateItemResponseMessage", &e, Some("m:Items")),
        }
    }
    Ok(wrap("UpdateItemResponse", &w.s))
}

// ---- DeleteItem ------------------------------------------------------------------------------

pub fn delete_item(st: &mut State, ctx: &Ctx, req: &Element) -> Result<String, Fault> {
    let mb = acting(st, ctx)?;
    if req.attr("DeleteType").is_none() {
        return Err(Fault::schema("The required attribute 'DeleteType' is missing."));
    }
    let send = req.attr("SendMeetingCancellations");
    let list: Vec<&Element> = req.child(M, "ItemIds").map(|c| c.children.iter().filter(|e| is_item_id(e)).collect()).unwrap_or_default();
    if list.is_empty() {
        return Err(Fault::schema("DeleteItem needs ItemIds"));
    }
    let mut w = W::new();
    for el in list {
        let result = (|| -> Result<(), ItemError> {
            let resolved = resolve_item(st, &mb.email, el)?;
            let send = match send {
                None => return Err(err("ErrorSendMeetingCancellationsRequired", "SendMeetingCancellations attribute is required for calendar items.")),
                Some(v) => send_mode(Some(v)).filter(|s| *s != Send::Changed).ok_or_else(|| err("ErrorInvalidRequest", "Invalid SendMeetingCancellations value."))?,
            };
            match resolved.target {
                Target::Occurrence(master, slot) => st.cancel_occurrence(&mb.email, &master, slot, send)?,
                Target::Event(id) => {
                    st.delete_event(&mb.email, &id, None, send)?;
                }
            }
            Ok(())
        })();
        match result {
            Ok(()) => {
                ok_open(&mut w, "DeleteItemResponseMessage");
                w.close("m:DeleteItemResponseMessage");
            }
            Err(e) => error_msg(&mut w, "DeleteItemResponseMessage", &e, None),
        }
    }
    Ok(wrap("DeleteItemResponse", &w.s))
}

// ---- SyncFolderItems -------------------------------------------------------------------------

pub fn sync_folder_items(st: &mut State, ctx: &Ctx, req: &Element) -> Result<String, Fault> {
    let shape = Shape::parse(req.child(M, "ItemShape"))?;
    let max: usize = req
        .child_text(M, "MaxChangesReturned")
        .and_then(|v| v.parse().ok())
        .filter(|n| (1..=512).contains(n))
        .ok_or_else(|| Fault::schema("MaxChangesReturned must be between 1 and 512"))?;
    let folder_el = req
        .child(M, "SyncFolderId")
        .and_then(|s| s.children.iter().find(|c| c.is(T, "DistinguishedFolderId") || c.is(T, "FolderId")))
        .ok_or_else(|| Fault::schema("SyncFolderItems needs SyncFolderId"))?;
    let state_text = req.child_text(M, "SyncState").filter(|s| !s.is_empty()).map(str::to_string);
    let mb = acting(st, ctx)?;
    let mut w = W::new();
    let name = "SyncFolderItemsResponseMessage";
    let folder = match resolve_folder(st, ctx, folder_el) {
        Ok(f) => f,
        Err(e) => {
            let e = if e.code == "ErrorFolderNotFound" { err("ErrorSyncFolderNotFound", e.text) } else { e };
            error_msg(&mut w, name, &e, None);
            return Ok(wrap("SyncFolderItemsResponse", &w.s));
        }
    };
    // Where the client is: the change number it has seen and the items it knows.
    let (seq, mut known): (u64, BTreeSet<String>) = match &state_text {
        None => (0, BTreeSet::new()),
        Some(token) => match st.cursor(Provider::Ews, token) {
            Ok(c) if c.mailbox == mb.email && c.data.get("folder").and_then(|f| f.as_str()) == Some(folder_key(folder)) => {
                let known = c.data.get("known").and_then(|k| k.as_array()).map(|a| a.iter().filter_map(|v| v.as_str().map(str::to_string)).collect()).unwrap_or_default();
                (c.seq, known)
            }
            _ => {
                error_msg(&mut w, name, &err("ErrorInvalidSyncStateData", "Synchronization state data is corrupt or otherwise invalid."), None);
                return Ok(wrap("SyncFolderItemsResponse", &w.s));
            }
        },
    };
    enum Change {
        Upsert(String, u64),
        Delete(String, u64),
    }
    let mut changes: Vec<Change> = Vec::new();
    if folder == Folder::Calendar {
        let (events, gone) = st.changed_since(&mb.email, seq).map_err(|_| Fault::new("ErrorNonExistentMailbox", "The mailbox does not exist."))?;
        changes.extend(events.iter().map(|e| Change::Upsert(e.id.clone(), e.seq)));
        changes.extend(gone.iter().map(|t| Change::Delete(t.id.clone(), t.seq)));
        changes.sort_by_key(|c| match c {
            Change::Upsert(_, s) | Change::Delete(_, s) => *s,
        });
    }
    let mut new_seq = seq;
    let mut out = W::new();
    let mut emitted = 0usize;
    let mut rest = false;
    let render = Render { mailbox: &mb, shape: &shape, in_find: false };
    for c in &changes {
        let (id, s, delete) = match c {
            Change::Upsert(id, s) => (id, *s, false),
            Change::Delete(id, s) => (id, *s, true),
        };
        // Items created and deleted between two syncs never reach the client.
        let relevant = !delete || known.contains(id);
        if relevant && emitted == max {
            rest = true;
            break;
        }
        new_seq = s;
        if !relevant {
            continue;
        }
        emitted += 1;
        if delete {
            known.remove(id);
            out.open("t:Delete");
            out.empty("t:ItemId", &[("Id", id)]);
            out.close("t:Delete");
        } else if let Ok(ev) = st.event(&mb.email, id) {
            let tag = if known.insert(id.clone()) { "t:Create" } else { "t:Update" };
            out.open(tag);
            items::calendar_item(&mut out, &render, ev, None);
            out.close(tag);
        }
    }
    if folder == Folder::Calendar && !rest {
        new_seq = new_seq.max(st.calendar(&mb.email).map(|c| c.seq).unwrap_or(0));
    }
    let data = json!({ "folder": folder_key(folder), "known": known.iter().collect::<Vec<_>>() });
    let token = st.issue_cursor(Provider::Ews, &mb.email, new_seq, data);
    ok_open(&mut w, name);
    w.leaf("m:SyncState", &token);
    w.leaf("m:IncludesLastItemInRange", !rest);
    w.open("m:Changes");
    w.raw(&out.s);
    w.close("m:Changes");
    w.close(&format!("m:{name}"));
    Ok(wrap("SyncFolderItemsResponse", &w.s))
}

fn folder_key(f: Folder) -> &'static str {
    match f {
        Folder::Root => "root",
        Folder::MsgFolderRoot => "msgfolderroot",
        Folder::Calendar => "calendar",
    }
}

// ---- ResolveNames, ConvertId -------------------------------------------------------------------

pub fn resolve_names(st: &mut State, _ctx: &Ctx, req: &Element) -> Result<String, Fault> {
    let entry = req.child_text(M, "UnresolvedEntry").ok_or_else(|| Fault::schema("ResolveNames needs UnresolvedEntry"))?;
    let needle = entry.trim().trim_start_matches("smtp:").trim_start_matches("SMTP:").to_lowercase();
    let found: Vec<&Mailbox> = st
        .mailboxes
        .values()
        .filter(|m| m.provider == Provider::Ews)
        .filter(|m| m.email == needle || m.email.starts_with(&needle) || m.display_name.to_lowercase().starts_with(&needle))
        .collect();
    let mut w = W::new();
    let name = "ResolveNamesResponseMessage";
    if found.is_empty() || needle.is_empty() {
        error_msg(&mut w, name, &err("ErrorNameResolutionNoResults", "No results were found."), None);
        return Ok(wrap("ResolveNamesResponse", &w.s));
    }
    if found.len() > 1 {
        w.open_a(&format!("m:{name}"), &[("ResponseClass", "Warning")]);
        w.leaf("m:MessageText", "Multiple results were found.");
        w.leaf("m:ResponseCode", "ErrorNameResolutionMultipleResults");
        w.leaf("m:DescriptiveLinkKey", "0");
    } else {
        ok_open(&mut w, name);
    }
    let n = found.len().to_string();
    w.open_a("m:ResolutionSet", &[("TotalItemsInView", &n), ("IncludesLastItemInRange", "true")]);
    for m in found {
        w.open("t:Resolution");
        w.open("t:Mailbox");
        w.leaf("t:Name", &m.display_name);
        w.leaf("t:EmailAddress", &m.email);
        w.leaf("t:RoutingType", "SMTP");
        w.leaf("t:MailboxType", "Mailbox");
        w.close("t:Mailbox");
        w.close("t:Resolution");
    }
    w.close("m:ResolutionSet");
    w.close(&format!("m:{name}"));
    Ok(wrap("ResolveNamesResponse", &w.s))
}

/// exchangelib's version probe sends a ConvertId for a dummy id; answer per id as Exchange
/// does (an error message, with the version header the client is after).
pub fn convert_id(_st: &mut State, _ctx: &Ctx, req: &Element) -> Result<String, Fault> {
    let mut w = W::new();
    let ids: Vec<&Element> = req.child(M, "SourceIds").map(|s| s.children.iter().collect()).unwrap_or_default();
    for id in ids {
        let mailbox = id.attr("Mailbox").unwrap_or("");
        let e = if mailbox.contains('@') {
            err("ErrorInvalidIdMalformed", "Id is malformed.")
        } else {
            err("ErrorInvalidSmtpAddress", "The SMTP address format is invalid.")
        };
        error_msg(&mut w, "ConvertIdResponseMessage", &e, None);
    }
    Ok(wrap("ConvertIdResponse", &w.s))
}
