/** coatcheck Hono middleware on RedisStore. */
import { serveCoatcheckHono } from './coatcheck-hono.js';
import { openRedisStore } from './stores.js';

const { store, close } = await openRedisStore();
serveCoatcheckHono(store, close);
