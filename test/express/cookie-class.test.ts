import assert from 'node:assert/strict';
import type { IncomingMessage, ServerResponse } from 'node:http';
import { describe, it } from 'node:test';
import express from 'express';
import expressSession from 'express-session';
import { Cookie, type CookieInit, session } from '../../packages/coatcheck/src/express/index.js';
import { MemoryStore } from '../../packages/coatcheck/src/stores/memory.js';
import { SECRET } from '../support/app.js';
import { Client, listen } from '../support/http.js';

const ControlCookie = (expressSession as unknown as { Cookie: unknown }).Cookie as new (
  options?: unknown,
) => {
  serialize(name: string, value: string): string;
  toJSON(): Record<string, unknown>;
  maxAge: number | null;
  originalMaxAge: number | null;
  expires: Date | null;
};

const AT = new Date('2031-05-01T10:00:00.000Z');

/** Both packages' Cookie, built from the same options and written into Set-Cookie by a real server. */
async function setCookiesFor(options: CookieInit): Promise<{ ours: string[]; theirs: string[] }> {
  const running = await listen((req: IncomingMessage, res: ServerResponse) => {
    const cookie = req.url === '/ours' ? new Cookie(options) : new ControlCookie(options);
    res.setHeader('Set-Cookie', cookie.serialize('prefs', 'dark mode'));
    res.end(JSON.stringify(cookie));
  });
  const client = new Client(running.url);
  const ours = (await client.get('/ours')).setCookies;
  const theirs = (await client.get('/theirs')).setCookies;
  await running.close();
  return { ours, theirs };
}

describe('Cookie on its own, as express-session.Cookie', () => {
  it('has the same defaults: path /, httpOnly, no expiry, null maxAge and originalMaxAge', () => {
    const ours = new Cookie();
    const theirs = new ControlCookie();
    assert.equal(ours.path, '/');
    assert.equal(ours.httpOnly, true);
    assert.equal(ours.expires, null);
    assert.equal(ours.maxAge, null);
    assert.equal(ours.originalMaxAge, null);
    assert.deepEqual(JSON.parse(JSON.stringify(ours)), JSON.parse(JSON.stringify(theirs)));
    assert.equal(ours.serialize('a', 'b'), theirs.serialize('a', 'b'));
  });

  const cases: [string, CookieInit][] = [
    ['no options', {}],
    ['a fixed expiry', { expires: AT }],
    [
      'every attribute',
      {
        expires: AT,
        path: '/app',
        domain: 'app.test',
        httpOnly: false,
        secure: true,
        sameSite: 'none',
        partitioned: true,
        priority: 'high',
      },
    ],
    ['sameSite true (Strict)', { sameSite: true, secure: 'auto' }],
    ['sameSite lax, priority low', { sameSite: 'lax', priority: 'low' }],
    ['a data key, which is ignored', { data: { secure: true }, path: '/x' } as CookieInit],
  ];
  for (const [name, options] of cases) {
    it(`serializes like express-session over HTTP: ${name}`, async () => {
      const { ours, theirs } = await setCookiesFor(options);
      assert.equal(ours.length, 1);
      assert.deepEqual(ours, theirs);
      // originalMaxAge of a fixed expiry counts from the moment each Cookie is built, so the two
      // may be a millisecond apart; every other field must be equal.
      const { originalMaxAge: ourAge, ...ourJson } = JSON.parse(JSON.stringify(new Cookie(options)));
      const { originalMaxAge: theirAge, ...theirJson } = JSON.parse(
        JSON.stringify(new ControlCookie(options)),
      );
      assert.deepEqual(ourJson, theirJson);
      if (theirAge === null) assert.equal(ourAge, null);
      else assert.ok(Math.abs(ourAge - theirAge) <= 50, `originalMaxAge ${ourAge} vs ${theirAge}`);
    });
  }

  it('maxAge counts from now and sets originalMaxAge, as in express-session', () => {
    const ours = new Cookie({ maxAge: 60_000 });
    const theirs = new ControlCookie({ maxAge: 60_000 });
    assert.equal(ours.originalMaxAge, 60_000);
    assert.equal(theirs.originalMaxAge, 60_000);
    assert.ok(Math.abs(ours.maxAge! - 60_000) < 1_000);
    assert.ok(Math.abs(ours.expires!.getTime() - theirs.expires!.getTime()) < 1_000);
    ours.maxAge = 5_000;
    assert.ok(Math.abs(ours.expires!.getTime() - Date.now() - 5_000) < 1_000);
    assert.ok(Math.abs(ours.originalMaxAge! - 5_000) < 1_000);
    ours.expires = null;
    assert.equal(ours.maxAge, null);
    assert.ok(!/Expires/.test(ours.serialize('a', 'b')));
  });

  it('when both maxAge and expires are given, the later key wins (express-session)', () => {
    for (const options of [
      { expires: AT, maxAge: 60_000 },
      { maxAge: 60_000, expires: AT },
      { maxAge: 60_000, expires: null },
    ]) {
      const ours = new Cookie(options);
      const theirs = new ControlCookie(options);
      assert.equal(ours.expires === null, theirs.expires === null, JSON.stringify(options));
      if (ours.expires && theirs.expires) {
        assert.ok(Math.abs(ours.expires.getTime() - theirs.expires.getTime()) < 1_000);
        assert.ok(Math.abs(ours.originalMaxAge! - theirs.originalMaxAge!) < 1_000);
      }
    }
    assert.equal(new Cookie({ maxAge: 60_000, expires: AT }).expires!.getTime(), AT.getTime());
    assert.ok(new Cookie({ expires: AT, maxAge: 60_000 }).maxAge! <= 60_000);
  });

  it('refuses what express-session refuses, with the same TypeError', () => {
    for (const bad of ['options', 42, true] as unknown as CookieInit[]) {
      assert.throws(() => new Cookie(bad), {
        name: 'TypeError',
        message: 'argument options must be a object',
      });
      assert.throws(() => new ControlCookie(bad), {
        name: 'TypeError',
        message: 'argument options must be a object',
      });
    }
    for (const bad of ['60000', { ms: 1 }, [1]]) {
      const options = { maxAge: bad } as unknown as CookieInit;
      assert.throws(() => new Cookie(options), {
        name: 'TypeError',
        message: 'maxAge must be a number or Date',
      });
      assert.throws(() => new ControlCookie(options), {
        name: 'TypeError',
        message: 'maxAge must be a number or Date',
      });
    }
  });

  it('refuses an expires that is not a Date at once (express-session fails later, in serialize)', () => {
    for (const bad of ['tomorrow', 1_000, { at: 1 }]) {
      const options = { expires: bad } as unknown as CookieInit;
      assert.throws(() => new Cookie(options), { name: 'TypeError', message: 'expires must be a Date' });
      assert.throws(() => new ControlCookie(options).serialize('a', 'b'), TypeError);
    }
    // A store's JSON holds the date as a string: read as the Date it names.
    const fromStore = new Cookie({ expires: AT.toISOString(), originalMaxAge: 1_000 });
    assert.equal(fromStore.expires!.getTime(), AT.getTime());
    const legacy = new Cookie();
    legacy.expires = false as unknown as null;
    assert.equal(legacy.expires, null);
  });

  it('never lets a __proto__ key swap its prototype', () => {
    const cookie = new Cookie(JSON.parse('{"__proto__": {"polluted": true}, "path": "/p"}') as CookieInit);
    assert.ok(cookie instanceof Cookie);
    assert.equal((cookie as unknown as { polluted?: boolean }).polluted, undefined);
    assert.equal(cookie.path, '/p');
  });
});

describe('req.session.cookie is a Cookie', () => {
  it('has the JSON shape of express-session’s for the same options, over HTTP', async () => {
    const cookie = { maxAge: 60_000, sameSite: 'strict' as const, secure: false, path: '/' };
    const shape = (req: express.Request) => {
      req.session.touch();
      return JSON.parse(JSON.stringify(req.session.cookie)) as Record<string, unknown>;
    };
    const ours = express();
    ours.use(session({ secret: SECRET, store: new MemoryStore(), warn: () => {}, cookie }));
    ours.get('/', (req, res) => {
      const view = req.session.cookie;
      res.json({
        shape: shape(req),
        isCookie: view instanceof Cookie,
        line: view.serialize('x', 'y'),
      });
    });
    const theirs = express();
    theirs.use(expressSession({ secret: SECRET, resave: false, saveUninitialized: false, cookie }) as never);
    theirs.get('/', (req, res) => {
      res.json({ shape: shape(req as never), line: req.session.cookie.serialize('x', 'y') });
    });
    const [a, b] = await Promise.all([listen(ours as never), listen(theirs as never)]);
    const got = (await new Client(a.url).get('/')).json() as {
      shape: Record<string, unknown>;
      isCookie: boolean;
      line: string;
    };
    const want = (await new Client(b.url).get('/')).json() as {
      shape: Record<string, unknown>;
      line: string;
    };
    assert.equal(got.isCookie, true);
    assert.deepEqual(Object.keys(got.shape).sort(), Object.keys(want.shape).sort());
    // express-session sets originalMaxAge from `expires - now` (session/cookie.js), so its value is a
    // millisecond short whenever the clock ticks in between; every other field must be equal.
    const { expires: e1, originalMaxAge: age1, ...rest1 } = got.shape;
    const { expires: e2, originalMaxAge: age2, ...rest2 } = want.shape;
    assert.deepEqual(rest1, rest2);
    assert.ok(Math.abs(Date.parse(e1 as string) - Date.parse(e2 as string)) < 2_000);
    assert.equal(age1, cookie.maxAge);
    assert.ok(Math.abs((age1 as number) - (age2 as number)) <= 50, `originalMaxAge ${age1} vs ${age2}`);
    assert.equal(got.line.replace(/Expires=[^;]+/, ''), want.line.replace(/Expires=[^;]+/, ''));
    await Promise.all([a.close(), b.close()]);
  });

  it('takes maxAge and expires per session; other attributes come from the options and refuse changes', async () => {
    const app = express();
    app.use(express.json());
    app.use(
      session({ secret: SECRET, store: new MemoryStore(), warn: () => {}, cookie: { sameSite: 'strict' } }),
    );
    app.post('/', (req, res) => {
      const results: Record<string, string> = {};
      const attempt = (name: string, change: () => void) => {
        try {
          change();
          results[name] = 'ok';
        } catch (error) {
          results[name] = (error as Error).name;
        }
      };
      attempt('same sameSite', () => {
        req.session.cookie.sameSite = 'strict';
      });
      attempt('other sameSite', () => {
        req.session.cookie.sameSite = 'none';
      });
      attempt('other path', () => {
        req.session.cookie.path = '/elsewhere';
      });
      attempt('maxAge text', () => {
        req.session.cookie.maxAge = '5' as unknown as number;
      });
      req.session.remember = true;
      req.session.cookie.expires = new Date(Date.now() + 120_000);
      res.json(results);
    });
    const running = await listen(app as never);
    const res = await new Client(running.url).post('/', {});
    assert.deepEqual(res.json(), {
      'same sameSite': 'ok',
      'other sameSite': 'TypeError',
      'other path': 'TypeError',
      'maxAge text': 'TypeError',
    });
    const maxAge = Number(/Max-Age=(\d+)/.exec(res.setCookies[0] ?? '')?.[1]);
    assert.ok(maxAge > 110 && maxAge <= 120, `Max-Age ${maxAge}`);
    assert.match(res.setCookies[0]!, /SameSite=Strict/);
    await running.close();
  });
});
