// "The phone": the demo users' own calendar apps, talking to the embedded provider emulator
// through each provider's real API with the owner's credentials (as Outlook or a phone would),
// plus the emulator's control API to read what the provider holds and mailed.

export type Provider = 'google' | 'graph' | 'ews';

export const USERS: { provider: Provider; email: string; name: string; zone: string }[] = [
  { provider: 'google', email: 'anna@nordlys.example', name: 'Anna Berg', zone: 'Europe/Copenhagen' },
  { provider: 'graph', email: 'ben@nordlys.example', name: 'Ben Carter', zone: 'Europe/London' },
  { provider: 'ews', email: 'carla@nordlys.example', name: 'Carla Diaz', zone: 'America/New_York' },
];

const PASSWORD = 'demo-calendar';

async function json(res: Response) {
  if (!res.ok) throw new Error(`${res.status} ${res.url}: ${await res.text()}`);
  const text = await res.text();
  return text ? JSON.parse(text) : null;
}

async function token(emu: string, email: string, provider: Provider): Promise<string> {
  const r = await json(await fetch(`${emu}/_emulator/tokens`, { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify({ email, provider }) }));
  return r.access_token;
}

function soap(body: string, impersonate?: string) {
  const header = impersonate
    ? `<soap:Header><t:RequestServerVersion Version="Exchange2013"/><t:ExchangeImpersonation><t:ConnectingSID><t:SmtpAddress>${impersonate}</t:SmtpAddress></t:ConnectingSID></t:ExchangeImpersonation></soap:Header>`
    : '<soap:Header><t:RequestServerVersion Version="Exchange2013"/></soap:Header>';
  return `<?xml version="1.0" encoding="utf-8"?><soap:Envelope xmlns:soap="http://schemas.xmlsoap.org/soap/envelope/" xmlns:t="http://schemas.microsoft.com/exchange/services/2006/types" xmlns:m="http://schemas.microsoft.com/exchange/services/2006/messages">${header}<soap:Body>${body}</soap:Body></soap:Envelope>`;
}

async function ews(emu: string, email: string, body: string): Promise<string> {
  const res = await fetch(`${emu}/ews/EWS/Exchange.asmx`, {
    method: 'POST',
    headers: { 'content-type': 'text/xml; charset=utf-8', authorization: 'Basic ' + Buffer.from(`${email}:${PASSWORD}`).toString('base64') },
    body: soap(body),
  });
  const text = await res.text();
  if (!res.ok || !text.includes('ResponseClass="Success"')) throw new Error(`EWS ${res.status}: ${text}`);
  return text;
}

/** Creates a one-hour event "from the phone" at `start` (UTC). Returns the provider's id.
 *  `recurrence` (RRULE lines; Google here) makes it a series starting then. */
export async function phoneCreate(emu: string, user: { provider: Provider; email: string }, subject: string, start: Date, recurrence: string[] = []): Promise<string> {
  const end = new Date(start.getTime() + 3600_000);
  const iso = (d: Date) => d.toISOString().replace(/\.\d{3}Z$/, 'Z');
  if (recurrence.length && user.provider !== 'google') throw new Error('phoneCreate: a series only through Google here');
  switch (user.provider) {
    case 'google': {
      const t = await token(emu, user.email, 'google');
      const when = (d: Date) => (recurrence.length ? { dateTime: iso(d), timeZone: 'UTC' } : { dateTime: iso(d) });
      const r = await json(await fetch(`${emu}/google/calendar/v3/calendars/primary/events?sendUpdates=none`, {
        method: 'POST',
        headers: { authorization: `Bearer ${t}`, 'content-type': 'application/json' },
        body: JSON.stringify({ summary: subject, start: when(start), end: when(end), ...(recurrence.length ? { recurrence } : {}) }),
      }));
      return r.id;
    }
    case 'graph': {
      const t = await token(emu, user.email, 'graph');
      const local = (d: Date) => iso(d).replace('Z', '');
      const r = await json(await fetch(`${emu}/graph/v1.0/me/events`, {
        method: 'POST',
        headers: { authorization: `Bearer ${t}`, 'content-type': 'application/json' },
        body: JSON.stringify({ subject, start: { dateTime: local(start), timeZone: 'UTC' }, end: { dateTime: local(end), timeZone: 'UTC' } }),
      }));
      return r.id;
    }
    case 'ews': {
      const text = await ews(emu, user.email, `<m:CreateItem SendMeetingInvitations="SendToNone"><m:SavedItemFolderId><t:DistinguishedFolderId Id="calendar"/></m:SavedItemFolderId><m:Items><t:CalendarItem><t:Subject>${subject}</t:Subject><t:Start>${iso(start)}</t:Start><t:End>${iso(end)}</t:End></t:CalendarItem></m:Items></m:CreateItem>`);
      return text.match(/ItemId Id="([^"]+)"/)![1];
    }
  }
}

/** Deletes an event (or occurrence) "from the phone" by its provider id. */
export async function phoneDelete(emu: string, user: { provider: Provider; email: string }, id: string) {
  switch (user.provider) {
    case 'google': {
      const t = await token(emu, user.email, 'google');
      const res = await fetch(`${emu}/google/calendar/v3/calendars/primary/events/${encodeURIComponent(id)}?sendUpdates=none`, { method: 'DELETE', headers: { authorization: `Bearer ${t}` } });
      if (!res.ok) throw new Error(`google delete ${res.status}`);
      return;
    }
    case 'graph': {
      const t = await token(emu, user.email, 'graph');
      const res = await fetch(`${emu}/graph/v1.0/me/events/${encodeURIComponent(id)}`, { method: 'DELETE', headers: { authorization: `Bearer ${t}` } });
      if (!res.ok) throw new Error(`graph delete ${res.status}`);
      return;
    }
    case 'ews':
      await ews(emu, user.email, `<m:DeleteItem DeleteType="MoveToDeletedItems" SendMeetingCancellations="SendToNone"><m:ItemIds><t:ItemId Id="${id}"/></m:ItemIds></m:DeleteItem>`);
  }
}

/** Renames "from the phone" the occurrence called `seriesSubject` between `start` and `end`. */
export async function phoneRenameOccurrence(emu: string, user: { provider: Provider; email: string }, seriesSubject: string, start: Date, end: Date, subject: string) {
  const from = start.toISOString().replace(/\.\d{3}Z$/, 'Z');
  const to = end.toISOString().replace(/\.\d{3}Z$/, 'Z');
  switch (user.provider) {
    case 'google': {
      const t = await token(emu, user.email, 'google');
      const list = await json(await fetch(`${emu}/google/calendar/v3/calendars/primary/events?singleEvents=true&timeMin=${from}&timeMax=${to}`, { headers: { authorization: `Bearer ${t}` } }));
      const inst = list.items.find((e: any) => e.summary === seriesSubject);
      await json(await fetch(`${emu}/google/calendar/v3/calendars/primary/events/${encodeURIComponent(inst.id)}?sendUpdates=none`, {
        method: 'PATCH', headers: { authorization: `Bearer ${t}`, 'content-type': 'application/json' }, body: JSON.stringify({ summary: subject }),
      }));
      return;
    }
    case 'graph': {
      const t = await token(emu, user.email, 'graph');
      const list = await json(await fetch(`${emu}/graph/v1.0/me/calendarView?startDateTime=${from}&endDateTime=${to}`, { headers: { authorization: `Bearer ${t}` } }));
      const inst = list.value.find((e: any) => e.subject === seriesSubject);
      await json(await fetch(`${emu}/graph/v1.0/me/events/${encodeURIComponent(inst.id)}`, {
        method: 'PATCH', headers: { authorization: `Bearer ${t}`, 'content-type': 'application/json' }, body: JSON.stringify({ subject }),
      }));
      return;
    }
    case 'ews': {
      const found = await ews(emu, user.email, `<m:FindItem Traversal="Shallow"><m:ItemShape><t:BaseShape>IdOnly</t:BaseShape><t:AdditionalProperties><t:FieldURI FieldURI="item:Subject"/></t:AdditionalProperties></m:ItemShape><m:CalendarView StartDate="${from}" EndDate="${to}"/><m:ParentFolderIds><t:DistinguishedFolderId Id="calendar"/></m:ParentFolderIds></m:FindItem>`);
      const items = [...found.matchAll(/<t:CalendarItem>(.*?)<\/t:CalendarItem>/gs)].map((m) => m[1]);
      const item = items.find((i) => i.includes(`<t:Subject>${seriesSubject}</t:Subject>`))!;
      const m = item.match(/ItemId Id="([^"]+)" ChangeKey="([^"]+)"/)!;
      await ews(emu, user.email, `<m:UpdateItem ConflictResolution="AlwaysOverwrite" SendMeetingInvitationsOrCancellations="SendToNone"><m:ItemChanges><t:ItemChange><t:ItemId Id="${m[1]}" ChangeKey="${m[2]}"/><t:Updates><t:SetItemField><t:FieldURI FieldURI="item:Subject"/><t:CalendarItem><t:Subject>${subject}</t:Subject></t:CalendarItem></t:SetItemField></t:Updates></t:ItemChange></m:ItemChanges></m:UpdateItem>`);
    }
  }
}

/** The mailbox's events as the provider stores them (subjects of events and changed occurrences, CRM ids). */
export async function stored(emu: string, email: string): Promise<{ subjects: string[]; crmIds: Record<string, string> }> {
  const r = await json(await fetch(`${emu}/_emulator/mailboxes/${encodeURIComponent(email)}/events`));
  const subjects: string[] = [];
  const crmIds: Record<string, string> = {};
  for (const e of r.events) {
    if (e.cancelled) continue;
    subjects.push(e.fields.subject);
    if (e.private_props?.crmId) crmIds[e.fields.subject] = e.private_props.crmId;
    for (const o of Object.values(e.overrides ?? {}) as any[]) {
      if (o.Changed) subjects.push(o.Changed.fields.subject);
    }
  }
  return { subjects, crmIds };
}

export async function outbox(emu: string): Promise<{ kind: string; from: string; to: string; subject: string }[]> {
  return (await json(await fetch(`${emu}/_emulator/outbox`))).messages;
}

/** An Outlook-style body: HTML with a Teams link, which the CRM does not model. */
export const OUTLOOK_BODY = '<html><body><p>Agenda: <b>pricing</b></p><p><a href="https://teams.microsoft.com/l/meetup-join/19%3ameeting_NzQ%40thread.v2/0">Join Microsoft Teams Meeting</a></p></body></html>';

/** Creates "from Outlook / the phone" a one-hour meeting with an HTML body and attendees. */
export async function phoneCreateMeeting(emu: string, user: { provider: Provider; email: string }, subject: string, start: Date, attendees: string[], html = OUTLOOK_BODY): Promise<void> {
  const end = new Date(start.getTime() + 3600_000);
  const iso = (d: Date) => d.toISOString().replace(/\.\d{3}Z$/, 'Z');
  switch (user.provider) {
    case 'google': {
      const t = await token(emu, user.email, 'google');
      await json(await fetch(`${emu}/google/calendar/v3/calendars/primary/events?sendUpdates=none`, {
        method: 'POST',
        headers: { authorization: `Bearer ${t}`, 'content-type': 'application/json' },
        body: JSON.stringify({ summary: subject, description: html, start: { dateTime: iso(start) }, end: { dateTime: iso(end) }, attendees: attendees.map((email) => ({ email })) }),
      }));
      return;
    }
    case 'graph': {
      const t = await token(emu, user.email, 'graph');
      const local = (d: Date) => iso(d).replace('Z', '');
      await json(await fetch(`${emu}/graph/v1.0/me/events`, {
        method: 'POST',
        headers: { authorization: `Bearer ${t}`, 'content-type': 'application/json' },
        body: JSON.stringify({
          subject,
          body: { contentType: 'html', content: html },
          start: { dateTime: local(start), timeZone: 'UTC' },
          end: { dateTime: local(end), timeZone: 'UTC' },
          attendees: attendees.map((address) => ({ emailAddress: { address }, type: 'required' })),
        }),
      }));
      return;
    }
    case 'ews': {
      const people = attendees.map((a) => `<t:Attendee><t:Mailbox><t:EmailAddress>${a}</t:EmailAddress></t:Mailbox></t:Attendee>`).join('');
      const body = html.replace(/&/g, '&amp;').replace(/</g, '&lt;').replace(/>/g, '&gt;');
      await ews(emu, user.email, `<m:CreateItem SendMeetingInvitations="SendToNone"><m:SavedItemFolderId><t:DistinguishedFolderId Id="calendar"/></m:SavedItemFolderId><m:Items><t:CalendarItem><t:Subject>${subject}</t:Subject><t:Body BodyType="HTML">${body}</t:Body><t:Start>${iso(start)}</t:Start><t:End>${iso(end)}</t:End><t:RequiredAttendees>${people}</t:RequiredAttendees></t:CalendarItem></m:Items></m:CreateItem>`);
    }
  }
}

/** The event called `subject` in the mailbox as the provider stores it: its body and start. */
export async function storedEvent(emu: string, email: string, subject: string): Promise<{ body: string; start: string } | undefined> {
  const r = await json(await fetch(`${emu}/_emulator/mailboxes/${encodeURIComponent(email)}/events`));
  const e = r.events.find((e: any) => e.fields.subject === subject && !e.cancelled);
  if (!e) return undefined;
  const start = e.fields.start.at ?? e.fields.start.date;
  return { body: e.fields.body, start: new Date(start).toISOString() };
}

export async function clearOutbox(emu: string) {
  await fetch(`${emu}/_emulator/outbox`, { method: 'DELETE' });
}

export async function injectFault(emu: string, fault: object) {
  const res = await fetch(`${emu}/_emulator/faults`, { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify(fault) });
  if (res.status !== 201) throw new Error(`fault: ${res.status} ${await res.text()}`);
}

/** The event with this subject as the provider holds it in the mailbox: its id, organiser,
 *  attendees with their answers, and its times (an instant, or a date for all-day ones). */
export async function storedMeeting(emu: string, email: string, subject: string): Promise<{ id: string; organizer: string; attendees: { email: string; response: string }[]; start: { at?: string; date?: string }; end: { at?: string; date?: string }; timeZone: string } | undefined> {
  const r = await json(await fetch(`${emu}/_emulator/mailboxes/${encodeURIComponent(email)}/events`));
  const e = r.events.find((e: any) => e.fields.subject === subject && !e.cancelled);
  if (!e) return undefined;
  return {
    id: e.id,
    organizer: e.organizer.email,
    attendees: e.fields.attendees.map((a: any) => ({ email: a.email, response: a.response })),
    start: e.fields.start,
    end: e.fields.end,
    timeZone: e.fields.time_zone,
  };
}

/** An attendee answers the invitation; the answer reaches the organiser's event. */
export async function reply(emu: string, organiser: string, eventId: string, attendee: string, response: 'accepted' | 'tentative' | 'declined') {
  const res = await fetch(`${emu}/_emulator/mailboxes/${encodeURIComponent(organiser)}/events/${encodeURIComponent(eventId)}/replies`, {
    method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify({ attendee, response }),
  });
  if (res.status !== 204) throw new Error(`reply: ${res.status} ${await res.text()}`);
}
