import assert from 'node:assert/strict';
import { createRequire } from 'node:module';
import { after, before, describe, it } from 'node:test';
import express from 'express';
import expressSession from 'express-session';
import type { SessionEvent } from '../../packages/coatcheck/src/core/events.js';
import {
  requireAuth,
  SessionConfigError,
  type SessionOptions,
  session,
} from '../../packages/coatcheck/src/express/index.js';
import { MemoryStore } from '../../packages/coatcheck/src/stores/memory.js';
import { SqliteStore } from '../../packages/coatcheck/src/stores/sqlite.js';
import { dataOf, SECRET } from '../support/app.js';
import { Client, listen, type Running } from '../support/http.js';

// Passport's keepSessionInfo merge, the package itself.
const merge = createRequire(import.meta.url)('utils-merge') as (a: object, b: object) => object;

type Done = (error?: unknown) => void;
type Kind = 'coatcheck' | 'express-session';
type Body = { keep?: boolean; readId?: boolean; write?: Record<string, unknown> };

interface App extends Running {
  events: SessionEvent[];
  store: MemoryStore | null;
}

/** The same routes on coatcheck or, as the control, on express-session. */
async function startApp(kind: Kind, options: Partial<SessionOptions> = {}): Promise<App> {
  const app = express();
  const events: SessionEvent[] = [];
  const store = kind === 'coatcheck' ? new MemoryStore() : null;
  app.use(express.json());
  if (store) {
    const middleware = session({ secret: SECRET, store, warn: () => {}, ...options });
    middleware.on((event) => events.push(event));
    app.use(middleware);
  } else {
    app.use(expressSession({ secret: SECRET, resave: false, saveUninitialized: false }) as never);
  }
  app.post('/set', (req, res) => {
    Object.assign(req.session, req.body);
    res.json({ id: req.sessionID });
  });
  app.get('/data', (req, res) => {
    const forIn: string[] = [];
    for (const key in req.session) forIn.push(key);
    res.json({
      data: dataOf(req.session),
      keys: Object.keys(req.session).sort(),
      forIn: forIn.sort(),
      json: JSON.parse(JSON.stringify(req.session)) as unknown,
    });
  });
  app.post('/regenerate', (req, res, next) => {
    const { keep, readId, write } = req.body as Body;
    const before = readId ? req.sessionID : null;
    const done: Done = (error) => {
      if (error) return next(error);
      if (write) Object.assign(req.session, write);
      res.json({ before, after: req.sessionID, data: dataOf(req.session) });
    };
    if (keep) req.session.regenerate({ keep: true }, done);
    else req.session.regenerate(done);
  });
  app.post('/keep-session-info', (req, res, next) => {
    const prev = req.session;
    req.session.regenerate((error) => {
      if (error) return next(error);
      merge(req.session, prev);
      req.session.save((saveError) =>
        saveError ? next(saveError) : res.json({ data: dataOf(req.session) }),
      );
    });
  });
  app.post('/login', (req, res, next) => {
    const { userId, keep } = req.body as { userId: string; keep?: boolean };
    req.session.login(userId, { keep: keep ?? false }, (error) => (error ? next(error) : res.json({})));
  });
  app.get('/private', requireAuth(), (_req, res) => res.json({}));
  // What Passport's logout and a deserializer returning false do, then a call that keeps the user.
  app.post('/forget', (req, res) => {
    delete (req.session.passport as { user?: unknown } | undefined)?.user;
    const then = (req.body as { then?: string }).then;
    const done: Done = (error) => {
      res.json({
        error: (error as { code?: string } | undefined)?.code ?? null,
        userId: req.session.meta?.userId ?? null,
      });
    };
    if (then === 'regenerate-keep') req.session.regenerate({ keep: true }, done);
    else if (then === 'reauthenticate') req.session.reauthenticate(done);
    else if (then === 'stepUp') req.session.stepUp(2, done);
    else done();
  });
  const running = await listen(app as never);
  return { ...running, events, store };
}

const post = (client: Client, path: string, body: unknown = {}) => client.post(path, body);
const handleOf = (client: Client) => client.jar.get('id')?.split('.')[0] ?? '';
const replay = (app: App, cookieHeader: string) => {
  const client = new Client(app.url);
  for (const pair of cookieHeader.split('; ')) {
    const eq = pair.indexOf('=');
    client.jar.set(pair.slice(0, eq), pair.slice(eq + 1));
  }
  return client;
};

for (const kind of ['coatcheck', 'express-session'] as const) {
  describe(`regenerate and req.session's shape, as express-session has them (${kind})`, () => {
    let app: App;
    before(async () => {
      app = await startApp(kind);
    });
    after(() => app.close());

    it('regenerate(cb) gives a new, empty session and destroys the old one', async () => {
      const c = new Client(app.url);
      await post(c, '/set', { cart: ['socks'], role: 'admin' });
      const old = c.cookieHeader;
      const res = (await post(c, '/regenerate', { readId: true })).json() as Record<string, unknown>;
      assert.notEqual(res.after, res.before);
      assert.deepEqual(res.data, {});
      assert.deepEqual(((await c.get('/data')).json() as { data: unknown }).data, {});
      assert.deepEqual(((await replay(app, old).get('/data')).json() as { data: unknown }).data, {});
    });

    it('regenerate on a session never stored, whose ID was read, gives a new ID; the session is stored under it', async () => {
      const c = new Client(app.url);
      const res = (await post(c, '/regenerate', { readId: true, write: { a: 1 } })).json() as {
        before: string;
        after: string;
      };
      assert.equal(typeof res.before, 'string');
      assert.notEqual(res.after, res.before);
      assert.ok(c.cookieHeader.includes(res.after), 'the cookie names the new ID');
      assert.deepEqual(((await c.get('/data')).json() as { data: unknown }).data, { a: 1 });
    });

    it('cookie is an enumerable own property; methods are not; the cookie serializes with the session', async () => {
      const c = new Client(app.url);
      await post(c, '/set', { a: 1 });
      const res = (await c.get('/data')).json() as {
        keys: string[];
        forIn: string[];
        json: Record<string, unknown>;
      };
      assert.deepEqual(res.keys, ['a', 'cookie']);
      assert.deepEqual(res.forIn, ['a', 'cookie']);
      assert.equal(res.json.a, 1);
      const cookie = res.json.cookie as Record<string, unknown>;
      for (const field of ['originalMaxAge', 'expires', 'httpOnly', 'path'])
        assert.ok(field in cookie, field);
    });

    it("Passport's keepSessionInfo merge (utils-merge) after regenerate copies the data, and the cookie works", async () => {
      const c = new Client(app.url);
      await post(c, '/set', { cart: ['hat'], returnTo: '/orders' });
      const res = (await post(c, '/keep-session-info')).json() as { data: unknown };
      assert.deepEqual(res.data, { cart: ['hat'], returnTo: '/orders' });
      assert.deepEqual(((await c.get('/data')).json() as { data: unknown }).data, {
        cart: ['hat'],
        returnTo: '/orders',
      });
    });
  });
}

describe('regenerate on coatcheck: signed-in sessions, keep, the stored record', { timeout: 20_000 }, () => {
  let app: App;
  before(async () => {
    app = await startApp('coatcheck');
  });
  after(() => app.close());

  it('regenerate() signs the session out: the old record is gone and the cookie is expired', async () => {
    const c = new Client(app.url);
    await post(c, '/login', { userId: 'alice' });
    const handle = handleOf(c);
    assert.equal((await c.get('/private')).status, 200);
    const res = await post(c, '/regenerate');
    assert.ok(res.setCookies.some((line) => /^id=;.*Max-Age=0/.test(line)));
    assert.equal(await app.store!.get(handle), null);
    assert.equal((await c.get('/private')).status, 401);
    assert.ok(app.events.some((e) => e.type === 'session.regenerated' && e.previousHandle === handle));
  });

  it('regenerate({ keep: true }, cb) rotates: same data and user, new token, old token dead', async () => {
    const c = new Client(app.url);
    await post(c, '/login', { userId: 'bob' });
    await post(c, '/set', { cart: ['socks'] });
    const old = c.cookieHeader;
    const res = (await post(c, '/regenerate', { keep: true })).json() as { data: unknown };
    assert.deepEqual(res.data, { cart: ['socks'] });
    assert.notEqual(c.cookieHeader, old);
    assert.equal((await c.get('/private')).status, 200);
    assert.equal((await replay(app, old).get('/private')).status, 401);
  });

  it('the cookie is never stored as data, and assigning to it changes nothing', async () => {
    const c = new Client(app.url);
    await post(c, '/set', { cookie: { evil: true }, a: 1 });
    await post(c, '/keep-session-info');
    const stored = JSON.parse((await app.store!.get(handleOf(c)))!.data) as Record<string, unknown>;
    assert.deepEqual(stored, { a: 1 });
    const res = (await c.get('/data')).json() as { json: { cookie: Record<string, unknown> } };
    assert.equal(res.json.cookie.evil, undefined);
    assert.equal(res.json.cookie.path, '/');
  });
});

describe('Session callbacks where express-session and Passport users put them', { timeout: 20_000 }, () => {
  let running: Running;
  let store: SqliteStore;
  const reports: Record<string, unknown>[] = [];
  before(async () => {
    store = new SqliteStore({ path: ':memory:' });
    const app = express();
    app.use(session({ secret: SECRET, store, warn: () => {} }));
    app.post('/all', async (req, res) => {
      const counts: Record<string, number> = {};
      const errors: Record<string, string> = {};
      const step = (name: string, run: (done: Done) => void) =>
        new Promise<void>((resolve) =>
          run((error) => {
            counts[name] = (counts[name] ?? 0) + 1;
            if (error) errors[name] = (error as { code?: string }).code ?? String(error);
            resolve();
          }),
        );
      const s = () => req.session;
      await step('login(id, cb)', (done) => s().login('u1', done));
      await step('login(id, options, cb)', (done) => s().login('u2', { keep: true }, done));
      await step('stepUp(level, cb)', (done) => s().stepUp(2, done));
      await step('reauthenticate(cb)', (done) => s().reauthenticate(done));
      await step('save(cb)', (done) => s().save(done));
      await step('reload(cb)', (done) => s().reload(done));
      await step('regenerate(options, cb)', (done) => s().regenerate({ keep: true }, done));
      const kept = { userId: s().meta?.userId, aal: s().meta?.aal };
      await step('regenerate(cb)', (done) => s().regenerate(done));
      await step('stepUp on an anonymous session', (done) => s().stepUp(2, done));
      await step('destroy(cb)', (done) => s().destroy(done));
      await step('logout(cb)', (done) => s().logout(done));
      // A second call of any callback would land here.
      await new Promise((resolve) => setTimeout(resolve, 50));
      reports.push({ counts, errors, kept });
      res.json({});
    });
    app.post('/broken', (req, _res, next) => {
      req.session.cart = ['socks'];
      req.session.save(() => {
        store.db.close();
        let calls = 0;
        req.session.regenerate((error) => {
          calls++;
          setTimeout(() => {
            reports.push({ calls, error: (error as { code?: string }).code });
            next(error);
          }, 50);
        });
      });
    });
    app.use((_error: unknown, _req: unknown, res: express.Response, _next: unknown) => {
      res.status(500).end();
    });
    running = await listen(app as never);
  });
  after(() => running.close());

  it('calls each callback exactly once, with the error when the call fails', {
    timeout: 10_000,
  }, async () => {
    assert.equal((await new Client(running.url).post('/all')).status, 200);
    const { counts, errors, kept } = reports.at(-1) as {
      counts: Record<string, number>;
      errors: Record<string, string>;
      kept: unknown;
    };
    assert.deepEqual(Object.values(counts), Array(11).fill(1));
    assert.deepEqual(errors, { 'stepUp on an anonymous session': 'SESSION_STATE' });
    assert.deepEqual(kept, { userId: 'u2', aal: 2 });
  });

  it('S49 regenerate(cb) with a failing store: the callback gets the error once, the response is a 503', async () => {
    const res = await new Client(running.url).post('/broken');
    assert.equal(res.status, 503);
    assert.deepEqual(reports.at(-1), { calls: 1, error: 'SESSION_STORE' });
  });
});

describe('userIdOf: the user the data names is the user the record has', { timeout: 20_000 }, () => {
  let app: App;
  before(async () => {
    app = await startApp('coatcheck');
  });
  after(() => app.close());

  it("Passport's shape by default: writing passport.user signs that user in when the session is written", async () => {
    const c = new Client(app.url);
    await post(c, '/set', { cart: ['socks'] });
    const anonymous = handleOf(c);
    await post(c, '/set', { passport: { user: 42 } });
    assert.notEqual(handleOf(c), anonymous, 'a login rotates');
    assert.equal((await c.get('/private')).status, 200);
    const stored = (await app.store!.get(handleOf(c)))!;
    assert.equal(stored.userId, '42');
    assert.equal(stored.aal, 1);
    assert.deepEqual(JSON.parse(stored.data), { cart: ['socks'], passport: { user: 42 } });
    assert.equal((await app.store!.listByUser('42')).length, 1);
  });

  for (const then of ['nothing', 'regenerate-keep', 'reauthenticate', 'stepUp']) {
    it(`a sign-in the data ended stays ended (then ${then})`, async () => {
      const c = new Client(app.url);
      const user = `forgotten-${then}`;
      await post(c, '/set', { passport: { user } });
      assert.equal((await c.get('/private')).status, 200);
      const res = (await post(c, '/forget', { then })).json() as {
        error: string | null;
        userId: string | null;
      };
      assert.equal(res.userId, null);
      assert.equal(res.error, then === 'reauthenticate' || then === 'stepUp' ? 'SESSION_STATE' : null);
      assert.equal((await c.get('/private')).status, 401);
      assert.deepEqual(await app.store!.listByUser(user), []);
    });
  }

  it('a user signed in by login() whose data never named anyone stays signed in', async () => {
    const c = new Client(app.url);
    await post(c, '/login', { userId: 'plain' });
    await post(c, '/set', { cart: ['hat'], passport: {} });
    assert.equal((await c.get('/private')).status, 200);
  });

  it('login(another user, { keep: true }) stays that user when the kept data names someone else, until a request changes whom it names', async () => {
    const custom = await startApp('coatcheck', {
      userIdOf: (data) => (typeof data.uid === 'string' ? data.uid : null),
    });
    try {
      for (const [subject, names] of [
        [custom, (user: string) => ({ uid: user })],
        [app, (user: string) => ({ passport: { user } })],
      ] as const) {
        const c = new Client(subject.url);
        await post(c, '/set', names('alice'));
        assert.equal((await subject.store!.get(handleOf(c)))?.userId, 'alice');
        await post(c, '/login', { userId: 'bob', keep: true });
        assert.equal((await subject.store!.get(handleOf(c)))?.userId, 'bob');
        // A request that changes another key: the data still names alice, as it did when stored.
        await post(c, '/set', { cart: ['socks'] });
        assert.equal((await subject.store!.get(handleOf(c)))?.userId, 'bob', 'the sign-in stays with bob');
        assert.equal((await subject.store!.listByUser('alice')).length, 0);
        // A request that makes the data name someone else signs that user in.
        await post(c, '/set', names('carol'));
        assert.equal((await subject.store!.get(handleOf(c)))?.userId, 'carol');
      }
    } finally {
      await custom.close();
    }
  });

  it('a custom userIdOf, or one that always answers null, decides instead', async () => {
    const custom = await startApp('coatcheck', {
      userIdOf: (data) => (typeof data.uid === 'string' ? data.uid : null),
    });
    const off = await startApp('coatcheck', { userIdOf: () => null });
    try {
      const c = new Client(custom.url);
      await post(c, '/set', { uid: 'carol', passport: { user: 'mallory' } });
      assert.equal((await custom.store!.get(handleOf(c)))?.userId, 'carol');
      const d = new Client(off.url);
      await post(d, '/set', { passport: { user: 'dave' } });
      assert.equal((await off.store!.get(handleOf(d)))?.userId, null);
      assert.equal((await d.get('/private')).status, 401);
    } finally {
      await custom.close();
      await off.close();
    }
    assert.throws(() => session({ secret: SECRET, userIdOf: 'passport.user' as never }), SessionConfigError);
  });
});
