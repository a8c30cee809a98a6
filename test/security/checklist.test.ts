import assert from 'node:assert/strict';
import { hkdfSync } from 'node:crypto';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import express from 'express';
import { SessionConfigError } from '../../packages/coatcheck/src/core/errors.js';
import type { SessionStore } from '../../packages/coatcheck/src/core/store/store.js';
import {
  requireAuth,
  requireFreshAuth,
  type SessionMiddleware,
  type SessionOptions,
  session,
} from '../../packages/coatcheck/src/express/index.js';
import { MemoryStore as ExpressMemoryStore } from '../../packages/coatcheck/src/session-api/memory-store.js';
import { MemoryStore } from '../../packages/coatcheck/src/stores/memory.js';
import { SqliteStore } from '../../packages/coatcheck/src/stores/sqlite.js';
import { Clock, SECRET } from '../support/app.js';
import { Client, listen, type Running } from '../support/http.js';

const OLD_SECRET = 'an-older-secret-still-in-the-keyring-0123';
const HTTPS = { 'x-forwarded-proto': 'https' };
const FRAMEWORK_NAMES = [
  'connect.sid',
  'sessionId',
  'sid',
  'sid.sig',
  'express:sess',
  'koa.sess',
  'JSESSIONID',
];

interface Probe extends Running {
  clock: Clock;
  middleware: SessionMiddleware;
  store: SessionStore;
}

/** A small Express app on the library's `session()`: forms and JSON, a guard, a freshness guard. */
async function startProbe(options: Partial<SessionOptions> = {}, trustProxy = false): Promise<Probe> {
  const clock = new Clock();
  const store = (options.store as SessionStore | undefined) ?? new MemoryStore();
  const middleware = session({
    secret: SECRET,
    now: clock.now,
    warn: () => {},
    guessLimit: false,
    ...options,
    store,
  });
  const app = express();
  if (trustProxy) app.set('trust proxy', 'loopback');
  app.use(express.urlencoded({ extended: false }), express.json());
  app.use(middleware);
  app.post('/login', async (req, res) => {
    await req.session.login(String((req.body as { userId: string }).userId));
    res.redirect(303, '/me');
  });
  app.post('/logout', async (req, res) => {
    await req.session.logout();
    res.redirect(303, '/whoami');
  });
  app.all('/whoami', (req, res) => {
    res.json({ userId: req.session.meta?.userId ?? null });
  });
  app.post('/unset', (req, res) => {
    delete (req as { session?: unknown }).session;
    res.json({ ok: true });
  });
  app.get('/me', requireAuth(), (req, res) => {
    res.json({ userId: req.session.meta?.userId, handle: req.sessionID });
  });
  app.get('/fresh', requireFreshAuth(), (_req, res) => {
    res.json({ ok: true });
  });
  const running = await listen(app as never);
  return { ...running, clock, middleware, store };
}

const names = (lines: string[]) => lines.map((line) => line.slice(0, line.indexOf('=')));
const handleOf = (token: string) => token.split('.')[0]!;
const whoami = async (client: Client, path = '/whoami', init: Parameters<Client['request']>[1] = {}) =>
  ((await client.request(path, init)).json() as { userId: string | null }).userId;

describe('checklist rows on the library: cookie name, static keys, token intake', () => {
  let plain: Probe;
  let secure: Probe;
  before(async () => {
    plain = await startProbe({ secret: [SECRET, OLD_SECRET] });
    secure = await startProbe({ proxy: true });
  });
  after(async () => {
    await plain.close();
    await secure.close();
  });

  it('S3 the cookie is __Host-id over HTTPS and id over HTTP, configurable, never a framework name', async () => {
    const http = new Client(plain.url);
    const lines = [...(await http.post('/login', { userId: 'alice' })).setCookies];
    lines.push(...(await http.post('/logout')).setCookies);
    assert.deepEqual(new Set(names(lines)), new Set(['id']));
    const tls = new Client(secure.url, HTTPS);
    const tlsLines = [...(await tls.post('/login', { userId: 'alice' })).setCookies];
    tlsLines.push(...(await tls.post('/logout')).setCookies);
    assert.deepEqual(new Set(names(tlsLines)), new Set(['__Host-id']));
    const custom = await startProbe({ name: 'app_ticket' });
    try {
      const res = await new Client(custom.url).post('/login', { userId: 'alice' });
      assert.deepEqual(names(res.setCookies), ['app_ticket']);
    } finally {
      await custom.close();
    }
    for (const name of FRAMEWORK_NAMES)
      assert.ok(![...lines, ...tlsLines].some((l) => l.startsWith(`${name}=`)));
  });

  it('S4 each login gets its own token; no configured or derived key works as a session', async () => {
    const a = new Client(plain.url);
    const b = new Client(plain.url);
    await a.post('/login', { userId: 'alice' });
    const first = a.jar.get('id')!;
    await a.post('/login', { userId: 'alice' });
    await b.post('/login', { userId: 'alice' });
    const tokens = [first, a.jar.get('id')!, b.jar.get('id')!];
    assert.equal(new Set(tokens).size, 3);
    assert.equal(new Set(tokens.map(handleOf)).size, 3);
    const statics = [SECRET, OLD_SECRET];
    for (const secret of [SECRET, OLD_SECRET]) {
      for (const label of ['cookie-mac', 'csrf-mac']) {
        const key = Buffer.from(hkdfSync('sha256', secret, 'coatcheck', label, 32));
        statics.push(key.toString('base64url'), key.toString('hex'));
      }
    }
    for (const value of statics) {
      for (const headers of [{ cookie: `id=${value}` }, { authorization: `Bearer ${value}` }]) {
        const client = new Client(plain.url, headers);
        assert.equal((await client.get('/me')).status, 401, JSON.stringify(headers));
        assert.equal(await whoami(client), null);
      }
    }
  });

  it('S7 a valid token is read only from the Cookie header, never a URL, a body or another header', async () => {
    const victim = new Client(secure.url, HTTPS);
    await victim.post('/login', { userId: 'alice' });
    const token = victim.jar.get('__Host-id')!;
    const q = encodeURIComponent(token);
    const bare = (headers: Record<string, string> = {}) => new Client(secure.url, { ...HTTPS, ...headers });
    for (const path of [`/whoami?id=${q}`, `/whoami?__Host-id=${q}`, `/whoami?connect.sid=${q}`]) {
      assert.equal(await whoami(bare(), path), null, path);
      assert.equal((await bare().get(path.replace('/whoami', '/me'))).status, 401, path);
    }
    const form = new URLSearchParams({ id: token, '__Host-id': token }).toString();
    const formType = { 'content-type': 'application/x-www-form-urlencoded' };
    assert.equal(await whoami(bare(), '/whoami', { method: 'POST', headers: formType, body: form }), null);
    const json = JSON.stringify({ id: token, '__Host-id': token });
    const jsonType = { 'content-type': 'application/json' };
    assert.equal(await whoami(bare(), '/whoami', { method: 'POST', headers: jsonType, body: json }), null);
    for (const headers of [
      { 'x-session-id': token },
      { authorization: `Bearer ${token}` },
      { authorization: token },
      { 'x-csrf-token': token },
    ]) {
      assert.equal(await whoami(bare(headers)), null, JSON.stringify(Object.keys(headers)));
      assert.equal((await bare(headers).get('/me')).status, 401);
    }
    assert.equal(await whoami(victim), 'alice', 'the cookie itself still works');
  });

  it('S7 S11 the token leaves the server only in Set-Cookie: never in a body, a Location or another header', async () => {
    const client = new Client(secure.url, HTTPS);
    const responses = [await client.post('/login', { userId: 'carol' })];
    const token = client.jar.get('__Host-id')!;
    assert.ok(responses[0]!.setCookies.some((line) => line.includes(token)));
    for (const path of ['/me', '/whoami', '/fresh', '/nowhere']) responses.push(await client.get(path));
    responses.push(await client.post('/logout'));
    for (const res of responses) {
      const headers = JSON.stringify([...res.headers].filter(([name]) => name !== 'set-cookie'));
      for (const part of [token, ...token.split('.').slice(1)]) {
        assert.ok(!res.text.includes(part), `body of a ${res.status}`);
        assert.ok(!headers.includes(part), `headers of a ${res.status}`);
      }
    }
    assert.equal(responses[0]!.headers.get('location'), '/me');
  });
});

/** `1_800_000` as the README writes numbers. */
const grouped = (n: number) => n.toLocaleString('en-US').replaceAll(',', '_');
/** The text inside the first pair of backticks of a table cell. */
const code = (cell: string) => /`([^`]+)`/.exec(cell)?.[1] ?? '';
const ipv4 = (n: number) => [24, 16, 8, 0].map((shift) => (n >>> shift) & 255).join('.');
const ipv6 = (n: bigint) =>
  Array.from({ length: 8 }, (_, i) => ((n >> BigInt(112 - 16 * i)) & 0xffffn).toString(16)).join(':');

function optionsTable(readme: string): Map<string, string> {
  const section = readme.split('\n## Options\n')[1]?.split('\n## ')[0] ?? '';
  const rows = new Map<string, string>();
  for (const line of section.split('\n')) {
    const cells = line
      .split('|')
      .slice(1, -1)
      .map((cell) => cell.trim());
    if (cells.length === 3 && cells[0]!.startsWith('`')) rows.set(cells[0]!, cells[1]!);
  }
  return rows;
}

describe('S25 documented defaults', () => {
  const readme = readFileSync(join(import.meta.dirname, '../../packages/coatcheck/README.md'), 'utf8');
  const table = optionsTable(readme);
  const cell = (option: string) => {
    const value = table.get(option);
    assert.ok(value !== undefined, `README options table has no row ${option}`);
    return value;
  };
  const engine = session({ secret: SECRET, store: new MemoryStore(), warn: () => {} }).engine;
  const o = engine.options;
  const checked = new Set<string>();

  it('S25 every default in the README options table is the one the engine uses', () => {
    const check = (option: string, verify: (text: string) => void) => {
      checked.add(option);
      verify(cell(option));
    };
    const duration = (ms: number) => (ms % 3_600_000 === 0 ? `${ms / 3_600_000} h` : `${ms / 60_000} min`);
    check('`idleTimeoutMs`', (t) =>
      assert.equal(t, `\`${grouped(o.idleTimeoutMs)}\` (${duration(o.idleTimeoutMs)})`),
    );
    check('`absoluteTimeoutMs`', (t) =>
      assert.equal(t, `\`${grouped(o.absoluteTimeoutMs)}\` (${duration(o.absoluteTimeoutMs)})`),
    );
    check('`renewalIntervalMs`', (t) => {
      const cap = Number(/^`min\(([\d_]+), idle \/ 2\)`$/.exec(t)?.[1]?.replaceAll('_', ''));
      assert.equal(o.renewalIntervalMs, Math.min(cap, o.idleTimeoutMs / 2));
      const short = session({
        secret: SECRET,
        store: new MemoryStore(),
        warn: () => {},
        idleTimeoutMs: 90_000,
      });
      assert.equal(short.engine.options.renewalIntervalMs, Math.min(cap, 45_000));
    });
    check('`rotationIntervalMs` / `rotationGraceMs`', (t) => {
      assert.equal(o.rotation, null);
      const cap = Number(/`min\(([\d_]+), interval \/ 2, idle\)`$/.exec(t)?.[1]?.replaceAll('_', ''));
      assert.match(t, /^none \(off\) \//);
      const on = (rotationIntervalMs: number) =>
        session({ secret: SECRET, store: new MemoryStore(), warn: () => {}, rotationIntervalMs }).engine
          .options.rotation?.graceMs;
      assert.equal(on(900_000), Math.min(cap, 450_000));
      assert.equal(on(40_000), Math.min(cap, 20_000));
    });
    check('`storeTimeoutMs`', (t) => assert.equal(code(t), grouped(o.storeTimeoutMs)));
    check('`keepOnLogin`', (t) => assert.deepEqual(JSON.parse(code(t).replaceAll("'", '"')), o.keepOnLogin));
    check('`maxSessionsPerUser` / `sessionLimitPolicy`', (t) => {
      assert.equal(o.maxSessionsPerUser, null);
      assert.equal(t, `no limit / \`'${o.sessionLimitPolicy}'\``);
    });
    check('`binding`', (t) => {
      const [, policy, v4, v6] =
        /policy: '(\w+)', ipv4PrefixBits: (\d+), ipv6PrefixBits: (\d+)/.exec(t) ?? [];
      assert.equal(o.binding.policy, policy);
      const ua = 'Mozilla/5.0 Firefox/128.0';
      const base4 = 0x0a000000;
      const inside4 = ipv4(base4 + 2 ** (32 - Number(v4) - 1));
      const outside4 = ipv4(base4 + 2 ** (32 - Number(v4)));
      assert.equal(o.binding.mismatch({ ip: ipv4(base4), userAgent: ua }, inside4, ua), null);
      assert.equal(o.binding.mismatch({ ip: ipv4(base4), userAgent: ua }, outside4, ua), 'network');
      const base6 = 0x20010db8n << 96n;
      const inside6 = ipv6(base6 + (1n << BigInt(128 - Number(v6) - 1)));
      const outside6 = ipv6(base6 + (1n << BigInt(128 - Number(v6))));
      assert.equal(o.binding.mismatch({ ip: ipv6(base6), userAgent: ua }, inside6, ua), null);
      assert.equal(o.binding.mismatch({ ip: ipv6(base6), userAgent: ua }, outside6, ua), 'network');
    });
    check('`guessLimit`', (t) => {
      const [, max, window] = /\{ max: (\d+), windowMs: ([\d_]+) \}/.exec(t) ?? [];
      const limiter = o.guessLimiter!;
      const windowMs = Number(window?.replaceAll('_', ''));
      for (let i = 1; i < Number(max); i++) assert.equal(limiter.record('192.0.2.1', 0), false);
      assert.equal(limiter.isBlocked('192.0.2.1', 0), false);
      assert.equal(limiter.record('192.0.2.1', 0), true, `blocked at the ${max}th`);
      assert.equal(limiter.isBlocked('192.0.2.1', windowMs - 1), true);
      assert.equal(limiter.isBlocked('192.0.2.1', windowMs), false);
    });
    check('`userIdOf`', (t) => {
      assert.equal(code(t), 'data.passport.user');
      assert.equal(o.userIdOf({ passport: { user: 'alice' } }), 'alice');
      assert.equal(o.userIdOf({ passport: { user: 7 } }), '7');
      assert.equal(o.userIdOf({ user: 'alice' }), null);
    });
    check('`legacyCookieName` / `legacy`', (t) => assert.equal(code(t), `'${o.legacyCookieName}'`));
    check('`name`', (t) => {
      assert.equal(t, `\`${o.cookie.nameFor(true)}\` over HTTPS, \`${o.cookie.nameFor(false)}\` over HTTP`);
    });
    check('`cookie.secure`', (t) => assert.equal(code(t), `'${o.cookie.secureSetting}'`));
    check('`cookie.sameSite`', (t) => assert.equal(code(t), `'${o.cookie.sameSite}'`));
    check('`cookie.httpOnly`', (t) => assert.equal(code(t), String(o.cookie.httpOnly)));
    check('`cookie.path` / `cookie.domain`', (t) => {
      assert.equal(t, `\`${o.cookie.path}\` / none`);
      assert.equal(o.cookie.domain, undefined);
    });
    check('`cookie.maxAge` / `cookie.expires`', (t) => {
      assert.match(t, /^none: browser-session cookie/);
      assert.equal(o.cookie.maxAgeMs, undefined);
    });
  });

  it('S25 the behaviour defaults in the table are what an app gets', async () => {
    const warnings: string[] = [];
    const warn = (message: string) => warnings.push(message);
    assert.match(cell('`secret`'), /required in production; in development a random one with a warning/);
    assert.throws(() => session({ store: new MemoryStore(), production: true }), SessionConfigError);
    session({ store: new MemoryStore(), production: false, warn });
    assert.match(warnings.join('\n'), /random/);
    checked.add('`secret`');

    assert.equal(code(cell('`production`')), "NODE_ENV === 'production'");
    const nodeEnv = process.env.NODE_ENV;
    try {
      process.env.NODE_ENV = 'production';
      assert.throws(() => session({ store: new MemoryStore(), warn }), SessionConfigError);
      process.env.NODE_ENV = 'development';
      assert.doesNotThrow(() => session({ store: new MemoryStore(), warn }));
    } finally {
      if (nodeEnv === undefined) delete process.env.NODE_ENV;
      else process.env.NODE_ENV = nodeEnv;
    }
    checked.add('`production`');

    assert.match(cell('`store`'), /^bounded `MemoryStore` with a warning$/);
    warnings.length = 0;
    // The default speaks express-session's store API too (`req.sessionStore.get(sid, cb)`).
    assert.ok(session({ secret: SECRET, warn }).store instanceof ExpressMemoryStore);
    assert.match(warnings.join('\n'), /MemoryStore/);
    checked.add('`store`');

    const probe = await startProbe({ guessLimit: { max: 1000 } });
    const eager = await startProbe({ resave: true, saveUninitialized: true, rolling: true });
    try {
      for (const option of ['`resave`', '`saveUninitialized`', '`rolling`']) {
        assert.equal(code(cell(option)), 'false', option);
        checked.add(option);
      }
      const updates = (store: SessionStore) => {
        let count = 0;
        const update = store.update.bind(store);
        store.update = (handle, patch) => {
          count++;
          return update(handle, patch);
        };
        return () => count;
      };
      const [lazyWrites, eagerWrites] = [updates(probe.store), updates(eager.store)];
      assert.equal((await new Client(probe.url).get('/whoami')).setCookies.length, 0, 'saveUninitialized');
      assert.equal((await new Client(eager.url).get('/whoami')).setCookies.length, 1);
      for (const [app, writes, expected] of [
        [probe, lazyWrites, 0],
        [eager, eagerWrites, 1],
      ] as const) {
        const client = new Client(app.url);
        await client.post('/login', { userId: 'alice' });
        const before = writes();
        const res = await client.get('/me');
        assert.equal(res.setCookies.length, expected, 'rolling');
        assert.equal(writes() - before, expected, 'resave');
      }

      const bits = Number(/^(\d+)-bit random/.exec(cell('`genid`'))?.[1]);
      const client = new Client(probe.url);
      await client.post('/login', { userId: 'alice' });
      assert.equal(Buffer.from(handleOf(client.jar.get('id')!), 'base64url').length * 8, bits);
      checked.add('`genid`');

      assert.equal(code(cell('`unset`')), "'keep'");
      await client.post('/unset');
      assert.equal(await whoami(client), 'alice', 'deleting req.session keeps the session');
      checked.add('`unset`');
    } finally {
      await probe.close();
      await eager.close();
    }

    assert.match(cell('`proxy`'), /^follows Express `trust proxy`$/);
    const behindProxy = await startProbe({}, true);
    try {
      const res = await new Client(behindProxy.url, HTTPS).post('/login', { userId: 'alice' });
      assert.deepEqual(names(res.setCookies), ['__Host-id']);
      const direct = await startProbe();
      const ignored = await new Client(direct.url, HTTPS).post('/login', { userId: 'alice' });
      await direct.close();
      assert.deepEqual(names(ignored.setCookies), ['id'], 'X-Forwarded-Proto ignored without trust proxy');
    } finally {
      await behindProxy.close();
    }
    checked.add('`proxy`');

    assert.equal(cell('`onStoreError`'), '503, generic body');
    const failing = await startProbe({ store: new SqliteStore({ path: ':memory:' }) });
    try {
      const client = new Client(failing.url);
      await client.post('/login', { userId: 'alice' });
      await failing.store.close();
      const res = await client.get('/whoami');
      assert.equal(res.status, 503);
      assert.equal(res.text, 'Service Unavailable');
    } finally {
      await failing.close();
    }
    checked.add('`onStoreError`');
  });

  it('S25 the timeout and freshness prose matches the defaults and cites NIST', async () => {
    const prose = (readme.split('\n## Options\n')[1]?.split('\n## ')[0] ?? '').replace(/\s+/g, ' ');
    assert.match(prose, /NIST SP 800-63B/);
    assert.ok(prose.includes(`${o.idleTimeoutMs / 60_000} minutes of inactivity`), 'idle');
    assert.ok(prose.includes(`${o.absoluteTimeoutMs / 3_600_000} hours overall`), 'absolute');
    assert.equal(o.renewalIntervalMs, 60_000);
    assert.match(prose, /store writes to one per minute per active session/);
    const minutes = Number(/step-up freshness defaults to (\d+) minutes/.exec(prose)?.[1]);
    assert.ok(minutes > 0, 'the freshness default is documented');
    const probe = await startProbe();
    try {
      const client = new Client(probe.url);
      await client.post('/login', { userId: 'alice' });
      probe.clock.advance(minutes * 60_000);
      assert.equal((await client.get('/fresh')).status, 200);
      probe.clock.advance(1);
      const stale = await client.get('/fresh');
      assert.equal(stale.status, 401);
      assert.equal((stale.json() as { error: string }).error, 'reauth_required');
      const others = Array.from({ length: 12 }, () => new Client(probe.url));
      for (const other of others) await other.post('/login', { userId: 'alice' });
      const alive = await Promise.all(others.map((other) => other.get('/me')));
      assert.ok(
        alive.every((res) => res.status === 200),
        'no concurrent-session limit by default',
      );
    } finally {
      await probe.close();
    }
  });

  it('S25 remembered devices are off unless asked for, with the documented lifetime and grace', () => {
    assert.equal(cell('`remember`'), 'none (off)');
    assert.equal(o.remember, null);
    const on = session({ secret: SECRET, store: new MemoryStore(), warn: () => {}, remember: true }).engine;
    assert.deepEqual(
      { lifetimeMs: on.options.remember?.lifetimeMs, graceMs: on.options.remember?.graceMs },
      { lifetimeMs: 2_592_000_000, graceMs: 10_000 },
    );
    assert.match(readme, /`\{ lifetimeMs: 2_592_000_000 \(30 d\), graceMs: 10_000 \}`/);
    checked.add('`remember`');
  });

  it('S25 no row of the README options table goes unchecked', () => {
    assert.deepEqual(
      [...table.keys()].filter((option) => !checked.has(option)),
      [],
    );
  });
});
