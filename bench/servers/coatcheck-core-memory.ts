/** coatcheck's engine directly on node:http, on the bounded MemoryStore. */
import { serveCoatcheckCore } from './coatcheck-core.js';
import { openMemoryStore } from './stores.js';

const { store, close } = openMemoryStore();
serveCoatcheckCore(store, close);
