import { test as base, expect, Page } from '@playwright/test';
import AxeBuilder from '@axe-core/playwright';
import { spawn, ChildProcess } from 'node:child_process';
import { appendFileSync, mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';

const repo = path.resolve(__dirname, '..', '..');
const binary = process.env.CRMCAL_BIN || path.join(repo, 'target', 'debug', 'crmcal');

export const DEMO_PASSWORD = 'demo-calendar';
export const ANNA = 'anna@nordlys.example';
export const BEN = 'ben@nordlys.example';
export const CARLA = 'carla@nordlys.example';

type Server = { url: string; dataDir: string; emulator: string };

/** Starts crmcal on a free port with a fresh SQLite database; resolves once it listens. */
async function startServer(): Promise<{ server: Server; proc: ChildProcess }> {
  const dataDir = mkdtempSync(path.join(tmpdir(), 'crmcal-e2e-'));
  const proc = spawn(binary, [], {
    cwd: repo,
    env: {
      ...process.env,
      CRMCAL_DATABASE_URL: `sqlite:${path.join(dataDir, 'crmcal.db')}`,
      CRMCAL_ADDR: '127.0.0.1:0',
      CRMCAL_EMULATOR_ADDR: '127.0.0.1:0',
      CRMCAL_SECRET_KEY_FILE: path.join(dataDir, 'secret.key'),
      LEPTOS_SITE_ROOT: process.env.LEPTOS_SITE_ROOT || path.join(repo, 'target', 'site'),
      LEPTOS_OUTPUT_NAME: 'crmcal',
      RUST_LOG: process.env.E2E_SERVER_LOG_DIR ? 'info,sqlx=warn,sync=debug,crmcal=debug' : 'warn',
    },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  let output = '';
  const url = await new Promise<string>((resolve, reject) => {
    const onData = (chunk: Buffer) => {
      output += chunk.toString();
      if (process.env.E2E_SERVER_LOG_DIR) appendFileSync(path.join(process.env.E2E_SERVER_LOG_DIR, `${path.basename(dataDir)}.log`), chunk);
      const m = output.match(/listening on (http:\/\/[\d.:]+)/);
      if (m) resolve(m[1]);
    };
    proc.stdout!.on('data', onData);
    proc.stderr!.on('data', (c: Buffer) => {
      output += c.toString();
      if (process.env.E2E_SERVER_LOG_DIR) appendFileSync(path.join(process.env.E2E_SERVER_LOG_DIR, `${path.basename(dataDir)}.log`), c);
    });
    proc.on('exit', (code) => reject(new Error(`crmcal exited (${code}) before listening:\n${output}`)));
  });
  const emulator = output.match(/Provider emulator \(Google, Graph, EWS\) on (http:\/\/[\d.:]+)/)?.[1] ?? '';
  return { server: { url, dataDir, emulator }, proc };
}

export const test = base.extend<{ server: Server }>({
  // Every test also fails when the page panicked or could not hydrate what the server sent
  // (a hydration mismatch leaves a page that looks right and does nothing).
  page: async ({ page }, use) => {
    const problems: string[] = [];
    page.on('pageerror', (e) => problems.push(`uncaught: ${e.message}`));
    page.on('console', (m) => {
      if (m.type() === 'error' && /panicked|hydration/i.test(m.text())) problems.push(m.text().slice(0, 400));
    });
    await use(page);
    expect(problems, 'the app panicked or failed to hydrate in the browser').toEqual([]);
  },
  server: async ({}, use) => {
    const { server, proc } = await startServer();
    await use(server);
    proc.kill('SIGTERM');
    await new Promise((r) => (proc.exitCode !== null ? r(null) : proc.once('exit', r)));
    rmSync(server.dataDir, { recursive: true, force: true });
  },
  baseURL: async ({ server }, use) => use(server.url),
});

export { expect };
export type { Page };

/** Waits until the WebAssembly has hydrated the page (the app marks <body>). */
export async function hydrated(page: Page) {
  await expect(page.locator('body[data-hydrated="true"]')).toHaveCount(1);
}

/** Signs in through the sign-in page (its labels in the browser's language: English unless
 *  the test sets a Danish locale, then `labels` says so). */
export async function signIn(page: Page, email = ANNA, password = DEMO_PASSWORD, start = '/calendar', labels = { email: 'E-mail', password: 'Password', button: 'Sign in' }) {
  await page.goto(start);
  await expect(page).toHaveURL(/\/login/);
  await hydrated(page);
  await page.getByLabel(labels.email).fill(email);
  await page.getByLabel(labels.password).fill(password);
  await page.getByRole('button', { name: labels.button }).click();
  await expect(page).not.toHaveURL(/\/login/);
  await expect(page.locator('main#main')).toBeVisible();
  await hydrated(page);
}

export const DANISH = { email: 'E-mail', password: 'Adgangskode', button: 'Log ind' };

/** F-X-7: the page has no serious or critical accessibility violation (axe-core, WCAG 2.1 A/AA). */
export async function accessible(page: Page, what: string) {
  const results = await new AxeBuilder({ page }).withTags(['wcag2a', 'wcag2aa', 'wcag21a', 'wcag21aa']).analyze();
  const bad = results.violations.filter((v) => v.impact === 'serious' || v.impact === 'critical');
  const report = bad.map((v) => `${v.id} (${v.impact}): ${v.help}\n  ${v.nodes.map((n) => n.target.join(' ')).slice(0, 5).join('\n  ')}`).join('\n');
  expect(bad, `${what}:\n${report}`).toEqual([]);
}

/** The catalogue, as the app has it (for the Danish run: no English left on a page). */
export function catalogue(lang: 'en' | 'da'): Record<string, string> {
  const flat: Record<string, string> = {};
  const walk = (prefix: string, v: any) => {
    if (typeof v === 'string') flat[prefix] = v;
    else for (const [k, c] of Object.entries(v)) walk(prefix ? `${prefix}.${k}` : k, c);
  };
  walk('', JSON.parse(readFileSync(path.join(repo, 'app', 'locales', `${lang}.json`), 'utf8')));
  return flat;
}

/** The visible text of the page plus the names it gives to assistive technology. */
export async function pageWords(page: Page): Promise<string> {
  return page.evaluate(() => {
    const names = [...document.querySelectorAll('[aria-label],[title],[placeholder]')].map(
      (e) => `${e.getAttribute('aria-label') ?? ''} ${e.getAttribute('title') ?? ''} ${e.getAttribute('placeholder') ?? ''}`,
    );
    return `${document.body.innerText}\n${names.join('\n')}\n${document.title}`;
  });
}
