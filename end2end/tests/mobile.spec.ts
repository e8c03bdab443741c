import { test, expect, signIn, hydrated, accessible, Page } from './fixtures';
import { todayIn, addDays } from './dates';

// A phone-sized screen (390 × 844, F-X-7): no sideways scrolling, three days of the week, the
// bar folded into a menu, a one-column editor, touch targets of at least 44 px.

test.use({ viewport: { width: 390, height: 844 }, hasTouch: true });

async function noSideways(page: Page, where: string) {
  const wide = await page.evaluate(() => document.documentElement.scrollWidth);
  expect(wide, `${where} is wider than the screen`).toBeLessThanOrEqual(390);
}

test('every view fits the screen; the week shows three days and moves three at a time', async ({ page }) => {
  await signIn(page);
  await noSideways(page, 'week');
  const days = page.locator('.grid-head .day-head');
  const visible = async () => (await days.evaluateAll((els) => els.filter((e) => (e as HTMLElement).offsetWidth > 0).length));
  expect(await visible()).toBe(3);
  const today = todayIn();
  await page.locator('[data-nav="next-phone"]').click();
  await expect(page.locator('main.calendar')).toHaveAttribute('data-date', addDays(today, 3));
  expect(await visible()).toBe(3);
  await expect(page.locator('.day-col:visible').first()).toHaveAttribute('data-day', /\d+/);
  for (const view of ['month', 'schedule', 'day', 'agenda']) {
    await page.goto(`/calendar?view=${view}`);
    await hydrated(page);
    await noSideways(page, view);
  }
  await page.goto('/settings');
  await hydrated(page);
  await noSideways(page, 'settings');
});

test("the schedule scrolls sideways through the day with each lane's name kept in view", async ({ page }) => {
  // F-CAL-4, F-X-7: on a phone the day is wider than the screen; the lane names stay put.
  await signIn(page, undefined, undefined, '/calendar?view=schedule&span=day');
  const schedule = page.locator('.schedule');
  await expect(schedule).toHaveAttribute('data-scrolled', 'true');
  await schedule.evaluate((e) => (e.scrollLeft = e.scrollWidth));
  const box = (await schedule.boundingBox())!;
  for (const name of [page.locator('.lane .lane-name').first(), page.locator('.schedule-head .lane-name')]) {
    await expect(async () => {
      const at = (await name.boundingBox())!;
      expect(at.x, 'lane name scrolled out of view').toBeGreaterThanOrEqual(box.x - 1);
    }).toPass();
  }
});

test('the bar folds into a menu; touch targets are large enough', async ({ page }) => {
  await signIn(page);
  const views = page.locator('nav.views').first();
  await expect(views).toBeHidden();
  const menu = page.getByRole('button', { name: 'Menu' });
  await expect(menu).toHaveAttribute('aria-expanded', 'false');
  await menu.click();
  await expect(menu).toHaveAttribute('aria-expanded', 'true');
  await expect(views).toBeVisible();
  await views.getByRole('link', { name: 'Month', exact: true }).click();
  await expect(page.locator('main.calendar')).toHaveAttribute('data-view', 'month');
  await expect(views).toBeHidden();
  for (const target of [menu, page.getByRole('link', { name: 'Today' }), page.getByRole('button', { name: 'New meeting' }), page.getByRole('button', { name: 'Refresh' })]) {
    const box = (await target.boundingBox())!;
    expect(Math.min(box.width, box.height), await target.textContent() ?? '').toBeGreaterThanOrEqual(44);
  }
});

test('a tap on a slot opens a one-column editor that fits the screen, and the meeting is made', { tag: '@smoke' }, async ({ page }) => {
  await signIn(page, undefined, undefined, `/calendar?view=day&date=${todayIn()}`);
  const col = (await page.locator('.day-col').boundingBox())!;
  await page.locator('.timed').evaluate((e) => (e.scrollTop = (e.scrollHeight * 17) / 24));
  const box = (await page.locator('.day-col').boundingBox())!;
  await page.touchscreen.tap(box.x + box.width / 2, box.y + (box.height * (18 * 60 + 10)) / 1440);
  expect(col.width).toBeGreaterThan(200);
  const dialog = page.getByRole('dialog');
  await expect(dialog.getByLabel('Time').first()).toHaveValue('18:00');
  await noSideways(page, 'editor');
  const columns = await page.locator('form.editor').evaluate((f) => getComputedStyle(f).gridTemplateColumns.split(' ').length);
  expect(columns).toBe(1);
  await dialog.getByLabel('Subject').fill('Made on the phone screen');
  await dialog.getByRole('button', { name: 'Save', exact: true }).click();
  await expect(page.locator('.day-col:visible .event', { hasText: 'Made on the phone screen' })).toBeVisible();
});

test('the editor\'s people boxes and side panel fit the screen, one under the other', async ({ page }) => {
  // F-EDIT-1, F-EDIT-4, F-X-7
  await signIn(page, undefined, undefined, `/calendar?view=day&date=${todayIn()}`);
  await expect(page.locator('.sync-state')).toHaveAttribute('data-sync-state', 'ok', { timeout: 20_000 });
  await page.getByRole('button', { name: 'New meeting' }).first().click();
  const dialog = page.getByRole('dialog');
  await dialog.getByLabel('Subject').fill('Planning on the phone');
  const colleagues = dialog.getByRole('combobox', { name: 'Colleagues' });
  await colleagues.fill('ben');
  await expect(dialog.locator('#f-users-list').getByRole('option', { name: /Ben Carter/ })).toBeVisible();
  await colleagues.press('Enter');
  const panel = dialog.getByRole('region', { name: 'Who is free' });
  await expect(panel).toBeVisible();
  await noSideways(page, 'editor with the side panel');
  // The panel below the form, not squeezed beside it; the boxes one per row.
  const form = (await page.locator('form.editor').boundingBox())!;
  const side = (await panel.boundingBox())!;
  expect(side.y).toBeGreaterThanOrEqual(form.y + form.height - 1);
  const boxes = await Promise.all(['Organisations', 'Persons', 'Colleagues'].map(async (name) => (await dialog.getByRole('combobox', { name }).boundingBox())!));
  expect(boxes[1].y).toBeGreaterThan(boxes[0].y + boxes[0].height - 1);
  expect(boxes[2].y).toBeGreaterThan(boxes[1].y + boxes[1].height - 1);
  // A chosen colleague can be taken off with a finger (44 px).
  const remove = dialog.getByRole('button', { name: 'Remove Ben Carter' });
  const r = (await remove.boundingBox())!;
  expect(Math.min(r.width, r.height)).toBeGreaterThanOrEqual(44);
  await accessible(page, 'phone editor with the side panel');
});

test('the configuration pages fit the screen', async ({ page }) => {
  // F-ADM-2, F-X-7
  await signIn(page, 'admin@nordlys.example', undefined, '/configuration/features');
  await noSideways(page, 'main features');
  await page.goto('/configuration/calendar');
  await hydrated(page);
  await expect(page.locator('tr[data-user="carla@nordlys.example"]')).toBeVisible();
  await noSideways(page, 'integration → calendar');
  const synchronise = page.locator('tr[data-user="carla@nordlys.example"]').getByRole('button', { name: 'Synchronise' });
  const box = await synchronise.boundingBox();
  expect(box!.height).toBeGreaterThanOrEqual(44);
  await page.locator('tr[data-user="admin@nordlys.example"]').getByRole('button', { name: 'Set up' }).click();
  await expect(page.getByRole('dialog')).toBeVisible();
  await noSideways(page, 'set-up dialog');
  await page.goto('/configuration/audit');
  await hydrated(page);
  await noSideways(page, 'audit log');
});
