import { test, expect, signIn, hydrated, accessible, DANISH } from './fixtures';

// Keyboard and screen reader (F-X-7): axe-core finds no serious or critical violation on any
// page, in either language; the editor is a proper modal dialog.

for (const [lang, locale, labels] of [['English', 'en-US', undefined], ['Danish', 'da-DK', DANISH]] as const) {
  test.describe(lang, () => {
    test.use({ locale });

    test(`every page passes axe (${lang})`, async ({ page }) => {
      await page.goto('/login');
      await hydrated(page);
      await accessible(page, 'sign-in');
      await signIn(page, undefined, undefined, '/calendar', labels);
      await page.getByRole('checkbox').first().check();
      await expect(page.locator('main.calendar')).toBeVisible();
      for (const view of ['week', 'month', 'schedule', 'day', 'agenda']) {
        await page.goto(`/calendar?view=${view}`);
        await hydrated(page);
        await expect(page.locator('main.calendar')).toHaveAttribute('data-view', view);
        await accessible(page, `calendar, ${view}`);
      }
      await page.locator('button.new').click();
      await expect(page.getByRole('dialog')).toBeVisible();
      await accessible(page, 'editor');
      await page.keyboard.press('Escape');
      await page.goto('/settings');
      await hydrated(page);
      await expect(page.locator('main.settings')).toBeVisible();
      await accessible(page, 'settings');
      await page.goto('/no/such/page');
      await hydrated(page);
      await accessible(page, '404');
    });

    test(`the configuration pages pass axe (${lang})`, async ({ page }) => {
      // F-ADM-1, F-ADM-2, F-ADM-5, F-X-7
      await signIn(page, 'admin@nordlys.example', undefined, '/configuration/features', labels);
      await expect(page.getByRole('switch')).toBeVisible();
      await accessible(page, 'main features');
      await page.getByRole('switch').click();
      await expect(page.getByRole('dialog')).toBeVisible();
      await accessible(page, 'switching off, asked');
      await page.keyboard.press('Escape');
      await expect(page.getByRole('dialog')).toHaveCount(0);
      await page.goto('/configuration/calendar');
      await hydrated(page);
      await expect(page.locator('tr[data-user="admin@nordlys.example"]')).toBeVisible();
      await accessible(page, 'integration → calendar');
      await page.locator('tr[data-user="admin@nordlys.example"] td.actions .btn').first().click();
      await expect(page.getByRole('dialog')).toBeVisible();
      await accessible(page, 'set-up dialog');
      await page.keyboard.press('Escape');
      await page.goto('/configuration/audit');
      await hydrated(page);
      await accessible(page, 'audit log');
      await page.goto('/settings');
      await hydrated(page);
      await expect(page.locator('.setup')).toBeVisible();
      await accessible(page, 'settings, calendar not connected');
    });
  });
}

test('the editor takes focus, keeps it, closes on Escape and gives it back', { tag: '@smoke' }, async ({ page }) => {
  await signIn(page);
  const opener = page.getByRole('button', { name: 'New meeting' });
  await opener.focus();
  await page.keyboard.press('Enter');
  const dialog = page.getByRole('dialog');
  await expect(dialog).toBeVisible();
  await expect(dialog.getByLabel('Subject')).toBeFocused();
  // Tab goes round inside the dialog (the page behind is inert).
  for (let i = 0; i < 25; i++) {
    await page.keyboard.press('Tab');
    expect(await page.evaluate(() => !!document.activeElement?.closest('dialog') || document.activeElement === document.body)).toBe(true);
  }
  await page.keyboard.press('Escape');
  await expect(dialog).toHaveCount(0);
  await expect(opener).toBeFocused();
});

test('meetings are announced with time, subject and whose calendar; moving to another period announces it', async ({ page }) => {
  await signIn(page);
  const standUp = page.locator('.day-col:visible .event', { hasText: 'Weekly sales stand-up' }).first();
  await expect(standUp).toHaveAttribute('aria-label', 'Weekly sales stand-up, 09:00 to 09:45, Anna Berg’s calendar');
  await expect(standUp).toHaveAttribute('role', 'button');
  await expect(page.locator('.period .title')).toHaveAttribute('aria-live', 'polite');
  // Every control has a name (axe checks it too); the focus ring is visible.
  await page.getByRole('link', { name: 'Previous' }).first().focus();
  await page.keyboard.press('Tab');
  await page.keyboard.press('Tab');
  const focused = await page.evaluate(() => ({ name: document.activeElement!.getAttribute('aria-label'), outline: getComputedStyle(document.activeElement!).outlineStyle }));
  expect(focused.name).toBe('Next');
  expect(focused.outline).not.toBe('none');
});
