import assert from 'node:assert/strict';
import type { IncomingMessage } from 'node:http';
import { describe, it } from 'node:test';
import express from 'express';
import expressSession from 'express-session';
import { SessionConfigError } from '../../packages/coatcheck/src/core/errors.js';
import {
  type SessionCookieOptions,
  type SessionOptions,
  session,
} from '../../packages/coatcheck/src/express/index.js';
import { MemoryStore } from '../../packages/coatcheck/src/stores/memory.js';
import { SECRET, startTestApp } from '../support/app.js';
import { Client, listen, type Running } from '../support/http.js';

type Options = Pick<SessionOptions, 'cookie' | 'proxy'>;
const HTTPS = { 'x-forwarded-proto': 'https' };

/** An app that stores something on every request, on coatcheck or on express-session itself. */
function storingApp(middleware: unknown): express.Express {
  const app = express();
  app.use(middleware as express.RequestHandler);
  app.use((req, res) => {
    // express-session gives no req.session at all outside cookie.path.
    if (req.session) req.session.visits = Number(req.session.visits ?? 0) + 1;
    res.json({ path: req.path });
  });
  return app;
}

async function both(options: Options): Promise<{ ours: Running; theirs: Running; close(): Promise<void> }> {
  const ours = await listen(
    storingApp(
      session({ secret: SECRET, store: new MemoryStore(), warn: () => {}, name: 'sid', ...options }),
    ) as never,
  );
  const theirs = await listen(
    storingApp(
      expressSession({ secret: SECRET, resave: false, saveUninitialized: false, name: 'sid', ...options }),
    ) as never,
  );
  return { ours, theirs, close: async () => void (await Promise.all([ours.close(), theirs.close()])) };
}

/** Attribute names (lower case) to values of the one Set-Cookie line, or null when none was sent. */
async function attributesOf(running: Running, path: string, headers: Record<string, string> = {}) {
  const res = await new Client(running.url).get(path, headers);
  if (res.setCookies.length === 0) return null;
  assert.equal(res.setCookies.length, 1);
  const [, ...parts] = res.setCookies[0]!.split('; ');
  return new Map(
    parts.map((part) => [part.split('=')[0]!.toLowerCase(), part.split('=')[1] ?? true] as const),
  );
}

/** When the cookie expires, from Max-Age (ours) or Expires (express-session's). */
function expiryOf(attributes: Map<string, string | true> | null): number | null {
  const maxAge = attributes?.get('max-age');
  if (typeof maxAge === 'string') return Date.now() + Number(maxAge) * 1000;
  const expires = attributes?.get('expires');
  return typeof expires === 'string' ? Date.parse(expires) : null;
}

describe('cookie.maxAge and cookie.expires as in express-session', () => {
  const inAnHour = () => new Date(Date.now() + 3_600_000);
  for (const [name, cookie] of [
    ['expires then maxAge: maxAge wins', { expires: inAnHour(), maxAge: 60_000 }],
    ['maxAge then expires: expires wins', { maxAge: 60_000, expires: inAnHour() }],
    ['maxAge then expires undefined: browser-session cookie', { maxAge: 60_000, expires: undefined }],
  ] as const) {
    it(`the later key decides, like express-session: ${name}`, async () => {
      const apps = await both({ cookie });
      const ours = expiryOf(await attributesOf(apps.ours, '/'));
      const theirs = expiryOf(await attributesOf(apps.theirs, '/'));
      assert.equal(ours === null, theirs === null);
      if (ours !== null && theirs !== null)
        assert.ok(Math.abs(ours - theirs) < 3_000, `${ours} vs ${theirs}`);
      await apps.close();
    });
  }

  it('a start-up expires is a fixed date: sessions made later get shorter cookies; a past date is refused', async () => {
    const fixed = new Date(Date.now() + 3_600_000);
    const app = await startTestApp(new MemoryStore(), { cookie: { expires: fixed } });
    const first = await new Client(app.url).post('/set', { a: 1 });
    app.clock.advance(600_000);
    const second = await new Client(app.url).post('/set', { a: 1 });
    const maxAge = (line: string | undefined) => Number(/Max-Age=(\d+)/.exec(line ?? '')?.[1]);
    assert.ok(Math.abs(maxAge(first.setCookies[0]) - 3_600) <= 2, first.setCookies[0]);
    assert.ok(Math.abs(maxAge(second.setCookies[0]) - 3_000) <= 2, second.setCookies[0]);
    await app.close();
    assert.throws(
      () =>
        session({ secret: SECRET, store: new MemoryStore(), cookie: { expires: new Date(Date.now() - 1) } }),
      (error: unknown) => error instanceof SessionConfigError && error.option === 'cookie.expires',
    );
  });
});

describe('a per-session browser-session cookie under a configured cookie.maxAge', () => {
  /** The common "remember me" form: a persistent cookie by default, a browser-session one when unticked. */
  function rememberMeApp(
    middleware: unknown,
    forget: (cookie: { maxAge: unknown; expires: unknown }) => void,
  ) {
    const app = express();
    app.use(middleware as express.RequestHandler);
    app.post('/login', (req, res) => {
      req.session.user = 'ada';
      forget(req.session.cookie as never);
      // express-session reads back `false` after `expires = false`, coatcheck null: both "none".
      res.json({ maxAge: req.session.cookie.maxAge || null });
    });
    app.get('/', (req, res) =>
      res.json({ user: req.session.user ?? null, maxAge: req.session.cookie.maxAge || null }),
    );
    return listen(app as never);
  }

  for (const [name, forget] of [
    [
      'cookie.expires = false',
      (cookie: { expires: unknown }) => {
        cookie.expires = false;
      },
    ],
    [
      'cookie.maxAge = null',
      (cookie: { maxAge: unknown }) => {
        cookie.maxAge = null;
      },
    ],
  ] as const) {
    it(`${name} sends a cookie without Max-Age or Expires and keeps it so, like express-session`, async () => {
      const cookie = { maxAge: 3_600_000 };
      const apps = {
        ours: await rememberMeApp(
          session({ secret: SECRET, store: new MemoryStore(), warn: () => {}, cookie }),
          forget,
        ),
        theirs: await rememberMeApp(
          expressSession({ secret: SECRET, resave: false, saveUninitialized: false, cookie }),
          forget,
        ),
      };
      for (const [label, running] of Object.entries(apps)) {
        const client = new Client(running.url);
        const login = await client.post('/login', {});
        assert.equal(login.setCookies.length, 1, label);
        assert.doesNotMatch(login.setCookies[0]!, /Max-Age|Expires/i, `${label}: ${login.setCookies[0]}`);
        assert.deepEqual(login.json(), { maxAge: null }, label);
        const next = await client.get('/');
        assert.deepEqual(next.json(), { user: 'ada', maxAge: null }, label);
        for (const line of next.setCookies)
          assert.doesNotMatch(line, /Max-Age|Expires/i, `${label}: ${line}`);
        await running.close();
      }
    });
  }
});

describe("cookie.sameSite 'none' and 'auto', partitioned, priority", () => {
  it("'auto' sends None with Secure over HTTPS and Lax over HTTP, like express-session 1.19", async () => {
    const apps = await both({ cookie: { sameSite: 'auto', secure: 'auto' }, proxy: true });
    for (const headers of [HTTPS, {}]) {
      const ours = await attributesOf(apps.ours, '/', headers);
      const theirs = await attributesOf(apps.theirs, '/', headers);
      assert.equal(ours?.get('samesite'), theirs?.get('samesite'));
      assert.equal(ours?.get('secure'), theirs?.get('secure'));
    }
    assert.equal((await attributesOf(apps.ours, '/', HTTPS))?.get('samesite'), 'None');
    assert.equal((await attributesOf(apps.ours, '/'))?.get('samesite'), 'Lax');
    await apps.close();
  });

  it("'none' is sent only with Secure: Lax on plain HTTP under secure 'auto'", async () => {
    const app = await startTestApp(new MemoryStore(), { cookie: { sameSite: 'none' }, proxy: true });
    const secure = (await new Client(app.url, HTTPS).post('/set', { a: 1 })).setCookies[0]!;
    const plain = (await new Client(app.url).post('/set', { a: 1 })).setCookies[0]!;
    assert.match(secure, /; Secure; SameSite=None$/);
    assert.match(plain, /; SameSite=Lax$/);
    assert.doesNotMatch(plain, /Secure/);
    await app.close();
  });

  it('partitioned and priority are written as express-session writes them; Partitioned only with Secure', async () => {
    const cookie = { secure: 'auto' as const, partitioned: true, priority: 'high' as const };
    const apps = await both({ cookie, proxy: true });
    const ours = await attributesOf(apps.ours, '/', HTTPS);
    const theirs = await attributesOf(apps.theirs, '/', HTTPS);
    assert.equal(ours?.get('partitioned'), true);
    assert.equal(ours?.get('priority'), 'High');
    assert.equal(theirs?.get('partitioned'), true);
    assert.equal(theirs?.get('priority'), 'High');
    const plain = await attributesOf(apps.ours, '/');
    assert.equal(plain?.has('partitioned'), false);
    assert.equal(plain?.get('priority'), 'High');
    await apps.close();
  });

  const refused: [string, SessionCookieOptions][] = [
    ['cookie.sameSite', { sameSite: 'none', secure: false }],
    ['cookie.sameSite', { sameSite: 'auto', secure: false }],
    ['cookie.sameSite', { sameSite: 'sideways' as 'lax' }],
    ['cookie.partitioned', { partitioned: true, secure: false }],
    ['cookie.priority', { priority: 'urgent' as 'high' }],
    ['cookie.maxAge', { maxAge: '60000' as unknown as number }],
    ['cookie.expires', { expires: 'tomorrow' as unknown as Date }],
  ];
  for (const [option, cookie] of refused) {
    it(`refuses ${JSON.stringify(cookie)} at start-up, naming ${option}`, () => {
      assert.throws(
        () => session({ secret: SECRET, store: new MemoryStore(), warn: () => {}, cookie }),
        (error: unknown) => error instanceof SessionConfigError && error.option === option,
      );
    });
  }
});

describe('cookie as a function of the request (express-session 1.19)', () => {
  const byFirstSegment = (req: IncomingMessage) => {
    const match = /^\/([^/?]+)/.exec(req.url ?? '/');
    return { path: match ? `/${match[1]}` : '/', httpOnly: true, maxAge: 60_000 };
  };

  it('gives each request its own options, as express-session does', async () => {
    const apps = await both({ cookie: byFirstSegment });
    for (const path of ['/shop/cart', '/blog']) {
      const ours = await attributesOf(apps.ours, path);
      const theirs = await attributesOf(apps.theirs, path);
      assert.equal(ours?.get('path'), theirs?.get('path'));
      assert.ok(Math.abs(expiryOf(ours)! - expiryOf(theirs)!) < 3_000);
    }
    assert.equal((await attributesOf(apps.ours, '/shop/cart'))?.get('path'), '/shop');
    await apps.close();
  });

  it('keeps the lifetime a session got when it was created, like express-session keeps its stored cookie', async () => {
    let maxAge = 60_000;
    const app = await startTestApp(new MemoryStore(), { cookie: () => ({ maxAge }), rolling: true });
    const c = new Client(app.url);
    await c.post('/set', { a: 1 });
    maxAge = 600_000;
    const again = (await c.get('/peek')).setCookies[0]!;
    assert.match(again, /Max-Age=60;/);
    assert.match((await new Client(app.url).post('/set', { a: 1 })).setCookies[0]!, /Max-Age=600;/);
    await app.close();
  });

  it('validates each distinct result once and answers a bad one or a throw as a request error', async () => {
    const middleware = session({
      secret: SECRET,
      store: new MemoryStore(),
      warn: () => {},
      cookie: () => ({ path: '/' }),
    });
    const policy = middleware.engine.options.cookie;
    assert.equal(policy.forRequest({ path: '/a' }), policy.forRequest({ path: '/a' }));
    assert.notEqual(policy.forRequest({ path: '/a' }), policy.forRequest({ path: '/b' }));

    const app = await startTestApp(new MemoryStore(), {
      cookie: (req) => {
        if (req.url?.startsWith('/throw')) throw new Error('cookie function failed');
        return req.url?.startsWith('/bad') ? { path: 'no-slash' } : {};
      },
    });
    const c = new Client(app.url);
    assert.equal((await c.get('/bad')).status, 500);
    assert.equal((await c.get('/throw')).status, 500);
    assert.equal((await c.post('/set', { a: 1 })).setCookies.length, 1, 'other requests still work');
    await app.close();
  });
});

describe('no Set-Cookie outside cookie.path (express-session)', () => {
  it('judges by the request path, like express-session', async () => {
    const apps = await both({ cookie: { path: '/app' } });
    for (const [path, expected] of [
      ['/app', true],
      ['/app/page?x=1', true],
      ['/other', false],
      ['/', false],
      ['/App', false],
    ] as const) {
      assert.equal((await attributesOf(apps.ours, path)) !== null, expected, `coatcheck ${path}`);
      assert.equal((await attributesOf(apps.theirs, path)) !== null, expected, `express-session ${path}`);
    }
    await apps.close();
  });

  it('judges a mounted app by req.originalUrl, like express-session', async () => {
    const mount = async (middleware: unknown) => {
      const parent = express();
      parent.use('/app', storingApp(middleware));
      return listen(parent as never);
    };
    const ours = await mount(
      session({ secret: SECRET, store: new MemoryStore(), warn: () => {}, cookie: { path: '/app' } }),
    );
    const theirs = await mount(
      expressSession({ secret: SECRET, resave: false, saveUninitialized: false, cookie: { path: '/app' } }),
    );
    for (const running of [ours, theirs]) {
      const attributes = await attributesOf(running, '/app/page');
      assert.equal(attributes?.get('path'), '/app');
    }
    await Promise.all([ours.close(), theirs.close()]);
  });

  it('also sends no clearing cookie there', async () => {
    const app = await startTestApp(new MemoryStore(), { cookie: { path: '/me' } });
    const res = await new Client(app.url).post('/logout', {}, { cookie: 'id=forged.value' });
    assert.deepEqual(res.setCookies, []);
    const inside = await new Client(app.url).get('/me', { cookie: 'id=forged.value' });
    assert.equal(inside.setCookies.length, 1, 'inside the path the bad cookie is cleared');
    await app.close();
  });
});
