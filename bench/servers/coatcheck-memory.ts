/** coatcheck Express adapter on the bounded MemoryStore. */
import { MemoryStore } from 'coatcheck/stores/memory';
import { serveCoatcheckExpress } from './coatcheck-express.js';

// Bound far above what a run creates, so pre-created sessions are never evicted mid-run.
const store = new MemoryStore({ maxSessions: 2_000_000 });
serveCoatcheckExpress(store, () => store.close());
