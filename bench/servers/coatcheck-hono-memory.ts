/** coatcheck Hono middleware on the bounded MemoryStore. */
import { serveCoatcheckHono } from './coatcheck-hono.js';
import { openMemoryStore } from './stores.js';

const { store, close } = openMemoryStore();
serveCoatcheckHono(store, close);
