import { test, expect, signIn, hydrated, CARLA } from './fixtures';

// Personal settings (F-X-5, F-X-6, F-CAL-6): every change is saved at once and applies at once.

test('language, time zone, week start and default view apply at once and stay', { tag: '@smoke' }, async ({ page }) => {
  await signIn(page, undefined, undefined, '/settings');
  const status = page.locator('.save-status');
  // The connection at a glance.
  await expect(page.locator('.connection')).toContainText('Google Calendar');
  await expect(page.locator('.connection')).toContainText('anna@nordlys.example');

  // Week start: Sunday.
  await page.getByLabel('Weeks start on', { exact: true }).selectOption({ label: 'Sunday' });
  await expect(status).toHaveText('Saved.');
  // Default view: month.
  await page.getByLabel('Default view', { exact: true }).selectOption({ label: 'Month' });
  await expect(status).toHaveText('Saved.');
  // Time zone: type to search, pick with the keyboard.
  const zone = page.getByRole('combobox', { name: 'Time zone' });
  await zone.fill('new y');
  await expect(page.getByRole('option', { name: 'America/New_York' })).toBeVisible();
  await zone.press('ArrowDown');
  await zone.press('Enter');
  await expect(zone).toHaveValue('America/New_York');
  await expect(status).toHaveText('Saved.');

  // Language: Danish, at once (the page comes back in its new language; its words are fixed
  // for its life).
  await page.getByLabel('Language', { exact: true }).selectOption({ label: 'Dansk' });
  await expect(page.getByRole('heading', { name: 'Sprog og område' })).toBeVisible();
  await expect(page.locator('html')).toHaveAttribute('lang', 'da');
  await hydrated(page);
  await expect(page.getByLabel('Sprog', { exact: true })).toHaveValue('da');

  // The calendar now opens in the month view, in Danish, weeks from Sunday, New York times.
  await page.getByRole('link', { name: 'Kalender', exact: true }).click();
  await expect(page.locator('main.calendar')).toHaveAttribute('data-view', 'month');
  await expect(page.locator('.month-head .day-head').first()).toHaveText('søn.');
  await expect(page.locator('.picker .tz')).toHaveText('Tider i America/New_York');
  await page.reload();
  await hydrated(page);
  await expect(page.locator('html')).toHaveAttribute('lang', 'da');
  await expect(page.locator('main.calendar')).toHaveAttribute('data-view', 'month');
});

test('working hours: the week opens at their start; a wrong range is refused next to the fields', async ({ page }) => {
  await signIn(page, CARLA, undefined, '/settings');
  const from = page.getByLabel('From', { exact: true });
  await from.fill('12');
  await from.press('Tab');
  await expect(from).toHaveValue('12:00');
  await expect(page.locator('.save-status')).toHaveText('Saved.');
  await page.getByLabel('To', { exact: true }).fill('11:00');
  await page.getByLabel('To', { exact: true }).press('Tab');
  await expect(page.getByRole('alert')).toHaveText('Working hours must end after they start, on at least one day.');
  await expect(page.getByLabel('To', { exact: true })).toHaveValue('11:00');
  await page.getByLabel('To', { exact: true }).fill('18:00');
  await page.getByLabel('To', { exact: true }).press('Tab');
  await expect(page.locator('.save-status')).toHaveText('Saved.');
  await page.goto('/calendar?view=week');
  await hydrated(page);
  await expect(page.locator('.hours .hour', { hasText: '11:00' })).toBeInViewport();
  await expect(page.locator('.hours .hour', { hasText: '08:00' })).not.toBeInViewport();
});
