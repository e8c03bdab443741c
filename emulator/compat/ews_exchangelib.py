"""Drive the EWS emulator with the unchanged exchangelib, as a real integration would.

Usage (exchangelib installed, emulator running):
    python emulator/compat/ews_exchangelib.py http://127.0.0.1:3100

Creates its own mailboxes through the control API, then, as a service account impersonating
alice: finds the calendar, creates single and recurring items (with the crmId extended
property), lists a window, finds by crmId, syncs, updates, deletes, and syncs again.
Exits non-zero on the first mismatch.
"""
import datetime
import json
import sys
import urllib.request

from exchangelib import (IMPERSONATION, Account, CalendarItem, Configuration, Credentials, EWSDate,
                         EWSDateTime, EWSTimeZone, ExtendedProperty)
from exchangelib.items import SEND_TO_ALL_AND_SAVE_COPY, SEND_TO_NONE
from exchangelib.recurrence import Recurrence, WeeklyPattern
from exchangelib.fields import MONDAY

base = sys.argv[1].rstrip("/") if len(sys.argv) > 1 else "http://127.0.0.1:3100"


def control(path, body):
    req = urllib.request.Request(base + path, data=json.dumps(body).encode(), method="POST",
                                 headers={"content-type": "application/json"})
    try:
        urllib.request.urlopen(req).read()
    except urllib.error.HTTPError as e:
        if e.code != 409:  # already there from an earlier run
            raise


for email, pw, imp in [("alice@corp.test", "alice-pw", False), ("bob@corp.test", "bob-pw", False),
                       ("svc@corp.test", "svc-pw", True)]:
    control("/_emulator/mailboxes", {"email": email, "provider": "ews", "password": pw,
                                     "time_zone": "Europe/Copenhagen", "can_impersonate": imp})


class CrmId(ExtendedProperty):
    distinguished_property_set_id = "PublicStrings"
    property_name = "crmId"
    property_type = "String"


CalendarItem.register("crm_id", CrmId)

config = Configuration(service_endpoint=base + "/ews/EWS/Exchange.asmx",
                       credentials=Credentials("svc@corp.test", "svc-pw"), auth_type="basic")
acc = Account("alice@corp.test", config=config, autodiscover=False, access_type=IMPERSONATION)
print("version:", acc.version)
cal = acc.calendar
print("calendar:", cal.name, cal.total_count)

tz = EWSTimeZone("Europe/Copenhagen")
start = EWSDateTime(2026, 3, 2, 9, 0, tzinfo=tz)

# Sync from scratch first, so the later sync shows exactly our changes.
state_items = list(cal.sync_items())
state = cal.item_sync_state

single = CalendarItem(account=acc, folder=cal, subject="From exchangelib", start=start,
                      end=start + datetime.timedelta(hours=1), crm_id="MEET-7", location="Room 7",
                      required_attendees=["bob@corp.test"])
single.save(send_meeting_invitations=SEND_TO_ALL_AND_SAVE_COPY)
assert single.id and single.changekey, "create returned an id"

series = CalendarItem(account=acc, folder=cal, subject="Weekly", start=start + datetime.timedelta(hours=3),
                      end=start + datetime.timedelta(hours=3, minutes=30),
                      recurrence=Recurrence(pattern=WeeklyPattern(interval=1, weekdays=[MONDAY]),
                                            start=EWSDate(2026, 3, 2), number=4))
series.save(send_meeting_invitations=SEND_TO_NONE)

allday = CalendarItem(account=acc, folder=cal, subject="Offsite", start=EWSDate(2026, 3, 4),
                      end=EWSDate(2026, 3, 5), is_all_day=True)
allday.save(send_meeting_invitations=SEND_TO_NONE)

view = list(cal.view(start=start - datetime.timedelta(days=1), end=start + datetime.timedelta(days=30)))
subjects = sorted((i.subject, i.type) for i in view)
print("view:", subjects)
assert ("From exchangelib", "Single") in subjects
assert sum(1 for s in subjects if s == ("Weekly", "Occurrence")) == 4, subjects
assert ("Offsite", "Single") in subjects

found = list(cal.filter(crm_id="MEET-7"))
assert [i.subject for i in found] == ["From exchangelib"], found
got = cal.get(id=single.id, changekey=single.changekey)
assert got.crm_id == "MEET-7" and got.location == "Room 7", got
assert [a.mailbox.email_address for a in got.required_attendees] == ["bob@corp.test"]
assert got.start == start, (got.start, start)
full_allday = cal.get(id=allday.id)
assert full_allday.is_all_day and full_allday.start == EWSDate(2026, 3, 4), (full_allday.start, full_allday.end)
master = cal.get(id=series.id)
assert master.type == "RecurringMaster" and master.recurrence.boundary.number == 4, master.recurrence

changes = [(kind, getattr(i, "id", None)) for kind, i in cal.sync_items(sync_state=state)]
print("sync 1:", [k for k, _ in changes])
assert sorted(k for k, _ in changes) == ["create", "create", "create"], changes
state = cal.item_sync_state

got.subject = "Renamed"
got.save(update_fields=["subject"], send_meeting_invitations=SEND_TO_NONE)
occurrence = master.occurrence(2)
occurrence.refresh()
occurrence.subject = "Weekly (moved)"
occurrence.save(update_fields=["subject"], send_meeting_invitations=SEND_TO_NONE)
allday.delete(send_meeting_cancellations=SEND_TO_NONE)

changes = [(kind, getattr(i, "id", None) or getattr(i, "item_id", None)) for kind, i in cal.sync_items(sync_state=state)]
print("sync 2:", [k for k, _ in changes])
assert sorted(k for k, _ in changes) == ["delete", "update", "update"], changes

assert cal.get(id=single.id).subject == "Renamed"
moved = [i for i in cal.view(start=start, end=start + datetime.timedelta(days=30)) if i.type == "Exception"]
assert [i.subject for i in moved] == ["Weekly (moved)"], moved
# Pull notifications: what changed after subscribing.
sub_id, watermark = cal.subscribe_to_pull()
late = CalendarItem(account=acc, folder=cal, subject="Late", start=start, end=start + datetime.timedelta(hours=1))
late.save(send_meeting_invitations=SEND_TO_NONE)
events = [type(e).__name__ for n in cal.get_events(subscription_id=sub_id, watermark=watermark) for e in n.events]
print("pull events:", events)
assert "CreatedEvent" in events, events
cal.unsubscribe(sub_id)
print("OK: exchangelib works against the emulator")
