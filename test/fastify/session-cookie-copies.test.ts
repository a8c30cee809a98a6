/**
 * Fastify's `request.session.cookie` (the shared accessor) read through spreads, JSON, Object.keys
 * and for-in, merged back as Passport's keepSessionInfo does, and changed (`maxAge`) before the
 * reply is sent: the cookie is never stored as data, and a changed maxAge reaches the Set-Cookie.
 */
import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { SqliteStore } from '../../packages/coatcheck/src/stores/sqlite.js';
import type { Client } from '../support/http.js';
import { type FastifyTestApp, handleIn, startFastifyApp } from './app.js';

describe('Fastify request.session.cookie copied, merged and changed before send (SQLite)', () => {
  let t: FastifyTestApp;
  before(async () => {
    t = await startFastifyApp({ store: new SqliteStore({ path: ':memory:' }) }, (app) => {
      app.get('/copies', async (request) => {
        const session = request.session as unknown as Record<string, unknown>;
        session.views = ((session.views as number | undefined) ?? 0) + 1;
        const forIn: string[] = [];
        for (const key in session) forIn.push(key);
        const spread = { ...session };
        // Passport's keepSessionInfo: the old session's properties merged onto the new one.
        Object.assign(request.session, spread);
        return {
          keys: Object.keys(session),
          forIn,
          json: JSON.parse(JSON.stringify(session)) as Record<string, unknown>,
          spreadPath: (spread.cookie as { path: string }).path,
        };
      });
      app.get('/max-age', async (request) => {
        request.session.cookie.maxAge = 60_000;
        (request.session as unknown as Record<string, unknown>).short = true;
        return { maxAge: request.session.cookie.maxAge };
      });
      app.get('/max-age-only', async (request) => {
        request.session.cookie.maxAge = 120_000;
        return {};
      });
    });
  });
  after(() => t.close());

  it('keys, for-in, JSON and spreads show the cookie; the store never keeps it', async () => {
    const c: Client = t.client();
    const first = (await c.get('/copies')).json() as Record<string, unknown>;
    assert.deepEqual(first.keys, ['cookie', 'views']);
    assert.deepEqual(first.forIn, ['cookie', 'views']);
    assert.equal((first.json as { cookie: { path: string } }).cookie.path, '/');
    assert.equal(first.spreadPath, '/');
    const second = (await c.get('/copies')).json() as { json: { views: number } };
    assert.equal(second.json.views, 2);
    const record = await t.store.get(handleIn(c.jar.get('id')!));
    assert.deepEqual(JSON.parse(record!.data), { views: 2 });
  });

  it('a maxAge set before the reply reaches the Set-Cookie, with or without a data change', async () => {
    const c: Client = t.client();
    const res = await c.get('/max-age');
    assert.deepEqual(res.json(), { maxAge: 60_000 });
    const line = res.setCookies.find((l) => l.startsWith('id='));
    assert.ok(line, 'a session cookie is set');
    assert.match(line, /Max-Age=60(;|$)/i);
    const again = await c.get('/max-age-only');
    const renewed = again.setCookies.find((l) => l.startsWith('id='));
    assert.ok(renewed, 'changing maxAge alone re-sends the cookie');
    assert.match(renewed, /Max-Age=120(;|$)/i);
  });
});
