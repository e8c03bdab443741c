import { test, expect, signIn, hydrated, accessible, Page, ANNA, BEN, CARLA } from './fixtures';
import { stored, injectFault } from './phone';

// Administration (product.md §4): the integration switch, every user's calendar in one live
// table, connecting Google, Office 365 and Exchange from the browser, disconnecting, and the
// audit log. F-X-1, F-ADM-1 … F-ADM-7, F-ADM-10.

const ADMIN = 'admin@nordlys.example';
const PASSWORD = 'demo-calendar';

async function grants(emu: string): Promise<{ email: string; provider: string }[]> {
  return (await (await fetch(`${emu}/_emulator/grants`)).json()).grants;
}

function row(page: Page, email: string) {
  return page.locator(`tr[data-user="${email}"]`);
}

async function calendars(page: Page) {
  await page.goto('/configuration/calendar');
  await hydrated(page);
  await expect(page.locator('body[data-live="open"]')).toHaveCount(1);
}

test('F-X-1: users see no Configuration and are refused it', async ({ page }) => {
  await signIn(page, ANNA);
  await expect(page.getByRole('link', { name: 'Configuration' })).toHaveCount(0);
  await page.goto('/configuration/features');
  await hydrated(page);
  await expect(page.getByRole('alert')).toHaveText(/You are not allowed to do this/);
  await expect(page.getByRole('switch')).toHaveCount(0);
});

test('F-ADM-1: switching the integration off and on; open calendars hear it; the audit log says who', async ({ page, browser }) => {
  const anna = await (await browser.newContext({ baseURL: page.context()['_options']?.baseURL })).newPage();
  await signIn(page, ADMIN);
  await page.getByRole('link', { name: 'Configuration' }).click();
  await expect(page.getByRole('heading', { name: 'Main features' })).toBeVisible();
  await hydrated(page);
  const toggle = page.getByRole('switch', { name: 'Calendar integration for the whole company' });
  await expect(toggle).toBeChecked();
  await expect(page.locator('[data-integration]')).toContainText('3 of 4 users have a connected calendar');

  await signIn(anna, ANNA);
  await expect(anna.locator('.sync-state')).toHaveAttribute('data-sync-state', 'ok', { timeout: 20_000 });
  await expect(anna.locator('body[data-live="open"]')).toHaveCount(1);

  // Off asks first; cancelling changes nothing.
  await toggle.click();
  const ask = page.getByRole('dialog', { name: 'Switch the calendar integration off?' });
  await expect(ask).toBeVisible();
  await ask.getByRole('button', { name: 'Cancel' }).click();
  await expect(toggle).toBeChecked();
  await toggle.click();
  await page.getByRole('dialog').getByRole('button', { name: 'Switch off' }).click();
  await expect(toggle).not.toBeChecked();
  await expect(page.locator('[data-integration]')).toHaveAttribute('data-integration', 'off');
  // Anna's open calendar says so without a reload, and still shows her meetings.
  await expect(anna.locator('.sync-state')).toHaveAttribute('data-sync-state', 'off');
  await expect(anna.locator('.sync-state')).toHaveText('Calendar integration is switched off');
  await expect(anna.locator('main.calendar .event').first()).toBeVisible();
  // Meanwhile nothing can be connected: the set-up form is there, its controls disabled.
  await page.goto('/settings');
  await hydrated(page);
  await expect(page.getByText('The company\'s calendar integration is switched off; an administrator can switch it on.').first()).toBeVisible();
  await expect(page.getByRole('radio', { name: 'Google Calendar' })).toBeDisabled();
  await page.goto('/configuration/features');
  await hydrated(page);

  await toggle.click();
  await expect(toggle).toBeChecked();
  await expect(anna.locator('.sync-state')).toHaveAttribute('data-sync-state', 'ok', { timeout: 20_000 });

  await page.getByRole('link', { name: 'Audit log' }).click();
  const log = page.locator('table.audit tbody tr');
  await expect(log.nth(0)).toContainText('Astrid Holm');
  await expect(log.nth(0)).toContainText('Switched the calendar integration on');
  await expect(log.nth(1)).toContainText('Switched the calendar integration off');
  await accessible(page, 'audit log');
  await anna.context().close();
});

test('F-ADM-2, F-ADM-7: every user with provider and status; search; a failing sync shows live', async ({ page, server }) => {
  await signIn(page, ADMIN);
  await calendars(page);
  await expect(row(page, ANNA)).toHaveAttribute('data-status', 'synced', { timeout: 20_000 });
  await expect(row(page, ANNA)).toContainText('Google Calendar');
  await expect(row(page, BEN)).toContainText('Microsoft 365');
  await expect(row(page, CARLA)).toContainText('Exchange');
  await expect(row(page, ADMIN)).toHaveAttribute('data-status', 'not_connected');
  // OAuth consent is the owner's: the table says so on their rows, and the viewer's own row
  // leads to their settings page.
  await expect(row(page, ANNA)).toContainText('Google and Office 365: Anna Berg gives consent from their own settings page.');
  await expect(row(page, BEN)).toContainText('Ben Carter gives consent from their own settings page.');
  await expect(row(page, CARLA)).not.toContainText('gives consent');
  await expect(row(page, ADMIN).getByRole('link', { name: 'Settings' })).toHaveAttribute('href', '/settings');
  await accessible(page, 'integration → calendar');

  await page.getByRole('searchbox', { name: 'Search users' }).fill('carla');
  await expect(page.locator('tbody tr')).toHaveCount(1);
  await page.getByRole('searchbox', { name: 'Search users' }).fill('');
  await expect(page.locator('tbody tr')).toHaveCount(4);

  // Ben's provider fails: his row turns to failed by itself, with what to do.
  await page.evaluate(() => ((window as any).__noReload = 'still here'));
  await injectFault(server.emulator, { provider: 'graph', kind: 'status', status: 503, count: 50 });
  await row(page, BEN).getByRole('button', { name: 'Synchronise' }).click();
  await expect(row(page, BEN)).toHaveAttribute('data-status', 'failed', { timeout: 20_000 });
  await expect(row(page, BEN)).toContainText('It is retried automatically.');
  await fetch(`${server.emulator}/_emulator/faults`, { method: 'DELETE' });
  await row(page, BEN).getByRole('button', { name: 'Synchronise' }).click();
  await expect(row(page, BEN)).toHaveAttribute('data-status', 'synced', { timeout: 20_000 });
  expect(await page.evaluate(() => (window as any).__noReload)).toBe('still here');

  // F-ADM-10 from the table: the administrator disconnects Ben's calendar (asked first).
  await row(page, BEN).getByRole('button', { name: 'Disconnect' }).click();
  await page.getByRole('dialog').getByRole('button', { name: 'Disconnect' }).click();
  await expect(row(page, BEN)).toHaveAttribute('data-status', 'not_connected');
  await expect(row(page, BEN)).not.toContainText('Microsoft 365');
});

test('F-ADM-5, F-ADM-6: the Exchange form tells each mistake apart, keeps what was typed, then subscribes and synchronises', async ({ page, server }) => {
  const ews = `${server.emulator}/ews/EWS/Exchange.asmx`;
  await signIn(page, ADMIN);
  await calendars(page);
  await row(page, ADMIN).getByRole('button', { name: 'Set up' }).click();
  const dialog = page.getByRole('dialog', { name: 'Calendar of Astrid Holm' });
  await dialog.getByLabel('Exchange: own server').check();
  const url = dialog.getByLabel('Server address (EWS)');
  const email = dialog.getByLabel('E-mail address', { exact: true });
  const password = dialog.getByLabel('Password', { exact: true });
  const save = dialog.getByRole('button', { name: 'Save and subscribe' });
  await expect(email).toHaveValue(ADMIN);

  const attempt = async (u: string, p: string, field: string, message: RegExp) => {
    await url.fill(u);
    await password.fill(p);
    await save.click();
    await expect(dialog.locator(`#f-${field}-error`)).toHaveText(message);
    await expect(url).toHaveValue(u);
    await expect(password).toHaveValue('');
  };
  await attempt(`${server.emulator}/ews/EWS/Exchange.aspx`, PASSWORD, 'ews_url', /not an Exchange Web Services address/);
  await attempt('http://mail.nordlys.example/EWS/Exchange.asmx', PASSWORD, 'ews_url', /must start with https/);
  await attempt(ews, 'wrong', 'password', /refused this e-mail address and password/);
  await expect(row(page, ADMIN)).toHaveAttribute('data-status', 'not_connected');

  // Impersonation: an account without the right is refused; an unknown mailbox is named.
  await dialog.getByLabel('Impersonation').check();
  await dialog.getByLabel("Service account's e-mail address").fill(CARLA);
  await dialog.getByLabel("Service account's password").fill(PASSWORD);
  await save.click();
  await expect(dialog.locator('#f-account-error')).toHaveText(/may not act for this mailbox/);
  await email.fill('nobody@nordlys.example');
  await dialog.getByLabel("Service account's e-mail address").fill('crm-service@nordlys.example');
  await dialog.getByLabel("Service account's password").fill(PASSWORD);
  await save.click();
  await expect(dialog.locator('#f-email-error')).toHaveText(/no mailbox with this e-mail address/);

  // Right at last, with the user's own account: subscribed, then synchronised.
  await dialog.getByLabel('Impersonation').uncheck();
  await email.fill(ADMIN);
  await password.fill(PASSWORD);
  await save.click();
  await expect(dialog).toHaveCount(0);
  await expect(row(page, ADMIN)).toHaveAttribute('data-status', 'subscribed');
  // Synchronise: a spinner while the first sync runs (held here by a slow Exchange server,
  // whose answer never comes in time), then what went wrong; again, and it is synced.
  await injectFault(server.emulator, { provider: 'ews', kind: 'timeout', ms: 3000, count: 3 });
  await row(page, ADMIN).getByRole('button', { name: 'Synchronise' }).click();
  await expect(row(page, ADMIN)).toHaveAttribute('data-status', 'syncing');
  await expect(row(page, ADMIN).locator('.state.spinning')).toBeVisible();
  await expect(row(page, ADMIN)).toHaveAttribute('data-status', 'failed', { timeout: 30_000 });
  await fetch(`${server.emulator}/_emulator/faults`, { method: 'DELETE' });
  await row(page, ADMIN).getByRole('button', { name: 'Synchronise' }).click();
  await expect(row(page, ADMIN)).toHaveAttribute('data-status', 'synced', { timeout: 20_000 });

  // F-ADM-6: Carla's calendar through the service account instead.
  await row(page, CARLA).getByRole('button', { name: 'Set up again' }).click();
  const carla = page.getByRole('dialog', { name: 'Calendar of Carla Diaz' });
  await carla.getByLabel('Server address (EWS)').fill(ews);
  await carla.getByLabel('Impersonation').check();
  await carla.getByLabel("Service account's e-mail address").fill('crm-service@nordlys.example');
  await carla.getByLabel("Service account's password").fill(PASSWORD);
  await carla.getByRole('button', { name: 'Save and subscribe' }).click();
  await expect(carla).toHaveCount(0);
  await expect(row(page, CARLA)).toContainText('crm-service@nordlys.example');
  await row(page, CARLA).getByRole('button', { name: 'Synchronise' }).click();
  await expect(row(page, CARLA)).toHaveAttribute('data-status', 'synced', { timeout: 20_000 });
});

/** The user's own calendar on their settings page. */
async function ownCalendar(page: Page, email: string) {
  await signIn(page, email, undefined, '/settings');
  await expect(page.locator('body[data-live="open"]')).toHaveCount(1);
  return page.locator('[data-connection-status]');
}

test('F-ADM-3, F-ADM-10: Google in a pop-up — denied, allowed; disconnect withdraws the grant, reconnecting brings no duplicates; the audit log says so', async ({ page, server, browser }) => {
  const status = await ownCalendar(page, ANNA);
  await expect(status).toHaveAttribute('data-connection-status', 'synced', { timeout: 20_000 });
  const before = (await stored(server.emulator, ANNA)).subjects.length;
  await page.goto('/calendar?view=agenda');
  await hydrated(page);
  const meetings = await page.locator('.agenda-item').count();
  expect(meetings).toBeGreaterThan(0);
  expect(await grants(server.emulator)).toContainEqual({ email: ANNA, provider: 'google' });

  await page.goto('/settings');
  await hydrated(page);
  await page.getByRole('button', { name: 'Disconnect' }).click();
  await page.getByRole('dialog').getByRole('button', { name: 'Disconnect' }).click();
  await expect(page.getByRole('radio', { name: 'Google Calendar' })).toBeVisible();
  expect(await grants(server.emulator)).not.toContainEqual({ email: ANNA, provider: 'google' });

  // Denied on the consent screen: said so, nothing connected.
  await page.getByRole('radio', { name: 'Google Calendar' }).check();
  let popup = page.waitForEvent('popup');
  await page.getByRole('button', { name: 'Authorise and subscribe' }).click();
  let consent = await popup;
  await consent.getByLabel('Password').fill(PASSWORD);
  // (The pop-up closes itself: listen before the click that ends it.)
  let closed = consent.waitForEvent('close');
  await consent.getByRole('button', { name: 'Deny' }).click();
  await closed;
  await expect(page.locator('.oauth-state')).toHaveText('Access was not given, so nothing was connected.');
  await expect(page.locator('[data-connection-status]')).toHaveCount(0);

  // Allowed: the pop-up closes itself, the calendar is subscribed; Synchronise brings it in.
  popup = page.waitForEvent('popup');
  await page.getByRole('button', { name: 'Authorise and subscribe' }).click();
  consent = await popup;
  await expect(consent.getByLabel('E-mail')).toHaveValue(ANNA);
  await consent.getByLabel('Password').fill(PASSWORD);
  closed = consent.waitForEvent('close');
  await consent.getByRole('button', { name: 'Allow' }).click();
  await closed;
  await expect(status).toHaveAttribute('data-connection-status', 'subscribed');
  await page.getByRole('button', { name: 'Synchronise' }).click();
  await expect(status).toHaveAttribute('data-connection-status', 'synced', { timeout: 20_000 });
  expect(await grants(server.emulator)).toContainEqual({ email: ANNA, provider: 'google' });

  // The same meetings, once each, in the CRM and at Google.
  await page.goto('/calendar?view=agenda');
  await hydrated(page);
  await expect(page.locator('.agenda-item')).toHaveCount(meetings);
  expect((await stored(server.emulator, ANNA)).subjects.length).toBe(before);

  // The audit log says who disconnected and connected which calendar.
  const admin = await (await browser.newContext()).newPage();
  await signIn(admin, ADMIN, PASSWORD, '/configuration/audit');
  const log = admin.locator('table.audit tbody tr');
  await expect(log.nth(0)).toContainText('Anna Berg');
  await expect(log.nth(0)).toContainText(`Connected the calendar of Anna Berg (${ANNA}, Google`);
  await expect(log.nth(1)).toContainText(`Disconnected the calendar of Anna Berg (${ANNA}, Google`);
  await admin.context().close();
});

test('F-ADM-4: Office 365 asks for the address and refuses another account signing in', async ({ page, server }) => {
  await fetch(`${server.emulator}/_emulator/mailboxes`, {
    method: 'POST',
    headers: { 'content-type': 'application/json' },
    body: JSON.stringify({ email: 'sales@nordlys.example', display_name: 'Sales', provider: 'graph', password: PASSWORD, time_zone: 'Europe/Copenhagen' }),
  });
  const status = await ownCalendar(page, BEN);
  await expect(status).toHaveAttribute('data-connection-status', 'synced', { timeout: 20_000 });
  await page.getByRole('button', { name: 'Set up again' }).click();
  await page.getByRole('radio', { name: 'Exchange: Office 365 (OAuth)' }).check();
  await expect(page.getByLabel('E-mail address')).toHaveValue(BEN);

  // Denied on Microsoft's consent screen, or the window closed without an answer: said so,
  // the connection Ben had stays.
  let popup = page.waitForEvent('popup');
  await page.getByRole('button', { name: 'Save and subscribe' }).click();
  let consent = await popup;
  await consent.getByLabel('Password').fill(PASSWORD);
  let closed = consent.waitForEvent('close');
  await consent.getByRole('button', { name: 'Deny' }).click();
  await closed;
  await expect(page.locator('.oauth-state')).toHaveText('Access was not given, so nothing was connected.');
  await expect(status).toHaveAttribute('data-connection-status', 'synced');
  popup = page.waitForEvent('popup');
  await page.getByRole('button', { name: 'Save and subscribe' }).click();
  await (await popup).close();
  await expect(page.locator('.oauth-state')).toHaveText('The sign-in window was closed before access was given; nothing was connected. Try again.');
  await expect(status).toHaveAttribute('data-connection-status', 'synced');

  // Another account signs in: refused, the connection Ben had stays.
  popup = page.waitForEvent('popup');
  await page.getByRole('button', { name: 'Save and subscribe' }).click();
  consent = await popup;
  await expect(consent.getByLabel('E-mail')).toHaveValue(BEN);
  await consent.getByLabel('E-mail').fill('sales@nordlys.example');
  await consent.getByLabel('Password').fill(PASSWORD);
  await consent.getByRole('button', { name: 'Allow' }).click();
  await expect(page.locator('.oauth-state')).toHaveText(/You signed in as sales@nordlys.example/);
  await expect(status).toHaveAttribute('data-connection-status', 'synced');

  // The right account: connected again, then synchronised.
  popup = page.waitForEvent('popup');
  await page.getByRole('button', { name: 'Save and subscribe' }).click();
  consent = await popup;
  await consent.getByLabel('Password').fill(PASSWORD);
  await consent.getByRole('button', { name: 'Allow' }).click();
  await expect(status).toHaveAttribute('data-connection-status', 'subscribed');
  await page.getByRole('button', { name: 'Synchronise' }).click();
  await expect(status).toHaveAttribute('data-connection-status', 'synced', { timeout: 20_000 });
});

test('F-ADM-6: several users through one service account at once; its password changed in one place', async ({ page, server }) => {
  const ews = `${server.emulator}/ews/EWS/Exchange.asmx`;
  const SERVICE = 'crm-service@nordlys.example';
  await signIn(page, ADMIN);
  await calendars(page);
  await expect(row(page, CARLA)).toHaveAttribute('data-status', 'synced', { timeout: 20_000 });
  await page.getByRole('checkbox', { name: 'Choose Astrid Holm' }).check();
  await page.getByRole('checkbox', { name: 'Choose Carla Diaz' }).check();
  await page.getByRole('button', { name: 'Connect chosen users with a service account (2)' }).click();
  const many = page.getByRole('dialog', { name: 'Connect with a service account' });
  await many.getByLabel('Server address (EWS)').fill(ews);
  await many.getByLabel("Service account's e-mail address").fill(SERVICE);
  await many.getByLabel("Service account's password").fill(PASSWORD);
  await many.getByRole('button', { name: 'Save and subscribe' }).click();
  await expect(many.getByText('Astrid Holm: connected')).toBeVisible();
  await expect(many.getByText('Carla Diaz: connected')).toBeVisible();
  await many.getByRole('button', { name: 'Close' }).click();
  await expect(row(page, ADMIN)).toContainText(SERVICE);
  await expect(row(page, CARLA)).toContainText(SERVICE);
  const account = page.locator(`.service-accounts li[data-account="${SERVICE}"]`);
  await expect(account).toContainText('2 calendars');
  await row(page, ADMIN).getByRole('button', { name: 'Synchronise' }).click();
  await expect(row(page, ADMIN)).toHaveAttribute('data-status', 'synced', { timeout: 20_000 });

  // The password changes on the Exchange server: the calendars stop, and say what to do …
  await fetch(`${server.emulator}/_emulator/mailboxes/${SERVICE}/password`, { method: 'PUT', headers: { 'content-type': 'application/json' }, body: JSON.stringify({ password: 'New-Secret-7' }) });
  await row(page, CARLA).getByRole('button', { name: 'Synchronise' }).click();
  await expect(row(page, CARLA)).toHaveAttribute('data-status', 'failed', { timeout: 20_000 });
  await expect(row(page, CARLA)).toContainText('Enter the current password');
  // … and one change here mends them all; a wrong one changes nothing.
  await account.getByRole('button', { name: 'Change password' }).click();
  const change = page.getByRole('dialog', { name: `New password for ${SERVICE}` });
  await change.getByLabel('New password').fill('not-it');
  await change.getByRole('button', { name: 'Check and save' }).click();
  await expect(change.locator('#f-service_password-error')).toHaveText(/refused/);
  await change.getByLabel('New password').fill('New-Secret-7');
  await change.getByRole('button', { name: 'Check and save' }).click();
  await expect(change.getByRole('status')).toHaveText('The password is changed for 2 calendars.');
  await change.getByRole('button', { name: 'Close' }).click();
  await expect(row(page, CARLA)).toHaveAttribute('data-status', 'synced', { timeout: 20_000 });
  await page.getByRole('link', { name: 'Audit log' }).click();
  await expect(page.locator('table.audit tbody tr').first()).toContainText(`Changed the password of the service account ${SERVICE} (2 calendars)`);
});
