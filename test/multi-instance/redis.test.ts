import { describeMultiInstance } from '../support/app-cluster.js';
import { hasRedis, startRedis } from '../support/redis-server.js';

describeMultiInstance({
  name: 'Redis',
  skip: !hasRedis && 'redis-server is not installed',
  start: async () => {
    const redis = await startRedis();
    return { env: { REDIS_URL: redis.url }, stop: () => redis.dispose() };
  },
});
