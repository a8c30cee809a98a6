/**
 * coatcheck/hono on @hono/node-server with a SQLite store: session data changed through nested
 * objects from `get` and `data`, Passport-style keys set and deleted, and data written around
 * login, logout and rotation, in requests that read the stored data or never did.
 */
import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { Hono } from 'hono';
import { type Env, session } from '../../packages/coatcheck/src/hono/index.js';
import { SqliteStore } from '../../packages/coatcheck/src/stores/sqlite.js';
import { SECRET } from '../support/app.js';
import { serveHono } from '../support/hono.js';
import { Client } from '../support/http.js';

describe('coatcheck/hono: data read, unread and changed around sign-ins', () => {
  const store = new SqliteStore({ path: ':memory:' });
  let url = '';
  let close = () => {};

  before(async () => {
    const app = new Hono<Env>();
    app.use(session({ secret: SECRET, store, warn: () => {}, guessLimit: false }));
    app.get('/seed', (c) => {
      c.get('session').set('cart', ['apple']).set('prefs', { theme: 'dark' });
      return c.json({});
    });
    app.get('/idle', (c) => c.json({ id: c.get('session').id }));
    app.get('/nested-get', (c) => {
      (c.get('session').get('cart') as string[]).push('pear');
      return c.json({});
    });
    app.get('/nested-copy', (c) => {
      (c.get('session').data.prefs as { theme: string }).theme = 'light';
      return c.json({});
    });
    app.get('/passport-in', (c) => {
      c.get('session').set('passport', { user: 'alice' });
      return c.json({});
    });
    app.get('/passport-out', (c) => {
      c.get('session').delete('passport');
      return c.json({});
    });
    app.get('/login-then-set', async (c) => {
      await c.get('session').login('bob');
      c.get('session').set('welcome', true);
      return c.json({});
    });
    app.get('/logout-then-set', async (c) => {
      await c.get('session').logout();
      c.get('session').set('flash', 'bye');
      return c.json({});
    });
    app.get('/regenerate-keep', async (c) => {
      await c.get('session').regenerate({ keep: true });
      return c.json({});
    });
    ({ url, close } = await serveHono(app));
  });
  after(async () => {
    close();
    await store.close();
  });

  async function stored(client: Client) {
    const { id } = (await client.get('/idle')).json() as { id: string };
    const record = await store.get(id);
    return record ? { data: JSON.parse(record.data) as unknown, userId: record.userId } : null;
  }

  async function seeded(): Promise<Client> {
    const client = new Client(url);
    await client.get('/seed');
    return client;
  }

  it('a nested change through get() or the data copy is written', async () => {
    const client = await seeded();
    await client.get('/nested-get');
    await client.get('/nested-copy');
    assert.deepEqual((await stored(client))?.data, { cart: ['apple', 'pear'], prefs: { theme: 'light' } });
  });

  it('a passport key signs the user in, an unread request keeps them, deleting it signs them out', async () => {
    const client = await seeded();
    await client.get('/passport-in');
    assert.equal((await stored(client))?.userId, 'alice');
    await client.get('/idle');
    await client.get('/regenerate-keep');
    assert.deepEqual(await stored(client), {
      data: { cart: ['apple'], prefs: { theme: 'dark' }, passport: { user: 'alice' } },
      userId: 'alice',
    });
    await client.get('/passport-out');
    const out = await stored(client);
    assert.ok(out === null || out.userId === null, 'no longer signed in as alice');
  });

  it('data set after login is kept with the user; data set after logout starts an anonymous session', async () => {
    const client = await seeded();
    await client.get('/login-then-set');
    const signedIn = await stored(client);
    assert.equal(signedIn?.userId, 'bob');
    assert.equal((signedIn?.data as { welcome?: boolean } | undefined)?.welcome, true);
    await client.get('/logout-then-set');
    assert.deepEqual(await stored(client), { data: { flash: 'bye' }, userId: null });
  });
});
