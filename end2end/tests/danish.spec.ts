import { test, expect, signIn, hydrated, catalogue, pageWords, accessible, DANISH, Page } from './fixtures';
import { todayIn, quietWeekday, zonedTime } from './dates';
import { USERS, phoneCreate } from './phone';

// The Danish run (F-X-6): a Danish browser gets the sign-in page and — with no language chosen
// — the whole app in Danish: month and day names, 24-hour times, Danish dates typed and shown,
// and not one English string of the catalogue left on the calendar's pages.

test.use({ locale: 'da-DK' });

/** English catalogue entries that must not appear on a Danish page (those that read the same
 *  in both languages, and language names, are left out). */
function english(): string[] {
  const en = catalogue('en');
  const da = catalogue('da');
  return Object.entries(en)
    .filter(([k, v]) => v !== da[k] && !k.startsWith('settings.english') && !k.startsWith('settings.danish') && !k.startsWith('notices.field_') && !k.startsWith('dates.'))
    .map(([, v]) => v)
    .filter((v) => !v.includes('{') && v.length >= 4)
    // Words that are the same in both (a Danish sentence may contain them).
    .filter((v) => !['Organisation', 'Status', 'Orange', 'E-mail', 'Menu'].includes(v));
}

async function noEnglishLeft(page: Page, where: string) {
  const words = await pageWords(page);
  // Whole words only ("Week" is English; the demo's "Weekly sales stand-up" is a subject).
  const escape = (t: string) => t.replace(/[.*+?^${}()|[\]\\]/g, '\\$&');
  const left = english().filter((e) => new RegExp(`(^|[^\\p{L}])${escape(e)}($|[^\\p{L}])`, 'u').test(words));
  expect(left, `${where}: English left on a Danish page`).toEqual([]);
}

test('a Danish browser gets the sign-in page and the calendar in Danish, with no English left', { tag: '@smoke' }, async ({ page }) => {
  await page.goto('/calendar');
  await hydrated(page);
  await expect(page.locator('html')).toHaveAttribute('lang', 'da');
  await expect(page.getByRole('button', { name: 'Log ind' })).toBeVisible();
  await noEnglishLeft(page, 'sign-in');
  await signIn(page, undefined, undefined, '/calendar', DANISH);

  const [y, m, d] = todayIn().split('-');
  await expect(page.getByLabel('Gå til dato')).toHaveValue(`${d}.${m}.${y}`);
  await expect(page.locator('.week-label')).toHaveText(/^Uge \d+$/);
  await expect(page.locator('.day-col:visible .event', { hasText: 'Weekly sales stand-up' }).first()).toHaveAttribute('aria-label', /09:00 til 09:45, Anna Bergs kalender/);
  await noEnglishLeft(page, 'week');

  for (const [name, view] of [['Måned', 'month'], ['Planlægning', 'schedule'], ['Dag', 'day'], ['Oversigt', 'agenda']]) {
    await page.getByRole('navigation', { name: 'Visning' }).getByRole('link', { name, exact: true }).click();
    await expect(page.locator('main.calendar')).toHaveAttribute('data-view', view);
    await noEnglishLeft(page, view);
  }
  await page.goto('/calendar?view=day&date=2026-11-26');
  await hydrated(page);
  await expect(page.locator('.period .title')).toHaveText('torsdag d. 26. november 2026');
  await page.goto('/calendar?view=month&date=2026-11-26');
  await hydrated(page);
  await expect(page.locator('.period .title')).toHaveText('november 2026');
  await expect(page.locator('.month-head .day-head').first()).toHaveText('man.');
});

test('the editor speaks Danish and takes Danish dates and 24-hour times', async ({ page }) => {
  await signIn(page, undefined, undefined, '/calendar', DANISH);
  await page.getByRole('button', { name: 'Nyt møde' }).click();
  const dialog = page.getByRole('dialog');
  await expect(dialog.getByRole('heading', { name: 'Nyt møde' })).toBeVisible();
  await noEnglishLeft(page, 'editor');
  await dialog.getByLabel('Emne').fill('Møde med Fjord');
  await dialog.getByLabel('Dato').first().fill('5.1.2027');
  await dialog.getByLabel('Dato').first().press('Tab');
  await expect(dialog.getByLabel('Dato').first()).toHaveValue('05.01.2027');
  await dialog.getByLabel('Klokkeslæt').first().fill('1430');
  await dialog.getByLabel('Klokkeslæt').first().press('Tab');
  await expect(dialog.getByLabel('Klokkeslæt').first()).toHaveValue('14:30');
  await dialog.getByLabel('Dato').last().fill('5.1.2027');
  await dialog.getByLabel('Klokkeslæt').last().fill('15.15');
  await dialog.getByLabel('Klokkeslæt').last().press('Tab');
  // A mistake is said in Danish, next to its field, and nothing typed is lost.
  await dialog.getByLabel('Emne').fill('');
  await dialog.getByRole('button', { name: 'Gem', exact: true }).click();
  await expect(dialog.getByText('Mødet skal have et emne.')).toBeVisible();
  await expect(dialog.getByLabel('Klokkeslæt').last()).toHaveValue('15:15');
  await dialog.getByLabel('Emne').fill('Møde med Fjord');
  await dialog.getByRole('button', { name: 'Gem', exact: true }).click();
  await expect(dialog).toHaveCount(0);
  await page.goto('/calendar?view=day&date=2027-01-05');
  await hydrated(page);
  await expect(page.locator('.day-col:visible .event', { hasText: 'Møde med Fjord' })).toHaveAttribute('aria-label', /14:30 til 15:15/);
});

test('the editor\'s people boxes, side panel and find a time are Danish and accessible', async ({ page }) => {
  // F-EDIT-1, F-EDIT-4, F-X-6
  await signIn(page, undefined, undefined, '/calendar', DANISH);
  await expect(page.locator('.sync-state')).toHaveAttribute('data-sync-state', 'ok', { timeout: 20_000 });
  await page.getByRole('button', { name: 'Nyt møde' }).click();
  const dialog = page.getByRole('dialog');
  await dialog.getByLabel('Emne').fill('Planlægning med Ben');
  const colleagues = dialog.getByRole('combobox', { name: 'Kolleger' });
  await colleagues.fill('ben');
  await expect(dialog.locator('#f-users-list').getByRole('option', { name: /Ben Carter/ })).toBeVisible();
  await colleagues.press('Enter');
  const panel = dialog.getByRole('region', { name: 'Hvem er ledig' });
  await expect(panel).toBeVisible();
  await expect(panel.getByText(/synkroniseret|lige nu|min/).first()).toBeVisible();
  await panel.getByRole('button', { name: 'Find et tidspunkt' }).click();
  await expect(panel.getByRole('button', { name: /–/ }).first()).toBeVisible();
  await noEnglishLeft(page, 'editor with the side panel');
  await accessible(page, 'Danish editor with the side panel');
});

test('taking a meeting into a colleague\u2019s lane asks in Danish, accessibly, and Escape leaves it where it was', async ({ page, server }) => {
  // F-EDIT-2, F-X-6, F-X-7
  const day = quietWeekday();
  await phoneCreate(server.emulator, USERS[0], 'Overdragelse', zonedTime(day, 11));
  await signIn(page, undefined, undefined, `/calendar?view=schedule&date=${day}`, DANISH);
  await page.getByRole('checkbox', { name: 'Ben Carter' }).check();
  const own = page.locator('.lane').first();
  const ben = page.locator('.lane', { hasText: 'Ben Carter' });
  const meeting = own.locator('.event', { hasText: 'Overdragelse' });
  await expect(meeting).toBeVisible({ timeout: 20_000 });
  await meeting.focus();
  await page.keyboard.press('Alt+ArrowDown');
  await expect(ben.locator('.ghost')).toHaveCount(1);
  await page.keyboard.press('Enter');
  const dialog = page.getByRole('dialog', { name: 'Book det for Ben Carter?' });
  await expect(dialog).toContainText('Det bliver et møde i Ben Carters kalender, arrangeret af Ben Carter og booket af dig, og forsvinder fra din kalender.');
  await expect(dialog.getByRole('button', { name: 'Ja, book det' })).toBeFocused();
  await noEnglishLeft(page, 'the question of booking for a colleague');
  await accessible(page, 'Danish question of booking for a colleague');
  await page.keyboard.press('Escape');
  await expect(dialog).toHaveCount(0);
  await expect(ben.locator('.ghost')).toHaveCount(0);
  await expect(meeting).toBeVisible();
  await expect(ben.locator('.event', { hasText: 'Overdragelse' })).toHaveCount(0);
});

test('the settings page is Danish too', async ({ page }) => {
  await signIn(page, undefined, undefined, '/settings', DANISH);
  await expect(page.getByRole('heading', { name: 'Indstillinger' })).toBeVisible();
  await noEnglishLeft(page, 'settings');
});

test('the configuration pages are Danish too', async ({ page }) => {
  // F-ADM-1, F-ADM-2, F-X-6
  await signIn(page, 'admin@nordlys.example', undefined, '/configuration/features', DANISH);
  await expect(page.getByRole('heading', { name: 'Hovedfunktioner' })).toBeVisible();
  await noEnglishLeft(page, 'main features');
  await page.goto('/configuration/calendar');
  await hydrated(page);
  await expect(page.locator('tr[data-user="anna@nordlys.example"]')).toBeVisible();
  await noEnglishLeft(page, 'integration → calendar');
  await page.getByRole('button', { name: 'Opsæt', exact: true }).click();
  await expect(page.getByRole('dialog')).toBeVisible();
  await page.getByRole('dialog').getByRole('radio', { name: 'Exchange: egen server' }).check();
  await page.getByRole('dialog').getByLabel('Impersonering').check();
  await noEnglishLeft(page, 'set-up dialog');
  await page.keyboard.press('Escape');
  await page.goto('/configuration/audit');
  await hydrated(page);
  await noEnglishLeft(page, 'audit log');
});
