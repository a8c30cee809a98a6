import { after, describe } from 'node:test';
import { createClient } from 'redis';
import { RedisStore } from '../../packages/coatcheck/src/stores/redis.js';
import { runStoreConformance } from '../../packages/coatcheck/src/testing/conformance.js';
import { hasRedis, type RedisServer, startRedis } from '../support/redis-server.js';

/**
 * node-redis with RESP3 (maps, booleans: a script's `return false` arrives as false, not null),
 * with and without its client-side cache (RESP3 client tracking), runs the whole store contract.
 */
describe('redis store on RESP3', { skip: !hasRedis && 'redis-server is not installed' }, () => {
  let server: RedisServer | undefined;
  after(async () => server?.dispose());
  for (const cached of [false, true]) {
    let close: () => Promise<void> = async () => {};
    runStoreConformance({
      name: `redis (node-redis, RESP3${cached ? ', client-side cache' : ''})`,
      expiresByItself: true,
      createStore: async () => {
        server ??= await startRedis();
        const client = createClient({
          url: server.url,
          RESP: 3,
          ...(cached ? { clientSideCache: { ttl: 1000, maxEntries: 10_000 } } : {}),
        });
        await client.connect();
        close = () => client.close();
        return new RedisStore({ client, prefix: `resp3-${cached ? 'cached' : 'plain'}:` });
      },
      cleanup: () => close(),
    });
  }
});
