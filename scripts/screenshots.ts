/**
 * Screenshots of the reference app's main pages, in real Chromium, into docs/screenshots/.
 *
 *   npm run screenshots
 *
 * Starts the app in-process on a throwaway DATA_DIR, fills it with a few users and devices, and
 * photographs the sign-in page, dashboard, devices, password change and admin pages (desktop and
 * phone widths). The browser tests call `captureScreenshots` too.
 */
import { mkdirSync, mkdtempSync, rmSync } from 'node:fs';
import { createServer } from 'node:http';
import type { AddressInfo } from 'node:net';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { pathToFileURL } from 'node:url';
import { type Browser, chromium, type Page } from 'playwright-core';
import { createApp } from '../app/app.js';
import { createAdmin } from '../app/cli/create-admin.js';
import { loadConfig } from '../app/config.js';

/** Chromium flags for headless runs on a machine without a display or network. */
export const CHROMIUM_ARGS = [
  '--headless',
  '--no-sandbox',
  '--disable-gpu',
  '--disable-background-networking',
  '--disable-component-update',
  '--no-first-run',
];

/** The pages photographed, by file name. */
export const SCREENSHOTS = ['signin', 'dashboard', 'devices', 'password', 'admin', 'devices-phone'] as const;

const PASSWORD = 'correct horse battery staple';
const AGENTS = {
  iphone:
    'Mozilla/5.0 (iPhone; CPU iPhone OS 17_5 like Mac OS X) AppleWebKit/605.1.15 (KHTML, like Gecko) Version/17.5 Mobile/15E148 Safari/604.1',
  windows:
    'Mozilla/5.0 (Windows NT 10.0; Win64; x64) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/126.0.0.0 Safari/537.36 Edg/126.0.0.0',
  android: 'Mozilla/5.0 (Android 14; Mobile; rv:128.0) Gecko/128.0 Firefox/128.0',
  mac: 'Mozilla/5.0 (Macintosh; Intel Mac OS X 14_5) AppleWebKit/605.1.15 (KHTML, like Gecko) Version/17.5 Safari/605.1.15',
};

async function signInWith(browser: Browser, url: string, email: string, userAgent: string): Promise<Page> {
  const context = await browser.newContext({ userAgent, viewport: { width: 1200, height: 800 } });
  const page = await context.newPage();
  await page.goto(`${url}/login`);
  await page.fill('#email', email);
  await page.fill('#password', PASSWORD);
  await Promise.all([page.waitForURL(`${url}/dashboard`), page.click('button[type=submit]')]);
  return page;
}

async function registerWith(page: Page, url: string, email: string): Promise<void> {
  await page.goto(`${url}/register`);
  await page.fill('#email', email);
  await page.fill('#password', PASSWORD);
  await page.fill('#confirm', PASSWORD);
  await Promise.all([page.waitForURL(/\/login\?notice=registered/), page.click('button[type=submit]')]);
}

/**
 * Photographs the main pages of an app at `url` (which must be empty: users are created) into
 * `outDir`; `makeAdmin` turns an email into an administrator (the CLI's job).
 */
export async function captureScreenshots(options: {
  browser: Browser;
  url: string;
  outDir: string;
  makeAdmin: (email: string) => Promise<void>;
}): Promise<string[]> {
  const { browser, url, outDir, makeAdmin } = options;
  mkdirSync(outDir, { recursive: true });
  const written: string[] = [];
  const shot = async (page: Page, name: string) => {
    const path = join(outDir, `${name}.png`);
    await page.screenshot({ path, fullPage: true });
    written.push(path);
  };

  const visitor = await (await browser.newContext({ viewport: { width: 1200, height: 800 } })).newPage();
  for (const email of ['ada@example.com', 'grace@example.com', 'linus@example.com']) {
    await registerWith(visitor, url, email);
  }
  await visitor.goto(`${url}/login`);
  await shot(visitor, 'signin');

  await makeAdmin('ada@example.com');
  for (const agent of [AGENTS.iphone, AGENTS.windows])
    await signInWith(browser, url, 'grace@example.com', agent);
  await signInWith(browser, url, 'linus@example.com', AGENTS.android);
  await signInWith(browser, url, 'ada@example.com', AGENTS.iphone);
  await signInWith(browser, url, 'ada@example.com', AGENTS.windows);
  const ada = await signInWith(browser, url, 'ada@example.com', AGENTS.mac);

  await shot(ada, 'dashboard');
  await ada.goto(`${url}/devices`);
  await shot(ada, 'devices');
  await ada.goto(`${url}/account/password`);
  await shot(ada, 'password');
  await ada.goto(`${url}/admin`);
  await shot(ada, 'admin');

  const phone = await signInWith(browser, url, 'linus@example.com', AGENTS.iphone);
  await phone.setViewportSize({ width: 390, height: 844 });
  await phone.goto(`${url}/devices`);
  await shot(phone, 'devices-phone');
  return written;
}

async function main(): Promise<void> {
  const dataDir = mkdtempSync(join(tmpdir(), 'coatcheck-screenshots-'));
  const config = loadConfig({
    DATA_DIR: dataDir,
    SESSION_SECRET: 'screenshot-secret-that-is-long-enough-0123456789',
  });
  const server = createServer();
  await new Promise<void>((done) => server.listen(0, '127.0.0.1', done));
  const { port } = server.address() as AddressInfo;
  const running = await createApp({ ...config, port }, { warn: () => {} });
  server.on('request', running.app);
  const browser = await chromium.launch({ executablePath: '/usr/bin/chromium', args: CHROMIUM_ARGS });
  try {
    const written = await captureScreenshots({
      browser,
      url: `http://127.0.0.1:${port}`,
      outDir: resolve(import.meta.dirname, '../docs/screenshots'),
      makeAdmin: async (email) => {
        await createAdmin({ ...config, port }, { email, password: null });
      },
    });
    for (const path of written) console.log(`wrote ${path}`);
  } finally {
    await browser.close();
    server.closeAllConnections();
    server.close();
    await running.close();
    rmSync(dataDir, { recursive: true, force: true });
  }
}

if (process.argv[1] && import.meta.url === pathToFileURL(process.argv[1]).href) await main();
