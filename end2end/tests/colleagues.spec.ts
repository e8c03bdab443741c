import { test, expect, signIn, hydrated } from './fixtures';

// Colleagues' calendars and their colours (F-CAL-7), refreshed on load (F-CAL-1).

test('only colleagues with synchronised calendars are listed, each shown or hidden in a colour of its own', async ({ page }) => {
  await signIn(page);
  const picker = page.locator('aside.picker');
  // Ben (Microsoft 365) and Carla (Exchange) have connected, synchronised calendars; the
  // administrator has none and is not listed.
  await expect(picker.getByRole('checkbox')).toHaveCount(2);
  await expect(picker.getByRole('checkbox', { name: 'Ben Carter' })).toBeVisible();
  await expect(picker.getByRole('checkbox', { name: 'Carla Diaz' })).toBeVisible();
  await expect(picker.getByText('Astrid Holm')).toHaveCount(0);

  await picker.getByRole('checkbox', { name: 'Ben Carter' }).check();
  const bens = page.locator('.day-col:visible .event', { hasText: 'Contract review with Helios' });
  await expect(bens).toHaveClass(/\bc1\b/);
  // A palette of named colours; each keeps text readable (checked by the axe run too).
  const colour = picker.getByLabel("Colour of Ben Carter’s calendar");
  await expect(colour.locator('option')).toHaveCount(10);
  await colour.selectOption({ label: 'Purple' });
  await expect(bens).toHaveClass(/\bc3\b/);
  await picker.getByRole('checkbox', { name: 'Carla Diaz' }).check();
  await expect(page.locator('.day-col:visible .event', { hasText: 'Onboarding: US accounts' })).toBeVisible();
  await picker.getByRole('checkbox', { name: 'Carla Diaz' }).uncheck();
  await expect(page.locator('.day-col:visible .event', { hasText: 'Onboarding: US accounts' })).toHaveCount(0);
});

test('the choices come back after signing out and in (any device), and an address naming colleagues still wins', async ({ page }) => {
  await signIn(page);
  const picker = page.locator('aside.picker');
  await picker.getByRole('checkbox', { name: 'Carla Diaz' }).check();
  await picker.getByLabel("Colour of Carla Diaz’s calendar").selectOption({ label: 'Teal' });
  await expect(page.locator('.day-col:visible .event', { hasText: 'Onboarding: US accounts' })).toHaveClass(/\bc5\b/);
  await page.getByRole('button', { name: 'Sign out' }).click();
  await expect(page).toHaveURL(/\/login$/);

  // Signed in again, at the plain address: Carla is shown, in teal.
  await signIn(page);
  await expect(page).toHaveURL(/\/calendar$/);
  await expect(picker.getByRole('checkbox', { name: 'Carla Diaz' })).toBeChecked();
  await expect(page.locator('.day-col:visible .event', { hasText: 'Onboarding: US accounts' })).toHaveClass(/\bc5\b/);

  // A shared link naming nobody shows only the viewer's calendar.
  await page.goto('/calendar?users=');
  await hydrated(page);
  await expect(picker.getByRole('checkbox', { name: 'Carla Diaz' })).not.toBeChecked();
  await expect(page.locator('.day-col:visible .event', { hasText: 'Onboarding: US accounts' })).toHaveCount(0);
});
