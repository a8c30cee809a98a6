import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import { after, before, describe, it, type TestContext } from 'node:test';
import { promisify } from 'node:util';
import { hasRedis, type RedisServer, startRedis } from '../support/redis-server.js';

const run = promisify(execFile);
const USERS = 1_500;
const PADDING = 8_000;

/** Heap growth after GC in a child process, for one request per user carrying `padding` extra bytes. */
async function heapGrowth(mode: string, padding: number, redisUrl = ''): Promise<number> {
  const { stdout } = await run(
    process.execPath,
    ['--expose-gc', '--import', 'tsx', 'test/support/retained-heap.ts'],
    {
      env: {
        ...process.env,
        MODE: mode,
        REDIS_URL: redisUrl,
        USERS: String(USERS),
        PADDING_BYTES: String(padding),
      },
      timeout: 120_000,
    },
  );
  return (JSON.parse(stdout.trim().split('\n').at(-1)!) as { grownBytes: number }).grownBytes;
}

// Keeping each request's header would keep USERS × 8 KB = 12 MB; flat copies keep nothing of it.
const LIMIT = 2_000_000;

async function assertFlat(t: TestContext, mode: string, redisUrl?: string) {
  const small = await heapGrowth(mode, 0, redisUrl);
  const large = await heapGrowth(mode, PADDING, redisUrl);
  t.diagnostic(`heap growth after GC: ${small} bytes without padding, ${large} with ${PADDING} bytes`);
  assert.ok(
    large - small < LIMIT,
    `${PADDING} bytes of headers per request kept ${large - small} more bytes (${small} -> ${large})`,
  );
}

describe('request data held beyond the request is a flat copy', () => {
  it('addresses counted by the guess limiter do not keep the X-Forwarded-For header', async (t) => {
    await assertFlat(t, 'guess');
  });

  it("a memory store's device (address, user agent) does not keep the request's headers", async (t) => {
    await assertFlat(t, 'device');
  });

  it('cached token verifications do not keep the Cookie header', async (t) => {
    await assertFlat(t, 'token');
  });

  describe('renewals', { skip: !hasRedis && 'redis-server is not installed' }, () => {
    let redis: RedisServer;
    before(async () => {
      redis = await startRedis();
    });
    after(() => redis?.dispose());

    it('the renewal map does not keep the Cookie header', async (t) => {
      await assertFlat(t, 'renewal', redis.url);
    });
  });
});
