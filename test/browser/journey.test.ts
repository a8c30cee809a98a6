import assert from 'node:assert/strict';
import { mkdtempSync, readFileSync, rmSync, statSync } from 'node:fs';
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { type Browser, type BrowserContext, chromium, type Page } from 'playwright-core';
import { createAdmin } from '../../app/cli/create-admin.js';
import { totpCodeAt } from '../../app/totp.js';
import { CHROMIUM_ARGS, captureScreenshots } from '../../scripts/screenshots.js';
import { type AppUnderTest, PASSWORD, sleep, startApp } from '../app/harness.js';
import { requireBinary } from '../support/servers.js';

const chromiumPath = requireBinary('chromium', ['/usr/bin/chromium']);
const IDLE_MS = 8000;
const FIREFOX_ANDROID = 'Mozilla/5.0 (Android 14; Mobile; rv:128.0) Gecko/128.0 Firefox/128.0';

async function signIn(page: Page, url: string, email: string, password = PASSWORD): Promise<void> {
  await page.goto(`${url}/login`);
  await page.fill('#email', email);
  await page.fill('#password', password);
  await Promise.all([page.waitForURL(`${url}/dashboard`), page.click('main button[type=submit]')]);
}

describe('reference app in Chromium', { skip: !chromiumPath && 'chromium is not installed' }, () => {
  let app: AppUnderTest;
  let browser: Browser;
  let evil: Server;
  let evilUrl: string;
  before(async () => {
    app = await startApp({ IDLE_TIMEOUT_MS: String(IDLE_MS), FRESH_AUTH_MS: '3000' });
    browser = await chromium.launch({ executablePath: chromiumPath!, args: CHROMIUM_ARGS });
    // Another local origin (another port) whose page posts a form to the app.
    evil = createServer((req, res) => {
      const target = new URL(req.url ?? '/', 'http://x').searchParams.get('target') ?? '';
      res.setHeader('Content-Type', 'text/html');
      res.end(
        `<!doctype html><form id="f" method="post" action="${target}"><input name="x" value="1"></form>` +
          '<script>document.getElementById("f").submit()</script>',
      );
    });
    await new Promise<void>((done) => evil.listen(0, '127.0.0.1', done));
    evilUrl = `http://127.0.0.1:${(evil.address() as AddressInfo).port}`;
  });
  after(async () => {
    await browser?.close();
    evil?.close();
    await app?.close();
  });

  it('register, sign in twice, sign out the other device, re-authenticate, idle out, refuse a cross-origin form', async () => {
    const { url } = app;
    const first: BrowserContext = await browser.newContext();
    const a = await first.newPage();

    await a.goto(`${url}/register`);
    await a.fill('#email', 'journey@example.com');
    await a.fill('#password', PASSWORD);
    await a.fill('#confirm', PASSWORD);
    await Promise.all([a.waitForURL(/\/login\?notice=registered/), a.click('main button[type=submit]')]);
    assert.match((await a.textContent('.notice')) ?? '', /your account is ready/);
    await signIn(a, url, 'journey@example.com');
    assert.match((await a.textContent('h1')) ?? '', /Hello, journey@example.com/);

    const second = await browser.newContext({ userAgent: FIREFOX_ANDROID });
    const b = await second.newPage();
    await signIn(b, url, 'journey@example.com');

    await a.goto(`${url}/devices`);
    const cards = a.locator('li.device');
    assert.equal(await cards.count(), 2);
    assert.equal(await a.locator('li.device.current').count(), 1);
    assert.match(
      (await a.locator('li.device:not(.current) h2').textContent()) ?? '',
      /Firefox 128 on Android/,
    );
    assert.match((await a.locator('li.device.current h2').textContent()) ?? '', /Chrome/);

    // Signing out another device needs a sign-in younger than FRESH_AUTH_MS (3 s here, long enough for a loaded machine).
    await sleep(3100);
    await Promise.all([
      a.waitForURL(/\/reauth\?returnTo=%2Fdevices/),
      a.click('li.device:not(.current) button'),
    ]);
    await a.fill('#password', PASSWORD);
    await Promise.all([a.waitForURL(`${url}/devices`), a.click('main button[type=submit]')]);
    await Promise.all([a.waitForURL(`${url}/devices`), a.click('li.device:not(.current) button')]);
    assert.match((await a.textContent('.notice')) ?? '', /The device was signed out/);
    assert.equal(await a.locator('li.device').count(), 1);

    await b.reload();
    assert.match(new URL(b.url()).pathname, /^\/login$/, 'the other device lands on the sign-in page');

    await sleep(3100);
    await a.goto(`${url}/account/password`);
    assert.match(
      a.url(),
      /\/reauth\?returnTo=%2Faccount%2Fpassword/,
      'password change asks to re-authenticate',
    );
    await a.fill('#password', PASSWORD);
    await Promise.all([a.waitForURL(`${url}/account/password`), a.click('main button[type=submit]')]);
    await a.fill('#current', PASSWORD);
    await a.fill('#password', 'a new passphrase here');
    await a.fill('#confirm', 'a new passphrase here');
    await Promise.all([a.waitForURL(`${url}/dashboard`), a.click('main button[type=submit]')]);
    assert.match((await a.textContent('.notice')) ?? '', /Your password was changed/);

    await sleep(IDLE_MS + 700);
    await a.goto(`${url}/dashboard`);
    assert.equal(new URL(a.url()).pathname, '/login', 'the idle timeout signed the user out');
    assert.match((await a.textContent('.notice')) ?? '', /Your session has ended/);

    await signIn(a, url, 'journey@example.com', 'a new passphrase here');
    const forged = a.waitForResponse((response) => response.url() === `${url}/logout`);
    await a.goto(`${evilUrl}/?target=${encodeURIComponent(`${url}/logout`)}`);
    assert.equal((await forged).status(), 403, 'S55/S53 the cross-origin form is refused');
    await a.goto(`${url}/dashboard`);
    assert.equal(new URL(a.url()).pathname, '/dashboard', 'still signed in');

    // S11: the session cookie is HttpOnly, so scripts cannot read it.
    const cookies = await first.cookies(url);
    const session = cookies.find((cookie) => cookie.name === 'id');
    assert.ok(session, 'the session cookie is stored');
    assert.equal(session.httpOnly, true);
    assert.equal(session.sameSite, 'Lax');
    const visible = String(await a.evaluate('document.cookie'));
    assert.ok(!visible.includes('id='), `document.cookie is "${visible}"`);
    await first.close();
    await second.close();
  });

  it('S40 sets up an authenticator from the page, then an admin action asks for a step-up and goes through', async () => {
    const fresh = await startApp();
    const context = await browser.newContext();
    try {
      await createAdmin(fresh.config, { email: 'totp-admin@example.com', password: PASSWORD });
      await createAdmin(fresh.config, { email: 'other-admin@example.com', password: PASSWORD });
      const page = await context.newPage();
      await signIn(page, fresh.url, 'totp-admin@example.com');
      const otherContext = await browser.newContext();
      await signIn(await otherContext.newPage(), fresh.url, 'other-admin@example.com');
      await otherContext.close();
      const revokeOther = 'tr:has-text("other-admin@example.com") form[action$="/revoke"] button';
      await page.goto(`${fresh.url}/account/two-step/setup`);
      assert.equal(await page.locator('.qr svg').count(), 1, 'the QR code is an inline SVG');
      const secret = ((await page.textContent('#totp-secret')) ?? '').trim();
      assert.match(secret, /^[A-Z2-7]{32}$/);
      await page.fill('#current', PASSWORD);
      await page.fill('#code', totpCodeAt(secret, fresh.clock.now()));
      await Promise.all([
        page.waitForURL(`${fresh.url}/account/two-step`),
        page.click('main button[type=submit]'),
      ]);
      assert.match((await page.textContent('.notice')) ?? '', /Two-step sign-in is on/);

      fresh.clock.advance(fresh.config.stepUpMaxAgeMs + 30_000);
      await page.goto(`${fresh.url}/admin`);
      await page.click(revokeOther);
      assert.match((await page.textContent('h1')) ?? '', /Confirm with your authenticator/);
      await Promise.all([page.waitForURL(/\/step-up\?returnTo=%2Fadmin/), page.click('main a.button')]);
      await page.fill('#code', totpCodeAt(secret, fresh.clock.now()));
      await Promise.all([page.waitForURL(`${fresh.url}/admin`), page.click('main button[type=submit]')]);
      await Promise.all([page.waitForURL(`${fresh.url}/admin`), page.click(revokeOther)]);
      assert.match(
        (await page.textContent('.notice')) ?? '',
        /Signed out other-admin@example.com everywhere/,
      );
    } finally {
      await context.close();
      await fresh.close();
    }
  });

  it('captures screenshots of the main pages (npm run screenshots writes them to docs/screenshots)', async () => {
    const fresh = await startApp();
    const outDir = mkdtempSync(join(tmpdir(), 'coatcheck-shots-'));
    try {
      const written = await captureScreenshots({
        browser,
        url: fresh.url,
        outDir,
        makeAdmin: async (email) => {
          await createAdmin(fresh.config, { email, password: null });
        },
      });
      assert.equal(written.length, 6);
      for (const file of written) {
        assert.deepEqual([...readFileSync(file).subarray(1, 4)], [...Buffer.from('PNG')], file);
        assert.ok(statSync(file).size > 10_000, `${file} is an image of a page`);
      }
    } finally {
      await fresh.close();
      rmSync(outDir, { recursive: true, force: true });
    }
  });
});
