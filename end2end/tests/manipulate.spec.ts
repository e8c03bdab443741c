import { test, expect, signIn, Page, ANNA } from './fixtures';
import { USERS, phoneCreate, phoneCreateMeeting, storedEvent, storedMeeting, outbox, clearOutbox, injectFault, OUTLOOK_BODY } from './phone';
import { quietWeekday, zonedTime } from './dates';

// Creating and moving meetings by hand: click or drag over slots (F-CAL-8), drag, resize and
// arrow keys (F-X-10), the send-updates question and what the provider receives (F-EDIT-9,
// F-X-9), a move that leaves Outlook's HTML body alone at every provider, a refused move
// rolled back, undo.

const CUSTOMERS = ['lars@fjord.example', 'mette@fjord.example'];

// The day the tests work on: one without demo meetings, so a slot pointed at is empty and in
// view whatever weekday the suite runs on (a demo meeting or an all-day row there once made a
// click land on a meeting or below the screen).
const DAY = quietWeekday();

/** A time on DAY as Anna (Copenhagen) reads it. */
const at = (hour: number, minute = 0) => zonedTime(DAY, hour, minute);

/** Where a time of day is in a day column (the column spans 24 hours). */
async function slot(page: Page, column: string, hour: number, minute = 0) {
  const box = (await page.locator(column).boundingBox())!;
  return { x: box.x + box.width / 2, y: box.y + (box.height * (hour * 60 + minute)) / 1440 };
}

async function drag(page: Page, from: { x: number; y: number }, to: { x: number; y: number }) {
  await page.mouse.move(from.x, from.y);
  await page.mouse.down();
  await page.mouse.move(from.x, from.y + (to.y - from.y) / 2, { steps: 4 });
  await page.mouse.move(to.x, to.y, { steps: 4 });
  await page.mouse.up();
}

/** Drags a meeting by its middle down by `minutes` (one hour is 1/24 of the column). */
async function dragMeeting(page: Page, subject: string, minutes: number) {
  const ev = page.locator('.day-col:visible .event', { hasText: subject });
  await expect(ev).toBeVisible();
  const box = (await ev.boundingBox())!;
  const col = (await page.locator('.day-col').first().boundingBox())!;
  const from = { x: box.x + box.width / 2, y: box.y + Math.min(10, box.height / 2) };
  await drag(page, from, { x: from.x, y: from.y + (col.height * minutes) / 1440 });
}

/** The day view of DAY. */
async function openDay(page: Page, email = ANNA) {
  await signIn(page, email, undefined, `/calendar?view=day&date=${DAY}`);
  await expect(page.locator('body[data-live="open"]')).toHaveCount(1);
  await expect(page.locator('.timed[data-scrolled]')).toHaveCount(1);
}

test('a click on an empty slot opens the editor at that slot; a drag over slots with their range', { tag: '@smoke' }, async ({ page }) => {
  // F-CAL-8
  await openDay(page);
  const col = '.day-col';
  const [y, m, d] = DAY.split('-');
  // (Late afternoon: on screen at 1280 × 720.)
  const at = await slot(page, col, 17, 40);
  await page.mouse.click(at.x, at.y);
  const dialog = page.getByRole('dialog');
  await expect(dialog.getByRole('heading', { name: 'New meeting' })).toBeVisible();
  await expect(dialog.getByLabel('Date').first()).toHaveValue(`${d}/${m}/${y}`);
  await expect(dialog.getByLabel('Time').first()).toHaveValue('17:30');
  await expect(dialog.getByLabel('Time').last()).toHaveValue('18:00');
  await page.keyboard.press('Escape');
  await expect(dialog).toHaveCount(0);
  await drag(page, await slot(page, col, 17, 35), await slot(page, col, 18, 20));
  await expect(dialog.getByLabel('Time').first()).toHaveValue('17:30');
  await expect(dialog.getByLabel('Time').last()).toHaveValue('18:30');
  await dialog.getByLabel('Subject').fill('Drawn with the mouse');
  await dialog.getByRole('button', { name: 'Save', exact: true }).click();
  await expect(page.locator('.day-col:visible .event', { hasText: 'Drawn with the mouse' })).toContainText('17:30');
});

test('in the schedule view a click in a colleague’s lane books into that colleague’s calendar', async ({ page, server }) => {
  // F-CAL-8 (with F-EDIT-2's first step)
  await openDay(page);
  await page.getByRole('checkbox', { name: 'Ben Carter' }).check();
  await page.getByRole('navigation', { name: 'View' }).getByRole('link', { name: 'Schedule', exact: true }).click();
  await expect(page.locator('.schedule[data-scrolled]')).toHaveCount(1);
  const lane = page.locator('.lane', { hasText: 'Ben Carter' }).locator('.lane-track');
  const box = (await lane.boundingBox())!;
  await page.mouse.click(box.x + (box.width * 14.25) / 24, box.y + box.height - 8);
  const dialog = page.getByRole('dialog');
  await expect(dialog.getByLabel('Calendar')).toHaveValue(/[0-9a-f-]{36}/);
  await expect(dialog.getByLabel('Calendar').locator('option:checked')).toHaveText('Ben Carter');
  await expect(dialog.getByLabel('Time').first()).toHaveValue('14:00');
  await dialog.getByLabel('Subject').fill('Booked into Ben’s calendar');
  await dialog.getByRole('button', { name: 'Save', exact: true }).click();
  await expect.poll(async () => (await storedEvent(server.emulator, 'ben@nordlys.example', 'Booked into Ben’s calendar'))?.start ?? '').not.toBe('');
});

test('a meeting dragged into a colleague\u2019s lane in the schedule is booked for them once confirmed: organised by them, gone from the own calendar', async ({ page, server }) => {
  // F-EDIT-2
  const anna = USERS[0];
  await phoneCreate(server.emulator, anna, 'Handover call', at(11));
  await openDay(page);
  await expect(page.locator('.day-col:visible .event', { hasText: 'Handover call' })).toBeVisible({ timeout: 20_000 });
  await page.getByRole('checkbox', { name: 'Ben Carter' }).check();
  await page.getByRole('navigation', { name: 'View' }).getByRole('link', { name: 'Schedule', exact: true }).click();
  await expect(page.locator('.schedule[data-scrolled]')).toHaveCount(1);
  const own = page.locator('.lane').first();
  const ben = page.locator('.lane', { hasText: 'Ben Carter' });
  const handover = own.locator('.event', { hasText: 'Handover call' });
  const box = (await handover.boundingBox())!;
  const track = (await ben.locator('.lane-track').boundingBox())!;
  const into = { x: box.x + box.width / 2, y: track.y + track.height - 6 };

  // Cancelled: it stays where it was, nothing changes at the providers.
  await drag(page, { x: box.x + box.width / 2, y: box.y + box.height / 2 }, into);
  const dialog = page.getByRole('dialog', { name: 'Book it for Ben Carter?' });
  await expect(dialog).toContainText('It becomes a meeting in Ben Carter\u2019s calendar, organised by Ben Carter and booked by you, and leaves yours.');
  await dialog.getByRole('button', { name: 'Cancel' }).click();
  await expect(dialog).toHaveCount(0);
  await expect(handover).toBeVisible();
  await expect(ben.locator('.ghost')).toHaveCount(0);

  // Confirmed: in Ben's lane, gone from Anna's.
  await drag(page, { x: box.x + box.width / 2, y: box.y + box.height / 2 }, into);
  await dialog.getByRole('button', { name: 'Yes, book it' }).click();
  await expect(page.getByText('\u201cHandover call\u201d is now in Ben Carter\u2019s calendar, booked by you.')).toBeVisible();
  await expect(ben.locator('.event', { hasText: 'Handover call' })).toBeVisible();
  await expect(handover).toHaveCount(0);
  // At the providers: in Ben's Microsoft 365 calendar, organised by him, at the same time;
  // gone from Anna's Google calendar.
  await expect.poll(async () => (await storedMeeting(server.emulator, 'ben@nordlys.example', 'Handover call'))?.organizer ?? '', { timeout: 20_000 }).toBe('ben@nordlys.example');
  expect((await storedEvent(server.emulator, 'ben@nordlys.example', 'Handover call'))!.start).toBe(at(11).toISOString());
  await expect.poll(async () => (await storedEvent(server.emulator, anna.email, 'Handover call'))?.start ?? 'gone').toBe('gone');

  // One occurrence of a series stays in its series: Alt + down takes it nowhere (the arrow
  // after it still moves it in time, in Anna's lane).
  await phoneCreate(server.emulator, anna, 'Daily check-in', at(15), ['RRULE:FREQ=DAILY;COUNT=3']);
  const daily = own.locator('.event', { hasText: 'Daily check-in' });
  await expect(daily).toBeVisible({ timeout: 20_000 });
  await daily.focus();
  await page.keyboard.press('Alt+ArrowDown');
  await page.keyboard.press('ArrowDown');
  await expect(own.locator('.ghost')).toHaveCount(1);
  await expect(ben.locator('.ghost')).toHaveCount(0);
  await page.keyboard.press('Escape');
  await expect(own.locator('.ghost')).toHaveCount(0);

  // By keyboard, with attendees: Alt + down takes it into the lane below (Ben's), Enter
  // asks; told, the customers get Ben's invitation and Anna's cancellation.
  await phoneCreateMeeting(server.emulator, anna, 'Kick-off prep', at(13), CUSTOMERS);
  const prep = own.locator('.event', { hasText: 'Kick-off prep' });
  await expect(prep).toBeVisible({ timeout: 20_000 });
  await clearOutbox(server.emulator);
  await prep.focus();
  await page.keyboard.press('Alt+ArrowDown');
  await expect(ben.locator('.ghost')).toHaveCount(1);
  await page.keyboard.press('Alt+ArrowUp');
  await expect(ben.locator('.ghost')).toHaveCount(0);
  await expect(own.locator('.ghost')).toHaveCount(1);
  await page.keyboard.press('Alt+ArrowDown');
  await page.keyboard.press('Enter');
  const asked = page.getByRole('dialog', { name: 'Book it for Ben Carter?' });
  await expect(asked).toContainText('Send updates to the 2 attendees?');
  await expect(asked.getByRole('button', { name: 'Yes, send' })).toBeFocused();
  await page.keyboard.press('Enter');
  await expect(ben.locator('.event', { hasText: 'Kick-off prep' })).toBeVisible();
  await expect.poll(async () => (await storedMeeting(server.emulator, 'ben@nordlys.example', 'Kick-off prep'))?.organizer ?? '', { timeout: 20_000 }).toBe('ben@nordlys.example');
  await expect.poll(async () => (await storedEvent(server.emulator, anna.email, 'Kick-off prep'))?.start ?? 'gone').toBe('gone');
  await expect
    .poll(async () => (await outbox(server.emulator)).map((m) => `${m.kind} ${m.from} ${m.to}`).sort(), { timeout: 20_000 })
    .toEqual([...CUSTOMERS.map((c) => `cancel ${anna.email} ${c}`), ...CUSTOMERS.map((c) => `invite ben@nordlys.example ${c}`)].sort());
});

test('dragging a meeting without attendees moves it at once, at the provider too, and Undo puts it back', async ({ page, server }) => {
  // F-X-10
  const anna = USERS[0];
  await phoneCreate(server.emulator, anna, 'Pipeline call', at(11));
  await openDay(page);
  await dragMeeting(page, 'Pipeline call', 60);
  await expect(page.getByRole('dialog')).toHaveCount(0);
  await expect(page.locator('.banner', { hasText: 'Moved “Pipeline call”' })).toBeVisible();
  await expect.poll(async () => (await storedEvent(server.emulator, anna.email, 'Pipeline call'))!.start).toBe(at(12).toISOString());
  await page.getByRole('button', { name: 'Undo' }).click();
  await expect.poll(async () => (await storedEvent(server.emulator, anna.email, 'Pipeline call'))!.start).toBe(at(11).toISOString());
  expect(await outbox(server.emulator)).toEqual([]);
});

test('resizing by the lower edge changes only the end', async ({ page, server }) => {
  // F-X-10
  const anna = USERS[0];
  await phoneCreate(server.emulator, anna, 'Budget review', at(13));
  await openDay(page);
  const ev = page.locator('.day-col:visible .event', { hasText: 'Budget review' });
  await expect(ev).toBeVisible();
  const handle = (await ev.locator('.resize').boundingBox())!;
  const col = (await page.locator('.day-col').boundingBox())!;
  const from = { x: handle.x + handle.width / 2, y: handle.y + handle.height / 2 };
  await drag(page, from, { x: from.x, y: from.y + col.height / 48 });
  await expect(page.locator('.day-col:visible .event', { hasText: 'Budget review' })).toHaveAttribute('aria-label', /13:00 to 14:30/);
  await expect.poll(async () => (await storedEvent(server.emulator, anna.email, 'Budget review'))!.start).toBe(at(13).toISOString());
});

test('moving a meeting with attendees asks first, and the provider mails them only on “yes”', { tag: '@smoke' }, async ({ page, server }) => {
  // F-X-10, F-EDIT-9: cancel, no, yes — and by keyboard.
  const anna = USERS[0];
  await phoneCreateMeeting(server.emulator, anna, 'Offer review with Fjord', at(10), CUSTOMERS);
  await openDay(page);
  await clearOutbox(server.emulator);
  const question = page.getByRole('dialog');

  await dragMeeting(page, 'Offer review with Fjord', 60);
  await expect(question.getByText('Send updates to the 2 attendees?')).toBeVisible();
  await question.getByRole('button', { name: 'Cancel' }).click();
  await expect(question).toHaveCount(0);
  await expect(page.locator('.day-col:visible .event', { hasText: 'Offer review with Fjord' })).toHaveAttribute('aria-label', /10:00 to 11:00/);
  expect((await storedEvent(server.emulator, anna.email, 'Offer review with Fjord'))!.start).toBe(at(10).toISOString());

  await dragMeeting(page, 'Offer review with Fjord', 60);
  await question.getByRole('button', { name: 'No, don’t send' }).click();
  await expect.poll(async () => (await storedEvent(server.emulator, anna.email, 'Offer review with Fjord'))!.start).toBe(at(11).toISOString());
  expect(await outbox(server.emulator)).toEqual([]);

  // Keyboard: focus it, two quarters later, Enter, then "yes".
  const ev = page.locator('.day-col:visible .event', { hasText: 'Offer review with Fjord' });
  await expect(ev).toHaveAttribute('aria-label', /11:00 to 12:00/);
  await ev.focus();
  await page.keyboard.press('ArrowDown');
  await page.keyboard.press('ArrowDown');
  await expect(page.locator('.day-col .ghost')).toContainText('11:30 – 12:30');
  await page.keyboard.press('Enter');
  await question.getByRole('button', { name: 'Yes, send' }).click();
  await expect.poll(async () => (await storedEvent(server.emulator, anna.email, 'Offer review with Fjord'))!.start).toBe(at(11, 30).toISOString());
  await expect.poll(async () => (await outbox(server.emulator)).map((m) => `${m.kind} ${m.to}`).sort()).toEqual(CUSTOMERS.map((c) => `update ${c}`));
});

test('keyboard only: a new meeting from the plus button, then moved with the arrow keys', async ({ page }) => {
  // F-X-7, F-CAL-8, F-X-10
  await openDay(page);
  await page.getByRole('button', { name: 'New meeting' }).focus();
  await page.keyboard.press('Enter');
  const dialog = page.getByRole('dialog');
  await expect(dialog.getByLabel('Subject')).toBeFocused();
  await page.keyboard.type('Planned by keyboard');
  await dialog.getByLabel('Time').first().fill('20');
  await dialog.getByLabel('Time').first().press('Tab');
  // F-EDIT-5: the end moves with the start, keeping the hour the new meeting was given (late
  // in the evening that hour ran into the next day, and the end stayed there).
  await expect(dialog.getByLabel('Time').last()).toHaveValue('21:00');
  await expect(dialog.getByLabel('Date').last()).toHaveValue(await dialog.getByLabel('Date').first().inputValue());
  await dialog.getByLabel('Time').last().fill('2030');
  await dialog.getByLabel('Time').last().press('Tab');
  await dialog.getByLabel('Subject').press('Enter');
  const ev = page.locator('.day-col:visible .event', { hasText: 'Planned by keyboard' });
  await expect(ev).toHaveAttribute('aria-label', /20:00 to 20:30/);
  await ev.focus();
  await page.keyboard.press('Shift+ArrowDown');
  await page.keyboard.press('ArrowUp');
  await page.keyboard.press('Enter');
  await expect(ev).toHaveAttribute('aria-label', /19:45 to 20:30/);
});

test('a move the provider refuses goes back on screen with a message', async ({ page, server }) => {
  // F-X-10, F-EDIT-12
  const anna = USERS[0];
  await phoneCreate(server.emulator, anna, 'Fixed slot', at(11));
  await openDay(page);
  await injectFault(server.emulator, { provider: 'google', kind: 'status', status: 400, only: 'PATCH' });
  await dragMeeting(page, 'Fixed slot', 120);
  await expect(page.getByRole('alert').filter({ hasText: 'The calendar refused the move of “Fixed slot”' })).toBeVisible();
  await expect(page.locator('.day-col:visible .event', { hasText: 'Fixed slot' })).toHaveAttribute('aria-label', /11:00 to 12:00/);
  expect((await storedEvent(server.emulator, anna.email, 'Fixed slot'))!.start).toBe(at(11).toISOString());
});

for (const user of USERS) {
  test(`a move leaves an Outlook HTML body and its Teams link intact (${user.provider})`, async ({ page, server }) => {
    // F-X-10: only the times are written.
    const subject = `Customer visit (${user.provider})`;
    await phoneCreateMeeting(server.emulator, user, subject, at(15), [CUSTOMERS[0]]);
    await openDay(page, user.email);
    await clearOutbox(server.emulator);
    await dragMeeting(page, subject, 60);
    const question = page.getByRole('dialog');
    // Microsoft 365 tells attendees of every move, so it offers no "don't send".
    const quiet = question.getByRole('button', { name: 'No, don’t send' });
    if (user.provider === 'graph') {
      await expect(question.getByText('Microsoft 365 tells the 1 attendees of every move')).toBeVisible();
      await expect(quiet).toHaveCount(0);
      await question.getByRole('button', { name: 'Yes, send' }).click();
    } else {
      await quiet.click();
    }
    await expect.poll(async () => (await storedEvent(server.emulator, user.email, subject))!.start).toBe(at(16).toISOString());
    expect((await storedEvent(server.emulator, user.email, subject))!.body).toBe(OUTLOOK_BODY);
  });
}
