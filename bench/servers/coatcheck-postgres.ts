/** coatcheck Express adapter on PostgresStore. */
import { serveCoatcheckExpress } from './coatcheck-express.js';
import { openPostgresStore } from './stores.js';

const { store, close } = await openPostgresStore();
serveCoatcheckExpress(store, close);
