import assert from 'node:assert/strict';
import { createHash } from 'node:crypto';
import { after, before, describe, it } from 'node:test';
import { Client } from '../support/http.js';
import { type RememberApp, startRememberApp } from './servers.js';
import { rememberStores } from './stores.js';

type Me = { userId: string | null; authMethod: string | null; aal: number; fresh: boolean };
const sha256 = (value: string) => createHash('sha256').update(value).digest('base64url');
const deviceIdOf = (client: Client) => client.jar.get('remember')?.split('.')[0] ?? '';

/** A browser closed and opened again: every cookie but the session cookie survives. */
function reopen(client: Client): Client {
  const next = new Client(client.base);
  for (const [name, value] of client.jar) if (name !== 'id') next.jar.set(name, value);
  return next;
}

async function me(client: Client): Promise<Me> {
  return (await client.get('/me')).json() as Me;
}

async function signIn(app: RememberApp, userId = 'alice', remember = true): Promise<Client> {
  const client = new Client(app.url, { 'user-agent': 'Mozilla/5.0 Chrome/130.0 Safari/537.36' });
  const res = await client.post('/login', { userId, remember });
  assert.equal(res.status, 200);
  return client;
}

for (const store of rememberStores()) {
  describe(`remembered devices on ${store.name}, Express`, () => {
    let app: RememberApp;
    before(async () => {
      app = await startRememberApp('express', await store.create());
    });
    after(async () => {
      await app.close();
      await app.store.close();
    });
    const typeCount = (type: string) => app.events.filter((event) => event.type === type).length;

    it('S13 a login with remember sets its own cookie, stored only as a hash and tied to the user and device', async () => {
      const client = await signIn(app);
      const res = await client.get('/me');
      assert.equal(res.status, 200);
      const value = client.jar.get('remember')!;
      assert.ok(value, 'a remember cookie');
      assert.notEqual(value, client.jar.get('id'));
      const [id, secret] = value.split('.') as [string, string];
      const device = await app.store.rememberedDevices!.get(id);
      assert.equal(device?.userId, 'alice');
      assert.equal(device?.secretHash, sha256(secret));
      assert.equal(device?.device.userAgent, 'Mozilla/5.0 Chrome/130.0 Safari/537.36');
      assert.equal(device?.expiresAt, device!.createdAt + 3_600_000);
      const handle = client.jar.get('id')!.split('.')[0]!;
      assert.equal((await app.store.get(handle))?.rememberedDeviceId, id);
    });

    it('S13 the remember cookie is HttpOnly, SameSite=Lax, Path=/ and lasts the device lifetime', async () => {
      const client = new Client(app.url);
      const res = await client.post('/login', { userId: 'alice', remember: true });
      const line = res.setCookies.find((cookie) => cookie.startsWith('remember='))!;
      assert.match(line, /; Max-Age=3600(;|$)/);
      assert.match(line, /; Path=\//);
      assert.match(line, /; HttpOnly/);
      assert.match(line, /; SameSite=Lax/);
      const session = res.setCookies.find((cookie) => cookie.startsWith('id='))!;
      assert.doesNotMatch(session, /Max-Age/, 'the session cookie itself stays a browser-session cookie');
    });

    it('a login without remember sets no remember cookie and starts no device', async () => {
      const client = await signIn(app, 'bob', false);
      assert.equal(client.jar.get('remember'), undefined);
      assert.deepEqual(await app.store.rememberedDevices!.listByUser('bob'), []);
    });

    it('after the browser is closed the remembered device signs in again: not fresh, level 1, rotated', async () => {
      const client = await signIn(app);
      const before = client.jar.get('remember');
      const oldHandle = client.jar.get('id');
      const reopened = reopen(client);
      assert.deepEqual(await me(reopened), {
        userId: 'alice',
        authMethod: 'remembered',
        aal: 1,
        fresh: false,
      });
      assert.notEqual(reopened.jar.get('id'), oldHandle);
      assert.notEqual(reopened.jar.get('remember'), before, 'every use rotates the credential');
      assert.equal(deviceIdOf(reopened), before!.split('.')[0], 'the same device');
      assert.equal((await reopened.get('/fresh')).status, 401, 'requireFreshAuth asks again');
      assert.deepEqual(await me(reopened), {
        userId: 'alice',
        authMethod: 'remembered',
        aal: 1,
        fresh: false,
      });
      const reauth = (await reopened.post('/reauth', {})).json() as Me;
      assert.equal(reauth.fresh, true);
      assert.equal(reauth.authMethod, 'login');
      assert.equal((await reopened.get('/fresh')).status, 200);
    });

    it('after an idle timeout the remembered device starts a new session with a new token', async () => {
      const client = await signIn(app);
      const oldToken = client.jar.get('id')!;
      app.clock.advance(61_000);
      assert.equal((await me(client)).authMethod, 'remembered');
      assert.notEqual(client.jar.get('id'), oldToken);
      assert.equal(await app.store.get(oldToken.split('.')[0]!), null);
    });

    it('while the session is live the remember cookie is neither used nor rotated', async () => {
      const client = await signIn(app);
      const remembered = typeCount('auth.remembered');
      const res = await client.get('/me');
      assert.equal(res.setCookies.filter((c) => c.startsWith('remember=')).length, 0);
      assert.equal((res.json() as Me).authMethod, 'login');
      assert.equal(typeCount('auth.remembered'), remembered);
    });

    it('a session ended by its absolute timeout is not revived; its device ends too', async () => {
      const client = await signIn(app);
      const id = deviceIdOf(client);
      for (let i = 0; i < 11; i++) {
        app.clock.advance(55_000);
        await client.get('/me');
      }
      const res = await client.get('/me');
      assert.equal((res.json() as Me).userId, null);
      assert.equal(client.jar.get('remember'), undefined, 'the cookie is cleared');
      assert.equal(await app.store.rememberedDevices!.get(id), null);
    });

    it('logout on the device ends the remembered device: its credential no longer signs in', async () => {
      const client = await signIn(app);
      const copy = reopen(client);
      await client.post('/logout', {});
      assert.equal(client.jar.get('remember'), undefined);
      assert.equal((await me(copy)).userId, null);
      assert.equal(copy.jar.get('remember'), undefined);
    });

    it('logout of a session the device started ends the device', async () => {
      const client = reopen(await signIn(app));
      assert.equal((await me(client)).authMethod, 'remembered');
      const id = deviceIdOf(client);
      await client.post('/logout', {});
      assert.equal(await app.store.rememberedDevices!.get(id), null);
    });

    it('sign out everywhere (password change) ends every remembered device of the user', async () => {
      const laptop = await signIn(app, 'carol');
      const phone = await signIn(app, 'carol');
      const desk = await signIn(app, 'carol', false);
      const laptopLater = reopen(laptop);
      await desk.post('/logout-all', {});
      assert.equal((await me(laptopLater)).userId, null);
      assert.equal((await me(reopen(phone))).userId, null);
      assert.equal((await me(phone)).userId, null, 'its session too');
      assert.deepEqual(await app.store.rememberedDevices!.listByUser('carol'), []);
      assert.equal((await me(desk)).userId, 'carol');
    });

    it('the device list marks remembered devices and revokes one with its sessions', async () => {
      const laptop = await signIn(app, 'dave');
      const desk = await signIn(app, 'dave', false);
      const devices = (await desk.get('/devices')).json() as { id: string; current: boolean }[];
      assert.equal(devices.length, 1);
      assert.equal(devices[0]!.id, deviceIdOf(laptop));
      const sessions = (await desk.get('/sessions')).json() as {
        handle: string;
        rememberedDevice: string | null;
      }[];
      const marked = sessions.filter((s) => s.rememberedDevice === deviceIdOf(laptop));
      assert.equal(marked.length, 1);
      const laptopLater = reopen(laptop);
      const revoked = await desk.post('/devices/revoke', { id: devices[0]!.id });
      assert.deepEqual(revoked.json(), { revoked: true });
      assert.equal((await me(laptop)).userId, null, 'its session ends');
      assert.equal((await me(laptopLater)).userId, null, 'its credential too');
      assert.deepEqual((await desk.get('/devices')).json(), []);
    });

    it('a device of another user cannot be revoked (no IDOR)', async () => {
      const victim = await signIn(app, 'erin');
      const other = await signIn(app, 'frank', false);
      assert.deepEqual((await other.post('/devices/revoke', { id: deviceIdOf(victim) })).json(), {
        revoked: false,
      });
      assert.equal((await me(reopen(victim))).userId, 'erin');
    });

    it('revoking a remembered session in the device list ends its device', async () => {
      const laptop = await signIn(app, 'gina');
      const desk = await signIn(app, 'gina', false);
      const handle = laptop.jar.get('id')!.split('.')[0]!;
      assert.deepEqual((await desk.post('/sessions/revoke', { handle })).json(), { revoked: true });
      assert.equal((await me(reopen(laptop))).userId, null);
    });

    it('S18 a replayed credential (rotated away, past the grace period) ends the device and all its sessions', async () => {
      const victim = await signIn(app, 'hank');
      const stolen = reopen(victim);
      const browser = reopen(victim);
      assert.equal((await me(browser)).authMethod, 'remembered');
      app.clock.advance(11_000);
      const reuses = typeCount('security.remember_reuse');
      assert.equal((await me(stolen)).userId, null);
      assert.equal(typeCount('security.remember_reuse'), reuses + 1);
      const event = app.events.findLast((e) => e.type === 'security.remember_reuse')!;
      assert.equal(event.userId, 'hank');
      assert.equal(event.rememberedDevice, deviceIdOf(browser));
      assert.equal((await me(browser)).userId, null, 'the session the device started ends');
      assert.equal((await me(victim)).userId, null, 'the sign-in session ends');
      assert.equal((await me(reopen(browser))).userId, null, 'the current credential ends');
    });

    it('S18 the thief using it first is caught when the user comes back', async () => {
      const victim = await signIn(app, 'iris');
      const thief = reopen(victim);
      assert.equal((await me(thief)).userId, 'iris');
      app.clock.advance(11_000);
      assert.equal((await me(reopen(victim))).userId, null);
      assert.equal((await me(thief)).userId, null, "the thief's session ends");
    });

    it('two tabs racing with one credential within the grace period are not theft', async () => {
      const victim = await signIn(app, 'jane');
      const tabs = [reopen(victim), reopen(victim), reopen(victim)];
      const answers = await Promise.all(tabs.map((tab) => me(tab)));
      for (const answer of answers) assert.equal(answer.userId, 'jane');
      const rotated = tabs.filter((tab) => tab.jar.get('remember') !== victim.jar.get('remember'));
      assert.equal(rotated.length, 1, 'one request rotates; the others leave the cookie alone');
      app.clock.advance(5_000);
      assert.equal((await me(reopen(victim))).userId, 'jane', 'the old one still works inside the grace');
      assert.equal((await me(reopen(rotated[0]!))).userId, 'jane');
      assert.equal((await me(victim)).userId, 'jane', 'nothing was revoked');
    });

    it('a credential past the device lifetime signs nobody in and is forgotten', async () => {
      const client = await signIn(app, 'kate');
      const id = deviceIdOf(client);
      app.clock.advance(3_600_001);
      assert.equal((await me(reopen(client))).userId, null);
      assert.equal(await app.store.rememberedDevices!.get(id), null);
    });

    it('a session the device starts never outlives the device', async () => {
      const client = await signIn(app, 'liam');
      app.clock.advance(3_300_000);
      const later = reopen(client);
      assert.equal((await me(later)).userId, 'liam');
      const record = await app.store.get(later.jar.get('id')!.split('.')[0]!);
      const device = await app.store.rememberedDevices!.get(deviceIdOf(later));
      assert.equal(record?.absoluteExpiresAt, device?.expiresAt);
    });

    it('S44 a forged credential is refused without a store call and cleared', async () => {
      const client = await signIn(app, 'mia');
      const forged = reopen(client);
      const [id, secret] = forged.jar.get('remember')!.split('.');
      forged.jar.set('remember', `${id}.${secret}.${'A'.repeat(43)}`);
      assert.equal((await me(forged)).userId, null);
      assert.equal(forged.jar.get('remember'), undefined);
      assert.equal((await me(reopen(client))).userId, 'mia', 'the real device is untouched');
    });

    it('a new sign-in without remember forgets the credential left in that browser', async () => {
      const client = await signIn(app, 'nina');
      const id = deviceIdOf(client);
      await client.post('/login', { userId: 'oscar', remember: false });
      assert.equal(client.jar.get('remember'), undefined);
      assert.equal(await app.store.rememberedDevices!.get(id), null);
    });
  });
}
