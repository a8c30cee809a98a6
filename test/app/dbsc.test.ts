import assert from 'node:assert/strict';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { createServer, type Server } from 'node:https';
import type { AddressInfo } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { createApp, type RunningApp } from '../../app/app.js';
import { loadConfig } from '../../app/config.js';
import { BrowserKey, DbscBrowser, parseRegistration } from '../dbsc/browser-key.js';
import { Client } from '../support/http.js';
import { csrfFrom, PASSWORD, register, SECRET, startApp, submit } from './harness.js';
import { selfSignedCertificate } from './processes.js';

const tls = selfSignedCertificate();

describe('reference app: DBSC over HTTPS', { skip: !tls && 'openssl is not installed' }, () => {
  let server: Server;
  let running: RunningApp;
  let url: string;
  let dataDir: string;
  let rejectUnauthorized: string | undefined;
  before(async () => {
    // The app's own self-signed certificate: this process's fetch trusts it for these requests only.
    rejectUnauthorized = process.env.NODE_TLS_REJECT_UNAUTHORIZED;
    process.env.NODE_TLS_REJECT_UNAUTHORIZED = '0';
    dataDir = mkdtempSync(join(tmpdir(), 'coatcheck-dbsc-app-'));
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
  });
  after(async () => {
    server?.closeAllConnections();
    server?.close();
    await running?.close();
    if (dataDir) rmSync(dataDir, { recursive: true, force: true });
    if (rejectUnauthorized === undefined) delete process.env.NODE_TLS_REJECT_UNAUTHORIZED;
    else process.env.NODE_TLS_REJECT_UNAUTHORIZED = rejectUnauthorized;
  });

  it('offers a registration at sign-in, binds the session, and shows it on the devices page', async () => {
    const client = new Client(url, { origin: url });
    await register(client, 'dbsc@example.com');
    const login = await submit(client, '/login', '/login', { email: 'dbsc@example.com', password: PASSWORD });
    assert.equal(login.status, 303);
    const offer = parseRegistration(login.headers.get('secure-session-registration'));
    assert.ok(offer, 'the sign-in answer offers a DBSC registration');

    const browser = new DbscBrowser(client, new BrowserKey('ES256'));
    const registered = await browser.register(offer);
    assert.equal(registered.status, 200);
    const boundCookie = registered.setCookies.find((line) => line.startsWith('__Host-coatcheck-dbsc='));
    assert.match(boundCookie ?? '', /; Path=\/; HttpOnly; SameSite=Lax; Secure$/);

    const devices = await client.get('/devices');
    assert.equal(devices.status, 200);
    assert.match(devices.text, /Bound to this browser&#39;s key|Bound to this browser's key/);

    // The session cookie alone, copied to another machine, signs nobody in.
    const thief = new Client(url, { origin: url });
    thief.jar.set('__Host-id', client.jar.get('__Host-id')!);
    const stolen = await thief.get('/dashboard');
    assert.equal(stolen.status, 303);
    assert.match(stolen.headers.get('location') ?? '', /^\/login/);

    // Sign-out ends the DBSC session too.
    const page = await client.get('/devices');
    await client.request('/logout', {
      method: 'POST',
      headers: { 'content-type': 'application/x-www-form-urlencoded' },
      body: new URLSearchParams({ _csrf: csrfFrom(page.text) }).toString(),
    });
    assert.deepEqual((await browser.refreshOnce()).json(), { continue: false });
  });
});

describe('reference app: DBSC stays off over plain HTTP', () => {
  it('sends no registration offer', async () => {
    const app = await startApp();
    try {
      const client = app.client();
      await register(client, 'plain@example.com');
      const login = await submit(client, '/login', '/login', {
        email: 'plain@example.com',
        password: PASSWORD,
      });
      assert.equal(login.status, 303);
      assert.equal(login.headers.get('secure-session-registration'), null);
    } finally {
      await app.close();
    }
  });
});
