import { test, expect, signIn, accessible, Page } from './fixtures';
import { USERS, stored, storedMeeting, storedEvent, reply, phoneCreateMeeting } from './phone';
import { addDays, quietWeekday, todayIn, zonedTime } from './dates';

// The meeting editor, part 1 — people and time. Each provider of the demo: Anna on Google,
// Ben on Microsoft 365 (Graph), Carla on Exchange (EWS); the provider is the embedded emulator.
// F-EDIT-1, F-EDIT-2, F-EDIT-3, F-EDIT-4, F-EDIT-5, F-EDIT-6, F-X-1, F-X-8, F-X-13, F-X-15, F-CAL-10.

async function open(page: Page, email: string) {
  await signIn(page, email);
  await expect(page.locator('.sync-state')).toHaveAttribute('data-sync-state', 'ok', { timeout: 20_000 });
  await expect(page.locator('body[data-live="open"]')).toHaveCount(1);
}

async function newMeeting(page: Page, subject: string) {
  await page.getByRole('button', { name: 'New meeting' }).click();
  const dialog = page.getByRole('dialog');
  await expect(dialog.getByLabel('Subject')).toBeFocused();
  await dialog.getByLabel('Subject').fill(subject);
  return dialog;
}

/** Types into one of the editor's three boxes and picks the option named `option`. */
async function choose(page: Page, box: 'Organisations' | 'Persons' | 'Colleagues', typed: string, option: string | RegExp) {
  const dialog = page.getByRole('dialog');
  const input = dialog.getByRole('combobox', { name: box });
  await input.fill(typed);
  const list = dialog.locator(`#${await input.getAttribute('aria-controls')}`);
  const wanted = list.getByRole('option', { name: option });
  await expect(wanted).toBeVisible();
  // Keyboard, as the combobox pattern has it: down to the option, Enter.
  const options = list.getByRole('option');
  const names = await options.allTextContents();
  const index = names.findIndex((n) => (typeof option === 'string' ? n.includes(option) : option.test(n)));
  for (let i = 0; i < index; i++) await input.press('ArrowDown');
  await input.press('Enter');
  await expect(input).toHaveValue('');
}

async function setDay(page: Page, part: 'Starts' | 'Ends', day: string, time?: string) {
  const group = page.getByRole('dialog').getByRole('group', { name: part });
  await group.getByLabel('Date').fill(day);
  await group.getByLabel('Date').press('Tab');
  if (time) {
    await group.getByLabel('Time').fill(time);
    await group.getByLabel('Time').press('Tab');
  }
}

const COLLEAGUE: Record<string, { name: string; email: string }> = {
  'anna@nordlys.example': { name: 'Ben Carter', email: 'ben@nordlys.example' },
  'ben@nordlys.example': { name: 'Carla Diaz', email: 'carla@nordlys.example' },
  'carla@nordlys.example': { name: 'Anna Berg', email: 'anna@nordlys.example' },
};

for (const user of USERS) {
  test.describe(`${user.provider} (${user.name})`, () => {
    test('organisations, persons and colleagues chosen by type-ahead become the event\'s attendees; their answers show beside them', async ({ page, server }) => {
      await open(page, user.email);
      const subject = `Fjord pricing (${user.provider})`;
      const colleague = COLLEAGUE[user.email];
      await newMeeting(page, subject);
      await choose(page, 'Organisations', 'fjo', 'Fjord Logistics A/S');
      // Persons of the chosen organisation come first; the search folds case and accents.
      await page.getByRole('dialog').getByRole('combobox', { name: 'Persons' }).fill('i');
      await expect(page.getByRole('dialog').locator('#f-persons-list').getByRole('option').first()).toContainText('Ida Lund');
      await choose(page, 'Persons', 'IDA', 'Ida Lund');
      await choose(page, 'Colleagues', colleague.name.split(' ')[0].toLowerCase(), colleague.name);
      await page.getByRole('dialog').getByRole('button', { name: 'Save and send invitations' }).click();
      await expect(page.getByRole('dialog')).toHaveCount(0);

      // At the provider: the persons' and colleagues' addresses, the organisation nowhere.
      await expect.poll(async () => (await storedMeeting(server.emulator, user.email, subject))?.attendees.map((a) => a.email).sort() ?? []).toEqual(
        expect.arrayContaining(['ida@fjord-logistics.example', colleague.email]),
      );
      const event = (await storedMeeting(server.emulator, user.email, subject))!;
      expect(event.organizer).toBe(user.email);
      expect(JSON.stringify(event)).not.toContain('Fjord Logistics A/S');

      // Ida accepts; her answer reaches the CRM and shows beside her.
      await reply(server.emulator, user.email, event.id, 'ida@fjord-logistics.example', 'accepted');
      const crmId = (await stored(server.emulator, user.email)).crmIds[subject];
      await expect.poll(async () => {
        const form = await (await page.request.post('/api/meeting', { data: { id: crmId } })).json();
        return form.persons?.[0]?.answer;
      }, { timeout: 20_000 }).toBe('Accepted');
      await page.locator('main.calendar .event:visible', { hasText: subject }).click();
      const dialog = page.getByRole('dialog');
      const ida = dialog.getByRole('listitem').filter({ hasText: 'Ida Lund' });
      await expect(ida).toContainText('accepted');
      await expect(ida).toContainText('Fjord Logistics A/S');
      await expect(dialog.getByRole('listitem').filter({ hasText: colleague.name })).toContainText('no answer yet');
      await expect(dialog.getByRole('listitem').filter({ hasText: 'Fjord Logistics A/S' }).first()).toBeVisible();
      await expect(dialog.getByRole('button', { name: 'Remove Ida Lund' })).toBeVisible();
    });

    test('all-day, multi-day and timed meetings reach the provider as dates with an exclusive end, or in the user\'s zone', async ({ page, server }) => {
      await open(page, user.email);
      const day = quietWeekday();
      // All day over two days: date-only, the end the day after the last.
      await newMeeting(page, `Trade fair (${user.provider})`);
      await page.getByRole('dialog').getByLabel('All day').check();
      await setDay(page, 'Starts', day);
      await setDay(page, 'Ends', addDays(day, 1));
      await page.getByRole('dialog').getByRole('button', { name: 'Save', exact: true }).click();
      await expect(page.getByRole('dialog')).toHaveCount(0);
      await expect.poll(async () => (await storedMeeting(server.emulator, user.email, `Trade fair (${user.provider})`))?.start ?? null).toEqual({ date: day });
      expect((await storedMeeting(server.emulator, user.email, `Trade fair (${user.provider})`))!.end).toEqual({ date: addDays(day, 2) });

      // Timed over midnight, entered on the user's clock: the instants, in the user's zone.
      await newMeeting(page, `Night shift (${user.provider})`);
      await setDay(page, 'Starts', day, '22:00');
      await setDay(page, 'Ends', addDays(day, 1), '02:30');
      await page.getByRole('dialog').getByRole('button', { name: 'Save', exact: true }).click();
      await expect(page.getByRole('dialog')).toHaveCount(0);
      await expect.poll(async () => (await storedMeeting(server.emulator, user.email, `Night shift (${user.provider})`))?.timeZone ?? '').toBe(user.zone);
      const night = (await storedMeeting(server.emulator, user.email, `Night shift (${user.provider})`))!;
      expect(new Date(night.start.at!).toISOString()).toBe(zonedTime(day, 22, 0, user.zone).toISOString());
      expect(new Date(night.end.at!).toISOString()).toBe(zonedTime(addDays(day, 1), 2, 30, user.zone).toISOString());
    });
  });
}

for (const target of USERS) {
  test(`booking on behalf of ${target.name} (${target.provider}) puts the meeting in their calendar as organiser, records the booker and leaves them out`, async ({ page, server }) => {
    // F-EDIT-2
    const booker = USERS.find((u) => u.email !== target.email)!;
    await open(page, booker.email);
    const subject = `Booked for ${target.name}`;
    const dialog = await newMeeting(page, subject);
    await dialog.getByLabel('Calendar (book on behalf of)').selectOption({ label: target.name });
    await choose(page, 'Persons', 'lena', 'Lena Vogel');
    await dialog.getByRole('button', { name: 'Save and send invitations' }).click();
    await expect(dialog).toHaveCount(0);
    await expect.poll(async () => (await storedMeeting(server.emulator, target.email, subject))?.organizer ?? '').toBe(target.email);
    const event = (await storedMeeting(server.emulator, target.email, subject))!;
    expect(event.attendees.map((a) => a.email)).toContain('lena@helios.example');
    expect(event.attendees.map((a) => a.email)).not.toContain(booker.email);
    expect(await storedMeeting(server.emulator, booker.email, subject)).toBeUndefined();
    // The booker may still change it, and the editor says who booked it.
    const crmId = (await stored(server.emulator, target.email)).crmIds[subject];
    const form = await (await page.request.post('/api/meeting', { data: { id: crmId } })).json();
    expect(form.access).toBe('Full');
    expect(form.booked_by).toBe(booker.name);
    expect(form.organiser).toBe(target.name);
  });
}

test('the side panel shows each colleague\'s day with private meetings as Busy, flags overlaps, moves the meeting on a click, and finds free times', async ({ page }) => {
  // F-EDIT-4, F-X-8, F-X-15, F-CAL-10: Anna books with Ben on the Wednesday of this week, where
  // Ben has his contract review (14:00 London = 15:00 Copenhagen) and a private appointment.
  await open(page, USERS[0].email);
  const today = todayIn();
  const weekday = (new Date(`${today}T12:00:00Z`).getUTCDay() + 6) % 7;
  const wednesday = addDays(today, 2 - weekday);
  const dialog = await newMeeting(page, 'Planning with Ben');
  await setDay(page, 'Starts', wednesday, '09:00');
  await choose(page, 'Colleagues', 'ben', 'Ben Carter');
  const panel = dialog.getByRole('region', { name: 'Who is free' });
  await expect(panel).toBeVisible();
  await expect(panel.getByText('Contract review with Helios')).toBeVisible();
  await expect(panel.getByText('Busy').first()).toBeVisible();
  await expect(panel).not.toContainText("Doctor's appointment");
  await expect(panel.getByText(/synced (just now|\d+ min ago)/).first()).toBeVisible();
  await accessible(page, 'editor with the side panel');

  // A click on 15:00 moves the meeting there, keeping its hour; it now overlaps Ben's review.
  await panel.getByRole('button', { name: 'Move the meeting to 15:00' }).click();
  await expect(dialog.getByRole('group', { name: 'Starts' }).getByLabel('Time')).toHaveValue('15:00');
  await expect(dialog.getByRole('group', { name: 'Ends' }).getByLabel('Time')).toHaveValue('16:00');
  await expect(dialog.getByText('Overlaps with: Ben Carter (Contract review with Helios)')).toBeVisible();

  // Find a time: at least five times when both are free within their working hours.
  await panel.getByRole('button', { name: 'Find a time' }).click();
  const slots = panel.getByRole('button', { name: /–/ });
  await expect(slots.first()).toBeVisible();
  expect(await slots.count()).toBeGreaterThanOrEqual(5);
  await expect(panel.getByText(/Anna Berg: synced/)).toBeVisible();
  await slots.first().click();
  await expect(dialog.getByText(/Overlaps with/)).toHaveCount(0);
});

test('an attendee changes only what the CRM owns; a private meeting booked in the CRM is Busy in a colleague\'s browser, live', async ({ page, browser }) => {
  // F-X-1: Carla attends Anna's stand-up: she may link it to an organisation, not change it.
  await open(page, 'carla@nordlys.example');
  await page.locator('main.calendar .event:visible', { hasText: 'Weekly sales stand-up' }).first().click();
  const dialog = page.getByRole('dialog');
  await expect(dialog.getByText('You attend this meeting')).toBeVisible();
  await expect(dialog.getByLabel('Subject')).toBeDisabled();
  await expect(dialog.getByRole('button', { name: 'Save and send invitations' })).toHaveCount(0);
  await choose(page, 'Organisations', 'helios', 'Helios Energy GmbH');
  await dialog.getByRole('button', { name: 'Save', exact: true }).click();
  await expect(dialog).toHaveCount(0);
  await page.locator('main.calendar .event:visible', { hasText: 'Weekly sales stand-up' }).first().click();
  await expect(page.getByRole('dialog').getByRole('listitem').filter({ hasText: 'Helios Energy GmbH' })).toBeVisible();
  await page.getByRole('dialog').getByRole('button', { name: 'Cancel' }).click();

  // F-CAL-10: Ben books a private meeting in the CRM; Anna, showing his calendar, sees Busy.
  // (Three browsers at once: each signs in and opens its live stream.)
  test.slow();
  const annaContext = await browser.newContext();
  const benContext = await browser.newContext();
  const anna = await annaContext.newPage();
  await signIn(anna);
  await anna.getByRole('checkbox', { name: 'Ben Carter' }).check();
  await expect(anna.locator('body[data-live="open"]')).toHaveCount(1);
  await expect(anna.locator('main.calendar .event:visible', { hasText: 'Contract review with Helios' })).toBeVisible();
  const busyBefore = await anna.locator('main.calendar .event.busy').count();
  const ben = await benContext.newPage();
  await open(ben, 'ben@nordlys.example');
  const d = await newMeeting(ben, 'Job interview elsewhere');
  await d.getByLabel('Private').check();
  await d.getByRole('button', { name: 'Save', exact: true }).click();
  await expect(d).toHaveCount(0);
  await expect(anna.locator('main.calendar .event.busy')).toHaveCount(busyBefore + 1);
  expect(await anna.content()).not.toContain('Job interview elsewhere');
  // Their live streams end with them (the server waits for open streams when it stops).
  await annaContext.close();
  await benContext.close();
});

// An Outlook body with a Teams link, and what a hostile sender could hide in one.
const RICH_BODY =
  '<html><body><p>Agenda: <b>pricing</b></p><p><a href="https://teams.microsoft.com/l/meetup-join/19%3ameeting_NzQ%40thread.v2/0">Join Microsoft Teams Meeting</a></p>' +
  '<script>document.body.dataset.pwned = "script"</script><p onclick="document.body.dataset.pwned = \'click\'"><img src="https://tracker.example/pixel.png" alt="">Regards, Lars</p></body></html>';

for (const user of USERS) {
  test(`an HTML description shows with its link working, nothing of it runs, and it stays as it was when the meeting is renamed (${user.provider})`, async ({ page, server }) => {
    // F-EDIT-6
    const day = quietWeekday();
    const subject = `Teams review (${user.provider})`;
    await phoneCreateMeeting(server.emulator, user, subject, zonedTime(day, 15), [], RICH_BODY);
    await signIn(page, user.email, undefined, `/calendar?view=day&date=${day}`);
    await expect(page.locator('body[data-live="open"]')).toHaveCount(1);
    const ev = page.locator('main.calendar .event:visible', { hasText: subject });
    await expect(ev).toBeVisible({ timeout: 20_000 });
    await ev.click();
    const dialog = page.getByRole('dialog');
    const shown = dialog.getByRole('group', { name: 'Description' });
    const link = shown.getByRole('link', { name: 'Join Microsoft Teams Meeting' });
    await expect(link).toHaveAttribute('href', 'https://teams.microsoft.com/l/meetup-join/19%3ameeting_NzQ%40thread.v2/0');
    await expect(link).toHaveAttribute('target', '_blank');
    await expect(link).toHaveAttribute('rel', /noopener/);
    await expect(shown.locator('b')).toHaveText('pricing');
    await expect(shown).toContainText('Regards, Lars');
    await expect(shown.locator('script, img, [onclick]')).toHaveCount(0);
    await shown.getByText('Regards, Lars').click();
    expect(await page.evaluate(() => document.body.dataset.pwned ?? '')).toBe('');
    await accessible(page, `editor with an HTML description (${user.provider})`);

    // Renamed; the description left alone: the provider's body is exactly as it was.
    await dialog.getByLabel('Subject').fill(`${subject} – final`);
    await dialog.getByRole('button', { name: 'Save', exact: true }).click();
    await expect(dialog).toHaveCount(0);
    await expect.poll(async () => (await storedEvent(server.emulator, user.email, `${subject} – final`))?.body ?? '', { timeout: 20_000 }).toBe(RICH_BODY);

    // Rewritten as text: the text goes out, formatting and link gone.
    await page.locator('main.calendar .event:visible', { hasText: `${subject} – final` }).click();
    await page.getByRole('dialog').getByRole('button', { name: 'Edit as text' }).click();
    const text = page.getByRole('dialog').getByLabel('Description');
    await expect(text).toBeFocused();
    await expect(text).toHaveValue(/Agenda: pricing/);
    await text.fill('New agenda: volumes first');
    await page.getByRole('dialog').getByRole('button', { name: 'Save', exact: true }).click();
    await expect(page.getByRole('dialog')).toHaveCount(0);
    await expect.poll(async () => (await storedEvent(server.emulator, user.email, `${subject} – final`))?.body ?? '', { timeout: 20_000 }).toBe('New agenda: volumes first');
  });
}
