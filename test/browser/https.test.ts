import assert from 'node:assert/strict';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { createServer, type Server } from 'node:https';
import type { AddressInfo } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { type Browser, chromium } from 'playwright-core';
import { createApp, type RunningApp } from '../../app/app.js';
import { loadConfig } from '../../app/config.js';
import { CHROMIUM_ARGS } from '../../scripts/screenshots.js';
import { PASSWORD, SECRET } from '../app/harness.js';
import { selfSignedCertificate } from '../app/processes.js';
import { requireBinary } from '../support/servers.js';

const chromiumPath = requireBinary('chromium', ['/usr/bin/chromium']);
const tls = chromiumPath ? selfSignedCertificate() : null;

describe('reference app over HTTPS in Chromium', {
  skip: (!chromiumPath || !tls) && 'chromium or openssl is not installed',
}, () => {
  let server: Server;
  let running: RunningApp;
  let browser: Browser;
  let url: string;
  let dataDir: string;
  before(async () => {
    dataDir = mkdtempSync(join(tmpdir(), 'coatcheck-https-'));
    const config = loadConfig({
      DATA_DIR: dataDir,
      SESSION_SECRET: SECRET,
      HTTPS_CERT: tls!.cert,
      HTTPS_KEY: tls!.key,
    });
    server = createServer({ cert: readFileSync(tls!.cert), key: readFileSync(tls!.key) });
    await new Promise<void>((done) => server.listen(0, '127.0.0.1', done));
    const { port } = server.address() as AddressInfo;
    running = await createApp({ ...config, port }, { warn: () => {} });
    server.on('request', running.app);
    url = `https://127.0.0.1:${port}`;
    browser = await chromium.launch({
      executablePath: chromiumPath!,
      args: [...CHROMIUM_ARGS, '--ignore-certificate-errors'],
    });
  });
  after(async () => {
    await browser?.close();
    server?.closeAllConnections();
    server?.close();
    await running?.close();
    if (dataDir) rmSync(dataDir, { recursive: true, force: true });
  });

  it('S10 S11 S12 stores __Host-id with Secure, Path=/, no Domain, SameSite=Lax, HttpOnly', async () => {
    const context = await browser.newContext({ ignoreHTTPSErrors: true });
    const page = await context.newPage();
    const response = await page.goto(`${url}/register`);
    const header = (await response!.headerValue('set-cookie')) ?? '';
    assert.match(header, /^__Host-id=[^;]+; Path=\/; HttpOnly; Secure; SameSite=Lax$/);
    assert.doesNotMatch(header, /domain=/i);
    assert.match((await response!.headerValue('strict-transport-security')) ?? '', /max-age=31536000/);

    await page.fill('#email', 'tls@example.com');
    await page.fill('#password', PASSWORD);
    await page.fill('#confirm', PASSWORD);
    await Promise.all([page.waitForURL(/\/login/), page.click('main button[type=submit]')]);
    await page.fill('#email', 'tls@example.com');
    await page.fill('#password', PASSWORD);
    await Promise.all([page.waitForURL(`${url}/dashboard`), page.click('main button[type=submit]')]);

    const cookies = await context.cookies(url);
    assert.deepEqual(
      cookies.map((c) => c.name),
      ['__Host-id'],
    );
    const [cookie] = cookies;
    assert.equal(cookie!.secure, true);
    assert.equal(cookie!.httpOnly, true);
    assert.equal(cookie!.path, '/');
    assert.equal(cookie!.domain, '127.0.0.1', 'host-only: no Domain attribute');
    assert.equal(cookie!.sameSite, 'Lax');
    assert.equal(cookie!.expires, -1, 'S13 a browser-session cookie');
    assert.equal(await page.evaluate('document.cookie'), '');
    await context.close();
  });
});
