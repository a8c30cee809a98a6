/** coatcheck's engine directly on node:http, on RedisStore with node-redis's client-side cache (1 s TTL). */
import { serveCoatcheckCore } from './coatcheck-core.js';
import { openRedisStore } from './stores.js';

const { store, close } = await openRedisStore({ cacheTtlMs: 1000 });
serveCoatcheckCore(store, close);
