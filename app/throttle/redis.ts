import type { createClient } from 'redis';
import type { Hit, ThrottleCounter } from './counter.js';

type RedisClient = ReturnType<typeof createClient>;

/**
 * Throttling counters in Redis: INCR, then PEXPIRE NX so only the first hit of a window sets its
 * end, in one MULTI so a crash between the two never leaves a counter without expiry.
 */
export class RedisCounter implements ThrottleCounter {
  constructor(
    readonly client: RedisClient,
    readonly prefix = 'coatcheck-app:throttle:',
  ) {}

  async hit(key: string, windowMs: number): Promise<Hit> {
    const name = this.prefix + key;
    const [count, , ttl] = await this.client
      .multi()
      .incr(name)
      .pExpire(name, windowMs, 'NX')
      .pTTL(name)
      .exec();
    return { count: Number(count), resetAt: Date.now() + Math.max(0, Number(ttl)) };
  }

  async peek(key: string): Promise<Hit> {
    const name = this.prefix + key;
    const [count, ttl] = await this.client.multi().get(name).pTTL(name).exec();
    if (count === null || Number(ttl) <= 0) return { count: 0, resetAt: 0 };
    return { count: Number(count), resetAt: Date.now() + Number(ttl) };
  }

  async reset(key: string): Promise<void> {
    await this.client.del(this.prefix + key);
  }

  async close(): Promise<void> {}
}
