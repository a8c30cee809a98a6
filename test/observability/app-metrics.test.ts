import assert from 'node:assert/strict';
import { mkdtempSync, rmSync } from 'node:fs';
import type { Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { serveMetrics } from '../../app/metrics-server.js';
import {
  type AppUnderTest,
  csrfFrom,
  newPasswordOnlyAdmin,
  postForm,
  register,
  SECRET,
  signIn,
  sleep,
  startApp,
  submit,
} from '../app/harness.js';
import { startServer } from '../app/processes.js';
import { sample } from './support.js';

async function scrape(server: Server, path = '/metrics') {
  const { port } = server.address() as AddressInfo;
  const res = await fetch(`http://127.0.0.1:${port}${path}`);
  return { status: res.status, type: res.headers.get('content-type'), text: await res.text() };
}

describe('the reference app on METRICS_PORT', () => {
  let app: AppUnderTest;
  let metrics: Server;
  before(async () => {
    app = await startApp();
    metrics = await serveMetrics(app.running.metrics, 0, '127.0.0.1');
  });
  after(async () => {
    metrics.closeAllConnections();
    await new Promise((done) => metrics.close(done));
    await app.close();
  });

  it('counts a scripted run of sign-ins, failures and revocations exactly', async () => {
    const alice = app.client({ 'user-agent': 'Mozilla/5.0 (X11; Linux x86_64) Firefox/140.0' });
    await register(alice, 'alice@example.test');
    await signIn(alice, 'alice@example.test');

    const mallory = app.client();
    const wrong = await submit(mallory, '/login', '/login', {
      email: 'alice@example.test',
      password: 'not the password',
    });
    assert.notEqual(wrong.status, 303, 'a wrong password does not sign in');
    const forged = await postForm(mallory, '/login', { _csrf: 'forged', email: 'a@b.test', password: 'x' });
    assert.equal(forged.status, 403);
    const crossSite = await app
      .client({ 'sec-fetch-site': 'cross-site' })
      .request('/logout', { method: 'POST' });
    assert.equal(crossSite.status, 403);

    const phone = app.client({ 'user-agent': 'Mozilla/5.0 (Linux; Android 15) Chrome/141.0 Mobile' });
    await signIn(phone, 'alice@example.test');
    const devices = await alice.get('/devices');
    const others = await postForm(alice, '/devices/revoke-others', { _csrf: csrfFrom(devices.text) });
    assert.equal(others.status, 303);
    assert.equal((await phone.get('/dashboard')).status, 303, 'the phone was signed out');
    const dashboard = await alice.get('/dashboard');
    assert.equal((await postForm(alice, '/logout', { _csrf: csrfFrom(dashboard.text) })).status, 303);

    const { status, type, text } = await scrape(metrics);
    assert.equal(status, 200);
    assert.match(type ?? '', /^text\/plain/);
    const expected: Record<string, number> = {
      // Pre-sessions of the sign-in and registration forms: alice's, mallory's, the phone's.
      'coatcheck_sessions_created_total{kind="anonymous"}': 3,
      'coatcheck_sessions_created_total{kind="login"}': 2,
      // Each sign-in replaced its pre-session by a new token.
      'coatcheck_sessions_rotated_total{trigger="reissue"}': 2,
      'coatcheck_sessions_ended_total{cause="revoked"}': 1,
      'coatcheck_sessions_ended_total{cause="logout"}': 1,
      coatcheck_login_failures_total: 1,
      'coatcheck_csrf_rejections_total{reason="invalid-token",mode="enforce"}': 1,
      'coatcheck_csrf_rejections_total{reason="cross-site",mode="enforce"}': 1,
      'coatcheck_store_operation_duration_seconds_count{operation="destroyByUser",outcome="ok"}': 1,
    };
    for (const [series, value] of Object.entries(expected)) {
      assert.equal(sample(text, series), value, series);
    }
    for (const absent of ['cause="idle"', 'cause="binding"', 'coatcheck_guess_limiter_trips_total 1']) {
      assert.ok(!text.includes(absent), `${absent} was not counted`);
    }
    // Labels never carry who or where: no user id, handle, address or email.
    const users = await app.running.backends.users.findByEmail('alice@example.test');
    for (const secret of [users!.id, '127.0.0.1', 'alice@example.test', ...alice.jar.values()]) {
      assert.ok(!text.includes(secret), 'no identifying value in the metrics');
    }
  });

  it('serves nothing else on the metrics port, and no /metrics on the public port', async () => {
    assert.equal((await scrape(metrics, '/')).status, 404);
    assert.equal((await app.client().get('/metrics')).status, 404);
  });
});

describe('anomalies in the reference app', () => {
  let app: AppUnderTest;
  before(async () => {
    app = await startApp({ TRUST_PROXY: '1' });
  });
  after(() => app.close());

  it('tells the user about sign-ins from three networks and lists the alert for admins only', async () => {
    const home = app.client({ 'x-forwarded-for': '198.51.100.7' });
    await register(home, 'bob@example.test');
    await signIn(home, 'bob@example.test');
    for (const address of ['203.0.113.9', '192.0.2.200']) {
      await signIn(app.client({ 'x-forwarded-for': address }), 'bob@example.test');
    }
    let page = '';
    for (let attempt = 0; attempt < 50 && !page.includes('several different networks'); attempt++) {
      await sleep(20);
      page = (await home.get('/dashboard')).text;
    }
    assert.match(page, /signed in from several different networks within minutes/);

    assert.equal((await home.get('/admin/security')).status, 403, 'a user cannot read it');
    const admin = await newPasswordOnlyAdmin(app, 'admin@example.test');
    const list = await admin.get('/admin/security');
    assert.equal(list.status, 200);
    assert.match(
      list.text,
      /security\.anomaly<\/th>\s*<td data-label="Reason">network_spread<\/td>\s*<td data-label="User">bob@example\.test</,
    );
    assert.ok(!list.text.includes('192.0.2.200'), 'addresses are shown as networks');
    assert.match(list.text, /192\.0\.2\.0\/24/);
  });
});

describe('npm start with METRICS_PORT', () => {
  it('serves /metrics on its own loopback listener, counting the running app', async () => {
    const dataDir = mkdtempSync(join(tmpdir(), 'coatcheck-metrics-'));
    const server = startServer({ PORT: '0', METRICS_PORT: '0', DATA_DIR: dataDir, SESSION_SECRET: SECRET });
    try {
      const [, appUrl] = await server.waitFor(/reference app on (http:\/\/\S+)/, 60_000);
      const [, metricsUrl] = await server.waitFor(
        /Prometheus metrics on (http:\/\/127\.0\.0\.1:\d+\/metrics)/,
        5_000,
      );
      assert.equal((await fetch(`${appUrl}/login`)).status, 200);
      assert.equal((await fetch(`${appUrl}/metrics`)).status, 404);
      const text = await (await fetch(metricsUrl!)).text();
      assert.equal(sample(text, 'coatcheck_sessions_created_total{kind="anonymous"}'), 1);
    } finally {
      await server.stop();
      rmSync(dataDir, { recursive: true, force: true });
    }
  });
});
