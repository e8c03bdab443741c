"""msgraph-sdk (Kiota-generated), unchanged, against the emulator's Microsoft Graph front-end.

Environment: FIDELITY_BASE (http://127.0.0.1:PORT), GRAPH_TOKEN (an access token of a Graph
mailbox). The client gets the emulator's base URL on its request adapter and an azure-core
TokenCredential that hands out the emulator token, so nothing goes to login.microsoftonline.com
or graph.microsoft.com.
"""

import asyncio
import os
import time
from datetime import datetime, timedelta, timezone

from common import BASE, check, finish, step

from azure.core.credentials import AccessToken
from kiota_abstractions.base_request_configuration import RequestConfiguration
from kiota_authentication_azure.azure_identity_authentication_provider import AzureIdentityAuthenticationProvider
from msgraph import GraphRequestAdapter, GraphServiceClient
from msgraph.generated.models.date_time_time_zone import DateTimeTimeZone
from msgraph.generated.models.event import Event
from msgraph.generated.models.item_body import ItemBody
from msgraph.generated.models.body_type import BodyType
from msgraph.generated.models.location import Location
from msgraph.generated.models.o_data_errors.o_data_error import ODataError
from msgraph.generated.models.patterned_recurrence import PatternedRecurrence
from msgraph.generated.models.recurrence_pattern import RecurrencePattern
from msgraph.generated.models.recurrence_pattern_type import RecurrencePatternType
from msgraph.generated.models.recurrence_range import RecurrenceRange
from msgraph.generated.models.recurrence_range_type import RecurrenceRangeType
from msgraph.generated.models.single_value_legacy_extended_property import SingleValueLegacyExtendedProperty
from msgraph.generated.users.item.calendar_view.calendar_view_request_builder import CalendarViewRequestBuilder
from msgraph.generated.users.item.calendar_view.delta.delta_request_builder import DeltaRequestBuilder
from msgraph.generated.users.item.events.item.event_item_request_builder import EventItemRequestBuilder

TOKEN = os.environ["GRAPH_TOKEN"]
CRM_PROP = "String {66f5a359-4659-4830-9070-00047ec6ac6e} Name crmId"


class EmulatorCredential:
    """An azure-core TokenCredential that returns the emulator's token for any scope."""

    def __init__(self, token):
        self.token = token

    def get_token(self, *scopes, **kwargs):
        return AccessToken(self.token, int(time.time()) + 3600)


def client_for(token):
    auth = AzureIdentityAuthenticationProvider(
        EmulatorCredential(token), scopes=["https://graph.microsoft.com/.default"], allowed_hosts=["127.0.0.1"])
    adapter = GraphRequestAdapter(auth)
    adapter.base_url = f"{BASE}/graph/v1.0"
    return GraphServiceClient(request_adapter=adapter)


def wall(dt):
    return dt.strftime("%Y-%m-%dT%H:%M:%S")


def dtz(dt):
    return DateTimeTimeZone(date_time=wall(dt), time_zone="UTC")


def removed(ev):
    return (ev.additional_data or {}).get("@removed")


pages_read = {}


async def main():
    client = client_for(TOKEN)
    me = client.me
    day0 = (datetime.now(timezone.utc) + timedelta(days=2)).replace(hour=0, minute=0, second=0, microsecond=0)
    w_min, w_max = day0, day0 + timedelta(days=7)

    def timed(subject, day, hour):
        start = day0 + timedelta(days=day, hours=hour)
        return Event(subject=subject, start=dtz(start), end=dtz(start + timedelta(hours=1)),
                     body=ItemBody(content_type=BodyType.Text, content=f"{subject} body"))

    async def astep(name, coro):
        try:
            return await coro
        except ODataError as e:
            err = e.error
            check(name, False, f"ODataError {e.response_status_code}: {err.code if err else ''} {err.message if err else ''}")
        except Exception as e:
            check(name, False, f"{type(e).__name__}: {e}")
        return None

    # ---- create ------------------------------------------------------------------------------
    created = {}
    series = Event(
        subject="Fidelity daily standup",
        start=dtz(day0 + timedelta(hours=8)), end=dtz(day0 + timedelta(hours=8, minutes=15)),
        recurrence=PatternedRecurrence(
            pattern=RecurrencePattern(type=RecurrencePatternType.Daily, interval=1),
            range=RecurrenceRange(type=RecurrenceRangeType.Numbered, start_date=day0.date(),
                                  number_of_occurrences=5, recurrence_time_zone="UTC")),
        single_value_extended_properties=[SingleValueLegacyExtendedProperty(id=CRM_PROP, value="m-42")],
    )
    for key, body in [("A", timed("Fidelity single A", 0, 9)), ("U", timed("Fidelity to update", 1, 10)),
                      ("D", timed("Fidelity to delete", 2, 11)), ("R", series)]:
        ev = await astep(f"graph: create {key}", me.events.post(body))
        if ev is None:
            return
        created[key] = ev
        check(f"graph: create {key} returns id, changeKey and the subject", ev.id and ev.change_key and ev.subject == body.subject,
              (ev.id, ev.change_key, ev.subject))
    r = created["R"]
    check("graph: created series is a seriesMaster with its recurrence",
          str(getattr(r.type, "value", r.type)) == "seriesMaster" and r.recurrence and r.recurrence.range
          and r.recurrence.range.number_of_occurrences == 5, (r.type, r.recurrence))
    cfg = RequestConfiguration(query_parameters=EventItemRequestBuilder.EventItemRequestBuilderGetQueryParameters(
        expand=[f"singleValueExtendedProperties($filter=id eq '{CRM_PROP}')"]))
    got = await astep("graph: get series with the CRM extended property", me.events.by_event_id(r.id).get(cfg))
    if got is not None:
        props = {p.id: p.value for p in (got.single_value_extended_properties or [])}
        check("graph: get returns the series with its crmId extended property",
              got.id == r.id and any(v == "m-42" for v in props.values()), props)

    # ---- list a window (calendarView expands the series) -------------------------------------
    async def calendar_view():
        qp = CalendarViewRequestBuilder.CalendarViewRequestBuilderGetQueryParameters(
            start_date_time=w_min.isoformat().replace("+00:00", "Z"), end_date_time=w_max.isoformat().replace("+00:00", "Z"), top=3)
        page = await me.calendar_view.get(RequestConfiguration(query_parameters=qp))
        items, pages = list(page.value or []), 1
        while page.odata_next_link:
            page = await me.calendar_view.with_url(page.odata_next_link).get()
            items.extend(page.value or [])
            pages += 1
        pages_read["calendarView"] = pages
        return items

    listed = await astep("graph: calendarView of the window (paged)", calendar_view())
    if listed is not None:
        occ = [e for e in listed if e.series_master_id == r.id]
        singles = sorted(e.subject for e in listed if not e.series_master_id)
        check("graph: calendarView lists 3 single events + 5 occurrences of the series",
              len(listed) == 8 and len(occ) == 5 and singles == sorted(["Fidelity single A", "Fidelity to update", "Fidelity to delete"]),
              [(e.subject, e.type) for e in listed])
        check("graph: calendarView came in pages of $top=3 (3 pages)", pages_read.get("calendarView") == 3, pages_read.get("calendarView"))
        check("graph: occurrences have type=occurrence and distinct ids",
              all(str(getattr(e.type, "value", e.type)) == "occurrence" for e in occ) and len({e.id for e in occ}) == 5, [(e.id, e.type) for e in occ])
    from msgraph.generated.users.item.events.item.instances.instances_request_builder import InstancesRequestBuilder
    inst = await astep("graph: instances of the series", me.events.by_event_id(r.id).instances.get(RequestConfiguration(
        query_parameters=InstancesRequestBuilder.InstancesRequestBuilderGetQueryParameters(
            start_date_time=w_min.isoformat(), end_date_time=w_max.isoformat()))))
    if inst is not None:
        check("graph: instances returns the 5 occurrences", len(inst.value or []) == 5, [e.id for e in inst.value or []])

    # ---- full delta round, then an incremental round with nothing changed --------------------
    async def delta_round(link=None):
        # The page-size preference goes on every request of the round, as Graph documents it.
        def paged():
            cfg = RequestConfiguration()
            cfg.headers.add("Prefer", "odata.maxpagesize=3")
            return cfg
        if link is None:
            cfg = paged()
            cfg.query_parameters = DeltaRequestBuilder.DeltaRequestBuilderGetQueryParameters(
                start_date_time=w_min.isoformat().replace("+00:00", "Z"), end_date_time=w_max.isoformat().replace("+00:00", "Z"))
            page = await me.calendar_view.delta.get(cfg)
        else:
            page = await me.calendar_view.delta.with_url(link).get(paged())
        items, pages = list(page.value or []), 1
        while page.odata_next_link:
            page = await me.calendar_view.delta.with_url(page.odata_next_link).get(paged())
            items.extend(page.value or [])
            pages += 1
        pages_read["delta"] = pages
        return items, page.odata_delta_link

    full = await astep("graph: full calendarView delta (paged)", delta_round())
    if full is None:
        return
    items, link = full
    check("graph: full delta ends with a deltaLink and lists the 3 events + 5 occurrences",
          link and len(items) == 8 and {e.id for e in items} >= {created[k].id for k in "AUD"}, ([(e.id, e.subject) for e in items], link))
    check("graph: full delta came in pages of odata.maxpagesize=3 (3 pages)", pages_read.get("delta") == 3, pages_read.get("delta"))
    if not link:
        return
    empty = await astep("graph: delta without changes", delta_round(link))
    if empty is not None:
        check("graph: delta without changes is empty and gives a new deltaLink", empty[0] == [] and empty[1], [(e.id, e.subject) for e in empty[0]])
        link = empty[1] or link

    # ---- create, update, delete --------------------------------------------------------------
    new = await astep("graph: create N", me.events.post(timed("Fidelity new N", 3, 14)))
    u, d = created["U"], created["D"]
    updated = await astep("graph: update U (PATCH)", me.events.by_event_id(u.id).patch(
        Event(subject="Fidelity updated", location=Location(display_name="Room 7"))))
    if updated is not None:
        check("graph: PATCH returns the new subject, location and a new changeKey",
              updated.subject == "Fidelity updated" and updated.location and updated.location.display_name == "Room 7"
              and updated.change_key != u.change_key, (updated.subject, updated.change_key, u.change_key))
    await astep("graph: delete D", me.events.by_event_id(d.id).delete())
    try:
        await me.events.by_event_id(d.id).get()
        check("graph: deleted event reads as 404", False, "still readable")
    except ODataError as e:
        check("graph: deleted event reads as 404", e.response_status_code == 404, e.response_status_code)

    inc = await astep("graph: delta after changes", delta_round(link))
    if inc is not None and new is not None:
        by_id = {e.id: e for e in inc[0]}
        check("graph: delta reports exactly the created, updated and deleted events",
              set(by_id) == {new.id, u.id, d.id}, [(e.id, e.subject, removed(e)) for e in inc[0]])
        check("graph: delta shows the new event", by_id.get(new.id) is not None and by_id[new.id].subject == "Fidelity new N" and not removed(by_id[new.id]))
        check("graph: delta shows the update", by_id.get(u.id) is not None and by_id[u.id].subject == "Fidelity updated")
        check("graph: delta shows the deletion as @removed", by_id.get(d.id) is not None and removed(by_id[d.id]) is not None,
              by_id.get(d.id) and by_id[d.id].additional_data)
        check("graph: delta gives a next deltaLink", inc[1])
        link = inc[1]

    # ---- cancel one occurrence -----------------------------------------------------------------
    if listed is not None and link:
        occ = sorted((e for e in listed if e.series_master_id == r.id), key=lambda e: e.start.date_time)
        third = occ[2]
        await astep("graph: delete one occurrence", me.events.by_event_id(third.id).delete())
        inc2 = await astep("graph: delta after deleting an occurrence", delta_round(link))
        if inc2 is not None:
            link = inc2[1] or link
            check("graph: delta reports the deleted occurrence as @removed",
                  any(e.id == third.id and removed(e) is not None for e in inc2[0]), [(e.id, removed(e)) for e in inc2[0]])
        again = await astep("graph: calendarView after the changes", calendar_view())
        if again is not None:
            check("graph: window now has 4 occurrences and the new event, without the deleted one",
                  len([e for e in again if e.series_master_id == r.id]) == 4
                  and {e.subject for e in again if not e.series_master_id} == {"Fidelity single A", "Fidelity updated", "Fidelity new N"},
                  [(e.subject, e.type) for e in again])

    # ---- an event entered in a Windows zone, read back in IANA; an all-day event -------------
    from zoneinfo import ZoneInfo
    berlin_day = (day0 + timedelta(days=4)).date()
    zoned = await astep("graph: create an event in W. Europe Standard Time", me.events.post(Event(
        subject="Fidelity Berlin",
        start=DateTimeTimeZone(date_time=f"{berlin_day}T09:00:00", time_zone="W. Europe Standard Time"),
        end=DateTimeTimeZone(date_time=f"{berlin_day}T10:00:00", time_zone="W. Europe Standard Time"))))
    if zoned is not None:
        cfg = RequestConfiguration()
        cfg.headers.add("Prefer", 'outlook.timezone="Europe/Berlin"')
        back = await astep("graph: get the event with Prefer outlook.timezone", me.events.by_event_id(zoned.id).get(cfg))
        if back is not None:
            check("graph: the event reads back as 09:00 in the preferred zone",
                  back.start.date_time.startswith(f"{berlin_day}T09:00:00") and back.start.time_zone == "Europe/Berlin",
                  (back.start.date_time, back.start.time_zone))
        utc = await astep("graph: get the event without a zone preference", me.events.by_event_id(zoned.id).get())
        if utc is not None:
            want = datetime.fromisoformat(f"{berlin_day}T09:00:00").replace(tzinfo=ZoneInfo("Europe/Berlin")).astimezone(timezone.utc)
            check("graph: without a preference the same instant comes back in UTC",
                  utc.start.date_time.startswith(want.strftime("%Y-%m-%dT%H:%M:%S")) and utc.start.time_zone == "UTC",
                  (utc.start.date_time, utc.start.time_zone))
    allday = await astep("graph: create an all-day event", me.events.post(Event(
        subject="Fidelity all day", is_all_day=True,
        start=DateTimeTimeZone(date_time=f"{berlin_day}T00:00:00", time_zone="UTC"),
        end=DateTimeTimeZone(date_time=f"{berlin_day + timedelta(days=1)}T00:00:00", time_zone="UTC"))))
    if allday is not None:
        check("graph: the all-day event keeps isAllDay and its midnight bounds",
              allday.is_all_day and allday.start.date_time.startswith(f"{berlin_day}T00:00:00")
              and allday.end.date_time.startswith(f"{berlin_day + timedelta(days=1)}T00:00:00"),
              (allday.is_all_day, allday.start.date_time, allday.end.date_time))
    if link and zoned is not None and allday is not None:
        inc3 = await astep("graph: delta after the zoned and all-day events", delta_round(link))
        if inc3 is not None:
            ids = {e.id for e in inc3[0]}
            check("graph: delta reports the zoned and all-day events", {zoned.id, allday.id} <= ids, ids)

    # ---- the same mailbox by UPN (/users/{upn}), with OData query options ---------------------
    from msgraph.generated.users.item.events.events_request_builder import EventsRequestBuilder
    upn = os.environ.get("GRAPH_USER")
    if upn:
        qp = EventsRequestBuilder.EventsRequestBuilderGetQueryParameters(
            select=["subject", "start"], filter="subject eq 'Fidelity updated'", top=5)
        page = await astep("graph: /users/{upn}/events with $select, $filter, $top",
                           client.users.by_user_id(upn).events.get(RequestConfiguration(query_parameters=qp)))
        if page is not None:
            got = [(e.id, e.subject) for e in page.value or []]
            check("graph: /users/{upn}/events $filter finds the updated event", got == [(u.id, "Fidelity updated")], got)
            check("graph: $select leaves out unselected properties",
                  all(e.body is None and e.location is None for e in page.value or []), [(e.body, e.location) for e in page.value or []])

    # ---- errors the library must surface ------------------------------------------------------
    try:
        await client_for("wrong").me.events.get()
        check("graph: a wrong token is refused with 401", False, "no error")
    except ODataError as e:
        check("graph: a wrong token is refused with 401", e.response_status_code == 401, e.response_status_code)


if __name__ == "__main__":
    step("graph: run", lambda: asyncio.run(main()))
    finish("msgraph-sdk")
