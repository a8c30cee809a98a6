import assert from 'node:assert/strict';
import { request as httpRequest } from 'node:http';
import { after, before, describe, it } from 'node:test';
import express from 'express';
import fc from 'fast-check';
import { SessionConfigError } from '../../packages/coatcheck/src/core/errors.js';
import type { SessionEvent } from '../../packages/coatcheck/src/core/events.js';
import {
  CSRF_TOKEN_LENGTH,
  createCsrfToken,
  verifyCsrfToken,
} from '../../packages/coatcheck/src/core/policies/csrf.js';
import { randomBase64url } from '../../packages/coatcheck/src/core/tokens/encoding.js';
import { type CsrfOptions, csrf, csrfField, csrfMeta } from '../../packages/coatcheck/src/express/csrf.js';
import { requireAuth, session } from '../../packages/coatcheck/src/express/index.js';
import { MemoryStore } from '../../packages/coatcheck/src/stores/memory.js';
import { SECRET } from '../support/app.js';
import { Client, listen, type Running } from '../support/http.js';

const APP = 'https://app.test';

interface CsrfApp extends Running {
  events: SessionEvent[];
  store: MemoryStore;
}

async function startCsrfApp(options: Partial<CsrfOptions> = {}): Promise<CsrfApp> {
  const store = new MemoryStore();
  const events: SessionEvent[] = [];
  const app = express();
  const sessions = session({ secret: SECRET, store, warn: () => {} });
  sessions.on((event) => events.push(event));
  app.use(sessions, express.json(), express.urlencoded({ extended: false }));
  app.use(
    csrf({
      origins: [APP],
      sameSiteOrigins: ['https://admin.app.test'],
      isStrict: (req) => (req.url ?? '').startsWith('/admin'),
      ...options,
    }),
  );
  app.get('/csrf', (req, res) => void res.json({ token: req.csrfToken() }));
  app.get(
    '/form',
    (req, res) => void res.type('html').send(`${csrfMeta(req)}<form>${csrfField(req)}</form>`),
  );
  app.post('/login', async (req, res) => {
    await req.session.login(String((req.body as { userId: string }).userId));
    res.json({ ok: true });
  });
  app.post('/reauth', async (req, res) => {
    await req.session.reauthenticate();
    res.json({ ok: true });
  });
  app.post('/logout', async (req, res) => {
    await req.session.logout();
    res.json({ ok: true });
  });
  const profile = (req: express.Request, res: express.Response) => {
    req.session.name = (req.body as { name?: string } | undefined)?.name ?? null;
    res.json({ ok: true });
  };
  app.post('/account/profile', requireAuth(), profile);
  app.post('/api/profile', requireAuth(), profile);
  app.get('/api/me', requireAuth(), (req, res) => void res.json({ userId: req.session.meta?.userId }));
  app.get('/public', (_req, res) => void res.send('public'));
  app.post('/admin/action', requireAuth(), (_req, res) => void res.json({ ok: true }));
  const running = await listen(app as never);
  return { ...running, events, store };
}

async function tokenOf(client: Client): Promise<string> {
  return ((await client.get('/csrf')).json() as { token: string }).token;
}

async function signedIn(app: CsrfApp, userId = 'alice'): Promise<{ client: Client; token: string }> {
  const client = new Client(app.url);
  const pre = await tokenOf(client);
  assert.equal((await client.post('/login', { userId }, { 'x-csrf-token': pre })).status, 200);
  return { client, token: await tokenOf(client) };
}

const form = (body: string, headers: Record<string, string> = {}) => ({
  method: 'POST',
  headers: { 'content-type': 'application/x-www-form-urlencoded', ...headers },
  body,
});

/** node:http, because fetch overwrites Sec-Fetch-Mode with `cors`. */
function send(base: string, path: string, method: string, headers: Record<string, string>, body?: string) {
  return new Promise<{ status: number; vary: string }>((resolve, reject) => {
    const req = httpRequest(base + path, { method, headers }, (res) => {
      res.resume();
      res.on('end', () => resolve({ status: res.statusCode ?? 0, vary: String(res.headers.vary ?? '') }));
    });
    req.on('error', reject);
    req.end(body);
  });
}

const rejections = (app: CsrfApp) => app.events.filter((e) => e.type === 'csrf.reject').map((e) => e.reason);

describe('CSRF tokens', () => {
  it('masks the secret afresh on every call (BREACH), and every token verifies', () => {
    const secret = randomBase64url(32);
    const tokens = new Set(Array.from({ length: 50 }, () => createCsrfToken(secret)));
    assert.equal(tokens.size, 50);
    for (const token of tokens) {
      assert.equal(token.length, CSRF_TOKEN_LENGTH);
      assert.ok(verifyCsrfToken(secret, token));
      assert.ok(!token.includes(secret));
    }
  });

  it('refuses malformed tokens: wrong length, padding, alphabet, non-canonical spelling, non-strings', () => {
    const secret = randomBase64url(32);
    const token = createCsrfToken(secret);
    const last = token.at(-1)!;
    const sibling = 'AQgw'.includes(last) ? String.fromCharCode(last.charCodeAt(0) + 1) : 'A';
    for (const bad of [
      token.slice(1),
      `${token}A`,
      `${token}=`,
      `${token.slice(0, -1)}+`,
      token.slice(0, -1) + sibling,
      ` ${token.slice(1)}`,
      '',
      [token],
      null,
      42,
    ]) {
      assert.equal(verifyCsrfToken(secret, bad), false, String(bad));
    }
    assert.equal(verifyCsrfToken('short', token), false);
    assert.throws(() => createCsrfToken('not-a-secret'), TypeError);
  });

  it('random strings never verify', () => {
    const secret = randomBase64url(32);
    const alphabet = fc.constantFrom(
      ...'ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_'.split(''),
    );
    const shaped = fc.string({ unit: alphabet, minLength: CSRF_TOKEN_LENGTH, maxLength: CSRF_TOKEN_LENGTH });
    fc.assert(
      fc.property(
        fc.oneof(shaped, fc.string(), fc.string({ unit: 'binary' })),
        (token) => !verifyCsrfToken(secret, token),
      ),
      { numRuns: 2_000 },
    );
  });

  it('S54 a token made for secret A never verifies for secret B', () => {
    const secretBytes = fc
      .uint8Array({ minLength: 32, maxLength: 32 })
      .map((b) => Buffer.from(b).toString('base64url'));
    fc.assert(
      fc.property(secretBytes, secretBytes, (a, b) => {
        fc.pre(a !== b);
        const token = createCsrfToken(a);
        return verifyCsrfToken(a, token) && !verifyCsrfToken(b, token);
      }),
      { numRuns: 1_000 },
    );
  });
});

describe('CSRF middleware over HTTP', () => {
  let app: CsrfApp;
  before(async () => {
    app = await startCsrfApp();
  });
  after(() => app.close());

  it('S53 state-changing requests need the session token, from the header or the form field only', async () => {
    const { client: alice, token } = await signedIn(app, 'alice');
    const { token: malloryToken } = await signedIn(app, 'mallory');
    app.events.length = 0;
    assert.equal((await alice.post('/account/profile', { name: 'a' })).status, 403, '1 no token');
    assert.equal(
      (await alice.post('/account/profile', { name: 'a' }, { 'x-csrf-token': malloryToken })).status,
      403,
      '2 mallory',
    );
    const query = `?_csrf=${token}&x-csrf-token=${token}&csrf=${token}`;
    assert.equal((await alice.post(`/account/profile${query}`, { name: 'a' })).status, 403, '3 query');
    const cookie = `${alice.cookieHeader}; _csrf=${token}; XSRF-TOKEN=${token}; x-csrf-token=${token}`;
    assert.equal((await alice.post('/account/profile', { name: 'a' }, { cookie })).status, 403, '4 cookie');
    assert.deepEqual(rejections(app), ['missing-token', 'invalid-token', 'missing-token', 'missing-token']);
    assert.equal(
      (await alice.post('/account/profile', { name: 'a' }, { 'x-csrf-token': token })).status,
      200,
      '5 header',
    );
    assert.equal(
      (await alice.request('/account/profile', form(`name=a&_csrf=${token}`))).status,
      200,
      '6 form field',
    );
    assert.equal(rejections(app).length, 4);
  });

  it('S53 no fall-through between sources, and no field outside form bodies', async () => {
    const { client, token } = await signedIn(app);
    const wrongHeader = form(`_csrf=${token}`, { 'x-csrf-token': 'x'.repeat(CSRF_TOKEN_LENGTH) });
    assert.equal((await client.request('/account/profile', wrongHeader)).status, 403);
    assert.equal(
      (await client.request('/account/profile', form(`_csrf=${token}`, { 'x-csrf-token': '' }))).status,
      403,
    );
    assert.equal((await client.post('/account/profile', { _csrf: token })).status, 403, 'JSON body field');
    const multipart = { 'content-type': 'multipart/form-data; boundary=x' };
    const body = `--x\r\nContent-Disposition: form-data; name="_csrf"\r\n\r\n${token}\r\n--x--\r\n`;
    // No multipart parser runs before csrf() here, so the field is unseen; the header still works.
    assert.equal(
      (await client.request('/account/profile', { method: 'POST', headers: multipart, body })).status,
      403,
    );
    const withHeader = { ...multipart, 'x-csrf-token': token };
    assert.equal(
      (await client.request('/account/profile', { method: 'POST', headers: withHeader, body })).status,
      200,
    );
  });

  it('S54 tokens are rotated at login and re-authentication and die at logout', async () => {
    const client = new Client(app.url);
    const before = await tokenOf(client);
    assert.equal((await client.post('/login', { userId: 'alice' }, { 'x-csrf-token': before })).status, 200);
    assert.equal(
      (await client.post('/account/profile', {}, { 'x-csrf-token': before })).status,
      403,
      'pre-login token',
    );
    const signed = await tokenOf(client);
    assert.equal((await client.post('/account/profile', {}, { 'x-csrf-token': signed })).status, 200);
    assert.equal((await client.post('/reauth', {}, { 'x-csrf-token': signed })).status, 200);
    assert.equal(
      (await client.post('/account/profile', {}, { 'x-csrf-token': signed })).status,
      403,
      'pre-step-up token',
    );
    const stepped = await tokenOf(client);
    assert.equal((await client.post('/account/profile', {}, { 'x-csrf-token': stepped })).status, 200);
    const cookie = client.cookieHeader;
    assert.equal((await client.post('/logout', {}, { 'x-csrf-token': stepped })).status, 200);
    assert.equal(
      (await client.post('/account/profile', {}, { 'x-csrf-token': stepped, cookie })).status,
      403,
    );
    assert.equal((await client.get('/api/me', { cookie })).status, 401);
    assert.equal((await client.post('/login', { userId: 'alice' }, { 'x-csrf-token': stepped })).status, 403);
  });

  it('S55 login CSRF: a foreign Origin, cross-site metadata or a missing pre-session token gets 403 and no session', async () => {
    const victim = new Client(app.url);
    const token = await tokenOf(victim);
    const sessionsBefore = app.store.size;
    const attempts: Record<string, string>[] = [
      { origin: 'https://evil.test', 'x-csrf-token': token },
      { 'sec-fetch-site': 'cross-site', 'x-csrf-token': token },
      {},
    ];
    for (const headers of attempts) {
      const jar = victim.cookieHeader;
      const res = await victim.post('/login', { userId: 'mallory' }, headers);
      assert.equal(res.status, 403, JSON.stringify(headers));
      assert.deepEqual(res.setCookies, []);
      assert.equal(victim.cookieHeader, jar);
    }
    const fresh = new Client(app.url);
    const noPreSession = await fresh.request('/login', form('userId=mallory'));
    assert.equal(noPreSession.status, 403);
    assert.deepEqual(noPreSession.setCookies, []);
    assert.equal(app.store.size, sessionsBefore);
    assert.equal((await victim.request('/api/me')).status, 401);
  });

  it('S56 unsafe requests: cross-site and non-allowlisted same-site are refused before the token check', async () => {
    const { client, token } = await signedIn(app);
    const headers = {
      cookie: client.cookieHeader,
      'x-csrf-token': token,
      'content-type': 'application/json',
    };
    const cases: [Record<string, string>, number][] = [
      [{ 'sec-fetch-site': 'cross-site' }, 403],
      [{ 'sec-fetch-site': 'same-site', origin: 'https://blog.app.test' }, 403],
      [{ 'sec-fetch-site': 'same-site', origin: 'https://admin.app.test' }, 200],
      [{ 'sec-fetch-site': 'same-origin' }, 200],
      [{ 'sec-fetch-site': 'none' }, 200],
    ];
    for (const [extra, status] of cases) {
      const res = await send(app.url, '/account/profile', 'POST', { ...headers, ...extra }, '{}');
      assert.equal(res.status, status, JSON.stringify(extra));
      assert.match(res.vary, /Sec-Fetch-Site/);
      assert.match(res.vary, /Origin/);
    }
  });

  it('S56 safe requests to authenticated resources: cross-site subresources get 403, navigations pass', async () => {
    const { client } = await signedIn(app);
    const cookie = client.cookieHeader;
    const script = {
      cookie,
      'sec-fetch-site': 'cross-site',
      'sec-fetch-mode': 'no-cors',
      'sec-fetch-dest': 'script',
    };
    const navigation = {
      cookie,
      'sec-fetch-site': 'cross-site',
      'sec-fetch-mode': 'navigate',
      'sec-fetch-dest': 'document',
    };
    const blocked = await send(app.url, '/api/me', 'GET', script);
    assert.equal(blocked.status, 403);
    assert.match(blocked.vary, /Sec-Fetch-Site, Origin/);
    assert.equal((await send(app.url, '/api/me', 'GET', navigation)).status, 200);
    assert.equal(
      (await send(app.url, '/api/me', 'GET', { cookie, 'sec-fetch-site': 'same-origin' })).status,
      200,
    );
    const anonymous = await send(app.url, '/public', 'GET', {
      'sec-fetch-site': 'cross-site',
      'sec-fetch-mode': 'no-cors',
    });
    assert.equal(anonymous.status, 200);
    assert.equal(anonymous.vary, '', 'an anonymous read does not depend on the headers');
  });

  it('S58 JSON APIs take only application/json and the header token', async () => {
    const { client, token } = await signedIn(app);
    const json = JSON.stringify({ name: 'x' });
    for (const type of [
      'text/plain',
      'application/x-www-form-urlencoded',
      'multipart/form-data; boundary=x',
    ]) {
      const res = await client.request('/api/profile', {
        method: 'POST',
        headers: { 'content-type': type, 'x-csrf-token': token },
        body: json,
      });
      assert.equal(res.status, 415, type);
      assert.deepEqual(res.json(), { error: 'csrf' });
      assert.equal(res.headers.get('cache-control'), 'no-store');
    }
    const noType = await client.request('/api/profile', {
      method: 'POST',
      headers: { 'x-csrf-token': token },
    });
    assert.equal(noType.status, 415);
    const missing = await client.post('/api/profile', { name: 'x', _csrf: token });
    assert.equal(missing.status, 403);
    assert.deepEqual(missing.json(), { error: 'csrf' });
    assert.equal(
      (await client.post('/API/profile', { _csrf: token })).status,
      403,
      'Express routes ignore case',
    );
    assert.equal((await client.post('/api/profile', { name: 'x' }, { 'x-csrf-token': token })).status, 200);
  });

  it('S59 without Sec-Fetch-Site the Origin, then the Referer, is checked against the configured origins', async () => {
    const { client, token } = await signedIn(app);
    const post = (headers: Record<string, string>, path = '/account/profile') =>
      client.post(path, {}, { 'x-csrf-token': token, ...headers }).then((res) => res.status);
    assert.equal(await post({ origin: APP }), 200);
    assert.equal(await post({ origin: 'https://evil.test' }), 403);
    assert.equal(await post({ origin: 'https://app.test.evil.test' }), 403);
    assert.equal(await post({ origin: 'null' }), 403);
    assert.equal(await post({ referer: 'https://evil.test/x' }), 403);
    assert.equal(await post({ referer: `${APP}/account` }), 200);
    assert.equal(await post({}), 200, 'neither header: the token decides');
    assert.equal(await post({}, '/admin/action'), 403, 'strict routes fail closed');
    assert.equal(await post({ origin: APP }, '/admin/action'), 200);
    assert.equal(await post({ origin: 'https://evil.test', 'x-forwarded-host': 'evil.test' }), 403);
    const hostHeader = await send(
      app.url,
      '/account/profile',
      'POST',
      {
        cookie: client.cookieHeader,
        'x-csrf-token': token,
        'content-type': 'application/json',
        host: 'evil.test',
        origin: 'http://evil.test',
      },
      '{}',
    );
    assert.equal(hostHeader.status, 403, 'never compared with Host');
    const reasons = rejections(app).slice(-7);
    assert.deepEqual(reasons, [
      'origin-mismatch',
      'origin-mismatch',
      'origin-null',
      'referer-mismatch',
      'no-origin',
      'origin-mismatch',
      'origin-mismatch',
    ]);
  });

  it('rejections say no more than needed, are never cached, and carry no token in the event', async () => {
    const { client, token } = await signedIn(app);
    const html = await client.request(
      '/account/profile',
      form(`_csrf=${token.slice(1)}`, { accept: 'text/html' }),
    );
    assert.equal(html.status, 403);
    assert.match(html.headers.get('content-type') ?? '', /text\/html/);
    assert.equal(html.headers.get('cache-control'), 'no-store');
    const plain = await client.request('/account/profile', form('name=x'));
    assert.match(plain.headers.get('content-type') ?? '', /text\/plain/);
    const last = app.events.filter((e) => e.type === 'csrf.reject').at(-1)!;
    assert.equal(last.reason, 'missing-token');
    assert.ok(last.handle && last.userId === 'alice');
    assert.ok(!JSON.stringify(app.events).includes(token.slice(1)));
  });

  it('csrfField and csrfMeta carry a fresh token the middleware accepts', async () => {
    const client = new Client(app.url);
    const page = (await client.get('/form')).text;
    const field = /<input type="hidden" name="_csrf" value="([A-Za-z0-9_-]+)">/.exec(page);
    const meta = /<meta name="csrf-token" content="([A-Za-z0-9_-]+)">/.exec(page);
    assert.ok(field && meta && field[1] !== meta[1]);
    assert.equal(
      (await client.post('/login', { userId: 'alice' }, { 'x-csrf-token': meta[1]! })).status,
      200,
    );
  });
});

describe('CSRF middleware options', () => {
  it('report-only mode reports and lets the request through', async () => {
    const app = await startCsrfApp({ reportOnly: true });
    try {
      const { client } = await signedIn(app);
      const res = await client.post('/account/profile', {}, { origin: 'https://evil.test' });
      assert.equal(res.status, 200);
      const reported = app.events.filter((e) => e.type === 'csrf.report_only').map((e) => e.reason);
      assert.deepEqual(reported, ['origin-mismatch']);
      assert.deepEqual(rejections(app), []);
    } finally {
      await app.close();
    }
  });

  it('custom header and field names, HTML-escaped in csrfField', async () => {
    const app = await startCsrfApp({ headerName: 'X-Token', fieldName: 'a"<b>' });
    try {
      const client = new Client(app.url);
      const page = (await client.get('/form')).text;
      assert.ok(page.includes('name="a&quot;&lt;b&gt;"'));
      const token = await tokenOf(client);
      assert.equal((await client.post('/login', { userId: 'a' }, { 'x-csrf-token': token })).status, 403);
      assert.equal((await client.post('/login', { userId: 'a' }, { 'x-token': token })).status, 200);
    } finally {
      await app.close();
    }
  });

  it('refuses a bad configuration at start-up, naming the option', () => {
    const cases: [unknown, string][] = [
      [{}, 'origins'],
      [undefined, 'origins'],
      [{ origins: 'https://app.test' }, 'origins'],
      [{ origins: ['https://app.test/'] }, 'origins'],
      [{ origins: ['null'] }, 'origins'],
      [{ origins: [APP], sameSiteOrigins: ['*.app.test'] }, 'sameSiteOrigins'],
      [{ origins: [APP], headerName: 'x token' }, 'headerName'],
      [{ origins: [APP], headerName: 'Cookie' }, 'headerName'],
      [{ origins: [APP], fieldName: '' }, 'fieldName'],
      [{ origins: [APP], isApi: '/api' }, 'isApi'],
      [{ origins: [APP], reportOnly: 'yes' }, 'reportOnly'],
    ];
    for (const [options, option] of cases) {
      assert.throws(
        () => csrf(options as CsrfOptions),
        (error: unknown) => error instanceof SessionConfigError && error.option === option,
        JSON.stringify(options),
      );
    }
  });

  it('fails loudly when placed before session()', async () => {
    const app = express();
    let failure: unknown;
    app.use(csrf({ origins: [APP] }));
    app.use((error: unknown, _req: express.Request, res: express.Response, _next: express.NextFunction) => {
      failure = error;
      res.status(500).end();
    });
    const running = await listen(app as never);
    try {
      assert.equal((await new Client(running.url).get('/')).status, 500);
      assert.match(String(failure), /session\(\)/);
    } finally {
      await running.close();
    }
  });
});
