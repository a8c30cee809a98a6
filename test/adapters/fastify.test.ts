// The adapter behaviour suite is a copy of src/testing/adapter-*.ts and scenarios-*.ts, kept in
// test/adapters/suite/ until the adapter suite and this adapter share one branch.
import { embeddedStores } from '../support/stores.js';
import { fastifyAdapter } from './fastify.js';
import { runAdapterBehaviour } from './suite/adapter-suite.js';

for (const store of embeddedStores()) {
  runAdapterBehaviour({
    name: `fastify / ${store.name}`,
    adapter: fastifyAdapter,
    createStore: store.create,
    cleanup: store.cleanup,
  });
}
