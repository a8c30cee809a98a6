/** coatcheck's engine directly on node:http, on RedisStore. */
import { serveCoatcheckCore } from './coatcheck-core.js';
import { openRedisStore } from './stores.js';

const { store, close } = await openRedisStore();
serveCoatcheckCore(store, close);
