"""google-api-python-client, unchanged, against the emulator's Google Calendar v3 front-end.

Environment: FIDELITY_BASE (http://127.0.0.1:PORT), GOOGLE_TOKEN (an access token of a Google
mailbox). The client uses the discovery document shipped inside the library
(static_discovery=True) and `client_options.api_endpoint`, so nothing goes to googleapis.com.
"""

import os
from datetime import datetime, timedelta, timezone

from common import BASE, check, finish, step

import google.oauth2.credentials
from googleapiclient.discovery import build
from googleapiclient.errors import HttpError

TOKEN = os.environ["GOOGLE_TOKEN"]
CAL = "primary"


def iso(dt):
    return dt.strftime("%Y-%m-%dT%H:%M:%SZ")


pages_read = {}


def all_pages(request_fn, label=None, **params):
    """Follows nextPageToken; returns (items, last page) and counts the pages under `label`."""
    items, page_token, pages = [], None, 0
    while True:
        page = request_fn(pageToken=page_token, **params).execute() if page_token else request_fn(**params).execute()
        pages += 1
        items.extend(page.get("items", []))
        page_token = page.get("nextPageToken")
        if not page_token:
            if label:
                pages_read[label] = pages
            return items, page


def main():
    # The discovery document's rootUrl + servicePath is https://www.googleapis.com/calendar/v3/;
    # api_endpoint replaces that whole base, so it names the emulator's mount of calendar/v3.
    creds = google.oauth2.credentials.Credentials(token=TOKEN)
    svc = build(
        "calendar", "v3", credentials=creds, static_discovery=True, cache_discovery=False,
        client_options={"api_endpoint": f"{BASE}/google/calendar/v3/"},
    )
    events = svc.events()

    day0 = (datetime.now(timezone.utc) + timedelta(days=2)).replace(hour=0, minute=0, second=0, microsecond=0)
    w_min, w_max = day0, day0 + timedelta(days=7)

    def timed(summary, day, hour, **extra):
        start = day0 + timedelta(days=day, hours=hour)
        body = {"summary": summary, "start": {"dateTime": iso(start)}, "end": {"dateTime": iso(start + timedelta(hours=1))}}
        body.update(extra)
        return body

    # ---- create (the seed of the calendar) ---------------------------------------------------
    created = {}
    for key, body in [
        ("A", timed("Fidelity single A", 0, 9)),
        ("U", timed("Fidelity to update", 1, 10)),
        ("D", timed("Fidelity to delete", 2, 11)),
        ("R", {
            "summary": "Fidelity daily standup",
            "start": {"dateTime": iso(day0 + timedelta(hours=8)), "timeZone": "UTC"},
            "end": {"dateTime": iso(day0 + timedelta(hours=8, minutes=15)), "timeZone": "UTC"},
            "recurrence": ["RRULE:FREQ=DAILY;COUNT=5"],
            "extendedProperties": {"private": {"crmId": "m-42"}},
        }),
    ]:
        ev = step(f"google: create {key}", lambda b=body: events.insert(calendarId=CAL, body=b, sendUpdates="none").execute())
        if ev is None:
            return
        created[key] = ev
        check(f"google: create {key} returns id, etag and the summary", ev.get("id") and ev.get("etag") and ev.get("summary") == body["summary"], ev)
    r = created["R"]
    check("google: created series keeps RRULE and private extended property",
          r.get("recurrence") == ["RRULE:FREQ=DAILY;COUNT=5"] and r.get("extendedProperties", {}).get("private", {}).get("crmId") == "m-42", r)
    got = step("google: get A", lambda: events.get(calendarId=CAL, eventId=created["A"]["id"]).execute())
    if got is not None:
        check("google: get A returns the created event", got.get("id") == created["A"]["id"] and got.get("summary") == "Fidelity single A", got)

    # ---- list a window, recurring series expanded -------------------------------------------
    listed = step("google: list window (singleEvents, orderBy=startTime, paged)", lambda: all_pages(
        events.list, "window", calendarId=CAL, timeMin=iso(w_min), timeMax=iso(w_max), singleEvents=True,
        orderBy="startTime", maxResults=3)[0])
    if listed is not None:
        inst = [e for e in listed if e.get("recurringEventId") == r["id"]]
        singles = sorted(e["summary"] for e in listed if "recurringEventId" not in e)
        check("google: window lists 3 single events + 5 instances of the series", len(listed) == 8 and len(inst) == 5
              and singles == sorted(["Fidelity single A", "Fidelity to update", "Fidelity to delete"]),
              [(e.get("summary"), e.get("id")) for e in listed])
        starts = [e["start"].get("dateTime") or e["start"].get("date") for e in listed]
        parsed = [datetime.fromisoformat(s.replace("Z", "+00:00")) for s in starts]
        check("google: window came in pages of maxResults=3 (3 pages)", pages_read.get("window") == 3, pages_read.get("window"))
        check("google: window is ordered by start time", parsed == sorted(parsed), starts)
        check("google: instances carry originalStartTime and distinct ids",
              len({e["id"] for e in inst}) == 5 and all("originalStartTime" in e for e in inst), inst[:1])
    instances = step("google: events.instances", lambda: all_pages(events.instances, calendarId=CAL, eventId=r["id"])[0])
    if instances is not None:
        check("google: events.instances returns the 5 occurrences", len(instances) == 5, [e.get("id") for e in instances])

    # ---- full sync, then an incremental sync with nothing changed ----------------------------
    full = step("google: full sync (paged)", lambda: all_pages(events.list, "full", calendarId=CAL, maxResults=2))
    if full is None:
        return
    items, last = full
    token = last.get("nextSyncToken")
    check("google: full sync ends with nextSyncToken and lists the 4 events",
          token and {e["id"] for e in items} == {created[k]["id"] for k in "AUDR"}, ([e.get("id") for e in items], last.keys()))
    check("google: full sync came in pages of maxResults=2 (2 pages)", pages_read.get("full") == 2, pages_read.get("full"))
    if not token:
        return
    empty = step("google: incremental sync without changes", lambda: all_pages(events.list, calendarId=CAL, syncToken=token))
    if empty is not None:
        check("google: incremental sync without changes is empty and gives a new token", empty[0] == [] and empty[1].get("nextSyncToken"), empty)
        token = empty[1].get("nextSyncToken") or token

    # ---- create, update, delete --------------------------------------------------------------
    new = step("google: create N", lambda: events.insert(calendarId=CAL, body=timed("Fidelity new N", 3, 14), sendUpdates="none").execute())
    u = created["U"]
    body = step("google: get U for update", lambda: events.get(calendarId=CAL, eventId=u["id"]).execute())
    updated = None
    if body is not None:
        body["summary"] = "Fidelity updated"
        body["location"] = "Room 7"
        updated = step("google: update U (PUT)", lambda: events.update(calendarId=CAL, eventId=u["id"], body=body, sendUpdates="none").execute())
        if updated is not None:
            check("google: update returns the new summary, location and a new etag",
                  updated.get("summary") == "Fidelity updated" and updated.get("location") == "Room 7" and updated.get("etag") != u.get("etag"), updated)
    patched = step("google: patch A", lambda: events.patch(calendarId=CAL, eventId=created["A"]["id"], body={"description": "patched"}).execute())
    if patched is not None:
        check("google: patch changes only the given field", patched.get("description") == "patched" and patched.get("summary") == "Fidelity single A", patched)
    d = created["D"]
    step("google: delete D", lambda: events.delete(calendarId=CAL, eventId=d["id"], sendUpdates="none").execute())
    try:
        gone = events.get(calendarId=CAL, eventId=d["id"]).execute()
        check("google: deleted event reads as cancelled or 404/410", gone.get("status") == "cancelled", gone)
    except HttpError as e:
        check("google: deleted event reads as cancelled or 404/410", e.resp.status in (404, 410), e)

    # ---- incremental sync reports exactly those changes --------------------------------------
    inc = step("google: incremental sync after changes", lambda: all_pages(events.list, calendarId=CAL, syncToken=token))
    if inc is not None and new is not None:
        by_id = {e["id"]: e for e in inc[0]}
        expected = {new["id"], u["id"], d["id"], created["A"]["id"]}
        check("google: incremental sync reports exactly the created, updated, patched and deleted events",
              set(by_id) == expected, sorted((e.get("id"), e.get("status"), e.get("summary")) for e in inc[0]))
        check("google: incremental sync shows the new event", by_id.get(new["id"], {}).get("summary") == "Fidelity new N", by_id.get(new["id"]))
        check("google: incremental sync shows the update", by_id.get(u["id"], {}).get("summary") == "Fidelity updated", by_id.get(u["id"]))
        check("google: incremental sync shows the deletion as status=cancelled", by_id.get(d["id"], {}).get("status") == "cancelled", by_id.get(d["id"]))
        token = inc[1].get("nextSyncToken")
        check("google: incremental sync gives a next token", token, inc[1].keys())

    # ---- cancel one occurrence: it shows up as a cancelled instance ---------------------------
    if listed is not None and token:
        third = sorted((e for e in listed if e.get("recurringEventId") == r["id"]), key=lambda e: e["start"]["dateTime"])[2]
        step("google: delete one occurrence", lambda: events.delete(calendarId=CAL, eventId=third["id"]).execute())
        inc2 = step("google: incremental sync after cancelling an occurrence", lambda: all_pages(events.list, calendarId=CAL, syncToken=token))
        if inc2 is not None:
            token = inc2[1].get("nextSyncToken") or token
            ids = {e["id"]: e for e in inc2[0]}
            check("google: incremental sync shows the occurrence as cancelled",
                  ids.get(third["id"], {}).get("status") == "cancelled", [(e.get("id"), e.get("status")) for e in inc2[0]])
        again = step("google: list window after cancelling an occurrence", lambda: all_pages(
            events.list, calendarId=CAL, timeMin=iso(w_min), timeMax=iso(w_max), singleEvents=True, orderBy="startTime")[0])
        if again is not None:
            check("google: window now has 4 instances of the series (and the new event, without the deleted one)",
                  len([e for e in again if e.get("recurringEventId") == r["id"]]) == 4
                  and {e["summary"] for e in again if "recurringEventId" not in e} == {"Fidelity single A", "Fidelity updated", "Fidelity new N"},
                  [(e.get("summary"), e.get("id")) for e in again])

    # ---- an event entered in another zone, and an all-day event -------------------------------
    berlin_day = (day0 + timedelta(days=4)).date().isoformat()
    zoned = step("google: create an event in Europe/Berlin", lambda: events.insert(calendarId=CAL, sendUpdates="none", body={
        "summary": "Fidelity Berlin", "start": {"dateTime": f"{berlin_day}T09:00:00", "timeZone": "Europe/Berlin"},
        "end": {"dateTime": f"{berlin_day}T10:00:00", "timeZone": "Europe/Berlin"}}).execute())
    allday = step("google: create an all-day event", lambda: events.insert(calendarId=CAL, sendUpdates="none", body={
        "summary": "Fidelity all day", "start": {"date": berlin_day},
        "end": {"date": (day0 + timedelta(days=5)).date().isoformat()}}).execute())
    if zoned is not None:
        back = step("google: get the Berlin event", lambda: events.get(calendarId=CAL, eventId=zoned["id"]).execute())
        if back is not None:
            from zoneinfo import ZoneInfo
            want = datetime.fromisoformat(f"{berlin_day}T09:00:00").replace(tzinfo=ZoneInfo("Europe/Berlin"))
            got_start = datetime.fromisoformat(back["start"]["dateTime"].replace("Z", "+00:00"))
            check("google: the Berlin event starts at 09:00 Berlin time and keeps its zone",
                  got_start == want and back["start"].get("timeZone") == "Europe/Berlin", back["start"])
    if allday is not None:
        check("google: the all-day event keeps start.date / end.date",
              allday["start"] == {"date": berlin_day} and allday["end"].get("date") == (day0 + timedelta(days=5)).date().isoformat(),
              (allday["start"], allday["end"]))
    if token and zoned is not None and allday is not None:
        inc3 = step("google: incremental sync after the zoned and all-day events", lambda: all_pages(events.list, calendarId=CAL, syncToken=token))
        if inc3 is not None:
            ids = {e["id"] for e in inc3[0]}
            check("google: incremental sync reports the zoned and all-day events", {zoned["id"], allday["id"]} <= ids, ids)

    # ---- partial responses (fields=) -----------------------------------------------------------
    # The real service trims the answer to the named fields; the emulator accepts the parameter
    # and answers in full (a superset, which no client breaks on). Checked: accepted, usable.
    part = step("google: list with fields=", lambda: events.list(
        calendarId=CAL, timeMin=iso(w_min), timeMax=iso(w_max), singleEvents=True, fields="items(id,summary),nextPageToken").execute())
    if part is not None:
        check("google: fields= is accepted and the named fields are there",
              part.get("items") and all("id" in e and "summary" in e for e in part["items"]), part.get("items", [])[:1])

    # ---- errors the library must surface ------------------------------------------------------
    try:
        events.list(calendarId=CAL, syncToken="not-a-token").execute()
        check("google: a bad sync token is refused with 410", False, "no error")
    except HttpError as e:
        check("google: a bad sync token is refused with 410", e.resp.status == 410, e)
    bad = build("calendar", "v3", credentials=google.oauth2.credentials.Credentials(token="wrong"), static_discovery=True,
                cache_discovery=False, client_options={"api_endpoint": f"{BASE}/google/calendar/v3/"})
    try:
        bad.events().list(calendarId=CAL).execute()
        check("google: a wrong token is refused with 401", False, "no error")
    except HttpError as e:
        check("google: a wrong token is refused with 401", e.resp.status == 401, e)
    except Exception as e:  # google-auth may try to refresh on 401 and give up
        check("google: a wrong token is refused with 401", "401" in str(e) or "refresh" in str(e).lower(), f"{type(e).__name__}: {e}")


if __name__ == "__main__":
    step("google: run", main)
    finish("google-api-python-client")
