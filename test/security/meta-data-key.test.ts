import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import {
  requireAuth,
  requireFreshAuth,
  requireRole,
  requireStepUp,
} from '../../packages/coatcheck/src/fastify/index.js';
import { MemoryStore } from '../../packages/coatcheck/src/stores/memory.js';
import { type FastifyTestApp, startFastifyApp } from '../fastify/app.js';
import { frameworks, type RememberApp, startRememberApp } from '../remember/servers.js';
import { startTestApp, type TestApp } from '../support/app.js';
import { Client } from '../support/http.js';

/**
 * An express-session app may keep its own data under `meta`, and on Express and Fastify a data key
 * is an own property of the session object, so it hides the `meta` view there (documented). Every
 * decision the library takes must still read the record: who is signed in for the device list,
 * revocation, "log out everywhere", remembered devices and the guards.
 */
const FORGED_META = {
  userId: 'admin',
  authAt: Date.now() + 3_600_000,
  aal: 9,
  stepUpAt: Date.now() + 3_600_000,
  theme: 'dark',
};

for (const framework of frameworks) {
  describe(`a data key named meta on ${framework}: the user's own sessions and devices still follow the record`, () => {
    let app: RememberApp;
    before(async () => {
      app = await startRememberApp(framework, new MemoryStore());
    });
    after(async () => {
      await app.close();
      await app.store.close();
    });

    it('lists, revokes and signs out the other sessions and devices of a user whose data holds meta', async () => {
      const laptop = new Client(app.url);
      const phone = new Client(app.url);
      const tablet = new Client(app.url);
      const desktop = new Client(app.url);
      for (const device of [laptop, phone, tablet, desktop]) {
        await device.post('/login', { userId: 'henry', remember: true });
      }
      // What an application could keep there, a user id of nobody or of someone else included.
      assert.equal((await laptop.post('/data-meta', { meta: { ...FORGED_META, userId: null } })).status, 200);

      const sessions = (await laptop.get('/sessions')).json() as { handle: string; current: boolean }[];
      assert.equal(sessions.length, 4);
      const devices = (await laptop.get('/devices')).json() as { id: string; current: boolean }[];
      assert.equal(devices.length, 4);

      const phoneHandle = phone.jar.get('id')!.split('.')[0]!;
      assert.deepEqual((await laptop.post('/sessions/revoke', { handle: phoneHandle })).json(), {
        revoked: true,
      });
      const tabletDevice = tablet.jar.get('remember')!.split('.')[0]!;
      assert.ok(devices.some((device) => device.id === tabletDevice));
      assert.deepEqual((await laptop.post('/devices/revoke', { id: tabletDevice })).json(), {
        revoked: true,
      });
      // A revoked session ends its remembered device too: the laptop's and the desktop's are left.
      assert.equal(((await laptop.get('/devices')).json() as unknown[]).length, 2);

      await laptop.post('/data-meta', { meta: { ...FORGED_META, userId: 'someone-else' } });
      const signedOut = (await laptop.post('/logout-all', {})).json() as { count: number };
      assert.equal(signedOut.count, 1, 'the desktop');
      for (const other of [phone, tablet, desktop]) {
        // The session cookie alone: a remembered device left alive would sign it in again.
        const again = new Client(app.url);
        again.jar.set('id', other.jar.get('id')!);
        assert.equal(((await again.get('/me')).json() as { userId: string | null }).userId, null);
        assert.equal(((await other.get('/me')).json() as { userId: string | null }).userId, null);
      }
    });
  });
}

describe('a data key named meta cannot pass the guards', () => {
  let fastify: FastifyTestApp;
  let express: TestApp;
  before(async () => {
    fastify = await startFastifyApp(
      {},
      (app) => {
        app.get('/account', { preHandler: requireAuth() }, async () => ({ ok: true }));
        app.get('/admin', { preHandler: requireRole('admin') }, async () => ({ ok: true }));
        app.get('/password', { preHandler: requireFreshAuth() }, async () => ({ ok: true }));
        app.get('/keys', { preHandler: requireStepUp() }, async () => ({ ok: true }));
      },
      'inject',
    );
    express = await startTestApp(new MemoryStore());
  });
  after(async () => {
    await fastify.close();
    await express.close();
  });

  it('Fastify: an anonymous session whose data holds a signed-in, stepped-up meta gets 401 from every guard', async () => {
    const client = fastify.client();
    assert.equal((await client.post('/set', { meta: FORGED_META, role: 'admin' })).status, 200);
    for (const path of ['/account', '/admin', '/password', '/keys']) {
      assert.equal((await client.get(path)).status, 401, path);
    }
  });

  it('Fastify: a signed-in session whose data holds meta naming nobody still passes requireAuth', async () => {
    const client = fastify.client();
    await client.post('/login', { userId: 'ivy', role: 'admin' });
    await client.post('/set', { meta: { userId: null } });
    assert.equal((await client.get('/account')).status, 200);
    assert.equal((await client.get('/admin')).status, 200);
    assert.equal((await client.get('/keys')).status, 401, 'no step-up happened');
  });

  it('Express: the same forged meta gets 401 from requireAuth, requireFreshAuth and requireStepUp', async () => {
    const client = new Client(express.url);
    assert.equal((await client.post('/set', { meta: FORGED_META })).status, 200);
    assert.equal((await client.get('/me')).status, 401);
    assert.equal((await client.post('/account/email', {})).status, 401);
    assert.equal((await client.post('/transfer', {})).status, 401);
  });
});
