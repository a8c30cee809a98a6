import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { SqliteStore } from '../../packages/coatcheck/src/stores/sqlite.js';
import { startTestApp, type TestApp } from '../support/app.js';
import { Client } from '../support/http.js';

describe('session data cannot reach prototypes or auth fields', () => {
  let app: TestApp;
  before(async () => {
    app = await startTestApp(new SqliteStore({ path: ':memory:' }));
  });
  after(async () => {
    await app.close();
    await app.store.close();
  });

  it('S51 a stored __proto__ / constructor payload loads into null-prototype data and pollutes nothing', async () => {
    const c = new Client(app.url);
    await c.post('/login', { userId: 'alice' });
    const handle = c.jar.get('id')!.split('.')[0]!;
    await app.store.update(handle, {
      set: {
        __proto__: '{"isAdmin":true}',
        nested: '{"__proto__":{"isAdmin":true},"constructor":{"prototype":{"isAdmin":true}}}',
      },
    });
    // Write the hostile keys straight into the row too, as a tampered database would hold them.
    (app.store as SqliteStore).db
      .prepare('UPDATE coatcheck_sessions SET data = ? WHERE handle = ?')
      .run('{"__proto__":{"isAdmin":true},"constructor":{"prototype":{"isAdmin":true}},"ok":1}', handle);
    const { data } = (await c.get('/peek')).json() as { data: Record<string, unknown> };
    assert.deepEqual(data, { ok: 1 });
    assert.equal(({} as Record<string, unknown>).isAdmin, undefined);
    assert.equal((Object.prototype as Record<string, unknown>).isAdmin, undefined);
  });

  it('S51 a request body with __proto__ keys written into the session pollutes nothing', async () => {
    const c = new Client(app.url);
    const post = (body: string) =>
      c.request('/set', { method: 'POST', headers: { 'content-type': 'application/json' }, body });
    assert.equal((await post('{"__proto__":{"role":"admin"}}')).status, 400);
    assert.equal((await post('{"prefs":{"__proto__":{"role":"admin"},"theme":"dark"}}')).status, 200);
    const { data } = (await c.get('/peek')).json() as { data: Record<string, unknown> };
    assert.equal(({} as Record<string, unknown>).role, undefined);
    assert.deepEqual(data.prefs, { theme: 'dark' });
    assert.equal((data.prefs as Record<string, unknown>).role, undefined);
  });

  it('S52 data keys never become the authenticated user', async () => {
    const c = new Client(app.url);
    await c.post('/set', { userId: 'admin-id', authAt: Date.now(), aal: 2, role: 'admin' });
    assert.equal((await c.get('/me')).status, 401);
    const { meta } = (await c.get('/peek')).json() as { meta: { userId: string | null } };
    assert.equal(meta.userId, null);
  });
});
