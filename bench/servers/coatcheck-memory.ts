/** coatcheck Express adapter on the bounded MemoryStore. */
import { serveCoatcheckExpress } from './coatcheck-express.js';
import { openMemoryStore } from './stores.js';

const { store, close } = openMemoryStore();
serveCoatcheckExpress(store, close);
