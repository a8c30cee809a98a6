import assert from 'node:assert/strict';
import { connect, createServer, type Server, type Socket } from 'node:net';
import { after, describe, it } from 'node:test';
import { createClient } from 'redis';
import type { SessionRecord } from '../../packages/coatcheck/src/core/store/record.js';
import { REPLACE_WITH_GRACE } from '../../packages/coatcheck/src/stores/redis/scripts.js';
import { RedisStore } from '../../packages/coatcheck/src/stores/redis.js';
import { hasRedis, type RedisServer, startRedis } from '../support/redis-server.js';

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

/**
 * A plain TCP relay in front of the real redis-server. Once a client->server chunk carrying
 * `trigger` has passed, later client->server chunks are held back until `release()`: this freezes
 * the store between its rotation script and the index write that follows it.
 */
async function relay(port: number, trigger: string) {
  let armed = false;
  let tripped = false;
  const held: (() => void)[] = [];
  const sockets: Socket[] = [];
  const server: Server = createServer((client) => {
    const upstream = connect(port, '127.0.0.1');
    sockets.push(client, upstream);
    client.on('data', (chunk) => {
      const send = () => upstream.write(chunk);
      if (tripped) held.push(send);
      else {
        send();
        if (armed && chunk.toString('latin1').includes(trigger)) tripped = true;
      }
    });
    upstream.on('data', (chunk) => client.write(chunk));
    client.on('error', () => {});
    upstream.on('error', () => {});
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  return {
    port: (server.address() as { port: number }).port,
    arm: () => {
      armed = true;
    },
    isTripped: () => tripped,
    release: () => {
      tripped = false;
      armed = false;
      for (const send of held.splice(0)) send();
    },
    close: async () => {
      for (const s of sockets) s.destroy();
      await new Promise<void>((resolve) => server.close(() => resolve()));
    },
  };
}

function record(handle: string, userId: string, now: number): SessionRecord {
  return {
    handle,
    secretHash: 'x'.repeat(43),
    userId,
    createdAt: now,
    authAt: now,
    lastSeenAt: now,
    idleExpiresAt: now + 600_000,
    absoluteExpiresAt: now + 3_600_000,
    version: 1,
    device: {},
    cookieMaxAgeMs: null,
    csrfSecret: null,
    aal: 1,
    stepUpAt: null,
    rotatedAt: now,
    successor: null,
    deviceKey: null,
    deviceChallenge: null,
    data: '{}',
  };
}

describe('Redis store: sign-out-everywhere racing a scheduled rotation', {
  skip: !hasRedis && 'redis-server is not installed',
}, () => {
  let server: RedisServer | undefined;
  after(async () => {
    await server?.dispose();
  });

  it('S31 S21 a session created by a scheduled rotation that overlaps sign-out-everywhere does not outlive it (standalone)', async () => {
    server = await startRedis();
    const direct = createClient({ url: server.url });
    await direct.connect();
    await direct.scriptLoad(REPLACE_WITH_GRACE.checked.source);
    const proxy = await relay(server.port, REPLACE_WITH_GRACE.checked.sha);
    const proxied = createClient({ url: `redis://127.0.0.1:${proxy.port}` });
    await proxied.connect();
    const rotating = new RedisStore({ client: proxied });
    const admin = new RedisStore({ client: direct });
    const now = Date.now();
    const handleA = 'AAAAAAAAAAAAAAAAAAAAAA';
    const handleB = 'BBBBBBBBBBBBBBBBBBBBBB';
    assert.ok(await admin.create(record(handleA, 'mallory', now)));

    proxy.arm();
    // The user's own request: periodic rotation A -> B (the engine then hands B out as a cookie).
    const rotation = rotating.replace(handleA, record(handleB, 'mallory', now), { graceUntil: now + 30_000 });
    for (let i = 0; i < 100 && !proxy.isTripped(); i++) await sleep(10);
    await sleep(100); // the rotation script has run; the index write is held back
    // Meanwhile an admin signs mallory out everywhere (role change, "revoke sessions").
    const removed = await admin.destroyByUser('mallory');
    proxy.release();
    const rotated = await rotation;
    const survivor = await admin.get(handleB);
    await proxied.close();
    await direct.close();
    await proxy.close();
    assert.equal(rotated, true);
    assert.deepEqual(
      { removed, survivorLive: survivor !== null && survivor.successor === null },
      { removed, survivorLive: false },
      'the session created by the rotation survived destroyByUser',
    );
  });
});
