import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { RedisStore } from '../../packages/coatcheck/src/stores/redis.js';
import { Clock, startTestApp, type TestApp } from '../support/app.js';
import { ROTATION_OPTIONS } from '../support/gated-app.js';
import { Client } from '../support/http.js';
import { startPassportApp } from '../support/passport-app.js';
import {
  type ClientKind,
  type Connection,
  connectRedis,
  hasRedis,
  type RedisServer,
  redisFleetForSuite,
  startRedis,
  stringFields,
} from '../support/redis-server.js';

/**
 * Journeys through the Redis store's three layouts ('string', one string per session; 'packed', a
 * hash with the metadata in one `meta` field; and 'fields') and its pipelined renewal, on real
 * redis-server processes and real HTTP: periodic rotation with a grace period racing renewals on
 * several instances, mixed-layout fleets on one prefix, logout racing renewals, Passport, odd data
 * keys, and the kill switch with pointers of both types.
 */

const SECOND = 1000;
const GRACE = ROTATION_OPTIONS.rotationGraceMs;
const handleOf = (cookie: string) => cookie.split('.')[0]!;
const uid = () => Math.random().toString(36).slice(2, 10);

/** The `id` cookie a response set, or undefined. */
function setId(res: { setCookies: string[] }): string | undefined {
  const line = res.setCookies.find((l) => l.startsWith('id='));
  const value = line?.split(';')[0]?.slice(3);
  return value === '' ? undefined : value;
}

/**
 * Whether redis-cli's answer is a Cluster redirection (`(error) MOVED 1234 host:port` with
 * `--no-raw`). Only the start of the answer counts: a hash's values, random base64url among them,
 * may hold the same letters (a secret holding "ASK" made a whole hash read as empty).
 */
const isMoved = (text: string) => /^(\(error\) )?(MOVED|ASK|CROSSSLOT)\b/.test(text.trimStart());

/** Helpers reading keys on the node that holds them (Cluster nodes other than the owner answer MOVED). */
function inspect(servers: () => RedisServer[]) {
  return {
    async type(key: string): Promise<string> {
      const replies = await Promise.all(servers().map(async (s) => (await s.cli('TYPE', key)).trim()));
      return replies.find((r) => r === 'string' || r === 'hash') ?? 'none';
    },
    async pttl(key: string): Promise<number> {
      const replies = await Promise.all(
        servers().map(async (s) => Number((await s.cli('PTTL', key)).trim())),
      );
      return Math.max(...replies.filter(Number.isFinite));
    },
    async hgetall(key: string): Promise<Record<string, string>> {
      for (const server of servers()) {
        const text = await server.cli('--no-raw', 'HGETALL', key);
        if (isMoved(text)) continue;
        const raw = await server.cli('HGETALL', key);
        const lines = raw.split('\n');
        if (lines.at(-1) === '') lines.pop();
        const out: Record<string, string> = {};
        for (let i = 0; i + 1 < lines.length; i += 2) out[lines[i]!] = lines[i + 1]!;
        return out;
      }
      return {};
    },
    /**
     * A session key's fields, whatever its type: a hash's, or a string's (a string session's header
     * and JSON list, or a packed pointer's JSON list).
     */
    async fields(key: string): Promise<Record<string, string>> {
      if ((await this.type(key)) !== 'string') return this.hgetall(key);
      for (const server of servers()) {
        if (isMoved(await server.cli('--no-raw', 'TYPE', key))) continue;
        return stringFields((await server.cli('GET', key)).replace(/\n$/, ''));
      }
      return {};
    },
    /** Every key under a prefix, on every node. */
    async keys(prefix: string): Promise<string[]> {
      const all = await Promise.all(
        servers().map(async (s) => (await s.cli('KEYS', `${prefix}*`)).split('\n')),
      );
      return all
        .flat()
        .filter((k) => k !== '')
        .sort();
    },
  };
}

const fleetTargets = [
  ['node-redis', 'standalone'],
  ['ioredis', 'standalone'],
  ['node-redis', 'Cluster'],
  ['ioredis', 'Cluster'],
] as const satisfies [ClientKind, 'standalone' | 'Cluster'][];

for (const [kind, topology] of fleetTargets) {
  describe(`Redis layout journeys (${kind}, ${topology}): 3 instances, rotation + renewals + grace`, {
    skip: !hasRedis && 'redis-server is not installed',
  }, () => {
    const instances = redisFleetForSuite(topology, [kind, kind, kind]);
    const connections = instances.connections;
    const redis = inspect(() => instances.servers);

    async function fleet(layouts: ('string' | 'packed' | 'fields')[]) {
      const clock = new Clock();
      const prefix = `j${uid()}:`;
      const apps: TestApp[] = [];
      const stores: RedisStore[] = [];
      for (const [i, layout] of layouts.entries()) {
        const store = new RedisStore({
          client: (connections[i % connections.length] as Connection<never>).client,
          prefix,
          now: clock.now,
          layout,
        });
        stores.push(store);
        apps.push(await startTestApp(store, { ...ROTATION_OPTIONS, clock }));
      }
      return { clock, prefix, apps, stores, close: () => Promise.all(apps.map((app) => app.close())) };
    }

    for (const layout of ['string', 'packed'] as const) {
      // Each layout's rotation pointer has the other type than its live sessions.
      const liveType = layout === 'string' ? 'string' : 'hash';
      const pointerType = layout === 'string' ? 'hash' : 'string';
      it(`parallel requests with the old cookie on 3 ${layout} instances: one rotation, a ${pointerType} pointer, 401 after grace`, async () => {
        const { clock, prefix, apps, stores, close } = await fleet([layout, layout, layout]);
        try {
          const browser = new Client(apps[0]!.url);
          assert.equal((await browser.post('/login', { userId: 'alice' })).status, 200);
          assert.equal((await browser.post('/remember', { ms: 3_600 * SECOND })).status, 200);
          const oldCookie = browser.jar.get('id')!;
          const oldKey = stores[0]!.sessionKey(handleOf(oldCookie));
          assert.equal(await redis.type(oldKey), liveType);

          // Rotation due, renewal due: 9 requests of one browser hit the 3 instances at once.
          clock.advance(121 * SECOND);
          const burst = await Promise.all(
            Array.from({ length: 9 }, (_, i) => {
              const tab = new Client(apps[i % 3]!.url);
              tab.jar.set('id', oldCookie);
              return tab.get('/me');
            }),
          );
          assert.deepEqual(
            burst.map((r) => r.status),
            Array(9).fill(200),
          );
          const issued = new Set(
            burst.map(setId).filter((c): c is string => c !== undefined && c !== oldCookie),
          );
          assert.equal(issued.size, 1, `exactly one new token was issued, got ${[...issued].join(', ')}`);
          const newCookie = [...issued][0]!;
          const resentOld = burst.filter((r) => setId(r) === oldCookie).length;
          assert.equal(resentOld, 0, 'no response sets the replaced token back');
          assert.equal(
            await redis.type(oldKey),
            pointerType,
            'the old session is a pointer of the other type',
          );
          const pttl = await redis.pttl(oldKey);
          assert.ok(pttl > 0 && pttl <= GRACE, `pointer PTTL ${pttl} within the grace period`);

          // Within the grace period: more requests with the old cookie, each due a renewal, on every instance.
          for (let round = 0; round < 3; round++) {
            clock.advance(2 * SECOND);
            const racing = await Promise.all(
              apps.map((app) => {
                const tab = new Client(app.url);
                tab.jar.set('id', oldCookie);
                return tab.get('/me');
              }),
            );
            assert.deepEqual(
              racing.map((r) => r.status),
              [200, 200, 200],
            );
            for (const r of racing) assert.notEqual(setId(r), oldCookie);
            assert.equal(
              await redis.type(oldKey),
              pointerType,
              'renewals never turn the pointer back into a live session',
            );
            const again = await redis.pttl(oldKey);
            assert.ok(again > 0 && again <= GRACE, `pointer PTTL ${again} stays within the grace period`);
          }

          // The browser holds the new token, which renews on every instance.
          browser.jar.set('id', newCookie);
          for (const app of apps) {
            clock.advance(2 * SECOND);
            const me = await new Client(app.url, { cookie: `id=${newCookie}` }).get('/me');
            assert.equal(me.status, 200);
            assert.equal((me.json() as { userId: string }).userId, 'alice');
          }
          assert.equal(await redis.type(stores[0]!.sessionKey(handleOf(newCookie))), liveType);

          // Past the grace period the old cookie is refused everywhere, and its key is still a pointer (or gone).
          clock.advance(GRACE + SECOND);
          for (const app of apps) {
            const stale = new Client(app.url);
            stale.jar.set('id', oldCookie);
            assert.equal((await stale.get('/me')).status, 401);
          }
          assert.ok([pointerType, 'none'].includes(await redis.type(oldKey)));
          assert.equal(
            await stores[1]!.get(handleOf(oldCookie)).then((r) => r?.successor ?? null),
            handleOf(newCookie),
          );

          const signedIn = new Client(apps[1]!.url, { cookie: `id=${newCookie}` });
          const list = (await signedIn.get('/sessions')).json() as unknown[];
          assert.equal(list.length, 1, 'the device list shows one session');

          const everywhere = await signedIn.post('/logout-all', { includeCurrent: true });
          assert.equal(everywhere.status, 200);
          assert.equal(
            (await new Client(apps[2]!.url, { cookie: `id=${newCookie}` }).get('/me')).status,
            401,
          );
          const left = (await redis.keys(prefix)).filter((k) => k.includes(':s:'));
          const live: string[] = [];
          for (const key of left) if (!(await redis.fields(key)).successor) live.push(key);
          assert.deepEqual(live, [], 'no live session is left');
        } finally {
          await close();
        }
      });

      it(`the old cookie during grace on 3 ${layout} instances: writes land on the successor, step-up and logout end the family`, async () => {
        const { clock, apps, stores, close } = await fleet([layout, layout, layout]);
        try {
          const browser = new Client(apps[0]!.url);
          await browser.post('/login', { userId: 'ivy' });
          const oldCookie = browser.jar.get('id')!;
          clock.advance(121 * SECOND);
          const rotation = await browser.get('/me');
          const newCookie = setId(rotation)!;
          assert.ok(newCookie && newCookie !== oldCookie);
          const oldKey = stores[0]!.sessionKey(handleOf(oldCookie));
          assert.equal(await redis.type(oldKey), pointerType);

          // A tab still on the old cookie writes data on another instance, renewal due.
          clock.advance(2 * SECOND);
          const tab = new Client(apps[1]!.url);
          tab.jar.set('id', oldCookie);
          assert.equal((await tab.post('/set', { draft: 'ü' })).status, 200);
          assert.equal(
            await redis.type(oldKey),
            pointerType,
            'a data write never turns the pointer into a live session',
          );
          const successor = await new Client(apps[2]!.url, { cookie: `id=${newCookie}` }).get('/me');
          assert.equal(successor.status, 200);
          assert.deepEqual((successor.json() as { data: unknown }).data, { draft: 'ü' });

          // A step-up through the old cookie rotates the family on a third instance.
          const stepTab = new Client(apps[2]!.url);
          stepTab.jar.set('id', oldCookie);
          assert.equal((await stepTab.post('/step-up', { level: 2 })).status, 200);
          const stepped = stepTab.jar.get('id')!;
          assert.ok(stepped !== oldCookie && stepped !== newCookie, 'step-up issued a third token');
          assert.equal((await stores[0]!.get(handleOf(stepped)))?.aal, 2);
          assert.equal(await redis.type(oldKey), pointerType);

          // Logout with the newest token on the first instance: no token of the family works any more.
          assert.equal(
            (await new Client(apps[0]!.url, { cookie: `id=${stepped}` }).post('/logout')).status,
            200,
          );
          for (const cookie of [oldCookie, newCookie, stepped]) {
            const status = (await new Client(apps[1]!.url, { cookie: `id=${cookie}` }).get('/me')).status;
            assert.equal(
              status,
              401,
              `${cookie === oldCookie ? 'old' : cookie === newCookie ? 'rotated' : 'stepped'} token`,
            );
            const left = await redis.fields(stores[0]!.sessionKey(handleOf(cookie)));
            assert.ok(Object.keys(left).length === 0 || left.successor, 'gone, or a pointer');
          }
        } finally {
          await close();
        }
      });
    }

    it("mixed fleet: 'fields', packed and string instances read, renew, update and log out each other's sessions", async () => {
      const layouts = ['fields', 'packed', 'string'] as const;
      const { clock, apps, stores, close } = await fleet([...layouts]);
      try {
        for (const [origin, other] of [
          [0, 1],
          [1, 2],
          [2, 0],
          [0, 2],
        ] as const) {
          const layout = layouts[origin];
          const at = (i: number) => new Client(apps[i]!.url);
          const a = at(origin);
          assert.equal((await a.post('/login', { userId: `bob-${layout}` })).status, 200);
          const cookie = a.jar.get('id')!;
          const key = stores[0]!.sessionKey(handleOf(cookie));
          const shape = async () => {
            const hash = await redis.fields(key);
            return {
              type: await redis.type(key),
              meta: 'meta' in hash,
              secretHash: 'secretHash' in hash,
              live: hash.live ?? null,
            };
          };
          const expected = {
            fields: { type: 'hash', meta: false, secretHash: true },
            packed: { type: 'hash', meta: true, secretHash: false },
            string: { type: 'string', meta: false, secretHash: true },
          }[layout];
          const initial = await shape();
          assert.deepEqual(
            { type: initial.type, meta: initial.meta, secretHash: initial.secretHash },
            expected,
          );

          const b = at(other);
          b.jar.set('id', cookie);
          clock.advance(2 * SECOND); // renewal due
          assert.equal((await b.post('/set', { cart: ['x'], 'ünï:cødé': '☃' })).status, 200);
          assert.equal(b.jar.get('id'), cookie, 'a data write does not rotate');
          const written = await shape();
          assert.deepEqual(
            { type: written.type, meta: written.meta, secretHash: written.secretHash },
            expected,
            'the other instance kept the layout of the session it wrote',
          );
          assert.equal(
            written.live,
            layout === 'fields' ? '1' : null,
            'only a hash written field by field has the marker',
          );
          const hash = await redis.fields(key);
          assert.equal(hash['d:cart'], '["x"]');
          clock.advance(2 * SECOND);
          assert.equal((await b.post('/step-up', { level: 2 })).status, 200);
          assert.equal(
            (await b.post('/transfer', {})).status,
            200,
            'step-up written by the other instance is seen',
          );
          a.jar.set('id', b.jar.get('id')!);
          clock.advance(2 * SECOND);
          const me = await a.get('/me');
          assert.equal(me.status, 200);
          assert.deepEqual((me.json() as { data: unknown }).data, { cart: ['x'], 'ünï:cødé': '☃' });
          const current = a.jar.get('id')!;
          const record = await stores[other]!.get(handleOf(current));
          assert.equal(record?.aal, 2);
          assert.equal(record?.userId, `bob-${layout}`);

          b.jar.set('id', current);
          assert.equal((await b.post('/logout')).status, 200);
          assert.equal(
            await redis.type(stores[0]!.sessionKey(handleOf(current))),
            'none',
            'logout deletes the key',
          );
          assert.equal(await redis.type(key), 'none', 'the step-up left no old key behind');
          assert.equal((await a.get('/me')).status, 401);
        }
      } finally {
        await close();
      }
    });

    for (const [rotating, ...others] of [
      ['fields', 'packed', 'string'],
      ['string', 'packed', 'fields'],
    ] as const) {
      it(`mixed fleet: a ${rotating} session rotated with grace leaves a hash pointer that renewals on the other layouts never revive`, async () => {
        const { clock, apps, stores, close } = await fleet([rotating, ...others]);
        try {
          const browser = new Client(apps[0]!.url);
          await browser.post('/login', { userId: 'carol' });
          const oldCookie = browser.jar.get('id')!;
          const oldKey = stores[0]!.sessionKey(handleOf(oldCookie));
          clock.advance(121 * SECOND);
          // The first instance rotates.
          const rotation = await browser.get('/me');
          assert.equal(rotation.status, 200);
          const newCookie = setId(rotation);
          assert.ok(newCookie && newCookie !== oldCookie, 'rotated');
          const pointerType = await redis.type(oldKey);
          assert.equal(
            pointerType,
            'hash',
            "a 'fields' session's pointer stays a hash, a string session's becomes one",
          );
          const pointer = await redis.hgetall(oldKey);
          assert.equal(pointer.live, undefined, 'the pointer has no live field');
          assert.equal(pointer.successor, handleOf(newCookie));

          // Parallel renewals on the other instances with the old cookie, during the grace period.
          for (let round = 0; round < 3; round++) {
            clock.advance(2 * SECOND);
            const racing = await Promise.all(
              [1, 2, 1, 2].map((i) => {
                const tab = new Client(apps[i]!.url);
                tab.jar.set('id', oldCookie);
                return tab.get('/me');
              }),
            );
            assert.deepEqual(
              racing.map((r) => r.status),
              [200, 200, 200, 200],
            );
            for (const r of racing) assert.notEqual(setId(r), oldCookie);
            const hash = await redis.hgetall(oldKey);
            assert.equal(hash.live, undefined, `round ${round}: the pointer did not become live`);
            assert.equal(hash.successor, handleOf(newCookie));
            const pttl = await redis.pttl(oldKey);
            assert.ok(
              pttl > 0 && pttl <= GRACE,
              `round ${round}: pointer PTTL ${pttl} within the grace period`,
            );
          }
          clock.advance(GRACE);
          for (const app of apps) {
            const stale = new Client(app.url);
            stale.jar.set('id', oldCookie);
            assert.equal((await stale.get('/me')).status, 401);
          }
          const fresh = new Client(apps[1]!.url, { cookie: `id=${newCookie}` });
          assert.equal((await fresh.get('/me')).status, 200);
          const list = (await fresh.get('/sessions')).json() as unknown[];
          assert.equal(list.length, 1);
        } finally {
          await close();
        }
      });
    }

    it('logout on one instance racing renewals on the others leaves no session and no stub', async () => {
      const { clock, prefix, apps, stores, close } = await fleet(['string', 'packed', 'fields']);
      try {
        const cookies: string[] = [];
        for (let i = 0; i < 8; i++) {
          const c = new Client(apps[i % 3]!.url);
          await c.post('/login', { userId: `dave${i}` });
          cookies.push(c.jar.get('id')!);
        }
        clock.advance(2 * SECOND); // every request below is due a renewal
        await Promise.all(
          cookies.flatMap((cookie, i) => [
            new Client(apps[i % 3]!.url, { cookie: `id=${cookie}` }).post('/logout'),
            new Client(apps[(i + 1) % 3]!.url, { cookie: `id=${cookie}` }).post('/slow?ms=20', { x: 1 }),
            new Client(apps[(i + 2) % 3]!.url, { cookie: `id=${cookie}` }).get('/me'),
          ]),
        );
        // Give any stub left by a losing renewal the chance to show up, then check every session.
        for (const cookie of cookies) {
          for (const app of apps) {
            assert.equal((await new Client(app.url, { cookie: `id=${cookie}` }).get('/me')).status, 401);
          }
          assert.equal(await stores[0]!.get(handleOf(cookie)), null);
          const key = stores[0]!.sessionKey(handleOf(cookie));
          const hash = await redis.fields(key);
          assert.equal(hash.secretHash, undefined);
          assert.equal(hash.meta, undefined);
        }
        // A write racing the logout may start a new anonymous session (its own handle, no user):
        // none of the signed-in sessions may be left, and no key may carry a user.
        const originals = new Set(cookies.map((c) => stores[0]!.sessionKey(handleOf(c))));
        const sessionKeys = (await redis.keys(prefix)).filter((k) => k.includes(':s:'));
        assert.deepEqual(
          sessionKeys.filter((k) => originals.has(k)),
          [],
          'no signed-in session key is left',
        );
        for (const k of sessionKeys) {
          const hash = await redis.fields(k);
          assert.equal(hash.userId ?? '', '', `${k} is anonymous: ${JSON.stringify(hash)}`);
        }
      } finally {
        await close();
      }
    });

    it('the kill switch and destroyByUser remove pointers of both types and their successors', async () => {
      const { clock, prefix, apps, stores, close } = await fleet(['packed', 'string']);
      try {
        const handles: Record<string, string[]> = {};
        for (const [i, user] of ['erin', 'frank', 'erin'].entries()) {
          const c = new Client(apps[i % 2]!.url);
          await c.post('/login', { userId: user });
          const old = c.jar.get('id')!;
          clock.advance(121 * SECOND);
          const r = await c.get('/me');
          assert.equal(r.status, 200);
          const next = c.jar.get('id')!;
          assert.notEqual(next, old);
          handles[user] = [...(handles[user] ?? []), handleOf(old), handleOf(next)];
          clock.advance(-121 * SECOND);
        }
        const types = await Promise.all(
          Object.values(handles)
            .flat()
            .map((h) => redis.type(stores[0]!.sessionKey(h))),
        );
        assert.ok(
          types.includes('string') && types.includes('hash'),
          `both types are present: ${types.join(',')}`,
        );

        const destroyed = await stores[0]!.destroyByUser('erin');
        assert.equal(destroyed.length >= 2, true, `destroyByUser returned ${destroyed.length}`);
        for (const h of handles.erin!)
          assert.equal(await redis.type(stores[0]!.sessionKey(h)), 'none', `erin ${h}`);
        for (const h of handles.frank!) assert.notEqual(await redis.type(stores[0]!.sessionKey(h)), 'none');

        const removed = await stores[1]!.destroyAll({ createdBefore: clock.now() + 1_000 * SECOND });
        assert.deepEqual(removed.map((r) => r.handle).sort(), [...handles.frank!].sort());
        assert.ok(removed.every((r) => r.userId === 'frank'));
        assert.deepEqual(
          (await redis.keys(prefix)).filter((k) => k.includes(':s:')),
          [],
        );
      } finally {
        await close();
      }
    });
  });
}

for (const listpack of ['default', '512'] as const) {
  describe(`Redis layout journeys: long user agents and odd data keys (hash-max-listpack-value ${listpack})`, {
    skip: !hasRedis && 'redis-server is not installed',
  }, () => {
    let server: RedisServer;
    let connection: Connection<never>;
    before(async () => {
      server = await startRedis({ args: listpack === '512' ? ['--hash-max-listpack-value', '512'] : [] });
      connection = (await connectRedis('ioredis', server)) as Connection<never>;
    });
    after(async () => {
      await connection?.close();
      await server?.dispose();
    });

    it('a 512-character user agent and odd keys survive the packed field on both layouts', async () => {
      const prefix = `u${uid()}:`;
      const clock = new Clock();
      const packed = new RedisStore({ client: connection.client, prefix, now: clock.now, layout: 'packed' });
      const fields = new RedisStore({ client: connection.client, prefix, now: clock.now, layout: 'fields' });
      const appP = await startTestApp(packed, { ...ROTATION_OPTIONS, clock });
      const appF = await startTestApp(fields, { ...ROTATION_OPTIONS, clock });
      try {
        const ua = `Mozilla/5.0 (X11; \\"quoted\\" {json} [x] é) ${'ª'.repeat(40)}${'x'.repeat(600)}`;
        const browser = new Client(appP.url, { 'user-agent': ua });
        assert.equal((await browser.post('/login', { userId: 'ümlaut 🦄 user' })).status, 200);
        const odd = {
          'emoji 🦄': '💥\u0000nul',
          secretHash: 'not the secret hash',
          live: 0,
          'd:nested': { 'a.b': [1, 2, { '': null }] },
          big: 9_007_199_254_740_993n.toString(),
          long: 'é'.repeat(400),
        };
        assert.equal((await browser.post('/set', odd)).status, 200);
        const key = packed.sessionKey(handleOf(browser.jar.get('id')!));
        const hash = await server.cli('HGET', key, 'meta');
        const meta = JSON.parse(hash) as Record<string, string>;
        const device = JSON.parse(meta.device!) as { userAgent: string };
        assert.equal(device.userAgent.length, 512, 'the user agent is cut at 512 characters');
        assert.equal(device.userAgent, ua.slice(0, 512));
        assert.equal(
          (await server.cli('HGET', key, 'live')).trim(),
          '',
          'a data key named live is no field of the hash (a packed hash has no live marker)',
        );

        const other = new Client(appF.url, { cookie: `id=${browser.jar.get('id')}`, 'user-agent': ua });
        clock.advance(2 * SECOND);
        const me = await other.get('/me');
        assert.equal(me.status, 200);
        const body = me.json() as { userId: string; data: Record<string, unknown> };
        assert.equal(body.userId, 'ümlaut 🦄 user');
        const stored = await fields.get(handleOf(other.defaults.cookie!.slice(3)));
        assert.equal(
          stored?.secretHash === 'not the secret hash',
          false,
          'a data key never overwrites metadata',
        );
        assert.deepEqual(body.data, odd);
        const listed = await other.get('/sessions');
        const list = listed.json() as { device?: { userAgent?: string } }[];
        assert.equal(list.length, 1);
        assert.equal(JSON.stringify(list).includes(JSON.stringify(ua.slice(0, 512)).slice(1, -1)), true);
        const encoding = (await server.cli('OBJECT', 'ENCODING', key)).trim();
        assert.equal(encoding, 'hashtable', 'a 512-character user agent keeps the larger encoding');

        // A short user agent fits the compact encoding only with the raised limit.
        const small = new Client(appP.url, { 'user-agent': 'curl/8' });
        await small.post('/login', { userId: 'zed' });
        const smallKey = packed.sessionKey(handleOf(small.jar.get('id')!));
        const smallEncoding = (await server.cli('OBJECT', 'ENCODING', smallKey)).trim();
        assert.equal(smallEncoding, listpack === '512' ? 'listpack' : 'hashtable');
        assert.equal((await small.post('/logout')).status, 200);
        assert.equal((await other.post('/logout')).status, 200);
        assert.equal((await server.cli('EXISTS', key)).trim(), '0');
      } finally {
        await appP.close();
        await appF.close();
      }
    });

    it('a 512-character user agent, a lone surrogate and odd keys survive the string layout and Lua updates from every layout', async () => {
      const prefix = `s${uid()}:`;
      const clock = new Clock();
      const string = new RedisStore({ client: connection.client, prefix, now: clock.now });
      const others = ['packed', 'fields'] as const;
      const apps = [await startTestApp(string, { ...ROTATION_OPTIONS, clock })];
      for (const layout of others) {
        const store = new RedisStore({ client: connection.client, prefix, now: clock.now, layout });
        apps.push(await startTestApp(store, { ...ROTATION_OPTIONS, clock }));
      }
      try {
        const ua = `Mozilla/5.0 (X11; \\"quoted\\" {json} [x] é) ${'ª'.repeat(40)}${'x'.repeat(600)}`;
        const browser = new Client(apps[0]!.url, { 'user-agent': ua });
        assert.equal((await browser.post('/login', { userId: 'ümlaut 🦄 user \ud800' })).status, 200);
        const odd = {
          'emoji 🦄': '💥\u0000nul',
          secretHash: 'not the secret hash',
          live: 0,
          version: '{"userId":"mallory"}',
          'd:nested': { 'a.b': [1, 2, { '': null }] },
          slash: '</script>/\\',
          long: 'é'.repeat(400),
        };
        assert.equal((await browser.post('/set', odd)).status, 200);
        const cookie = browser.jar.get('id')!;
        const key = string.sessionKey(handleOf(cookie));
        assert.equal((await server.cli('TYPE', key)).trim(), 'string');
        // Each other layout's instance updates one key through the UPDATE script (cjson on the
        // string), renewal due, and the next reads see everything byte for byte.
        const expected: Record<string, unknown> = { ...odd };
        for (const [i, layout] of others.entries()) {
          clock.advance(2 * SECOND);
          const other = new Client(apps[i + 1]!.url, { cookie: `id=${cookie}`, 'user-agent': ua });
          assert.equal(
            (await other.post('/set', { [`by ${layout}`]: 9_007_199_254_740_993n.toString() })).status,
            200,
          );
          expected[`by ${layout}`] = '9007199254740993';
          assert.equal((await server.cli('TYPE', key)).trim(), 'string', `${layout} kept the string layout`);
        }
        for (const app of apps) {
          const me = await new Client(app.url, { cookie: `id=${cookie}`, 'user-agent': ua }).get('/me');
          assert.equal(me.status, 200);
          const body = me.json() as { userId: string; data: Record<string, unknown> };
          assert.equal(body.userId, 'ümlaut 🦄 user \ufffd', 'a lone surrogate is U+FFFD, as in a hash');
          assert.deepEqual(body.data, expected);
        }
        const record = await string.get(handleOf(cookie));
        assert.notEqual(record?.secretHash, 'not the secret hash', 'a data key never overwrites metadata');
        assert.equal(record?.device.userAgent, ua.slice(0, 512));
        const listed = (await browser.get('/sessions')).json() as unknown[];
        assert.equal(listed.length, 1);
        assert.equal((await browser.post('/logout')).status, 200);
        assert.equal((await server.cli('EXISTS', key)).trim(), '0');
      } finally {
        for (const app of apps) await app.close();
      }
    });
  });
}

describe('Redis layout journeys: Passport login and logout on the packed store', {
  skip: !hasRedis && 'redis-server is not installed',
}, () => {
  let server: RedisServer;
  let connection: Connection<never>;
  before(async () => {
    server = await startRedis();
    connection = (await connectRedis('node-redis', server)) as Connection<never>;
  });
  after(async () => {
    await connection?.close();
    await server?.dispose();
  });

  it('passport-local sign-in writes a packed session, a fields instance reads it, logout removes it', async () => {
    const prefix = `p${uid()}:`;
    const packed = new RedisStore({ client: connection.client, prefix, layout: 'packed' });
    const fields = new RedisStore({ client: connection.client, prefix, layout: 'fields' });
    const a = await startPassportApp(packed);
    const b = await startPassportApp(fields);
    try {
      a.addUser('grace', 'pw');
      b.addUser('grace', 'pw');
      const browser = new Client(a.url);
      const login = await browser.post('/login', { username: 'grace', password: 'pw' });
      assert.equal(login.status, 302);
      // Passport regenerates the session at login (keepSessionInfo false): data goes in after it.
      assert.equal((await browser.post('/cart', { item: 'book' })).status, 200);
      const cookie = browser.jar.get('id')!;
      const key = packed.sessionKey(handleOf(cookie));
      const fieldsOf = (await server.cli('HKEYS', key)).split('\n').filter(Boolean).sort();
      assert.ok(fieldsOf.includes('meta') && fieldsOf.includes('d:passport'), fieldsOf.join(','));
      assert.ok(!fieldsOf.includes('secretHash'));
      const onB = new Client(b.url, { cookie: `id=${cookie}` });
      const who = (await onB.get('/whoami')).json() as { user: string; data: Record<string, unknown> };
      assert.equal(who.user, 'user-grace');
      assert.deepEqual(who.data.cart, ['book']);
      assert.equal((await onB.post('/cart', { item: 'pen' })).status, 200);
      assert.deepEqual(((await browser.get('/whoami')).json() as { data: { cart: string[] } }).data.cart, [
        'book',
        'pen',
      ]);
      const fieldsAfter = (await server.cli('HKEYS', key)).split('\n').filter(Boolean);
      assert.ok(!fieldsAfter.includes('secretHash'), 'the fields instance kept the packed layout');
      assert.equal((await onB.post('/logout')).status, 302);
      assert.equal(((await browser.get('/whoami')).json() as { user: string | null }).user, null);
      assert.equal((await server.cli('EXISTS', key)).trim(), '0');
    } finally {
      await a.close();
      await b.close();
    }
  });
});
