/**
 * Express 5 + Passport 0.7 (passport-local) on a SQLite store: a nested object read off
 * `req.session` before a login, logout or regenerate and changed afterwards, and data merged by
 * keepSessionInfo. Logins and logouts stay coatcheck's (req.session.meta, the device list, the store).
 */
import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import express from 'express';
import passport from 'passport';
import { Strategy as LocalStrategy } from 'passport-local';
import { session } from '../../packages/coatcheck/src/express/index.js';
import { SqliteStore } from '../../packages/coatcheck/src/stores/sqlite.js';
import { SECRET } from '../support/app.js';
import { Client, listen, type Running } from '../support/http.js';

interface Cart {
  items: string[];
}

describe('Express + passport-local: nested session data around login, logout and regenerate', () => {
  const store = new SqliteStore({ path: ':memory:' });
  let running: Running;

  before(async () => {
    const authenticator = new passport.Passport();
    authenticator.use(
      new LocalStrategy((username, password, done) =>
        done(null, username === 'alice' && password === 'pw' ? { id: 'alice' } : false),
      ),
    );
    authenticator.serializeUser((user, done) => done(null, (user as { id: string }).id));
    authenticator.deserializeUser((id: string, done) => done(null, { id }));
    const app = express();
    app.use(express.json());
    app.use(session({ secret: SECRET, store, warn: () => {}, guessLimit: false }));
    app.use(authenticator.session());
    const sessionData = (req: express.Request) => req.session as unknown as Record<string, unknown>;

    app.post('/seed', (req, res) => {
      sessionData(req).cart = { items: ['apple'] };
      res.json({});
    });
    // Passport regenerates with keepSessionInfo: the cart object read before must stay usable.
    app.post('/login', (req, res, next) => {
      const cart = sessionData(req).cart as Cart;
      authenticator.authenticate('local', { keepSessionInfo: true }, (error: unknown, user: unknown) => {
        if (error || !user) return next(error ?? new Error('wrong password'));
        req.logIn(user as Express.User, { keepSessionInfo: true, session: true }, (loginError) => {
          if (loginError) return next(loginError);
          (sessionData(req).cart as Cart).items.push('after-login');
          res.json({ sameObject: sessionData(req).cart === cart, meta: req.session.meta?.userId ?? null });
        });
      })(req, res, next);
    });
    app.post('/logout', (req, res, next) => {
      req.logout({ keepSessionInfo: true }, (error) => {
        if (error) return next(error);
        (sessionData(req).cart as Cart).items.push('after-logout');
        res.json({ meta: req.session.meta?.userId ?? null });
      });
    });
    app.post('/regenerate', (req, res, next) => {
      const cart = sessionData(req).cart as Cart;
      req.session.regenerate((error) => {
        if (error) return next(error);
        sessionData(req).cart = cart;
        cart.items.push('after-regenerate');
        res.json({});
      });
    });
    app.get('/state', async (req, res) => {
      res.json({
        data: JSON.parse(JSON.stringify(req.session)) as Record<string, unknown>,
        meta: req.session.meta?.userId ?? null,
        devices: req.session.meta?.userId ? (await req.session.listSessions()).length : 0,
        id: req.sessionID,
      });
    });
    app.use((error: Error, _req: express.Request, res: express.Response, _next: express.NextFunction) => {
      res.status(500).json({ error: error.message });
    });
    running = await listen(app as never);
  });
  after(async () => {
    await running.close();
    await store.close();
  });

  const login = (c: Client) => c.post('/login', { username: 'alice', password: 'pw' });

  async function storedData(c: Client) {
    const { id } = (await c.get('/state')).json() as { id: string };
    const record = await store.get(id);
    return record
      ? { data: JSON.parse(record.data) as Record<string, unknown>, userId: record.userId }
      : null;
  }

  it('a Passport login keeps the cart (keepSessionInfo) and a change after it is written, as a coatcheck login', async () => {
    const c = new Client(running.url);
    await c.post('/seed');
    const before = c.jar.get('id');
    const res = await login(c);
    assert.equal(res.status, 200, res.text);
    assert.equal((res.json() as { meta: string | null }).meta, 'alice');
    assert.notEqual(c.jar.get('id'), before, 'a new token');
    const stored = await storedData(c);
    assert.equal(stored?.userId, 'alice');
    assert.deepEqual(stored?.data.cart, { items: ['apple', 'after-login'] });
    const state = (await c.get('/state')).json() as { meta: string; devices: number };
    assert.equal(state.meta, 'alice');
    assert.equal(state.devices, 1);
  });

  it('a Passport logout ends the coatcheck sign-in and a change after it is written to the anonymous session', async () => {
    const c = new Client(running.url);
    await c.post('/seed');
    await login(c);
    const signedInId = ((await c.get('/state')).json() as { id: string }).id;
    const res = await c.post('/logout');
    assert.equal(res.status, 200, res.text);
    assert.equal((res.json() as { meta: string | null }).meta, null);
    assert.equal(
      (await store.get(signedInId))?.userId ?? null,
      null,
      'the signed-in record is gone or anonymous',
    );
    const stored = await storedData(c);
    assert.equal(stored?.userId ?? null, null);
    assert.deepEqual(stored?.data.cart, { items: ['apple', 'after-login', 'after-logout'] });
    assert.equal(((await c.get('/state')).json() as { meta: string | null }).meta, null);
  });

  it('an object read before regenerate and set on the new session is written with its change', async () => {
    const c = new Client(running.url);
    await c.post('/seed');
    await c.post('/regenerate');
    assert.deepEqual((await storedData(c))?.data.cart, { items: ['apple', 'after-regenerate'] });
  });
});
