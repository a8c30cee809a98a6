import assert from 'node:assert/strict';
import { after, describe, it } from 'node:test';
import { createClient } from 'redis';
import * as scripts from '../../packages/coatcheck/src/stores/redis/scripts.js';
import { REDIS_ACL_COMMANDS, RedisStore } from '../../packages/coatcheck/src/stores/redis.js';
import { makeRecord, runStoreConformance } from '../../packages/coatcheck/src/testing/conformance.js';
import { startTestApp, type TestApp } from '../support/app.js';
import { Client } from '../support/http.js';
import {
  commandCounts,
  connectRedis as connect,
  hasRedis,
  type RedisCluster,
  recordCommands,
  resetCommandCounts,
  startRedis,
  startRedisCluster,
} from '../support/redis-server.js';

const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));

/** Lazily started, shared by every suite in this file, stopped at the end. */
function lazy<T extends { dispose?: () => Promise<void>; stop?: () => Promise<void> }>(
  start: () => Promise<T>,
) {
  let started: Promise<T> | null = null;
  after(async () => {
    const running = await started;
    await (running?.dispose ?? running?.stop)?.call(running);
  });
  return () => (started ??= start());
}
const server = lazy(startRedis);
const cluster = lazy<RedisCluster>(startRedisCluster);

if (!hasRedis) {
  it('redis store', { skip: 'redis-server is not installed' }, () => {});
} else {
  // The last variant writes 0.1.0's layout (one hash field per metadata field), which this release
  // still reads, updates and, with `layout: 'fields'`, writes.
  const variants = [
    ['node-redis', 'standalone', server, 'packed'],
    ['ioredis', 'standalone', server, 'packed'],
    ['node-redis', 'cluster', cluster, 'packed'],
    ['ioredis', 'cluster', cluster, 'packed'],
    ['ioredis', 'standalone', server, 'fields'],
  ] as const;
  for (const [kind, mode, target, layout] of variants) {
    let close: () => Promise<void> = async () => {};
    const options = {
      name: `redis (${kind}, ${mode}${layout === 'fields' ? ", layout: 'fields'" : ''})`,
      // Redis removes expired sessions by itself, so pruneExpired has nothing left to count.
      expiresByItself: true,
      createStore: async () => {
        const connection = await connect(kind, await target());
        close = connection.close;
        return new RedisStore({
          client: connection.client,
          prefix: `conformance-${kind}-${layout}:`,
          layout,
        });
      },
      cleanup: () => close(),
    };
    runStoreConformance(options);
  }

  describe('redis store: layout and expiry', () => {
    it('S26 keeps the TTL at min(idle, absolute) remaining, and follows a renewal', async () => {
      const { client, close } = await connect('node-redis', await server());
      const at = Date.now();
      const store = new RedisStore({ client, now: () => at });
      const pttl = (handle: string) => client.pTTL(store.sessionKey(handle));
      const near = (actual: number, expected: number) =>
        assert.ok(actual <= expected && actual > expected - 2000, `${actual} vs ${expected}`);

      const idleFirst = makeRecord({
        userId: 'ttl-user',
        idleExpiresAt: at + 60_000,
        absoluteExpiresAt: at + 120_000,
      });
      await store.create(idleFirst);
      near(await pttl(idleFirst.handle), 60_000);
      await store.update(idleFirst.handle, { meta: { lastSeenAt: at, idleExpiresAt: at + 90_000 } });
      near(await pttl(idleFirst.handle), 90_000);
      await store.update(idleFirst.handle, { meta: { idleExpiresAt: at + 500_000 } });
      near(await pttl(idleFirst.handle), 120_000);
      near(await client.pTTL(store.userKey('ttl-user')), 120_000);

      const absoluteFirst = makeRecord({ idleExpiresAt: at + 60_000, absoluteExpiresAt: at + 30_000 });
      await store.create(absoluteFirst);
      near(await pttl(absoluteFirst.handle), 30_000);
      await close();
    });

    it('stores one string per session: the header, then one list entry per data key with the JSON text as written', async () => {
      const { client, close } = await connect('ioredis', await server());
      const store = new RedisStore({ client, prefix: 'layout:' });
      const record = makeRecord({ data: '{"big":12345678901234567890,"cart":[1,2]}' });
      await store.create(record);
      await store.update(record.handle, { set: { count: '9007199254740993' }, unset: ['cart'] });
      const text = (await client.get(`layout:s:{${record.handle}}`))!;
      const [lastSeenAt, idleExpiresAt, version] = [0, 1, 2].map((i) => text.slice(i * 24, i * 24 + 24));
      assert.deepEqual(
        [lastSeenAt, idleExpiresAt, version],
        [String(record.lastSeenAt).padEnd(24), String(record.idleExpiresAt).padEnd(24), '2'.padEnd(24)],
      );
      const list = JSON.parse(text.slice(72)) as string[];
      const fields = new Map(list.flatMap((value, i) => (i % 2 ? [] : [[value, list[i + 1]!] as const])));
      assert.equal(fields.get('d:count'), '9007199254740993');
      assert.equal(fields.has('d:cart'), false);
      assert.equal(fields.get('secretHash'), record.secretHash);
      assert.ok(!text.includes(record.handle), 'nothing repeats the handle');
      await close();
    });

    it("layout: 'packed' stores one hash field per data key, with the JSON text as written", async () => {
      const { client, close } = await connect('ioredis', await server());
      const store = new RedisStore({ client, prefix: 'layout:', layout: 'packed' });
      const record = makeRecord({ data: '{"big":12345678901234567890,"cart":[1,2]}' });
      await store.create(record);
      await store.update(record.handle, { set: { count: '9007199254740993' }, unset: ['cart'] });
      const hash = await client.hgetall(`layout:s:{${record.handle}}`);
      assert.equal(hash['d:count'], '9007199254740993');
      assert.equal(hash['d:cart'], undefined);
      assert.equal(hash.version, '2');
      assert.equal(JSON.parse(hash.meta!).secretHash, record.secretHash);
      assert.ok(!JSON.stringify(hash).includes(record.handle), 'no field repeats the handle');
      await close();
    });

    // A hash with a field over 64 bytes (the packed metadata, a real user agent) is a hash table,
    // whose HGETALL order no script can predict: the keys match, not their order.
    it('returns an updated record equal to the next read of it', async () => {
      for (const kind of ['node-redis', 'ioredis'] as const) {
        const { client, close } = await connect(kind, await server());
        const store = new RedisStore({ client, prefix: `order-${kind}:` });
        const record = makeRecord({ data: '{"a":1,"b":2,"c":3}' });
        await store.create(record);
        const updated = await store.update(record.handle, { set: { b: '5', d: '4', a: '0' }, unset: ['a'] });
        assert.deepEqual(JSON.parse(updated!.data), { b: 5, c: 3, d: 4, a: 0 });
        const read = (await store.get(record.handle))!;
        assert.deepEqual(JSON.parse(read.data), JSON.parse(updated!.data));
        assert.deepEqual({ ...read, data: '' }, { ...updated, data: '' });
        await close();
      }
    });

    it('writes and rotates sessions with thousands of keys, past the Lua stack limit of one HSET', async () => {
      for (const kind of ['node-redis', 'ioredis'] as const) {
        const { client, close } = await connect(kind, await server());
        const store = new RedisStore({ client, prefix: `wide-${kind}:` });
        const keys = Array.from({ length: 5_000 }, (_, i) => `k${i}`);
        const record = makeRecord({ data: JSON.stringify(Object.fromEntries(keys.map((k, i) => [k, i]))) });
        assert.equal(await store.create(record), true);
        const set = Object.fromEntries(keys.slice(0, 4_500).map((k) => [k, '"new"']));
        const unset = keys.slice(4_500);
        const updated = await store.update(record.handle, {
          set,
          unset,
          meta: { lastSeenAt: record.lastSeenAt + 1 },
        });
        // A hash this large has no field order in Redis: the data is compared as an object.
        const expected = Object.fromEntries(keys.slice(0, 4_500).map((k) => [k, 'new']));
        assert.deepEqual(JSON.parse(updated!.data), expected);
        assert.equal(updated!.version, record.version + 1);
        assert.equal(updated!.lastSeenAt, record.lastSeenAt + 1);
        const read = await store.get(record.handle);
        assert.deepEqual({ ...read, data: JSON.parse(read!.data) }, { ...updated, data: expected });
        const next = makeRecord({ data: updated!.data });
        assert.ok(await store.replace(record.handle, next));
        assert.deepEqual(JSON.parse((await store.get(next.handle))!.data), expected);
        assert.equal(await store.get(record.handle), null);
        await close();
      }
    });

    it('heals the user index after sessions expire', async () => {
      const { client, close } = await connect('node-redis', await server());
      let at = Date.now();
      const store = new RedisStore({ client, prefix: 'heal:', now: () => at });
      const index = store.userKey('alice');
      const idle = makeRecord({ userId: 'alice', idleExpiresAt: at + 150 });
      const dropped = makeRecord({ userId: 'alice' });
      const absolute = makeRecord({ userId: 'alice', absoluteExpiresAt: at + 60_000 });
      const live = makeRecord({ userId: 'alice' });
      for (const record of [idle, dropped, absolute, live]) await store.create(record);
      assert.equal(await client.zCard(index), 4);

      await sleep(300);
      await client.pExpire(store.sessionKey(dropped.handle), 1);
      await sleep(20);
      at += 61_000;
      assert.deepEqual(
        (await store.listByUser('alice')).map((r) => r.handle),
        [live.handle],
      );
      assert.deepEqual(await client.zRange(index, 0, -1), [live.handle]);
      // A logout leaves its member to the next listing, which skips and removes it.
      await store.destroy(live.handle);
      assert.deepEqual(await client.zRange(index, 0, -1), [live.handle]);
      assert.deepEqual(await store.listByUser('alice'), []);
      assert.equal(await client.exists(index), 0, 'an empty index is gone');
      await close();
    });
  });

  it('S45 runs under a least-privilege ACL user limited to its own keys and commands', async (t) => {
    const redis = await startRedis();
    t.after(() => redis.dispose());
    const commands = REDIS_ACL_COMMANDS.map((command) => `+${command}`);
    await redis.cli(
      'ACL',
      'SETUSER',
      'sessions',
      'reset',
      'on',
      '>test-password-0123456789',
      '~coatcheck:*',
      '-@all',
      ...commands,
    );
    const client = createClient({ url: `redis://sessions:test-password-0123456789@127.0.0.1:${redis.port}` });
    await client.connect();
    t.after(() => client.close());
    const store = new RedisStore({ client });
    const first = makeRecord({ userId: 'alice' });
    const second = makeRecord({ userId: 'alice' });
    assert.equal(await store.create(first), true);
    assert.ok(await store.update(first.handle, { set: { a: '1' } }));
    assert.equal(await store.replace(first.handle, second), true);
    assert.equal((await store.listByUser('alice')).length, 1);
    assert.deepEqual(await store.destroyByUser('alice'), [second.handle]);
    assert.equal(await store.destroy(second.handle), null);
    const third = makeRecord({ userId: 'alice' });
    assert.equal(await store.create(third), true);
    // A rotation with a grace period leaves a string pointer: read (GET), renewed into (HSET refused),
    // and removed by the kill switch (TYPE, GET) under the same user.
    const fourth = makeRecord({ userId: 'alice' });
    assert.equal(await store.replace(third.handle, fourth, { graceUntil: Date.now() + 60_000 }), true);
    assert.equal((await store.get(third.handle))?.successor, fourth.handle);
    const renewed = await store.renew(third, { lastSeenAt: Date.now(), idleExpiresAt: Date.now() + 60_000 });
    assert.equal(renewed?.successor, fourth.handle);
    assert.deepEqual(
      (await store.destroyAll()).map((removed) => removed.handle).sort(),
      [third.handle, fourth.handle].sort(),
    );
    await assert.rejects(client.lPush('coatcheck:s:{x}', 'a'), /NOPERM/);
    await assert.rejects(client.hGetAll('other:key'), /NOPERM/);
  });

  describe('redis store: command costs', () => {
    const stats = lazy(startRedis);
    const names = (counts: Map<string, number>) => [...counts.keys()].join(' ');

    it('S8/S22 never runs KEYS or SCAN, and reads a session with exactly one command', async () => {
      const redis = await stats();
      for (const kind of ['node-redis', 'ioredis'] as const) {
        const { client, close } = await connect(kind, redis);
        const store = new RedisStore({ client, prefix: `${kind}:` });
        await resetCommandCounts([redis]);
        const records = Array.from({ length: 20 }, (_, i) => makeRecord({ userId: `u${i % 3}` }));
        for (const record of records) await store.create(record);
        for (const record of records.slice(0, 10)) {
          await store.get(record.handle);
          await store.update(record.handle, { set: { n: '1' }, meta: { lastSeenAt: Date.now() } });
        }
        await store.replace(records[0]!.handle, makeRecord({ userId: 'u0' }));
        await store.destroy(records[1]!.handle);
        await store.listByUser('u2');
        await store.destroyByUser('u1', { exceptHandle: records[4]!.handle });
        await store.pruneExpired(Date.now());
        const all = await commandCounts([redis]);
        assert.match(names(all), /evalsha/);
        assert.doesNotMatch(names(all), /\b(keys|scan)\b/);

        await resetCommandCounts([redis]);
        assert.ok(await store.get(records[5]!.handle));
        assert.deepEqual([...(await commandCounts([redis]))], [['get', 1]]);
        await close();
      }
    });

    for (const mode of ['standalone', 'cluster'] as const) {
      it(`counts the commands of each request type through the Express adapter (${mode})`, async (t) => {
        const target = mode === 'cluster' ? await cluster() : await stats();
        const servers = 'servers' in target ? target.servers : [target];
        const { client, close } = await connect('node-redis', target);
        let app: TestApp | undefined;
        const store = new RedisStore({ client, prefix: `costs-${mode}:`, now: () => app!.clock.now() });
        app = await startTestApp(store);
        t.after(async () => {
          await app?.close();
          await close();
        });
        const browser = new Client(app.url);
        const other = new Client(app.url);
        const measured: Record<string, string> = {};
        // Every command Redis executes, those inside scripts included: what Redis spends per request.
        const executed: Record<string, number> = {};
        const measure = async (name: string, request: () => Promise<{ status: number }>) => {
          const all = await recordCommands(
            servers,
            async () => {
              assert.ok((await request()).status < 400, name);
            },
            { insideScripts: true },
          );
          executed[name] = all.length;
          const commands = all.filter((command) => !command.startsWith('script:'));
          const counts = new Map<string, number>();
          for (const command of commands) counts.set(command, (counts.get(command) ?? 0) + 1);
          measured[name] = [...counts].map(([command, calls]) => `${calls} ${command}`).join(' + ') || 'none';
        };
        // A first EVALSHA of a script on a node answers NOSCRIPT and falls back to EVAL once: load them all.
        for (const server of servers) {
          for (const script of Object.values(scripts).flatMap((s) =>
            'source' in s ? [s] : Object.values(s),
          )) {
            await server.cli('SCRIPT', 'LOAD', script.source);
          }
        }

        await measure('anonymous request, no cookie', () => browser.get('/peek'));
        const forged = `${'h'.repeat(22)}.${'s'.repeat(43)}.${'m'.repeat(43)}`;
        await measure('forged cookie', () => new Client(app!.url).get('/peek', { cookie: `id=${forged}` }));
        await measure('first write (creates a session)', () => browser.post('/set', { a: 1 }));
        await measure('read', () => browser.get('/peek'));
        app.clock.advance(61_000);
        await measure('read with renewal', () => browser.get('/peek'));
        await measure('write one key', () => browser.post('/set', { b: 2 }));
        await measure('login (rotation of an anonymous session)', () =>
          browser.post('/login', { userId: 'alice' }),
        );
        await measure('rotation of a signed-in session', () => browser.post('/regenerate?keep=1'));
        await measure('device list (1 session)', () => browser.get('/sessions'));
        await other.post('/login', { userId: 'alice' });
        await measure('sign out everywhere else (1 other session)', () => browser.post('/logout-all'));
        await measure('logout', () => browser.post('/logout'));
        t.diagnostic(`commands per request (${mode}): ${JSON.stringify(measured)}`);
        t.diagnostic(
          `commands executed per request, inside scripts too (${mode}): ${JSON.stringify(executed)}`,
        );

        // Standalone: the rotation and the new index entry are one script; a Cluster needs three.
        const rotation = mode === 'cluster' ? '3 evalsha' : '1 evalsha';
        const expected: Record<string, string> = {
          'anonymous request, no cookie': 'none',
          'forged cookie': 'none',
          'first write (creates a session)': '1 evalsha',
          read: '1 get',
          'read with renewal': '1 get + 1 setrange + 1 pexpire',
          'write one key': '1 get + 1 evalsha',
          'login (rotation of an anonymous session)': `1 get + ${rotation}`,
          'rotation of a signed-in session': `1 get + ${rotation} + 1 zrem`,
          'device list (1 session)': '2 get + 1 evalsha',
          // The user's sessions are listed first, so the count is of live sessions only.
          'sign out everywhere else (1 other session)': '3 get + 3 evalsha + 1 zrem',
          logout: '1 get + 1 evalsha',
        };
        // Inside the scripts: one GET answers existence, succession and the old values of an
        // update, and a whole record is one SET with its TTL (a login was 23 commands and a renewal
        // 10 before). A renewal is SETRANGE of the header, whose answer (the string's length) tells
        // a live session, and PEXPIRE, sent together without a script.
        // A logout leaves the user's index to the next listing. The login here rotates an
        // anonymous session: read, script, GET, DEL, SET, ZADD, PEXPIRE GT, and PEXPIRE NX for a
        // user's new index (ZREMRANGEBYSCORE instead of it for an existing one). A random handle is
        // not checked for being taken (no EXISTS): see CreateOptions.randomHandle.
        const budget: Record<string, number> = {
          'first write (creates a session)': 2,
          read: 1,
          'read with renewal': 3,
          'write one key': 4,
          'login (rotation of an anonymous session)': mode === 'cluster' ? 10 : 8,
          'rotation of a signed-in session': mode === 'cluster' ? 11 : 9,
          'device list (1 session)': 5,
          'sign out everywhere else (1 other session)': 13,
          logout: 4,
        };
        for (const [name, most] of Object.entries(budget)) {
          assert.ok(executed[name]! <= most, `${name}: ${executed[name]} commands executed, budget ${most}`);
        }
        const sorted = (text: string) => text.split(' + ').sort().join(' + ');
        for (const [name, commands] of Object.entries(expected)) {
          assert.equal(sorted(measured[name]!), sorted(commands), name);
        }
      });
    }
  });
}
