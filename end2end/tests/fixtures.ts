import { test as base, expect, Page } from '@playwright/test';
import { spawn, ChildProcess } from 'node:child_process';
import { appendFileSync, mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';

const repo = path.resolve(__dirname, '..', '..');
const binary = process.env.CRMCAL_BIN || path.join(repo, 'target', 'debug', 'crmcal');

export const DEMO_PASSWORD = 'demo-calendar';
export const ANNA = 'anna@nordlys.example';

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
      LEPTOS_SITE_ROOT: path.join(repo, 'target', 'site'),
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

/** Waits until the WebAssembly has hydrated the page (the app marks <body>). */
export async function hydrated(page: Page) {
  await expect(page.locator('body[data-hydrated="true"]')).toHaveCount(1);
}

export async function signIn(page: Page, email = ANNA, password = DEMO_PASSWORD, start = '/calendar') {
  await page.goto(start);
  await expect(page).toHaveURL(/\/login/);
  await hydrated(page);
  await page.getByLabel('E-mail').fill(email);
  await page.getByLabel('Password').fill(password);
  await page.getByRole('button', { name: 'Sign in' }).click();
  await expect(page).toHaveURL(/\/calendar/);
  await expect(page.locator('main.calendar')).toBeVisible();
  await hydrated(page);
}
