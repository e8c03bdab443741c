import { test, expect, signIn, hydrated } from './fixtures';
import { todayIn, addDays } from './dates';

const title = (page: import('@playwright/test').Page) => page.locator('.period .title');
const calendar = (page: import('@playwright/test').Page) => page.locator('main.calendar');

test('previous / next / today / date picker / view switch run without a page load and keep the URL true', async ({ page }) => {
  // F-CAL-5, F-CAL-4
  const today = todayIn();
  await signIn(page);
  await page.evaluate(() => ((window as any).__noReload = 'still here'));

  await page.getByRole('link', { name: 'Next' }).click();
  await expect(page).toHaveURL(new RegExp(`view=week&date=${addDays(today, 7)}`));
  await expect(calendar(page)).toHaveAttribute('data-date', addDays(today, 7));
  await page.getByRole('link', { name: 'Previous' }).click();
  await expect(calendar(page)).toHaveAttribute('data-date', today);
  await page.getByRole('link', { name: 'Previous' }).click();
  await expect(calendar(page)).toHaveAttribute('data-date', addDays(today, -7));
  await expect(page).toHaveURL(new RegExp(`date=${addDays(today, -7)}`));
  await page.getByRole('link', { name: 'Today' }).click();
  await expect(calendar(page)).toHaveAttribute('data-date', today);

  await page.getByLabel('Go to date').fill('2026-03-10');
  await expect(page).toHaveURL(/view=week&date=2026-03-10/);
  await expect(title(page)).toHaveText('9 – 15 Mar 2026');
  await page.getByRole('link', { name: 'Month', exact: true }).click();
  await expect(page).toHaveURL(/view=month&date=2026-03-10/);
  await expect(title(page)).toHaveText('March 2026');
  await page.getByRole('link', { name: 'Day', exact: true }).click();
  await expect(page).toHaveURL(/view=day&date=2026-03-10/);
  await expect(title(page)).toHaveText('Tuesday 10 March 2026');

  // Nothing above reloaded the page.
  expect(await page.evaluate(() => (window as any).__noReload)).toBe('still here');

  // A reload shows the same view and date; back and forward walk the history.
  await page.reload();
  await hydrated(page);
  await expect(calendar(page)).toHaveAttribute('data-view', 'day');
  await expect(title(page)).toHaveText('Tuesday 10 March 2026');
  await page.evaluate(() => ((window as any).__noReload = 'after reload'));
  await page.goBack();
  await expect(calendar(page)).toHaveAttribute('data-view', 'month');
  await expect(title(page)).toHaveText('March 2026');
  await page.goForward();
  await expect(title(page)).toHaveText('Tuesday 10 March 2026');
  expect(await page.evaluate(() => (window as any).__noReload)).toBe('after reload');
});

test('the week opens at the working day, not at midnight', async ({ page }) => {
  // F-CAL-4: the 09:00 stand-up is on screen without scrolling; 03:00 is scrolled away.
  await signIn(page);
  await expect(page.locator('.day-col .event', { hasText: 'Weekly sales stand-up' })).toBeInViewport();
  await expect(page.locator('.hours .hour', { hasText: '03:00' })).not.toBeInViewport();
});

test('the month view lists the meetings of each day', async ({ page }) => {
  // F-CAL-4
  await signIn(page);
  await page.getByRole('link', { name: 'Month', exact: true }).click();
  await expect(calendar(page)).toHaveAttribute('data-view', 'month');
  await expect(page.locator('.month-day li', { hasText: 'Weekly sales stand-up' }).first()).toBeVisible();
  await expect(page.locator('.month-day.today')).toHaveCount(1);
});

test('all-day and multi-day meetings sit in the all-day row', async ({ page }) => {
  // F-CAL-4, F-EDIT-5 (display)
  await signIn(page);
  const summit = page.locator('.allday-row .bar', { hasText: 'Nordic Sales Summit' });
  await expect(summit).toBeVisible();
  await expect(summit).toHaveAttribute('style', /span 2/);
  await expect(page.locator('.allday-row .bar', { hasText: 'Trade fair preparation' })).toBeVisible();
  await expect(page.locator('.day-col .event', { hasText: 'Nordic Sales Summit' })).toHaveCount(0);
});

test('hiding weekends shows a work week and is remembered', async ({ page }) => {
  // F-CAL-6
  await signIn(page);
  const heads = page.locator('.grid-head .day-head');
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
  // F-CAL-10, first cut of F-CAL-7
  await signIn(page);
  await page.getByRole('link', { name: "Show Ben Carter's calendar" }).click();
  await expect(page.getByRole('link', { name: "Hide Ben Carter's calendar" })).toBeVisible();
  await expect(page).toHaveURL(/users=/);
  await expect(page.locator('.day-col .event', { hasText: 'Contract review with Helios' })).toBeVisible();
  const busy = page.locator('.day-col .event.busy');
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

test('malformed query parameters fall back to this week without an error page', async ({ page }) => {
  // F-CAL-5
  await signIn(page);
  const response = await page.goto('/calendar?view=fortnight&date=2026-02-30');
  expect(response!.status()).toBe(200);
  await expect(calendar(page)).toHaveAttribute('data-view', 'week');
  await expect(calendar(page)).toHaveAttribute('data-date', todayIn());
  await expect(page.getByRole('alert')).toHaveCount(0);
});

test('unknown addresses get a proper 404 page', async ({ page }) => {
  const response = await page.goto('/no/such/page');
  expect(response!.status()).toBe(404);
  await expect(page.getByRole('heading', { name: 'Page not found' })).toBeVisible();
});
