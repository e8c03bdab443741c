import { test, expect, signIn, hydrated, ANNA } from './fixtures';

// F-X-1: sign-in, sessions, sign-out; access is denied by default.

test('signing in shows the seeded meetings in the week view', { tag: '@smoke' }, async ({ page }) => {
  await signIn(page);
  await expect(page.locator('main.calendar')).toHaveAttribute('data-view', 'week');
  const standUp = page.locator('.day-col:visible .event', { hasText: 'Weekly sales stand-up' });
  const call = page.locator('.day-col:visible .event', { hasText: 'Call with Fjord Logistics' });
  await expect(standUp).toBeVisible();
  await expect(call).toBeVisible();
  // F-CAL-4: overlapping meetings sit side by side, not on top of each other.
  const a = (await standUp.boundingBox())!;
  const b = (await call.boundingBox())!;
  expect(a.x + a.width).toBeLessThanOrEqual(b.x + 1);
  expect(b.y).toBeGreaterThan(a.y);
  await expect(page.locator('.appmenu .who')).toHaveText('Anna Berg');
});

test('a wrong password is refused with a message and the e-mail stays typed', async ({ page }) => {
  await page.goto('/login');
  await hydrated(page);
  await page.getByLabel('E-mail').fill(ANNA);
  await page.getByLabel('Password').fill('not-the-password');
  await page.getByRole('button', { name: 'Sign in' }).click();
  await expect(page.getByRole('alert')).toHaveText('Wrong e-mail or password.');
  await expect(page.getByLabel('E-mail')).toHaveValue(ANNA);
  await expect(page).toHaveURL(/\/login/);
  // An unknown address gets exactly the same answer (nothing leaks about who has an account).
  await page.getByLabel('E-mail').fill('nobody@nordlys.example');
  await page.getByRole('button', { name: 'Sign in' }).click();
  await expect(page.getByRole('alert')).toHaveText('Wrong e-mail or password.');
});

test('a signed-out visit to the calendar goes to sign-in and comes back to the same view', async ({ page }) => {
  const response = await page.goto('/calendar?view=month&date=2026-01-15');
  expect(response!.request().redirectedFrom()).not.toBeNull();
  await expect(page).toHaveURL(/\/login\?next=/);
  await hydrated(page);
  await page.getByLabel('E-mail').fill(ANNA);
  await page.getByLabel('Password').fill('demo-calendar');
  await page.getByRole('button', { name: 'Sign in' }).click();
  await expect(page).toHaveURL(/\/calendar\?view=month&date=2026-01-15$/);
  await expect(page.locator('.period .title')).toHaveText('January 2026');
});

test('signing out ends the session', { tag: '@smoke' }, async ({ page }) => {
  await signIn(page);
  await page.getByRole('button', { name: 'Sign out' }).click();
  await expect(page).toHaveURL(/\/login$/);
  await page.goto('/calendar');
  await expect(page).toHaveURL(/\/login\?next=/);
});

test('a signed-out visit to any page goes to sign-in first, and the sign-in page skips itself when signed in', async ({ page }) => {
  for (const path of ['/settings', '/no/such/page']) {
    await page.goto(path);
    await expect(page).toHaveURL(/\/login\?next=/);
  }
  await signIn(page);
  await page.goto('/login');
  await expect(page).toHaveURL(/\/calendar$/);
});
