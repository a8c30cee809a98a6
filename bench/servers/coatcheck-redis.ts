/** coatcheck Express adapter on RedisStore. */
import { serveCoatcheckExpress } from './coatcheck-express.js';
import { openRedisStore } from './stores.js';

const { store, close } = await openRedisStore();
serveCoatcheckExpress(store, close);
