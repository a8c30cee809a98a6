import type { createClient } from 'redis';
import type { Hit, ThrottleCounter } from './counter.js';

type RedisClient = ReturnType<typeof createClient>;

// The window a hit belongs to is named by its key's absolute expiry: a release decrements only while
// that is still the expiry, i.e. in the same window, and never drops below zero.
const RELEASE = `if redis.call('PEXPIRETIME', KEYS[1]) == tonumber(ARGV[1])
  and tonumber(redis.call('GET', KEYS[1]) or '0') > 0 then
  redis.call('DECR', KEYS[1])
end
return 0`;

/**
 * Throttling counters in Redis (7 or later): INCR, then PEXPIRE NX so only the first hit of a
 * window sets its end, in one MULTI so a crash between the two never leaves a counter without
 * expiry. A window's end is the key's absolute expiry (PEXPIRETIME), exact across calls.
 */
export class RedisCounter implements ThrottleCounter {
  constructor(
    readonly client: RedisClient,
    readonly prefix = 'coatcheck-app:throttle:',
  ) {}

  async hit(key: string, windowMs: number): Promise<Hit> {
    const name = this.prefix + key;
    const [count, , expiresAt] = await this.client
      .multi()
      .incr(name)
      .pExpire(name, windowMs, 'NX')
      .pExpireTime(name)
      .exec();
    return { count: Number(count), resetAt: Number(expiresAt) };
  }

  async peek(key: string): Promise<Hit> {
    const name = this.prefix + key;
    const [count, expiresAt] = await this.client.multi().get(name).pExpireTime(name).exec();
    if (count === null || Number(expiresAt) <= 0) return { count: 0, resetAt: 0 };
    return { count: Number(count), resetAt: Number(expiresAt) };
  }

  async release(key: string, hit: Hit): Promise<void> {
    await this.client.eval(RELEASE, { keys: [this.prefix + key], arguments: [String(hit.resetAt)] });
  }

  async reset(key: string): Promise<void> {
    await this.client.del(this.prefix + key);
  }

  async close(): Promise<void> {}
}
