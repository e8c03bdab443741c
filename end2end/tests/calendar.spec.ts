import { test, expect, signIn, hydrated } from './fixtures';
import { todayIn, addDays } from './dates';

// The calendar page: the five views and their addresses, navigation, the now line, week
// numbers, answers, weekends, private meetings. F-CAL-4, F-CAL-5, F-CAL-6, F-CAL-10, F-X-11,
// F-X-12.

const title = (page: import('@playwright/test').Page) => page.locator('.period .title');
const calendar = (page: import('@playwright/test').Page) => page.locator('main.calendar');

test('previous / next / today / date / all five views run without a page load and keep the URL true', { tag: '@smoke' }, async ({ page }) => {
  // F-CAL-5, F-CAL-4
  const today = todayIn();
  await signIn(page);
  await page.evaluate(() => ((window as any).__noReload = 'still here'));

  await page.getByRole('link', { name: 'Next' }).first().click();
  await expect(page).toHaveURL(new RegExp(`date=${addDays(today, 7)}`));
  await expect(calendar(page)).toHaveAttribute('data-date', addDays(today, 7));
  await page.getByRole('link', { name: 'Previous' }).first().click();
  await expect(calendar(page)).toHaveAttribute('data-date', today);
  await page.getByRole('link', { name: 'Today' }).click();
  await expect(calendar(page)).toHaveAttribute('data-date', today);

  // Go to a date, typed day first (the app's format, not the browser's).
  await page.getByLabel('Go to date').fill('10/03/2026');
  await page.getByLabel('Go to date').press('Enter');
  await expect(page).toHaveURL(/date=2026-03-10/);
  await expect(title(page)).toHaveText('9 – 15 Mar 2026');
  await expect(page.locator('.week-label')).toHaveText('Week 11');

  const views: [string, string, string][] = [
    ['Month', 'month', 'March 2026'],
    ['Schedule', 'schedule', 'Tuesday 10 March 2026'],
    ['Day', 'day', 'Tuesday 10 March 2026'],
    ['Agenda', 'agenda', '10 – 16 Mar 2026'],
    ['Week', 'week', '9 – 15 Mar 2026'],
  ];
  for (const [name, view, heading] of views) {
    await page.getByRole('navigation', { name: 'View' }).getByRole('link', { name, exact: true }).click();
    await expect(page).toHaveURL(new RegExp(`view=${view}`));
    await expect(calendar(page)).toHaveAttribute('data-view', view);
    await expect(title(page)).toHaveText(heading);
    await expect(page.locator('nav.views:not(.span) a[aria-current="page"]')).toHaveText(name);
  }
  // Nothing above reloaded the page.
  expect(await page.evaluate(() => (window as any).__noReload)).toBe('still here');

  // Reload, back and forward keep each view; a shared link opens the same view.
  for (const [, view, heading] of views.slice(0, 4)) {
    await page.goto(`/calendar?view=${view}&date=2026-03-10`);
    await hydrated(page);
    await expect(calendar(page)).toHaveAttribute('data-view', view);
    await expect(title(page)).toHaveText(heading);
  }
  await page.reload();
  await hydrated(page);
  await expect(calendar(page)).toHaveAttribute('data-view', 'agenda');
  await page.goBack();
  await expect(calendar(page)).toHaveAttribute('data-view', 'day');
  await page.goBack();
  await expect(calendar(page)).toHaveAttribute('data-view', 'schedule');
  await page.goForward();
  await expect(calendar(page)).toHaveAttribute('data-view', 'day');
});

test('the week opens at the working day and shows a now line in today’s column, which moves on past midnight', async ({ page }) => {
  // F-X-11, F-CAL-4
  await page.clock.install({ time: new Date() });
  await signIn(page);
  await expect(page.locator('.day-col:visible .event', { hasText: 'Weekly sales stand-up' })).toBeInViewport();
  await expect(page.locator('.hours .hour', { hasText: '03:00' })).not.toBeInViewport();
  const today = todayIn();
  const todayCol = page.locator(`.day-col.today`);
  await expect(todayCol).toHaveCount(1);
  await expect(todayCol.locator('.now-line')).toHaveCount(1);
  await expect(page.locator('.day-col:visible .now-line')).toHaveCount(1);
  const before = await todayCol.locator('.now-line').getAttribute('style');
  // An hour later the line has moved down.
  await page.clock.fastForward('01:00:00');
  await expect(todayCol.locator('.now-line')).not.toHaveAttribute('style', before!);
  // A day later, with the tab left open: today (and its line) have moved on.
  await page.clock.fastForward('24:00:00');
  await expect(page.locator('.day-head.today time')).not.toHaveAttribute('datetime', today);
  await expect(page.locator('.day-col:visible .now-line')).toHaveCount(new Date(`${today}T12:00:00Z`).getUTCDay() === 0 ? 0 : 1);
});

test('the month view lists each day’s meetings beside ISO week numbers', async ({ page }) => {
  // F-CAL-4
  await signIn(page, undefined, undefined, '/calendar?view=month&date=2026-01-15');
  await expect(calendar(page)).toHaveAttribute('data-view', 'month');
  await expect(page.locator('.month-week .week-no').first()).toHaveText(/^1Week 1$/);
  await page.getByRole('link', { name: 'Today' }).click();
  await expect(page.locator('.month-day li', { hasText: 'Weekly sales stand-up' }).first()).toBeVisible();
  await expect(page.locator('.month-day.today')).toHaveCount(1);
  // A long subject is cut short inside its own day, never drawn over the next one.
  const spill = await page.locator('.month-day').evaluateAll((days) =>
    days.flatMap((d) => [...d.querySelectorAll('.event')].filter((e) => e.getBoundingClientRect().right > d.getBoundingClientRect().right + 1).map((e) => e.textContent)),
  );
  expect(spill).toEqual([]);
});

test('all-day and multi-day meetings sit in the all-day row', async ({ page }) => {
  // F-CAL-4, F-EDIT-5 (display)
  await signIn(page);
  const summit = page.locator('.allday-row:not(.phone-only) .bar', { hasText: 'Nordic Sales Summit' });
  await expect(summit).toBeVisible();
  await expect(summit).toHaveAttribute('style', /span 2/);
  await expect(page.locator('.day-col:visible .event', { hasText: 'Nordic Sales Summit' })).toHaveCount(0);
});

test('declined and tentative meetings look different from accepted ones and say so', async ({ page }) => {
  // F-X-12
  await signIn(page);
  const declined = page.locator('.day-col:visible .event', { hasText: 'Pricing workshop' });
  const tentative = page.locator('.day-col:visible .event', { hasText: 'Quarterly forecast' });
  await expect(declined).toHaveClass(/declined/);
  await expect(declined).toHaveAttribute('aria-label', /declined$/);
  await expect(tentative).toHaveClass(/tentative/);
  await expect(tentative).toHaveAttribute('aria-label', /tentative$/);
  const plain = page.locator('.day-col:visible .event', { hasText: 'Weekly sales stand-up' }).first();
  const look = (l: typeof plain) => l.evaluate((e) => getComputedStyle(e).textDecorationLine + getComputedStyle(e).backgroundImage);
  expect(await look(declined)).not.toEqual(await look(plain));
  expect(await look(tentative)).not.toEqual(await look(plain));
});

test('the agenda lists the period by day and says plainly when there is nothing', async ({ page }) => {
  // F-CAL-4
  await signIn(page, undefined, undefined, '/calendar?view=agenda');
  const days = page.locator('.agenda-day');
  await expect(days.first()).toBeVisible();
  const first = days.first().locator('.agenda-item').first();
  await expect(first.locator('.whose')).toHaveText('Anna Berg');
  // Fjord's call lists its organisation.
  await expect(page.locator('.agenda-item', { hasText: 'Call with Fjord Logistics' }).first().locator('.org')).toHaveText('Fjord Logistics A/S');
  // Next moves by the list's period (seven days).
  const before = await calendar(page).getAttribute('data-date');
  await page.getByRole('link', { name: 'Next' }).first().click();
  await expect(calendar(page)).toHaveAttribute('data-date', addDays(before!, 7));
  await page.goto('/calendar?view=agenda&date=2031-07-01');
  await hydrated(page);
  await expect(page.getByText('No meetings in this period.')).toBeVisible();
});

test('the schedule lays the chosen users side by side, each lane saying how fresh it is', async ({ page }) => {
  // F-CAL-4, F-X-15
  await signIn(page);
  await page.getByRole('checkbox', { name: 'Ben Carter' }).check();
  await expect(page).toHaveURL(/users=/);
  await page.getByRole('navigation', { name: 'View' }).getByRole('link', { name: 'Schedule', exact: true }).click();
  const lanes = page.locator('.lane');
  await expect(lanes).toHaveCount(2);
  await expect(lanes.nth(0).locator('.who')).toHaveText('Anna Berg');
  await expect(lanes.nth(1).locator('.who')).toHaveText('Ben Carter');
  await expect(lanes.nth(1).locator('.fresh')).toHaveText(/^synced (just now|\d+ min ago)$/);
  // Ben's meetings are in his lane, in his colour; his private one only as "Busy".
  await expect(lanes.nth(1)).toHaveClass(/c1/);
  await page.getByRole('navigation', { name: 'Days shown' }).getByRole('link', { name: 'Week', exact: true }).click();
  await expect(page).toHaveURL(/span=week/);
  await expect(lanes.nth(1).locator('.event', { hasText: 'Contract review with Helios' })).toHaveCount(1);
  await expect(lanes.nth(1).locator('.event.busy').first()).toContainText('Busy');
  await expect(page.locator('.schedule .now-line')).toHaveCount(2);
});

test('hiding weekends shows a work week and is remembered', async ({ page }) => {
  // F-CAL-6
  await signIn(page);
  const heads = page.locator('.grid-head .day-head:not(.phone-only)');
  await expect(heads).toHaveCount(7);
  await page.getByLabel('Weekends').uncheck();
  await expect(heads).toHaveCount(5);
  await expect(heads.filter({ hasText: /^(Sat|Sun)/ })).toHaveCount(0);
  await page.reload();
  await hydrated(page);
  await expect(heads).toHaveCount(5);
  await expect(page.getByLabel('Weekends')).not.toBeChecked();
});

test("another user's private meeting shows as Busy and its subject never reaches the browser", async ({ page }) => {
  // F-CAL-10, F-CAL-7
  await signIn(page);
  await page.getByRole('checkbox', { name: 'Ben Carter' }).check();
  await expect(page.getByRole('checkbox', { name: 'Ben Carter' })).toBeChecked();
  await expect(page.locator('.day-col:visible .event', { hasText: 'Contract review with Helios' })).toBeVisible();
  const busy = page.locator('.day-col:visible .event.busy');
  await expect(busy.first()).toBeVisible();
  await expect(busy.first()).toContainText('Busy');
  expect(await page.content()).not.toContain("Doctor's appointment");
  // The server-rendered HTML (with its hydration data) has no trace of it either.
  const html = await (await page.request.get(page.url())).text();
  expect(html).toContain('Contract review with Helios');
  expect(html).toContain('Busy');
  expect(html).not.toContain('Doctor');
  expect(html).not.toContain('Harley Street');
  // Anna's own private meeting is shown to her, marked private.
  await expect(page.locator('.event.private', { hasText: 'Dentist' }).first()).toBeAttached();
});

test('malformed query parameters fall back to the default view and today without an error page', async ({ page }) => {
  // F-CAL-5
  await signIn(page);
  const response = await page.goto('/calendar?view=fortnight&date=2026-02-30&span=year');
  expect(response!.status()).toBe(200);
  await expect(calendar(page)).toHaveAttribute('data-view', 'week');
  await expect(calendar(page)).toHaveAttribute('data-date', todayIn());
  await expect(page.getByRole('alert')).toHaveCount(0);
});

test('unknown addresses get a proper 404 page', async ({ page }) => {
  await signIn(page);
  const response = await page.goto('/no/such/page');
  expect(response!.status()).toBe(404);
  await expect(page.getByRole('heading', { name: 'Page not found' })).toBeVisible();
});

test('a colleague chosen just before a date is picked is kept (the header follows the address)', async ({ page }) => {
  // F-CAL-5, F-CAL-7
  await signIn(page);
  // Slow the calendar's reads down so the date is picked before the page has redrawn.
  await page.route('**/api/calendar', async (route) => {
    await new Promise((r) => setTimeout(r, 700));
    await route.continue();
  });
  await page.getByRole('checkbox', { name: 'Ben Carter' }).check();
  await page.getByLabel('Go to date').fill('12/03/2026');
  await page.getByLabel('Go to date').press('Enter');
  await expect(page).toHaveURL(/date=2026-03-12/);
  await expect(page).toHaveURL(/users=[0-9a-f-]{36}/);
  await expect(page.getByRole('checkbox', { name: 'Ben Carter' })).toBeChecked();
});
