import assert from 'node:assert/strict';
import { after, describe, it } from 'node:test';
import express from 'express';
import expressSession from 'express-session';
import { session } from '../../packages/coatcheck/src/express/index.js';
import { MemoryStore } from '../../packages/coatcheck/src/stores/memory.js';
import { SqliteStore } from '../../packages/coatcheck/src/stores/sqlite.js';
import { SECRET } from '../support/app.js';
import { Client, listen, type Running } from '../support/http.js';

const opened: Running[] = [];
after(async () => {
  for (const running of opened) await running.close();
});

const STAMP = new Date('2026-11-30T12:00:00.000Z');

/** Puts a Date and other non-JSON values into the session, then reads them on the next request. */
async function roundTrip(middleware: express.RequestHandler) {
  const app = express();
  app.use(middleware);
  app.get('/write', (req, res) => {
    const data = req.session as unknown as Record<string, unknown>;
    data.at = STAMP;
    data.nothing = undefined;
    data.nested = { at: STAMP, list: [STAMP] };
    res.end('ok');
  });
  app.get('/read', (req, res) => {
    const data = req.session as unknown as Record<string, unknown>;
    res.json({ at: data.at, type: typeof data.at, hasNothing: 'nothing' in data, nested: data.nested });
  });
  const running = await listen(app as never);
  opened.push(running);
  const client = new Client(running.url);
  await client.get('/write');
  return (await client.get('/read')).json();
}

const expected = {
  at: STAMP.toISOString(),
  type: 'string',
  hasNothing: false,
  nested: { at: STAMP.toISOString(), list: [STAMP.toISOString()] },
};

describe('session data round-trips as JSON, as express-session stores it', () => {
  it('express-session itself (the control): a Date comes back as its ISO string', async () => {
    const control = expressSession({ secret: SECRET, resave: false, saveUninitialized: false });
    assert.deepEqual(await roundTrip(control as never), expected);
  });
  for (const [name, store] of [
    ['memory', () => new MemoryStore()],
    ['sqlite', () => new SqliteStore({ path: ':memory:' })],
  ] as const) {
    it(`coatcheck on ${name}: the same`, async () => {
      const middleware = session({ secret: SECRET, store: store(), warn: () => {}, guessLimit: false });
      assert.deepEqual(await roundTrip(middleware as never), expected);
    });
  }
});

/**
 * Replaces stored values with values JSON cannot hold (a function, a symbol, undefined) at the top
 * level and inside an object, then reads the data back: JSON drops them, as express-session does.
 */
async function unrepresentable(middleware: express.RequestHandler) {
  const app = express();
  app.use(middleware);
  const data = (req: express.Request) => req.session as unknown as Record<string, unknown>;
  app.get('/write', (req, res) => {
    Object.assign(data(req), { fn: 1, sym: 2, gone: 3, kept: 4, nested: { fn: 5, kept: 6 } });
    res.end('ok');
  });
  app.get('/replace', (req, res) => {
    Object.assign(data(req), {
      fn: () => 1,
      sym: Symbol('s'),
      gone: undefined,
      nested: { fn: () => 5, kept: 6 },
    });
    res.end('ok');
  });
  app.get('/read', (req, res) => {
    const { cookie: _cookie, ...rest } = data(req);
    res.json(rest);
  });
  const running = await listen(app as never);
  opened.push(running);
  const client = new Client(running.url);
  await client.get('/write');
  const replaced = await client.get('/replace');
  return { status: replaced.status, data: (await client.get('/read')).json() };
}

describe('values JSON cannot hold are dropped from the stored data, as express-session drops them', () => {
  const expectedDropped = { status: 200, data: { kept: 4, nested: { kept: 6 } } };
  it('express-session itself (the control)', async () => {
    const control = expressSession({ secret: SECRET, resave: false, saveUninitialized: false });
    assert.deepEqual(await unrepresentable(control as never), expectedDropped);
  });
  for (const [name, store] of [
    ['memory', () => new MemoryStore()],
    ['sqlite', () => new SqliteStore({ path: ':memory:' })],
  ] as const) {
    it(`coatcheck on ${name}: the same, never a 503`, async () => {
      const middleware = session({ secret: SECRET, store: store(), warn: () => {}, guessLimit: false });
      assert.deepEqual(await unrepresentable(middleware as never), expectedDropped);
    });
  }
});
