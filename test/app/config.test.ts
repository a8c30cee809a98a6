import assert from 'node:assert/strict';
import { mkdtempSync, readFileSync, rmSync, statSync } from 'node:fs';
import { request } from 'node:https';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { appOrigins } from '../../app/app.js';
import { ConfigError, ENV_VARS, loadConfig } from '../../app/config.js';
import { PASSWORD, register, SECRET, signIn, startApp } from './harness.js';
import { ROOT, selfSignedCertificate, startServer } from './processes.js';

describe('reference app configuration', () => {
  let dir: string;
  before(() => {
    dir = mkdtempSync(join(tmpdir(), 'coatcheck-config-'));
  });
  after(() => rmSync(dir, { recursive: true, force: true }));

  it('reads defaults, and names the variable of a value it cannot use', () => {
    const config = loadConfig({ DATA_DIR: dir, SESSION_SECRET: SECRET });
    assert.equal(config.port, 3000);
    assert.equal(config.host, '127.0.0.1');
    assert.equal(config.idleTimeoutMs, 1_800_000);
    assert.equal(config.absoluteTimeoutMs, 43_200_000);
    assert.equal(config.trustProxy, false);
    assert.deepEqual(appOrigins(config), ['http://127.0.0.1:3000', 'http://localhost:3000']);
    const bad: [Record<string, string>, string][] = [
      [{ PORT: 'eighty' }, 'PORT'],
      [{ PORT: '70000' }, 'PORT'],
      [{ IDLE_TIMEOUT_MS: '-5' }, 'IDLE_TIMEOUT_MS'],
      [{ TRUST_PROXY: 'true' }, 'TRUST_PROXY'],
      [{ PUBLIC_ORIGIN: 'https://app.example.com/path' }, 'PUBLIC_ORIGIN'],
      [{ PUBLIC_ORIGIN: 'javascript:alert(1)' }, 'PUBLIC_ORIGIN'],
      [{ HTTPS_CERT: '/nonexistent.pem' }, 'HTTPS_KEY'],
      [{ HTTPS_CERT: '/nonexistent.pem', HTTPS_KEY: '/nonexistent.pem' }, 'HTTPS_CERT'],
    ];
    for (const [env, variable] of bad) {
      assert.throws(
        () => loadConfig({ DATA_DIR: dir, SESSION_SECRET: SECRET, ...env }),
        (error: unknown) => error instanceof ConfigError && error.variable === variable,
        JSON.stringify(env),
      );
    }
    const custom = loadConfig({
      DATA_DIR: dir,
      SESSION_SECRET: `${SECRET},old-secret-that-is-long-enough-000000000`,
      TRUST_PROXY: '1',
      PUBLIC_ORIGIN: 'https://app.example.com, https://www.example.com',
    });
    assert.equal(custom.trustProxy, 1);
    assert.equal(custom.secrets?.length, 2);
    assert.deepEqual(appOrigins(custom), ['https://app.example.com', 'https://www.example.com']);
  });

  it('documents every environment variable it reads', () => {
    const doc = readFileSync(join(ROOT, 'docs/reference-app.md'), 'utf8');
    for (const variable of ENV_VARS) {
      assert.match(doc, new RegExp(`^\\| \`${variable.name}\` +\\|`, 'm'), variable.name);
    }
  });

  it('generates a development secret once, keeps it private, and sessions survive a restart', async () => {
    const dataDir = mkdtempSync(join(tmpdir(), 'coatcheck-devsecret-'));
    try {
      const first = loadConfig({ DATA_DIR: dataDir });
      assert.match(first.notices.join('\n'), /generated a development secret/);
      const file = join(dataDir, 'session-secret');
      assert.equal(statSync(file).mode & 0o777, 0o600);
      const second = loadConfig({ DATA_DIR: dataDir });
      assert.deepEqual(second.secrets, first.secrets);
      assert.equal(readFileSync(file, 'utf8').trim(), first.secrets![0]);

      const one = await startApp({ DATA_DIR: dataDir, SESSION_SECRET: '' });
      const client = one.client();
      await register(client, 'restart@example.com');
      await signIn(client, 'restart@example.com');
      await one.close();
      const two = await startApp({ DATA_DIR: dataDir, SESSION_SECRET: '' });
      try {
        const again = two.client({ cookie: client.cookieHeader });
        assert.equal((await again.get('/dashboard')).status, 200);
      } finally {
        await two.close();
      }
    } finally {
      rmSync(dataDir, { recursive: true, force: true });
    }
  });

  it('refuses to start in production without a strong secret, with a clear message', async () => {
    for (const secret of ['', 'too-short']) {
      const server = startServer({
        NODE_ENV: 'production',
        SESSION_SECRET: secret,
        DATA_DIR: dir,
        PORT: '0',
      });
      const code = await server.exited;
      assert.equal(code, 1);
      assert.match(server.output(), /cannot start/);
      assert.match(server.output(), /SESSION_SECRET/);
      assert.match(server.output(), /openssl rand/);
      assert.ok(!/at .*\.(ts|js):\d+/.test(server.output()), 'no stack trace');
    }
  });

  it('prints its URL, serves, and stops on SIGTERM', async () => {
    const server = startServer({ DATA_DIR: dir, PORT: '0', SESSION_SECRET: SECRET });
    try {
      const [, url] = await server.waitFor(/coatcheck reference app on (http:\/\/127\.0\.0\.1:\d+)/, 30_000);
      const res = await fetch(`${url}/login`);
      assert.equal(res.status, 200);
      assert.match(server.output(), /sessions: SQLite/);
    } finally {
      await server.stop();
    }
    assert.equal(await server.exited, 0);
  });

  it('S43 takes the client IP and protocol from proxies only when TRUST_PROXY says so', async () => {
    const forged = { 'x-forwarded-for': '203.0.113.9', 'x-forwarded-proto': 'https' };
    const direct = await startApp();
    try {
      const client = direct.client(forged);
      await register(client, 'direct@example.com');
      await signIn(client, 'direct@example.com');
      assert.ok(client.jar.has('id'), 'no Secure cookie over plain HTTP');
      const page = await client.get('/devices');
      assert.match(page.text, /<dd>127\.0\.0\.1<\/dd>/);
      assert.ok(!page.text.includes('203.0.113.9'));
    } finally {
      await direct.close();
    }
    const proxied = await startApp({ TRUST_PROXY: 'loopback', PUBLIC_ORIGIN: 'https://app.example.com' });
    try {
      const client = proxied.client({ ...forged, origin: 'https://app.example.com' });
      await register(client, 'proxied@example.com');
      await signIn(client, 'proxied@example.com', PASSWORD);
      assert.ok(client.jar.has('__Host-id'), 'HTTPS at the proxy: the __Host- cookie');
      const page = await client.get('/devices');
      assert.match(page.text, /<dd>203\.0\.113\.9<\/dd>/);
      assert.match(
        page.headers.get('strict-transport-security') ?? '',
        /max-age=31536000; includeSubDomains/,
      );
    } finally {
      await proxied.close();
    }
  });

  it('S10 S15 serves HTTPS with a __Host- cookie and HSTS when given a certificate', async (t) => {
    const tls = selfSignedCertificate();
    if (!tls) return t.skip('openssl is not installed');
    const server = startServer({
      DATA_DIR: dir,
      PORT: '0',
      SESSION_SECRET: SECRET,
      HTTPS_CERT: tls.cert,
      HTTPS_KEY: tls.key,
    });
    try {
      const [, url] = await server.waitFor(/coatcheck reference app on (https:\/\/127\.0\.0\.1:\d+)/, 30_000);
      const res = await new Promise<{ headers: Record<string, string | string[] | undefined> }>(
        (done, fail) => {
          const req = request(`${url}/login`, { rejectUnauthorized: false }, (response) => {
            response.resume();
            done({ headers: response.headers });
          });
          req.on('error', fail);
          req.end();
        },
      );
      const cookie = (res.headers['set-cookie'] as string[])[0]!;
      assert.match(cookie, /^__Host-id=[^;]+; Path=\/; HttpOnly; Secure; SameSite=Lax$/);
      assert.equal(res.headers['strict-transport-security'], 'max-age=31536000; includeSubDomains');
    } finally {
      await server.stop();
    }
  });
});
