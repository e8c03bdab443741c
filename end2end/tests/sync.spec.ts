import { test, expect, signIn, Page } from './fixtures';
import { USERS, phoneCreate, phoneDelete, phoneRenameOccurrence, stored, outbox } from './phone';
import { addDays, todayIn, zonedTime } from './dates';

// Two-way sync in the browser, for each provider of the demo: Anna on Google, Ben on
// Microsoft 365 (Graph), Carla on Exchange (EWS). The provider side is the embedded emulator,
// driven through each provider's own API as the user's phone would.
// F-CAL-1, F-CAL-2, F-CAL-9, F-EDIT-9, F-EDIT-11, F-X-2, F-X-3.

/** Signs in and waits until the first sync is done and live updates are connected. */
async function open(page: Page, email: string) {
  await signIn(page, email);
  await expect(page.locator('.sync-state')).toHaveAttribute('data-sync-state', 'ok', { timeout: 20_000 });
  await expect(page.locator('body[data-live="open"]')).toHaveCount(1);
  await page.evaluate(() => ((window as any).__noReload = 'still here'));
}

async function stillSamePage(page: Page) {
  expect(await page.evaluate(() => (window as any).__noReload)).toBe('still here');
}

/** A time today as a demo user sees it (Anna in Copenhagen unless another zone is given): on
 *  the page's today, whatever the hour the test runs at — near midnight Copenhagen's today is
 *  already Ben's tomorrow in London, on a Sunday in the week after the one his page shows. */
function todayAt(hour: number, zone = 'Europe/Copenhagen'): Date {
  return zonedTime(todayIn(zone), hour, 0, zone);
}

async function newMeeting(page: Page, subject: string, attendees: string) {
  await page.getByRole('button', { name: 'New meeting' }).click();
  const dialog = page.getByRole('dialog');
  await dialog.getByLabel('Subject').fill(subject);
  // External guests: an address that matches no one, added from the persons box (F-EDIT-1).
  for (const address of attendees.split(',').map((a) => a.trim()).filter(Boolean)) {
    const box = dialog.getByRole('combobox', { name: 'Persons' });
    await box.fill(address);
    await expect(dialog.locator('#f-persons-list').getByRole('option', { name: `Add guest ${address}` })).toBeVisible();
    await box.press('Enter');
    await expect(dialog.getByRole('listitem').filter({ hasText: address })).toBeVisible();
  }
  return dialog;
}

const CUSTOMERS = ['lars@fjord.example', 'mette@fjord.example'];

for (const user of USERS) {
  test.describe(`${user.provider} (${user.name})`, () => {
    test('an event made on the phone appears in the open calendar without a reload, and its deletion too', async ({ page, server }) => {
      await open(page, user.email);
      const subject = `Call from the car ${user.provider}`;
      const id = await phoneCreate(server.emulator, user, subject, todayAt(12, user.zone));
      const event = page.locator('main.calendar .event:visible', { hasText: subject });
      await expect(event).toBeVisible();
      await phoneDelete(server.emulator, user, id);
      await expect(event).toHaveCount(0);
      await stillSamePage(page);
      await expect(page.locator('.sync-state')).toHaveAttribute('data-sync-state', 'ok');
    });

    test('a CRM meeting reaches the calendar with its CRM id; Save mails no one, Save and send mails each attendee once', async ({ page, server }) => {
      await open(page, user.email);
      const subject = `Pricing with Fjord (${user.provider})`;
      const dialog = await newMeeting(page, subject, CUSTOMERS.join(', '));
      await expect(dialog.getByText('the attendees hear nothing')).toBeVisible();
      await dialog.getByRole('button', { name: 'Save', exact: true }).click();
      await expect(dialog).toHaveCount(0);
      await expect(page.locator('main.calendar .event:visible', { hasText: subject })).toBeVisible();
      await expect.poll(async () => (await stored(server.emulator, user.email)).crmIds[subject] ?? '').not.toBe('');
      expect(await outbox(server.emulator)).toEqual([]);

      const renamed = `${subject} – final offer`;
      await page.locator('main.calendar .event:visible', { hasText: subject }).click();
      const edit = page.getByRole('dialog');
      await expect(edit.getByLabel('Subject')).toHaveValue(subject);
      await edit.getByLabel('Subject').fill(renamed);
      await edit.getByRole('button', { name: 'Save and send invitations' }).click();
      await expect(edit).toHaveCount(0);
      await expect.poll(async () => (await stored(server.emulator, user.email)).subjects).toContain(renamed);
      await expect.poll(async () => (await outbox(server.emulator)).length).toBe(CUSTOMERS.length);
      const sent = await outbox(server.emulator);
      expect(sent.map((m) => m.to).sort()).toEqual(CUSTOMERS);
      expect(sent.every((m) => m.kind === 'invite' || m.kind === 'update')).toBe(true);
      await stillSamePage(page);
    });

    test('deleting in the CRM with cancellations removes it from the calendar and tells the attendee', async ({ page, server }) => {
      await open(page, user.email);
      const subject = `Site visit (${user.provider})`;
      const dialog = await newMeeting(page, subject, CUSTOMERS[0]);
      await dialog.getByRole('button', { name: 'Save and send invitations' }).click();
      await expect.poll(async () => (await stored(server.emulator, user.email)).subjects).toContain(subject);
      await expect.poll(async () => (await outbox(server.emulator)).map((m) => m.kind)).toEqual(['invite']);

      await page.locator('main.calendar .event:visible', { hasText: subject }).click();
      await page.getByRole('dialog').getByRole('button', { name: 'Delete and send cancellations' }).click();
      await expect(page.locator('main.calendar .event:visible', { hasText: subject })).toHaveCount(0);
      await expect.poll(async () => (await stored(server.emulator, user.email)).subjects).not.toContain(subject);
      await expect.poll(async () => (await outbox(server.emulator)).map((m) => `${m.kind} ${m.to}`)).toEqual(['invite ' + CUSTOMERS[0], 'cancel ' + CUSTOMERS[0]]);
    });

    test('an occurrence of a recurring meeting changed in the CRM changes at the provider, and back', async ({ page, server }) => {
      // The demo series: "Weekly team call", Mondays, from last week; this week's is unchanged.
      const today = todayIn();
      const mondayText = addDays(today, -((new Date(`${today}T12:00:00Z`).getUTCDay() + 6) % 7));
      const monday = new Date(`${mondayText}T00:00:00Z`);
      await open(page, user.email);
      await page.getByLabel('Go to date').fill(mondayText);
      await page.getByLabel('Go to date').press('Enter');
      await expect(page.locator('main.calendar')).toHaveAttribute('data-date', mondayText);
      const occurrence = page.locator('main.calendar .event:visible', { hasText: 'Weekly team call' }).first();
      await occurrence.click();
      const edit = page.getByRole('dialog');
      await expect(edit.getByText('one occurrence of a recurring meeting')).toBeVisible();
      const crmName = `Weekly team call – pricing (${user.provider})`;
      await edit.getByLabel('Subject').fill(crmName);
      await edit.getByRole('button', { name: 'Save', exact: true }).click();
      await expect.poll(async () => (await stored(server.emulator, user.email)).subjects).toContain(crmName);
      const subjects = (await stored(server.emulator, user.email)).subjects;
      expect(subjects.filter((s) => s === 'Weekly team call').length, 'the series itself is unchanged').toBe(1);

      const phoneName = `Weekly team call – cancelled agenda (${user.provider})`;
      const from = new Date(monday.getTime() - 86400_000);
      const to = new Date(monday.getTime() + 8 * 86400_000);
      await phoneRenameOccurrence(server.emulator, user, crmName, from, to, phoneName);
      await expect(page.locator('main.calendar .event:visible', { hasText: phoneName })).toBeVisible();
      await stillSamePage(page);
      expect(await outbox(server.emulator)).toEqual([]);
    });
  });
}

test('another user\'s private meeting stays "Busy" when it arrives live', async ({ page, server }) => {
  // F-CAL-10: Ben's private appointment made on his phone reaches Anna's view of his calendar
  // as a busy block, with no subject in the page.
  const ben = USERS[1];
  await signIn(page);
  await page.getByRole('checkbox', { name: 'Ben Carter' }).check();
  await expect(page).toHaveURL(/users=/);
  await expect(page.locator('.sync-state')).toHaveAttribute('data-sync-state', 'ok', { timeout: 20_000 });
  await expect(page.locator('body[data-live="open"]')).toHaveCount(1);
  // Ben's week is on the page (his weekly contract review is in every week of the demo).
  await expect(page.locator('main.calendar .event:visible', { hasText: 'Contract review with Helios' })).toBeVisible();
  const before = await page.locator('main.calendar .event.busy').count();
  const token = await (await fetch(`${server.emulator}/_emulator/tokens`, { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify({ email: ben.email, provider: 'graph' }) })).json();
  const start = todayAt(15).toISOString().replace(/\.\d{3}Z$/, '');
  const end = todayAt(16).toISOString().replace(/\.\d{3}Z$/, '');
  const res = await fetch(`${server.emulator}/graph/v1.0/me/events`, {
    method: 'POST',
    headers: { authorization: `Bearer ${token.access_token}`, 'content-type': 'application/json' },
    body: JSON.stringify({ subject: 'Therapy session', sensitivity: 'private', start: { dateTime: start, timeZone: 'UTC' }, end: { dateTime: end, timeZone: 'UTC' } }),
  });
  expect(res.ok).toBe(true);
  await expect(page.locator('main.calendar .event.busy')).toHaveCount(before + 1);
  expect(await page.content()).not.toContain('Therapy session');
});

test('a failing sync says why in the indicator, and Refresh tries again', async ({ page, server }) => {
  // F-CAL-2, F-CAL-3: Google answers 503 for a while; the user sees it, and Refresh recovers.
  await open(page, USERS[0].email);
  const faults = `${server.emulator}/_emulator/faults`;
  const post = await fetch(faults, { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify({ provider: 'google', kind: 'status', status: 503, count: 50 }) });
  expect(post.status).toBe(201);
  await page.getByRole('button', { name: 'Refresh' }).click();
  const state = page.locator('.sync-state');
  await expect(state).toHaveAttribute('data-sync-state', 'failed');
  await expect(state).toContainText('Sync failed');
  await expect(state).toContainText('retrying');
  await fetch(faults, { method: 'DELETE' });
  await page.getByRole('button', { name: 'Refresh' }).click();
  await expect(state).toHaveAttribute('data-sync-state', 'ok');
  await stillSamePage(page);
});

test('a change made on the phone just before the page loads is not missed, however late the live connection opens', { tag: '@smoke' }, async ({ page, server }) => {
  // F-CAL-1, F-X-2: the load-time sync can finish before the page's live connection opens;
  // the page must still show what it brought in (and the indicator must not stay on "Syncing…").
  const anna = USERS[0];
  await open(page, anna.email);
  // Hold the live connection back until the load-time sync has landed.
  let release!: () => void;
  const held = new Promise<void>((r) => (release = r));
  await page.route('**/api/live', async (route) => {
    await held;
    await route.continue();
  });
  await page.reload();
  await expect(page.locator('body[data-hydrated="true"]')).toHaveCount(1);
  // Made on the phone after the page was rendered, before its live connection opened.
  const subject = 'Booked on the phone a moment ago';
  await phoneCreate(server.emulator, anna, subject, todayAt(13));
  // The server has it now; the page, rendered before, not yet.
  await expect.poll(async () => (await (await page.request.post('/api/calendar', { data: { view: 'day' } })).text()).includes(subject)).toBe(true);
  release();
  await expect(page.locator('body[data-live="open"]')).toHaveCount(1);
  await expect(page.locator('main.calendar .event:visible', { hasText: subject })).toBeVisible();
  await expect(page.locator('.sync-state')).toHaveAttribute('data-sync-state', 'ok');
});
