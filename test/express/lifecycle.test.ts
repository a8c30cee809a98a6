import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { startTestApp, type TestApp } from '../support/app.js';
import { Client } from '../support/http.js';
import { embeddedStores } from '../support/stores.js';

const handleOf = (client: Client) => client.jar.get('id')?.split('.')[0] ?? '';

for (const factory of embeddedStores()) {
  for (const major of [5, 4] as const) {
    describe(`session lifecycle on ${factory.name}, Express ${major}`, () => {
      let app: TestApp;
      before(async () => {
        app = await startTestApp(factory.create(), {
          express: major,
          idleTimeoutMs: 60_000,
          absoluteTimeoutMs: 300_000,
          renewalIntervalMs: 10_000,
        });
      });
      after(async () => {
        await app.close();
        await app.store.close();
        if (major === 4) factory.cleanup();
      });
      const client = () => new Client(app.url);

      it('creates nothing, neither cookie nor record, until something is stored', async () => {
        const c = client();
        const res = await c.get('/peek');
        assert.equal(res.status, 200);
        assert.deepEqual(res.setCookies, []);
        const created = app.events.filter((e) => e.type === 'session.created').length;
        await c.get('/peek');
        assert.equal(app.events.filter((e) => e.type === 'session.created').length, created);
      });

      it('stores data on first write and reads it back', async () => {
        const c = client();
        const res = await c.post('/set', { cart: ['apple'] });
        assert.equal(res.setCookies.length, 1);
        assert.deepEqual(((await c.get('/peek')).json() as { data: unknown }).data, { cart: ['apple'] });
        const stored = await app.store.get(handleOf(c));
        assert.deepEqual(JSON.parse(stored!.data), { cart: ['apple'] });
      });

      it('commits the session before the response is sent (expressjs/session#360)', async () => {
        const c = client();
        const res = await c.post('/login-redirect', { userId: 'alice' });
        assert.equal(res.status, 303);
        // The response has arrived: the store must already hold the new session.
        const record = await app.store.get(handleOf(c));
        assert.equal(record?.userId, 'alice');
        assert.equal((await c.get('/me')).status, 200);
      });

      it('keeps both writes when two concurrent requests set different keys', async () => {
        const c = client();
        await c.post('/set', { start: 1 });
        await Promise.all([c.post('/slow?ms=80', { slow: 'yes' }), c.post('/set', { fast: 'yes' })]);
        const { data } = (await c.get('/peek')).json() as { data: Record<string, string> };
        assert.deepEqual(data, { start: 1, slow: 'yes', fast: 'yes' });
      });

      it('S19 login rotates the token, kills the old one, and keeps only allowed pre-login data', async () => {
        const c = client();
        await c.post('/set', { returnTo: '/devices', tracking: 'pre-login' });
        const before = c.jar.get('id')!;
        await c.post('/login', { userId: 'alice' });
        const afterLogin = c.jar.get('id')!;
        assert.notEqual(afterLogin, before);
        assert.notEqual(afterLogin.split('.')[0], before.split('.')[0]);
        const me = (await c.get('/me')).json() as { userId: string; data: Record<string, unknown> };
        assert.equal(me.userId, 'alice');
        assert.deepEqual(me.data, { returnTo: '/devices' });
        const attacker = new Client(app.url);
        attacker.jar.set('id', before);
        assert.equal((await attacker.get('/me')).status, 401);
        assert.equal(await app.store.get(before.split('.')[0]!), null);
        assert.ok(app.events.some((e) => e.type === 'session.regenerated' && e.handle === handleOf(c)));
      });

      it('S19 a cookie planted before login is useless to the attacker afterwards', async () => {
        const mallory = client();
        await mallory.post('/set', { planted: true });
        const victim = client();
        victim.jar.set('id', mallory.jar.get('id')!);
        await victim.post('/login', { userId: 'victim' });
        assert.equal((await mallory.get('/me')).status, 401);
        assert.equal((await victim.get('/me')).status, 200);
      });

      it('S27 logout destroys the session server-side and expires the cookie', async () => {
        const c = client();
        await c.post('/login', { userId: 'alice' });
        const token = c.jar.get('id')!;
        const res = await c.post('/logout');
        const cleared = res.setCookies.find((line) => line.startsWith('id='));
        assert.match(cleared!, /^id=; Max-Age=0; Path=\/; HttpOnly; SameSite=Lax$/);
        assert.equal(await app.store.get(token.split('.')[0]!), null);
        const replay = new Client(app.url);
        replay.jar.set('id', token);
        assert.equal((await replay.get('/me')).status, 401);
        assert.equal((await replay.post('/set', { x: 1 })).status, 200);
        assert.notEqual(replay.jar.get('id'), token);
      });

      it('S29 a request in flight never brings a logged-out session back (200 runs)', async () => {
        for (let run = 0; run < 200; run++) {
          const c = client();
          await c.post('/login', { userId: `racer-${run}` });
          const token = c.jar.get('id')!;
          const slow = c.post(`/slow?ms=${run % 7}`, { late: run });
          await new Promise((resolve) => setTimeout(resolve, run % 5));
          await c.post('/logout');
          await slow;
          const replay = new Client(app.url);
          replay.jar.set('id', token);
          assert.equal((await replay.get('/me')).status, 401, `run ${run}`);
          assert.equal(await app.store.get(token.split('.')[0]!), null, `run ${run}`);
        }
      });

      it('S23 idle timeout: activity slides it, inactivity ends it', async () => {
        const c = client();
        await c.post('/login', { userId: 'idle' });
        const handle = handleOf(c);
        app.clock.advance(50_000);
        assert.equal((await c.get('/me')).status, 200);
        app.clock.advance(50_000);
        assert.equal((await c.get('/me')).status, 200, 'the timer slid at 50 s');
        app.clock.advance(61_000);
        assert.equal((await c.get('/me')).status, 401);
        assert.ok(app.events.some((e) => e.type === 'session.expired.idle' && e.handle === handle));
        assert.equal(await app.store.get(handle), null);
      });

      it('S22 timeouts are server-side: resending an expired cookie unchanged does not help', async () => {
        const c = client();
        await c.post('/login', { userId: 'expired' });
        const token = c.jar.get('id')!;
        app.clock.advance(61_000);
        const replay = new Client(app.url);
        assert.equal(
          (await replay.get('/me', { cookie: `id=${token}; Expires=Fri, 01 Jan 2100 00:00:00 GMT` })).status,
          401,
        );
        assert.equal((await replay.get('/me', { cookie: `id=${token}` })).status, 401);
      });

      it('S24 absolute timeout: activity, renewal and step-up do not extend it', async () => {
        const c = client();
        await c.post('/login', { userId: 'absolute' });
        for (let t = 30; t <= 270; t += 30) {
          app.clock.advance(30_000);
          assert.equal((await c.get('/me')).status, 200, `t=${t}s`);
          if (t === 150) assert.equal((await c.post('/reauth')).status, 200);
        }
        app.clock.advance(31_000);
        assert.equal((await c.get('/me')).status, 401);
        assert.ok(app.events.some((e) => e.type === 'session.expired.absolute'));
      });

      it('writes a renewal at most once per renewal interval', async () => {
        const c = client();
        await c.post('/login', { userId: 'renewal' });
        const handle = handleOf(c);
        const version = (await app.store.get(handle))!.version;
        for (let i = 0; i < 20; i++) {
          app.clock.advance(400);
          assert.equal((await c.get('/me')).status, 200);
        }
        // 20 requests over 8 s: inside one 10 s interval, nothing written.
        assert.equal((await app.store.get(handle))!.version, version);
        app.clock.advance(2_100);
        await c.get('/me');
        const renewed = (await app.store.get(handle))!;
        assert.equal(renewed.version, version + 1);
        assert.equal(renewed.lastSeenAt, app.clock.at);
        assert.equal(renewed.idleExpiresAt, app.clock.at + 60_000);
      });

      it('regenerate({ keep: true }) keeps the data and drops writes from requests still on the old token', async () => {
        const c = client();
        await c.post('/set', { kept: 'yes' });
        const old = c.jar.get('id')!;
        const other = new Client(app.url);
        other.jar.set('id', old);
        const slow = other.post('/slow?ms=60', { lateWrite: 1 });
        await new Promise((resolve) => setTimeout(resolve, 10));
        await c.post('/regenerate?keep=1');
        await slow;
        assert.notEqual(c.jar.get('id'), old);
        const { data } = (await c.get('/peek')).json() as { data: Record<string, unknown> };
        assert.deepEqual(data, { kept: 'yes' });
        assert.ok(app.events.some((e) => e.type === 'session.write_dropped'));
      });

      it("lists a user's devices, revokes one by handle, refuses other users' handles", async () => {
        const phone = new Client(app.url, { 'user-agent': 'Phone/1' });
        const laptop = new Client(app.url, { 'user-agent': 'Laptop/1' });
        const mallory = client();
        await phone.post('/login', { userId: 'devices-user' });
        await laptop.post('/login', { userId: 'devices-user' });
        await mallory.post('/login', { userId: 'mallory' });
        const list = (await laptop.get('/sessions')).json() as {
          handle: string;
          userAgent: string;
          current: boolean;
        }[];
        assert.equal(list.length, 2);
        assert.deepEqual(list.map((s) => s.userAgent).sort(), ['Laptop/1', 'Phone/1']);
        assert.equal(list.find((s) => s.current)?.userAgent, 'Laptop/1');
        assert.ok(!JSON.stringify(list).includes(laptop.jar.get('id')!.split('.')[1]!));
        assert.equal(
          (await mallory.request(`/sessions/${handleOf(phone)}`, { method: 'DELETE' })).status,
          404,
        );
        assert.equal((await phone.get('/me')).status, 200);
        assert.equal(
          (await laptop.request(`/sessions/${handleOf(phone)}`, { method: 'DELETE' })).status,
          204,
        );
        assert.equal((await phone.get('/me')).status, 401);
        assert.equal((await laptop.get('/me')).status, 200);
      });

      it('logs out everywhere but here, or everywhere', async () => {
        const clients = [client(), client(), client()];
        for (const c of clients) await c.post('/login', { userId: 'everywhere' });
        const res = await clients[0]!.post('/logout-all', {});
        assert.deepEqual(res.json(), { count: 2 });
        assert.equal((await clients[0]!.get('/me')).status, 200);
        assert.equal((await clients[1]!.get('/me')).status, 401);
        assert.equal((await clients[2]!.get('/me')).status, 401);
        await clients[2]!.post('/login', { userId: 'everywhere' });
        await clients[0]!.post('/logout-all', { includeCurrent: true });
        assert.equal((await clients[0]!.get('/me')).status, 401);
        assert.equal((await clients[2]!.get('/me')).status, 401);
        assert.ok(app.events.some((e) => e.type === 'session.logout_all'));
      });

      it('S13 a remembered session gets a persistent cookie no longer than its absolute lifetime', async () => {
        const c = client();
        await c.post('/login', { userId: 'remember' });
        const res = await c.post('/remember', { ms: 30 * 24 * 3_600_000 });
        const line = res.setCookies[0]!;
        const maxAge = Number(/Max-Age=(\d+)/.exec(line)?.[1]);
        assert.ok(
          maxAge > 0 && maxAge <= 300,
          `Max-Age ${maxAge} must not exceed the 300 s absolute timeout`,
        );
      });
    });
  }
}
