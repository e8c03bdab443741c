"""exchangelib, unchanged, against the emulator's EWS front-end (SOAP 1.1 at /ews/EWS/Exchange.asmx).

Environment: FIDELITY_BASE (http://127.0.0.1:PORT); EWS_USER / EWS_PASSWORD (a mailbox, Basic
auth, delegate access); EWS_SERVICE / EWS_SERVICE_PASSWORD (a service account with
can_impersonate); EWS_TARGET (a second mailbox the service account impersonates). No
autodiscover and a fixed server version, so exchangelib talks to the given endpoint only.
"""

import logging
import os
from datetime import datetime, timedelta, timezone

from common import BASE, check, finish, mailbox_subjects, step

from exchangelib import (BASIC, DELEGATE, IMPERSONATION, Account, Build, CalendarItem, Configuration, Credentials,
                         EWSDateTime, EWSTimeZone, Version)
from exchangelib.errors import ErrorImpersonateUserDenied, ErrorItemNotFound, UnauthorizedError, TransportError
from exchangelib.extended_properties import ExtendedProperty
from exchangelib.items import SEND_TO_NONE, SEND_ONLY_TO_CHANGED
from exchangelib.properties import ItemId
from exchangelib.recurrence import DailyPattern, Recurrence

ENDPOINT = f"{BASE}/ews/EWS/Exchange.asmx"
UTC = EWSTimeZone("UTC")


class CrmId(ExtendedProperty):
    """The CRM meeting id: PublicStrings / crmId / String (the project's convention)."""
    distinguished_property_set_id = "PublicStrings"
    property_name = "crmId"
    property_type = "String"


CalendarItem.register("crm_id", CrmId)


def account(user, password, mailbox, access_type, tz=UTC):
    config = Configuration(service_endpoint=ENDPOINT, credentials=Credentials(user, password), auth_type=BASIC,
                           version=Version(build=Build(15, 1)), max_connections=2)
    return Account(primary_smtp_address=mailbox, config=config, autodiscover=False, access_type=access_type,
                   default_timezone=tz)


def ews_time(dt):
    return EWSDateTime.from_datetime(dt).astimezone(UTC)


class ServiceCalls(logging.Handler):
    """Counts the EWS operations exchangelib calls, from its own debug log ("Calling service …")."""

    def __init__(self):
        super().__init__(logging.DEBUG)
        self.calls = []

    def emit(self, record):
        if record.msg == "Calling service %s" and record.args:
            self.calls.append(record.args[0])


calls = ServiceCalls()
_services_log = logging.getLogger("exchangelib.services.common")
_services_log.setLevel(logging.DEBUG)
_services_log.addHandler(calls)
_services_log.propagate = False


def sync(folder, state=None):
    """One SyncFolderItems round in pages of 2 changes; returns (changes, new state, calls made)."""
    before = calls.calls.count("SyncFolderItems")
    changes = list(folder.sync_items(sync_state=state, max_changes_returned=2))
    return changes, folder.item_sync_state, calls.calls.count("SyncFolderItems") - before


def item_id(item):
    """Changes carry an item (create/update) or just its ItemId (delete); both have .id."""
    return item.id


def crud_and_sync(label, acc, day0, bystander=None):
    """The whole round: create (incl. a series), list a window, full sync, create/update/delete,
    incremental sync. `label` prefixes every check."""
    cal = acc.calendar
    w_min, w_max = ews_time(day0), ews_time(day0 + timedelta(days=7))

    def timed(subject, day, hour):
        start = day0 + timedelta(days=day, hours=hour)
        return CalendarItem(account=acc, folder=cal, subject=subject, start=ews_time(start), end=ews_time(start + timedelta(hours=1)),
                            body=f"{subject} body")

    created = {}
    series = CalendarItem(account=acc, folder=cal, subject="Fidelity daily standup",
                          start=ews_time(day0 + timedelta(hours=8)), end=ews_time(day0 + timedelta(hours=8, minutes=15)),
                          recurrence=Recurrence(pattern=DailyPattern(interval=1), start=day0.date(), number=5), crm_id="m-42")
    for key, item in [("A", timed("Fidelity single A", 0, 9)), ("U", timed("Fidelity to update", 1, 10)),
                      ("D", timed("Fidelity to delete", 2, 11)), ("R", series)]:
        saved = step(f"{label}: create {key}", lambda i=item: i.save(send_meeting_invitations=SEND_TO_NONE))
        if saved is None:
            return
        created[key] = saved
        check(f"{label}: create {key} returns an ItemId with a ChangeKey", saved.id and saved.changekey, (saved.id, saved.changekey))
    landed = step(f"{label}: read the mailbox through the control API", lambda: mailbox_subjects(acc.primary_smtp_address))
    check(f"{label}: the 4 items are stored in {acc.primary_smtp_address}'s calendar",
          landed is not None and sorted(landed) == sorted(i.subject for i in created.values()), landed)
    if bystander:
        other = step(f"{label}: read {bystander} through the control API", lambda: mailbox_subjects(bystander))
        check(f"{label}: nothing was stored in the service account {bystander}", other == [], other)
    r = created["R"]
    got = step(f"{label}: get the series", lambda: cal.get(id=r.id, changekey=r.changekey))
    if got is not None:
        check(f"{label}: the series reads back as a RecurringMaster with 5 occurrences and its crmId",
              got.type == "RecurringMaster" and got.recurrence is not None and got.recurrence.boundary.number == 5 and got.crm_id == "m-42",
              (got.type, got.recurrence, got.crm_id))

    # CalendarView: expands the series into occurrences.
    listed = step(f"{label}: CalendarView of the window", lambda: list(cal.view(start=w_min, end=w_max)))
    if listed is not None:
        occ = [i for i in listed if i.type == "Occurrence"]
        singles = sorted(i.subject for i in listed if i.type == "Single")
        check(f"{label}: CalendarView lists 3 single items + 5 occurrences of the series",
              len(listed) == 8 and len(occ) == 5 and singles == sorted(["Fidelity single A", "Fidelity to update", "Fidelity to delete"]),
              [(i.subject, i.type) for i in listed])
        check(f"{label}: occurrences have distinct ids and the series' subject",
              len({i.id for i in occ}) == 5 and all(i.subject == "Fidelity daily standup" for i in occ), [(i.id, i.subject) for i in occ])

    # SyncFolderItems: full, then with nothing changed.
    full = step(f"{label}: full SyncFolderItems (paged by 2)", lambda: sync(cal))
    if full is None:
        return
    changes, state, rounds = full
    check(f"{label}: full sync came in pages of MaxChangesReturned=2 (2 calls)", rounds == 2, rounds)
    ids = {item_id(i) for _, i in changes}
    check(f"{label}: full sync creates the 4 items and gives a sync state",
          state and all(t == "create" for t, _ in changes) and ids == {created[k].id for k in "AUDR"},
          [(t, getattr(i, "subject", None)) for t, i in changes])
    if not state:
        return
    empty = step(f"{label}: SyncFolderItems without changes", lambda: sync(cal, state))
    if empty is not None:
        check(f"{label}: sync without changes is empty", empty[0] == [] and empty[1], [(t, getattr(i, "subject", None)) for t, i in empty[0]])
        state = empty[1] or state

    # create, update, delete
    new = step(f"{label}: create N", lambda: timed("Fidelity new N", 3, 14).save(send_meeting_invitations=SEND_TO_NONE))
    u, d = created["U"], created["D"]
    old_ck = u.changekey
    u.subject = "Fidelity updated"
    u.location = "Room 7"
    updated = step(f"{label}: update U (UpdateItem)", lambda: u.save(update_fields=["subject", "location"],
                                                                     send_meeting_invitations=SEND_ONLY_TO_CHANGED))
    if updated is not None:
        fresh = step(f"{label}: get U after update", lambda: cal.get(id=u.id))
        check(f"{label}: update is stored and changes the ChangeKey",
              fresh is not None and fresh.subject == "Fidelity updated" and fresh.location == "Room 7" and u.changekey != old_ck,
              fresh and (fresh.subject, fresh.location, u.changekey, old_ck))
    d_id = d.id
    step(f"{label}: delete D (DeleteItem)", lambda: d.delete(send_meeting_cancellations=SEND_TO_NONE))
    try:
        cal.get(id=d_id)
        check(f"{label}: deleted item reads as ErrorItemNotFound", False, "still readable")
    except ErrorItemNotFound:
        check(f"{label}: deleted item reads as ErrorItemNotFound", True)
    except Exception as e:
        check(f"{label}: deleted item reads as ErrorItemNotFound", False, f"{type(e).__name__}: {e}")

    inc = step(f"{label}: SyncFolderItems after changes", lambda: sync(cal, state))
    if inc is not None and new is not None:
        by_id = {item_id(i): (t, i) for t, i in inc[0]}
        check(f"{label}: sync reports exactly the created, updated and deleted items",
              set(by_id) == {new.id, u.id, d_id} and len(inc[0]) == 3, [(t, item_id(i), getattr(i, "subject", None)) for t, i in inc[0]])
        check(f"{label}: sync shows the new item as create", by_id.get(new.id, ("",))[0] == "create")
        t, i = by_id.get(u.id, ("", None))
        check(f"{label}: sync shows the update", t == "update" and i is not None and i.subject == "Fidelity updated", (t, i and i.subject))
        check(f"{label}: sync shows the deletion", by_id.get(d_id, ("",))[0] == "delete", by_id.get(d_id))
        state = inc[1]
        again = step(f"{label}: SyncFolderItems once more", lambda: sync(cal, state))
        if again is not None:
            check(f"{label}: nothing more to sync", again[0] == [], [(t, item_id(i)) for t, i in again[0]])

    extra = []
    if label == "ews delegate" and inc is not None:
        extra, state = zoned_and_all_day(label, acc, day0, state)
        series_edits(label, acc, day0, r, state)

    # clean up what this round made, so a later round starts from known state
    for item in [created["A"], created["R"], updated or u] + ([new] if new is not None else []) + extra:
        step(f"{label}: clean up", lambda it=item: it.delete(send_meeting_cancellations=SEND_TO_NONE))


def zoned_and_all_day(label, acc, day0, state):
    """An item entered in Europe/Berlin (exchangelib sends its time zone definition) and an
    all-day item; both read back as entered and show up in the next sync."""
    from exchangelib import EWSDate
    cal = acc.calendar
    berlin = EWSTimeZone("Europe/Berlin")
    d = (day0 + timedelta(days=4)).date()
    start = EWSDateTime(d.year, d.month, d.day, 9, 0, tzinfo=berlin)
    zoned = step(f"{label}: create an item in Europe/Berlin", lambda: CalendarItem(
        account=acc, folder=cal, subject="Fidelity Berlin", start=start, end=start + timedelta(hours=1)).save(
        send_meeting_invitations=SEND_TO_NONE))
    allday = step(f"{label}: create an all-day item", lambda: CalendarItem(
        account=acc, folder=cal, subject="Fidelity all day", is_all_day=True,
        start=EWSDate(d.year, d.month, d.day), end=EWSDate.from_date(d + timedelta(days=1))).save(send_meeting_invitations=SEND_TO_NONE))
    made = [i for i in (zoned, allday) if i is not None]
    if zoned is not None:
        back = step(f"{label}: get the Berlin item", lambda: cal.get(id=zoned.id))
        if back is not None:
            check(f"{label}: the Berlin item starts at 09:00 Berlin time", back.start == start and back.end == start + timedelta(hours=1),
                  (back.start, back.end))
    if allday is not None:
        back = step(f"{label}: get the all-day item", lambda: cal.get(id=allday.id))
        if back is not None:
            check(f"{label}: the all-day item keeps IsAllDayEvent and its dates",
                  back.is_all_day and back.start == d and back.end == d + timedelta(days=1), (back.is_all_day, back.start, back.end))
    if state and len(made) == 2:
        inc = step(f"{label}: SyncFolderItems after the zoned and all-day items", lambda: sync(cal, state))
        if inc is not None:
            check(f"{label}: sync reports the zoned and all-day items as create",
                  {item_id(i) for t, i in inc[0] if t == "create"} == {zoned.id, allday.id}, [(t, item_id(i)) for t, i in inc[0]])
            state = inc[1]
    return made, state


def series_edits(label, acc, day0, master, state):
    """Find the series by its CRM id (FindItem with an extended-property restriction), change
    one occurrence and delete another (OccurrenceItemId), and see both in view and sync."""
    cal = acc.calendar
    found = step(f"{label}: FindItem by crmId", lambda: list(cal.filter(crm_id="m-42")))
    if found is not None:
        check(f"{label}: FindItem by crmId finds exactly the series", [i.id for i in found] == [master.id], [(i.id, i.subject) for i in found])
    second = master.occurrence(index=2)
    if step(f"{label}: read occurrence 2", lambda: second.refresh() or True):
        second.subject = "Fidelity moved standup"
        step(f"{label}: update occurrence 2", lambda: second.save(update_fields=["subject"], send_meeting_invitations=SEND_TO_NONE))
    third = master.occurrence(index=3)
    if step(f"{label}: read occurrence 3", lambda: third.refresh() or True):
        step(f"{label}: delete occurrence 3", lambda: third.delete(send_meeting_cancellations=SEND_TO_NONE))
    listed = step(f"{label}: CalendarView after the occurrence edits",
                  lambda: list(cal.view(start=ews_time(day0), end=ews_time(day0 + timedelta(days=7)))))
    if listed is not None:
        series = [i for i in listed if i.type in ("Occurrence", "Exception")]
        check(f"{label}: the window holds 4 occurrences, one an Exception with the new subject",
              len(series) == 4 and [i.subject for i in series if i.type == "Exception"] == ["Fidelity moved standup"],
              [(i.type, i.subject) for i in series])
    if state:
        inc = step(f"{label}: SyncFolderItems after the occurrence edits", lambda: sync(cal, state))
        if inc is not None:
            check(f"{label}: sync reports the series master as updated", ("update", master.id) in {(t, item_id(i)) for t, i in inc[0]},
                  [(t, item_id(i)) for t, i in inc[0]])


def main():
    day0 = (datetime.now(timezone.utc) + timedelta(days=2)).replace(hour=0, minute=0, second=0, microsecond=0)
    user, pw = os.environ["EWS_USER"], os.environ["EWS_PASSWORD"]
    svc, svc_pw = os.environ["EWS_SERVICE"], os.environ["EWS_SERVICE_PASSWORD"]
    target = os.environ["EWS_TARGET"]

    # 1. Basic auth, delegate access to one's own mailbox.
    crud_and_sync("ews delegate", account(user, pw, user, DELEGATE), day0)

    # 2. A service account impersonating another mailbox (ExchangeImpersonation header).
    # In a non-UTC zone: exchangelib then sends TimeZoneContext "W. Europe Standard Time".
    imp = account(svc, svc_pw, target, IMPERSONATION, tz=EWSTimeZone("Europe/Berlin"))
    crud_and_sync("ews impersonation", imp, day0, bystander=svc)

    # 3. Impersonation by an account without the role is refused.
    denied = account(user, pw, target, IMPERSONATION)
    try:
        list(denied.calendar.view(start=ews_time(day0), end=ews_time(day0 + timedelta(days=1))))
        check("ews: impersonation without the role is refused (ErrorImpersonateUserDenied)", False, "allowed")
    except ErrorImpersonateUserDenied:
        check("ews: impersonation without the role is refused (ErrorImpersonateUserDenied)", True)
    except Exception as e:
        check("ews: impersonation without the role is refused (ErrorImpersonateUserDenied)", False, f"{type(e).__name__}: {e}")

    # 4. A wrong password is a 401 the library reports as such (no retry loop, no hang).
    wrong = account(user, "wrong-password", user, DELEGATE)
    try:
        list(wrong.calendar.view(start=ews_time(day0), end=ews_time(day0 + timedelta(days=1))))
        check("ews: a wrong password is refused (UnauthorizedError)", False, "allowed")
    except UnauthorizedError:
        check("ews: a wrong password is refused (UnauthorizedError)", True)
    except Exception as e:
        check("ews: a wrong password is refused (UnauthorizedError)", False, f"{type(e).__name__}: {e}")


if __name__ == "__main__":
    step("ews: run", main)
    finish("exchangelib")
