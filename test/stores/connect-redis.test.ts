import { after, it } from 'node:test';
import { RedisStore as ConnectRedisStore } from 'connect-redis';
import { ConnectStore } from '../../packages/coatcheck/src/stores/connect.js';
import { runStoreConformance } from '../../packages/coatcheck/src/testing/conformance.js';
import { connectRedis, hasRedis, type RedisServer, startRedis } from '../support/redis-server.js';

if (!hasRedis) {
  it('connect-redis through ConnectStore', { skip: 'redis-server is not installed' }, () => {});
} else {
  let server: RedisServer | undefined;
  let close: () => Promise<void> = async () => {};
  after(async () => {
    await close();
    await server?.dispose();
  });
  const options = {
    name: 'connect-redis (express-session store) through ConnectStore',
    // The store can promise neither a per-user index nor atomic updates; those checks are skipped.
    honourCapabilities: true,
    expiresByItself: true,
    createStore: async () => {
      server = await startRedis();
      const connection = await connectRedis('node-redis', server);
      close = connection.close;
      return new ConnectStore(new ConnectRedisStore({ client: connection.client, prefix: 'sess:' }));
    },
  };
  runStoreConformance(options);
}
