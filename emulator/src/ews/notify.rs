//! Notifications: Subscribe (push, pull, streaming), GetEvents, GetStreamingEvents,
//! Unsubscribe, and the push `SendNotification` the deliverer POSTs.
//!
//! Pull watermarks carry the calendar's change number, so GetEvents reports exactly what
//! changed since. Push watermarks count the subscription's messages.

use std::collections::BTreeSet;
use std::convert::Infallible;
use std::time::Duration as StdDuration;

use axum::body::{Body, Bytes};
use axum::http::{header, HeaderValue, StatusCode};
use axum::response::Response;
use chrono::{Duration, Utc};
use domain::xml::Element;
use serde_json::json;
use tokio::sync::broadcast::error::RecvError;
use tokio::sync::mpsc;

use super::ids::{self, Folder};
use super::ops::{err, error_msg, ok_open, resolve_folder, ItemError};
use super::soap::{envelope, fmt_dt, response_open, xml_response, Fault, M, SOAP, T, W};
use super::Ctx;
use crate::model::{random_token, ChangeNote, ChangeType, Provider, State, Subscription};
use crate::push::PushRequest;
use crate::Emulator;

/// Seconds between `ConnectionStatus OK` keep-alives on a streaming connection.
const KEEPALIVE_SECS: u64 = 25;
/// Most events one GetEvents answer carries (MoreEvents=true beyond).
const MAX_EVENTS: usize = 50;

const ALL_EVENTS: &[&str] = &["CopiedEvent", "CreatedEvent", "DeletedEvent", "ModifiedEvent", "MovedEvent", "NewMailEvent", "FreeBusyChangedEvent"];

fn event_name(change: ChangeType) -> &'static str {
    match change {
        ChangeType::Created => "CreatedEvent",
        ChangeType::Updated => "ModifiedEvent",
        ChangeType::Deleted => "DeletedEvent",
    }
}

fn kind(sub: &Subscription) -> &str {
    sub.data.get("kind").and_then(|k| k.as_str()).unwrap_or("")
}

fn wants(sub: &Subscription, event: &str) -> bool {
    if !sub.data.get("calendar").and_then(|c| c.as_bool()).unwrap_or(false) {
        return false;
    }
    sub.data.get("events").and_then(|e| e.as_array()).is_some_and(|a| a.iter().any(|v| v.as_str() == Some(event)))
}

fn subscription_id() -> String {
    // Exchange subscription ids are base64 blobs of ~60 characters.
    format!("EQBlbXVsYXRvcg{}", random_token(46))
}

/// One object event (`CreatedEvent`, `ModifiedEvent`, `DeletedEvent`).
fn write_event(w: &mut W, name: &str, watermark: &str, mailbox: &str, item_id: &str, change_key: Option<&str>) {
    w.open(&format!("t:{name}"));
    w.leaf("t:Watermark", watermark);
    w.leaf("t:TimeStamp", fmt_dt(Utc::now()));
    match change_key {
        Some(ck) => w.empty("t:ItemId", &[("Id", item_id), ("ChangeKey", ck)]),
        None => w.empty("t:ItemId", &[("Id", item_id)]),
    }
    w.empty("t:ParentFolderId", &[("Id", &ids::folder_id(mailbox, Folder::Calendar)), ("ChangeKey", ids::FOLDER_CHANGE_KEY)]);
    w.close(&format!("t:{name}"));
}

fn status_event(w: &mut W, watermark: &str) {
    w.open("t:StatusEvent");
    w.leaf("t:Watermark", watermark);
    w.close("t:StatusEvent");
}

fn wrap(name: &str, messages: &str) -> String {
    format!("{}<m:ResponseMessages>{messages}</m:ResponseMessages></m:{name}>", response_open(name))
}

// ---- Subscribe -----------------------------------------------------------------------------------

/// Returns the response and, for a push subscription, the subscription to greet with a
/// StatusEvent (Exchange tries the listener right away).
pub fn subscribe(st: &mut State, ctx: &Ctx, req: &Element) -> Result<(String, Option<Subscription>), Fault> {
    let (kind, spec) = [("pull", "PullSubscriptionRequest"), ("push", "PushSubscriptionRequest"), ("streaming", "StreamingSubscriptionRequest")]
        .iter()
        .find_map(|(k, n)| req.child(M, n).map(|e| (*k, e)))
        .ok_or_else(|| Fault::schema("Subscribe needs a Pull, Push or Streaming SubscriptionRequest"))?;
    let mut w = W::new();
    let name = "SubscribeResponseMessage";
    let result = (|| -> Result<Subscription, ItemError> {
        let all_folders = spec.attr("SubscribeToAllFolders").is_some_and(|v| v == "true");
        let mut calendar = all_folders;
        if let Some(folders) = spec.child(T, "FolderIds") {
            for f in folders.children.iter().filter(|c| c.is(T, "DistinguishedFolderId") || c.is(T, "FolderId")) {
                if resolve_folder(st, ctx, f)? == Folder::Calendar {
                    calendar = true;
                }
            }
        } else if !all_folders {
            return Err(err("ErrorInvalidSubscriptionRequest", "FolderIds or SubscribeToAllFolders is required."));
        }
        let events: Vec<String> = spec
            .child(T, "EventTypes")
            .map(|e| e.children_named(T, "EventType").map(|t| t.text.trim().to_string()).collect())
            .unwrap_or_default();
        if events.is_empty() || events.iter().any(|e| !ALL_EVENTS.contains(&e.as_str())) {
            return Err(err("ErrorInvalidSubscriptionRequest", "EventTypes must list valid event types."));
        }
        let seq = st.calendar(&ctx.mailbox).map(|c| c.seq).unwrap_or(0);
        let known: BTreeSet<String> = st.calendar(&ctx.mailbox).map(|c| c.events.keys().cloned().collect()).unwrap_or_default();
        let now = Utc::now();
        let (url, expires, timeout) = match kind {
            "push" => {
                let url = spec.child_text(T, "URL").unwrap_or("").to_string();
                let ok = url::Url::parse(&url).is_ok_and(|u| matches!(u.scheme(), "http" | "https"));
                if !ok {
                    return Err(err("ErrorInvalidPushSubscriptionUrl", "The push subscription URL is invalid."));
                }
                (Some(url), now + Duration::days(365), 0)
            }
            "pull" => {
                let timeout: i64 = spec.child_text(T, "Timeout").and_then(|v| v.parse().ok()).filter(|t| (1..=1440).contains(t)).ok_or_else(|| {
                    err("ErrorInvalidSubscriptionRequest", "Timeout must be between 1 and 1440 minutes.")
                })?;
                (None, now + Duration::minutes(timeout), timeout)
            }
            _ => (None, now + Duration::minutes(30), 30),
        };
        let id = subscription_id();
        let sub = Subscription {
            id: id.clone(),
            provider: Provider::Ews,
            mailbox: ctx.mailbox.clone(),
            url,
            secret: None,
            resource_id: "calendar".into(),
            expires,
            message_number: 0,
            data: json!({
                "kind": kind, "events": events, "calendar": calendar, "seq": seq,
                "known": known.into_iter().collect::<Vec<_>>(), "timeout": timeout,
            }),
        };
        st.subscriptions.insert(id, sub.clone());
        Ok(sub)
    })();
    match result {
        Ok(sub) => {
            ok_open(&mut w, name);
            w.leaf("m:SubscriptionId", &sub.id);
            if kind != "streaming" {
                let seq = sub.data.get("seq").and_then(|s| s.as_u64()).unwrap_or(0);
                let wm = if kind == "push" { ids::watermark(&sub.id, 0) } else { ids::watermark(&sub.id, seq) };
                w.leaf("m:Watermark", &wm);
            }
            w.close(&format!("m:{name}"));
            let push = (kind == "push").then_some(sub);
            Ok((wrap("SubscribeResponse", &w.s), push))
        }
        Err(e) => {
            error_msg(&mut w, name, &e, None);
            Ok((wrap("SubscribeResponse", &w.s), None))
        }
    }
}

fn own_subscription<'a>(st: &'a State, ctx: &Ctx, id: &str) -> Result<&'a Subscription, ItemError> {
    st.subscriptions
        .get(id)
        .filter(|s| s.provider == Provider::Ews && s.mailbox == ctx.mailbox)
        .ok_or_else(|| err("ErrorSubscriptionNotFound", "The specified subscription was not found."))
}

pub fn unsubscribe(st: &mut State, ctx: &Ctx, req: &Element) -> Result<String, Fault> {
    let id = req.child_text(M, "SubscriptionId").ok_or_else(|| Fault::schema("Unsubscribe needs SubscriptionId"))?;
    let mut w = W::new();
    match own_subscription(st, ctx, id) {
        Ok(_) => {
            st.subscriptions.remove(id);
            ok_open(&mut w, "UnsubscribeResponseMessage");
            w.close("m:UnsubscribeResponseMessage");
        }
        Err(e) => error_msg(&mut w, "UnsubscribeResponseMessage", &e, None),
    }
    Ok(wrap("UnsubscribeResponse", &w.s))
}

// ---- GetEvents (pull) ------------------------------------------------------------------------

pub fn get_events(st: &mut State, ctx: &Ctx, req: &Element) -> Result<String, Fault> {
    let id = req.child_text(M, "SubscriptionId").ok_or_else(|| Fault::schema("GetEvents needs SubscriptionId"))?.to_string();
    let wm = req.child_text(M, "Watermark").ok_or_else(|| Fault::schema("GetEvents needs Watermark"))?.to_string();
    let mut w = W::new();
    let name = "GetEventsResponseMessage";
    let result = (|| -> Result<String, ItemError> {
        let sub = own_subscription(st, ctx, &id)?.clone();
        if kind(&sub) != "pull" {
            return Err(err("ErrorInvalidPullSubscriptionId", "The subscription is not a pull subscription."));
        }
        if sub.expires <= Utc::now() {
            st.subscriptions.remove(&id);
            return Err(err("ErrorExpiredSubscription", "The subscription has expired."));
        }
        let current = st.calendar(&sub.mailbox).map(|c| c.seq).unwrap_or(0);
        let seq = match ids::parse_watermark(&wm) {
            Some((sid, seq)) if sid == id && seq <= current => seq,
            _ => return Err(err("ErrorInvalidWatermark", "The watermark is invalid.")),
        };
        let mut known: BTreeSet<String> =
            sub.data.get("known").and_then(|k| k.as_array()).map(|a| a.iter().filter_map(|v| v.as_str().map(str::to_string)).collect()).unwrap_or_default();
        let (events, gone) = st.changed_since(&sub.mailbox, seq).map_err(ItemError::from)?;
        let mut changes: Vec<(u64, String, Option<String>, bool)> = events.iter().map(|e| (e.seq, e.id.clone(), Some(e.change_key.clone()), false)).collect();
        changes.extend(gone.iter().map(|t| (t.seq, t.id.clone(), None, true)));
        changes.sort_by_key(|c| c.0);
        let mut body = W::new();
        let mut last = seq;
        let mut count = 0;
        let mut more = false;
        for (s, item, ck, deleted) in changes {
            if count == MAX_EVENTS {
                more = true;
                break;
            }
            last = s;
            let event = if deleted {
                if !known.remove(&item) {
                    continue;
                }
                "DeletedEvent"
            } else if known.insert(item.clone()) {
                "CreatedEvent"
            } else {
                "ModifiedEvent"
            };
            if wants(&sub, event) {
                write_event(&mut body, event, &ids::watermark(&id, s), &sub.mailbox, &item, ck.as_deref());
                count += 1;
            }
        }
        if !more {
            last = current;
        }
        if count == 0 {
            status_event(&mut body, &ids::watermark(&id, last));
        }
        let timeout = sub.data.get("timeout").and_then(|t| t.as_i64()).unwrap_or(30);
        if let Some(s) = st.subscriptions.get_mut(&id) {
            s.expires = Utc::now() + Duration::minutes(timeout);
            s.data["known"] = json!(known.into_iter().collect::<Vec<_>>());
        }
        let mut n = W::new();
        n.open("m:Notification");
        n.leaf("t:SubscriptionId", &id);
        n.leaf("t:PreviousWatermark", &wm);
        n.leaf("t:MoreEvents", more);
        n.raw(&body.s);
        n.close("m:Notification");
        Ok(n.s)
    })();
    match result {
        Ok(notification) => {
            ok_open(&mut w, name);
            w.raw(&notification);
            w.close(&format!("m:{name}"));
        }
        Err(e) => error_msg(&mut w, name, &e, None),
    }
    Ok(wrap("GetEventsResponse", &w.s))
}

// ---- GetStreamingEvents --------------------------------------------------------------------

fn streaming_envelope(inner: &str) -> String {
    let mut w = W::new();
    ok_open(&mut w, "GetStreamingEventsResponseMessage");
    w.raw(inner);
    w.close("m:GetStreamingEventsResponseMessage");
    envelope(&wrap("GetStreamingEventsResponse", &w.s))
}

fn connection_status(status: &str) -> String {
    streaming_envelope(&format!("<m:ConnectionStatus>{status}</m:ConnectionStatus>"))
}

/// Holds the response open (chunked), writing one SOAP envelope per notification, keep-alive
/// `ConnectionStatus OK`s, and `Closed` after ConnectionTimeout minutes.
pub fn get_streaming_events(emu: &Emulator, ctx: &Ctx, req: &Element) -> Result<Response, Fault> {
    let ids: Vec<String> = req
        .child(M, "SubscriptionIds")
        .map(|s| s.children_named(T, "SubscriptionId").map(|e| e.text.trim().to_string()).collect())
        .unwrap_or_default();
    if ids.is_empty() {
        return Err(Fault::schema("GetStreamingEvents needs SubscriptionIds"));
    }
    let minutes: u64 = req
        .child_text(M, "ConnectionTimeout")
        .and_then(|v| v.parse().ok())
        .filter(|m| (1..=30).contains(m))
        .ok_or_else(|| Fault::schema("ConnectionTimeout must be between 1 and 30"))?;
    // Subscribe to changes before checking, so nothing made after this answer is missed.
    let mut changes = emu.changes();
    let subs = emu.with_state(|st| -> Result<Vec<Subscription>, ItemError> {
        let mut out = Vec::new();
        for id in &ids {
            let sub = own_subscription(st, ctx, id)?;
            if kind(sub) != "streaming" {
                return Err(err("ErrorInvalidSubscription", "The subscription is not a streaming subscription."));
            }
            out.push(sub.clone());
        }
        for id in &ids {
            if let Some(s) = st.subscriptions.get_mut(id) {
                s.expires = Utc::now() + Duration::minutes(minutes as i64 + 30);
            }
        }
        Ok(out)
    });
    let subs = match subs {
        Ok(s) => s,
        Err(e) => {
            let mut w = W::new();
            error_msg(&mut w, "GetStreamingEventsResponseMessage", &e, None);
            return Ok(xml_response(StatusCode::OK, envelope(&wrap("GetStreamingEventsResponse", &w.s))));
        }
    };
    let (tx, rx) = mpsc::channel::<Bytes>(16);
    let emu = emu.clone();
    tokio::spawn(async move {
        let deadline = tokio::time::Instant::now() + StdDuration::from_secs(minutes * 60);
        if tx.send(Bytes::from(connection_status("OK"))).await.is_err() {
            return;
        }
        loop {
            let keepalive = tokio::time::sleep(StdDuration::from_secs(KEEPALIVE_SECS));
            let chunk = tokio::select! {
                _ = tokio::time::sleep_until(deadline) => None,
                _ = keepalive => Some(connection_status("OK")),
                note = changes.recv() => match note {
                    Ok(note) => match streaming_notification(&emu, &subs, &note) {
                        Some(xml) => Some(xml),
                        None => continue,
                    },
                    Err(RecvError::Lagged(_)) => continue,
                    Err(RecvError::Closed) => None,
                },
            };
            match chunk {
                Some(xml) => {
                    if tx.send(Bytes::from(xml)).await.is_err() {
                        return; // the client went away
                    }
                }
                None => break,
            }
        }
        let _ = tx.send(Bytes::from(connection_status("Closed"))).await;
    });
    let stream = futures_util::stream::unfold(rx, |mut rx| async move { rx.recv().await.map(|b| (Ok::<Bytes, Infallible>(b), rx)) });
    let mut resp = Response::new(Body::from_stream(stream));
    resp.headers_mut().insert(header::CONTENT_TYPE, HeaderValue::from_static("text/xml; charset=utf-8"));
    Ok(resp)
}

fn streaming_notification(emu: &Emulator, subs: &[Subscription], note: &ChangeNote) -> Option<String> {
    if note.provider != Provider::Ews {
        return None;
    }
    let event = event_name(note.change);
    let mut inner = W::new();
    emu.with_state(|st| {
        let seq = st.calendar(&note.mailbox).map(|c| c.seq).unwrap_or(0);
        let ck = st.event(&note.mailbox, &note.event_id).ok().map(|e| e.change_key.clone());
        for sub in subs.iter().filter(|s| s.mailbox == note.mailbox && wants(s, event)) {
            if !st.subscriptions.contains_key(&sub.id) {
                continue; // unsubscribed meanwhile
            }
            inner.open("t:Notification");
            inner.leaf("t:SubscriptionId", &sub.id);
            inner.leaf("t:PreviousWatermark", ids::watermark(&sub.id, seq.saturating_sub(1)));
            inner.leaf("t:MoreEvents", "false");
            write_event(&mut inner, event, &ids::watermark(&sub.id, seq), &sub.mailbox, &note.event_id, ck.as_deref());
            inner.close("t:Notification");
        }
    });
    (!inner.s.is_empty()).then(|| streaming_envelope(&format!("<m:Notifications>{}</m:Notifications>", inner.s)))
}

// ---- push ----------------------------------------------------------------------------------------

fn send_notification(sub: &Subscription, events: &str) -> PushRequest {
    let n = sub.message_number;
    let mut w = W::new();
    w.raw(&format!(r#"<?xml version="1.0" encoding="utf-8"?><soap11:Envelope xmlns:soap11="{SOAP}"><soap11:Header><t:RequestServerVersion xmlns:t="{T}" Version="Exchange2016"/></soap11:Header><soap11:Body>"#));
    w.raw(&format!(r#"<m:SendNotification xmlns:m="{M}" xmlns:t="{T}"><m:ResponseMessages>"#));
    ok_open(&mut w, "SendNotificationResponseMessage");
    w.open("m:Notification");
    w.leaf("t:SubscriptionId", &sub.id);
    w.leaf("t:PreviousWatermark", ids::watermark(&sub.id, n.saturating_sub(1)));
    w.leaf("t:MoreEvents", "false");
    w.raw(events);
    w.close("m:Notification");
    w.close("m:SendNotificationResponseMessage");
    w.raw("</m:ResponseMessages></m:SendNotification></soap11:Body></soap11:Envelope>");
    PushRequest { content_type: "text/xml; charset=utf-8", headers: Vec::new(), body: w.s.into_bytes() }
}

pub fn push_notification(sub: &Subscription, note: &ChangeNote) -> Option<PushRequest> {
    if kind(sub) != "push" || note.provider != Provider::Ews {
        return None;
    }
    let event = event_name(note.change);
    if !wants(sub, event) {
        return None;
    }
    let mut w = W::new();
    write_event(&mut w, event, &ids::watermark(&sub.id, sub.message_number), &sub.mailbox, &note.event_id, None);
    Some(send_notification(sub, &w.s))
}

/// The StatusEvent Exchange sends a new push subscriber (and when idle).
pub fn push_status(sub: &Subscription) -> PushRequest {
    let mut w = W::new();
    status_event(&mut w, &ids::watermark(&sub.id, sub.message_number));
    send_notification(sub, &w.s)
}

pub fn answer_unsubscribes(body: &[u8]) -> bool {
    let Ok(root) = domain::xml::parse(body, domain::xml::Limits { max_bytes: 64 * 1024, ..Default::default() }) else { return false };
    root.find(M, "SubscriptionStatus").is_some_and(|s| s.text.trim() == "Unsubscribe")
}
