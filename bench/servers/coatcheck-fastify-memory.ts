/** coatcheck Fastify plugin on the bounded MemoryStore. */
import { serveCoatcheckFastify } from './coatcheck-fastify.js';
import { openMemoryStore } from './stores.js';

const { store, close } = openMemoryStore();
await serveCoatcheckFastify(store, close);
