import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { type Browser, type Cookie, chromium, type Page } from 'playwright-core';
import { CHROMIUM_ARGS } from '../../scripts/screenshots.js';
import { type AppUnderTest, PASSWORD, startApp } from '../app/harness.js';
import { requireBinary } from '../support/servers.js';

const chromiumPath = requireBinary('chromium', ['/usr/bin/chromium']);
const EMAIL = 'kept@example.com';

/** What survives closing the browser: every cookie but the browser-session one (the session cookie). */
const withoutSessionCookie = (cookies: Cookie[]) =>
  cookies.filter((cookie) => !/^(__Host-)?id$/.test(cookie.name));

async function onDashboard(page: Page, url: string): Promise<boolean> {
  await page.goto(`${url}/dashboard`);
  return new URL(page.url()).pathname === '/dashboard';
}

describe('"Keep me signed in on this device" in Chromium', {
  skip: !chromiumPath && 'chromium is not installed',
}, () => {
  let app: AppUnderTest;
  let browser: Browser;
  before(async () => {
    app = await startApp({ FRESH_AUTH_MS: '60000' });
    browser = await chromium.launch({ executablePath: chromiumPath!, args: CHROMIUM_ARGS });
  });
  after(async () => {
    await browser?.close();
    await app?.close();
  });

  it('closing the browser keeps the user signed in through the remembered device, with a password prompt for sensitive pages; a replayed copy ends it and the user is told', async () => {
    const { url } = app;
    const first = await browser.newContext();
    const a = await first.newPage();
    await a.goto(`${url}/register`);
    await a.fill('#email', EMAIL);
    await a.fill('#password', PASSWORD);
    await a.fill('#confirm', PASSWORD);
    await Promise.all([a.waitForURL(/\/login\?notice=registered/), a.click('main button[type=submit]')]);
    await a.fill('#email', EMAIL);
    await a.fill('#password', PASSWORD);
    assert.equal(await a.isChecked('#remember'), false, 'opt-in: unticked by default');
    await a.check('#remember');
    await Promise.all([a.waitForURL(`${url}/dashboard`), a.click('main button[type=submit]')]);
    const cookies = await first.cookies();
    const remembered = cookies.find((cookie) => cookie.name === 'remember');
    assert.ok(remembered, 'a remember cookie of its own');
    assert.equal(remembered.httpOnly, true);
    assert.equal(remembered.sameSite, 'Lax');
    assert.ok(remembered.expires > Date.now() / 1000 + 29 * 86_400, 'persistent, for the device lifetime');
    const session = cookies.find((cookie) => cookie.name === 'id');
    assert.equal(session?.expires, -1, 'the session cookie itself ends with the browser');
    const kept = withoutSessionCookie(cookies);
    await first.close();

    // The browser comes back: no session cookie, the remember cookie still there.
    const second = await browser.newContext();
    await second.addCookies(kept);
    const b = await second.newPage();
    assert.equal(await onDashboard(b, url), true, 'signed in again without a password');
    assert.match((await b.textContent('h1')) ?? '', new RegExp(`Hello, ${EMAIL}`));
    await b.goto(`${url}/devices`);
    assert.equal(await b.locator('li.device.current .badge.remembered').count(), 1);
    assert.equal(await b.locator('.remembered-devices li.current').count(), 1);
    await b.goto(`${url}/account/password`);
    assert.equal(new URL(b.url()).pathname, '/reauth', 'a sensitive page asks for the password');
    await b.fill('#password', PASSWORD);
    await Promise.all([b.waitForURL(`${url}/account/password`), b.click('main button[type=submit]')]);

    // A copy of the first credential, taken before it was rotated, is used later elsewhere.
    app.clock.advance(11_000);
    const thief = await browser.newContext();
    await thief.addCookies(kept);
    assert.equal(await onDashboard(await thief.newPage(), url), false, 'the replayed copy signs nobody in');
    assert.equal(await onDashboard(b, url), false, 'and the device it belonged to is signed out');
    assert.ok(app.events.some((event) => event.type === 'security.remember_reuse'));
    await b.goto(`${url}/login`);
    await b.fill('#email', EMAIL);
    await b.fill('#password', PASSWORD);
    await Promise.all([b.waitForURL(`${url}/dashboard`), b.click('main button[type=submit]')]);
    assert.match((await b.textContent('.notifications')) ?? '', /used twice/);
    await second.close();
    await thief.close();
  });
});
