import assert from 'node:assert/strict';
import { randomUUID } from 'node:crypto';
import { describe, it } from 'node:test';
import type { SessionStore } from '../../packages/coatcheck/src/core/store/store.js';
import { MemoryStore } from '../../packages/coatcheck/src/stores/memory.js';
import { RedisStore } from '../../packages/coatcheck/src/stores/redis.js';
import { SqliteStore } from '../../packages/coatcheck/src/stores/sqlite.js';
import { Clock, startTestApp } from '../support/app.js';
import { Client } from '../support/http.js';
import { hasRedis, redisForSuite } from '../support/redis-server.js';

const MINUTE = 60_000;

/**
 * "Sign out my other devices" on an account with a phone whose session expired unseen, and a
 * laptop and a tablet whose tokens were rotated on schedule a moment ago (each leaves a pointer
 * for the rotation's grace period). The answer counts the devices it signed out: one, the tablet.
 */
async function otherDevicesSignedOut(store: SessionStore, clock: Clock): Promise<void> {
  const app = await startTestApp(store, {
    clock,
    idleTimeoutMs: 5 * MINUTE,
    absoluteTimeoutMs: 60 * MINUTE,
    rotationIntervalMs: MINUTE,
  });
  try {
    const phone = new Client(app.url);
    const laptop = new Client(app.url);
    const tablet = new Client(app.url);
    assert.equal((await phone.post('/login', { userId: 'alice' })).status, 200);
    clock.advance(4 * MINUTE);
    assert.equal((await laptop.post('/login', { userId: 'alice' })).status, 200);
    assert.equal((await tablet.post('/login', { userId: 'alice' })).status, 200);
    clock.advance(2 * MINUTE); // the phone is past its idle timeout; the others are due a rotation
    for (const browser of [tablet, laptop]) {
      const before = browser.jar.get('id');
      assert.equal((await browser.get('/me')).status, 200);
      assert.notEqual(browser.jar.get('id'), before, 'rotated on schedule');
    }

    const response = await laptop.post('/logout-all', {});
    assert.equal(response.status, 200);
    assert.deepEqual(response.json(), { count: 1 }, 'the tablet: not the pointers, not the expired phone');
    const event = app.events.find((e) => e.type === 'session.logout_all');
    assert.equal(event?.count, 1);

    assert.equal((await tablet.get('/me')).status, 401);
    assert.equal((await phone.get('/me')).status, 401);
    assert.equal((await laptop.get('/me')).status, 200, 'the device that asked stays signed in');
  } finally {
    await app.close();
  }
}

describe('log out everywhere counts the devices it signed out', () => {
  it('memory store', async () => {
    const clock = new Clock();
    const store = new MemoryStore({ now: clock.now });
    await otherDevicesSignedOut(store, clock);
    await store.close();
  });

  it('SQLite store', async () => {
    const clock = new Clock();
    const store = new SqliteStore({ path: ':memory:', now: clock.now });
    await otherDevicesSignedOut(store, clock);
    await store.close();
  });

  describe('Redis store', { skip: !hasRedis && 'redis-server is not installed' }, () => {
    const redis = redisForSuite();
    it('standalone', async () => {
      const clock = new Clock();
      const store = new RedisStore({
        client: redis.client,
        prefix: `c${randomUUID().slice(0, 8)}:`,
        now: clock.now,
      });
      await otherDevicesSignedOut(store, clock);
    });
  });
});
