/** coatcheck Fastify plugin on RedisStore. */
import { serveCoatcheckFastify } from './coatcheck-fastify.js';
import { openRedisStore } from './stores.js';

const { store, close } = await openRedisStore();
await serveCoatcheckFastify(store, close);
