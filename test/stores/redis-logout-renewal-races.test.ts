import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { RedisStore } from '../../packages/coatcheck/src/stores/redis.js';
import { startTestApp, type TestApp } from '../support/app.js';
import { Client } from '../support/http.js';
import {
  type ClientKind,
  type Connection,
  connectRedis,
  hasRedis,
  type RedisServer,
  startRedis,
  startRedisCluster,
} from '../support/redis-server.js';

const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));
const handleOf = (cookie: string) => cookie.split('.')[0]!;

// Real time, and a renewal due on almost every request: each request of a session writes its idle
// expiry (HSET + PEXPIRE) while the logout or revocation runs.
const OPTIONS = { now: Date.now, idleTimeoutMs: 60_000, absoluteTimeoutMs: 600_000, renewalIntervalMs: 1 };

/** Three app instances on one Redis: two on node-redis, one on ioredis, as a rolling deploy might have. */
for (const topology of ['standalone', 'Cluster'] as const)
  describe(`Redis store (${topology}): logout and revocation racing renewals on several app instances`, {
    skip: !hasRedis && 'redis-server is not installed',
  }, () => {
    let servers: RedisServer[];
    let stop: () => Promise<void>;
    const connections: Connection<unknown>[] = [];
    const apps: TestApp[] = [];
    const prefix = 'race:';

    before(async () => {
      const cluster = topology === 'Cluster' ? await startRedisCluster() : null;
      const server = cluster ? null : await startRedis();
      servers = cluster ? cluster.servers : [server!];
      stop = cluster ? cluster.stop : server!.dispose;
      for (const kind of ['node-redis', 'ioredis', 'node-redis'] satisfies ClientKind[]) {
        const connection = await connectRedis(kind, cluster ?? server!);
        connections.push(connection);
        const store = new RedisStore({ client: (connection as Connection<never>).client, prefix });
        apps.push(await startTestApp(store, OPTIONS));
      }
    });
    after(async () => {
      for (const app of apps) await app.close();
      for (const connection of connections) await connection.close();
      await stop?.();
    });

    /** The numeric replies of every server to a command (a Cluster node that does not own the key answers MOVED). */
    async function onEvery(...command: string[]): Promise<number[]> {
      const replies = await Promise.all(servers.map((server) => server.cli(...command)));
      return replies.map((reply) => Number(reply.trim())).filter(Number.isFinite);
    }

    /** A client on instance `i` carrying `cookie`; its own responses do not change what others send. */
    const tab = (i: number, cookie: string) => {
      const client = new Client(apps[i % apps.length]!.url);
      client.jar.set('id', cookie);
      return client;
    };

    /** Every key under the prefix with its TTL in ms (-1: none). */
    async function keysWithTtl(): Promise<Map<string, number>> {
      const ttls = new Map<string, number>();
      for (const server of servers) {
        const keys = (await server.cli('--scan', '--pattern', `${prefix}*`)).split('\n').filter(Boolean);
        for (const key of keys) ttls.set(key, Number((await server.cli('PTTL', key)).trim()));
      }
      assert.ok(ttls.size > 0, "the scan found no key at all: the users' indexes should be there");
      return ttls;
    }

    /** Sends `count` renewing requests with `cookie` across the instances while `end` runs among them. */
    async function hammer(cookie: string, count: number, end: () => Promise<unknown>) {
      const pending: Promise<unknown>[] = [];
      for (let i = 0; i < count; i++) {
        pending.push(tab(i, cookie).get('/me'));
        if (i === Math.floor(count / 3)) pending.push(end());
        if (i % 8 === 7) await sleep(1);
      }
      await Promise.all(pending);
    }

    it('S29 S27 after a logout that raced renewals, the old cookie is refused everywhere and no key is left without a TTL', async () => {
      const accepted: string[] = [];
      const leftovers: string[] = [];
      for (let round = 0; round < 15; round++) {
        const browser = new Client(apps[round % apps.length]!.url);
        await browser.post('/login', { userId: `logout-${round}` });
        await browser.post('/remember', { ms: 3_600_000 });
        const cookie = browser.jar.get('id')!;
        await hammer(cookie, 45, () => tab(round + 1, cookie).post(`/logout?ms=${round % 4}`));
        for (let i = 0; i < apps.length; i++) {
          if ((await tab(i, cookie).get('/me')).status !== 401) accepted.push(`round ${round} instance ${i}`);
        }
        if ((await onEvery('EXISTS', `${prefix}s:{${handleOf(cookie)}}`)).some((n) => n !== 0)) {
          leftovers.push(`round ${round}: the session key`);
        }
      }
      const untimed = [...(await keysWithTtl())].filter(([, ttl]) => ttl === -1).map(([key]) => key);
      const raced = apps
        .flatMap((app) => app.events)
        .filter((e) => e.type === 'session.write_dropped').length;
      assert.ok(raced > 0, 'no renewal reached a session its logout had removed: the race never happened');
      assert.deepEqual({ accepted, leftovers, untimed }, { accepted: [], leftovers: [], untimed: [] });
    });

    it('S31 after sign-out-everywhere that raced renewals, every session of the user is refused and listed nowhere', async () => {
      const problems: string[] = [];
      for (let round = 0; round < 8; round++) {
        const userId = `revoke-${round}`;
        const devices = [0, 1, 2].map((i) => new Client(apps[i]!.url));
        for (const device of devices) await device.post('/login', { userId });
        const admin = new Client(apps[round % apps.length]!.url);
        await admin.post('/login', { userId });
        const cookies = devices.map((device) => device.jar.get('id')!);
        await Promise.all(
          cookies.map((cookie, d) =>
            hammer(cookie, 20, () =>
              d === 0 ? admin.post('/logout-all', { includeCurrent: false }) : Promise.resolve(),
            ),
          ),
        );
        for (const [d, cookie] of cookies.entries()) {
          const status = (await tab(d + round, cookie).get('/me')).status;
          if (status !== 401) problems.push(`round ${round}: device ${d} still signed in (${status})`);
        }
        const listed = (await admin.get('/sessions')).json() as { handle: string; current: boolean }[];
        if (listed.length !== 1 || !listed[0]?.current) {
          problems.push(`round ${round}: the list shows ${listed.length} sessions`);
        }
      }
      const untimed = [...(await keysWithTtl())].filter(([, ttl]) => ttl === -1).map(([key]) => key);
      assert.deepEqual({ problems, untimed }, { problems: [], untimed: [] });
    });
  });
