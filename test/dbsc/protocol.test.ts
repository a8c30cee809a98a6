import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { createClient } from 'redis';
import type { SessionStore } from '../../packages/coatcheck/src/core/index.js';
import { PostgresStore } from '../../packages/coatcheck/src/stores/postgres.js';
import { RedisStore } from '../../packages/coatcheck/src/stores/redis.js';
import { Client } from '../support/http.js';
import { type PostgresServer, startPostgres } from '../support/postgres-server.js';
import { type RedisServer, startRedis } from '../support/redis-server.js';
import { embeddedStores } from '../support/stores.js';
import { expressApp } from './apps.js';
import { BrowserKey, DbscBrowser, parseChallenge } from './browser-key.js';
import { closeAll, closers, csrfHeaders, me, signIn, start } from './flow.js';

let redis: RedisServer;
let postgres: PostgresServer;
before(async () => {
  [redis, postgres] = await Promise.all([startRedis(), startPostgres()]);
});
after(async () => {
  await closeAll();
  await redis?.dispose();
  await postgres?.stop();
});

interface StoreKind {
  name: string;
  create(): Promise<SessionStore>;
}

const stores: StoreKind[] = [
  ...embeddedStores().map((kind) => ({ name: kind.name, create: async () => kind.create() })),
  {
    name: 'redis',
    async create() {
      const client = createClient({ url: redis.url });
      await client.connect();
      closers.push(() => client.close());
      return new RedisStore({ client, prefix: `dbsc-${Math.random()}:` });
    },
  },
  {
    name: 'postgres',
    async create() {
      const store = new PostgresStore({ connectionString: postgres.connectionString, pruneIntervalMs: 0 });
      closers.push(() => store.close());
      return store;
    },
  },
];

for (const kind of stores) {
  describe(`DBSC over HTTP, express / ${kind.name}`, () => {
    for (const alg of ['ES256', 'RS256'] as const) {
      it(`registers an ${alg} key, sets the bound cookie, and refreshes it through a 403 challenge`, async () => {
        const { app, time } = await start(expressApp, await kind.create());
        const { client, offer, browser } = await signIn(app.url, alg);
        const registered = await browser.register(offer);
        assert.equal(registered.status, 200);
        const config = registered.json() as Record<string, unknown>;
        assert.equal(config.refresh_url, '/.well-known/coatcheck/dbsc/refresh');
        assert.deepEqual(config.credentials, [
          { type: 'cookie', name: 'coatcheck-dbsc', attributes: 'Path=/; HttpOnly; SameSite=Lax' },
        ]);
        assert.deepEqual((config.scope as Record<string, unknown>).include_site, false);
        const bound = client.jar.get('coatcheck-dbsc');
        assert.ok(bound, 'the bound cookie is set');
        assert.deepEqual(await me(client), { user: 'alice' });

        const devices = (await client.request('/devices')).json() as {
          current: boolean;
          deviceKey: { algorithm: string } | null;
        }[];
        assert.equal(devices.find((device) => device.current)?.deviceKey?.algorithm, alg);

        time.advance(61_000);
        client.jar.delete('coatcheck-dbsc'); // expired in the browser
        assert.deepEqual(await me(client), { user: null }, 'no bound cookie: not signed in');
        const { first, final } = await browser.refresh();
        assert.equal(first.status, 403);
        assert.ok(parseChallenge(first.headers.get('secure-session-challenge')));
        assert.equal(final.status, 200);
        assert.ok(client.jar.get('coatcheck-dbsc'));
        assert.notEqual(client.jar.get('coatcheck-dbsc'), bound, 'a new bound-cookie value');
        assert.deepEqual(await me(client), { user: 'alice' });
      });
    }

    it('accepts quoted structured-field values and a challenge sent ahead of time', async () => {
      const { app } = await start(expressApp, await kind.create());
      const { offer, browser } = await signIn(app.url);
      assert.equal((await browser.register(offer, { quoted: true })).status, 200);
      assert.ok(browser.pending);
      const res = await browser.refreshOnce({ challenge: browser.pending, quoted: true });
      assert.equal(res.status, 200);
    });

    it('a stolen session cookie without the bound cookie is not signed in, and writes nothing', async () => {
      const { app } = await start(expressApp, await kind.create());
      const { client, offer, browser } = await signIn(app.url);
      await browser.register(offer);
      const thief = new Client(app.url);
      for (const [name, value] of client.jar) if (name !== 'coatcheck-dbsc') thief.jar.set(name, value);
      const stolen = await thief.request('/me');
      assert.deepEqual(stolen.json(), { user: null });
      assert.deepEqual(stolen.setCookies, [], 'the victim cookie is neither replaced nor cleared');
      // The thief cannot refresh either: the key stays in the browser.
      const forger = new DbscBrowser(thief, new BrowserKey('ES256'));
      forger.sessionId = browser.sessionId;
      forger.refreshUrl = browser.refreshUrl;
      const { final } = await forger.refresh();
      assert.equal(final.status, 403, 'wrong key: 403 with a new challenge, never a bound cookie');
      assert.equal(thief.jar.get('coatcheck-dbsc'), undefined);
      assert.deepEqual(await me(client), { user: 'alice' }, 'the real browser is still signed in');
    });

    it('replays: a resent proof counts within the retry grace, an old one does not; a stale challenge gets a fresh one', async () => {
      const { app, time } = await start(expressApp, await kind.create());
      const { offer, browser } = await signIn(app.url);
      await browser.register(offer);
      const { proof } = await browser.refresh();
      assert.ok(proof);
      time.advance(2_000);
      assert.equal(
        (await browser.refreshOnce({ proof })).status,
        200,
        'Chrome resending after a lost answer',
      );
      time.advance(15_000);
      const replay = await browser.refreshOnce({ proof });
      assert.equal(replay.status, 403, 'an old proof is refused, with a 403 so Chrome keeps the session');
      assert.ok(parseChallenge(replay.headers.get('secure-session-challenge')));

      const ask = await browser.refreshOnce();
      const stale = parseChallenge(ask.headers.get('secure-session-challenge'))!.challenge;
      time.advance(301_000);
      const late = await browser.refreshOnce({ challenge: stale });
      assert.equal(late.status, 403);
      const fresh = parseChallenge(late.headers.get('secure-session-challenge'))!.challenge;
      assert.notEqual(fresh, stale);
      assert.equal((await browser.refreshOnce({ challenge: fresh })).status, 200);
    });

    it('refuses a registration with a wrong typ, an unoffered alg, a foreign challenge or a replayed one', async () => {
      const { app } = await start(expressApp, await kind.create());
      const { client, offer } = await signIn(app.url);
      const key = new BrowserKey('ES256');
      const post = (jwt: string) =>
        client.request(offer.path, { method: 'POST', headers: { 'secure-session-response': jwt } });
      assert.equal(
        (await post(key.jwt({ jti: offer.challenge }, { withKey: true, typ: 'JWT' }))).status,
        403,
      );
      const none = `${Buffer.from(JSON.stringify({ alg: 'none', typ: 'dbsc+jwt', jwk: key.publicKey.export({ format: 'jwk' }) })).toString('base64url')}.${Buffer.from(JSON.stringify({ jti: offer.challenge })).toString('base64url')}.`;
      assert.notEqual((await post(none)).status, 200, 'alg none never passes');
      const other = await signIn(app.url);
      assert.equal((await post(key.jwt({ jti: other.offer.challenge }, { withKey: true }))).status, 403);
      const signedByOther = new BrowserKey('ES256').jwt({ jti: offer.challenge }, { withKey: true });
      const tampered = `${key.jwt({ jti: offer.challenge }, { withKey: true }).split('.').slice(0, 2).join('.')}.${signedByOther.split('.')[2]}`;
      assert.equal((await post(tampered)).status, 403, 'a signature by another key');
      assert.equal((await post(key.jwt({ jti: offer.challenge }, { withKey: true }))).status, 200);
      const second = new BrowserKey('ES256').jwt({ jti: offer.challenge }, { withKey: true });
      assert.equal((await post(second)).status, 403, 'a bound session is never rebound to another key');
    });

    it('logout and sign-out everywhere end the DBSC session: refresh answers continue false', async () => {
      const { app } = await start(expressApp, await kind.create());
      const a = await signIn(app.url);
      await a.browser.register(a.offer);
      const b = await signIn(app.url);
      await b.browser.register(b.offer);
      await a.client.request('/logout', { method: 'POST', headers: await csrfHeaders(a.client) });
      const ended = await a.browser.refreshOnce();
      assert.equal(ended.status, 200);
      assert.deepEqual(ended.json(), { continue: false });

      // The other session is revoked from elsewhere while its browser still holds the cookie.
      const c = await signIn(app.url);
      await c.browser.register(c.offer);
      await c.client.request('/logout-everywhere', { method: 'POST', headers: await csrfHeaders(c.client) });
      assert.deepEqual((await b.browser.refreshOnce()).json(), { continue: false });
    });

    it('re-authentication and scheduled rotation keep the binding: new token, same device key', async () => {
      const { app, time } = await start(expressApp, await kind.create(), { rotationIntervalMs: 120_000 });
      const { client, offer, browser } = await signIn(app.url);
      await browser.register(offer);
      const token = () => [...client.jar].find(([name]) => name !== 'coatcheck-dbsc')?.[1];
      const first = token();
      await client.request('/reauthenticate', { method: 'POST', headers: await csrfHeaders(client) });
      assert.notEqual(token(), first, 're-authentication rotates the token');
      assert.deepEqual(await me(client), { user: 'alice' }, 'the bound cookie still proves the key');
      const second = token();
      time.advance(121_000);
      client.jar.delete('coatcheck-dbsc');
      assert.equal((await browser.refresh()).final.status, 200);
      assert.deepEqual(await me(client), { user: 'alice' });
      assert.notEqual(token(), second, 'rotated on schedule');
      const thief = new Client(app.url);
      for (const [name, value] of client.jar) if (name !== 'coatcheck-dbsc') thief.jar.set(name, value);
      assert.equal(thief.jar.size, 1);
      assert.deepEqual(await me(thief), { user: null }, 'the new token is bound too');
    });

    it('the page load racing the registration keeps the binding', async () => {
      const { app } = await start(expressApp, await kind.create());
      const { client, offer, browser } = await signIn(app.url);
      const loads = Array.from({ length: 5 }, () => client.request('/me'));
      const [registered] = await Promise.all([browser.register(offer), ...loads]);
      assert.equal(registered.status, 200);
      const devices = (await client.request('/devices')).json() as { current: boolean; deviceKey: unknown }[];
      assert.ok(devices.find((device) => device.current)?.deviceKey, 'still bound after the racing writes');
    });

    it('the DBSC routes need no CSRF token but refuse cross-site requests', async () => {
      const { app } = await start(expressApp, await kind.create());
      const { client, offer, browser } = await signIn(app.url);
      const key = new BrowserKey('ES256');
      const cross = await client.request(offer.path, {
        method: 'POST',
        headers: {
          'secure-session-response': key.jwt({ jti: offer.challenge }, { withKey: true }),
          'sec-fetch-site': 'cross-site',
        },
      });
      assert.equal(cross.status, 403);
      assert.equal((await browser.register(offer)).status, 200, 'same-origin without a token');
      const crossRefresh = await client.request(browser.refreshUrl!, {
        method: 'POST',
        headers: { 'sec-secure-session-id': browser.sessionId!, 'sec-fetch-site': 'cross-site' },
      });
      assert.equal(crossRefresh.status, 403);
      assert.equal(crossRefresh.headers.get('secure-session-challenge'), null);
    });
  });
}
