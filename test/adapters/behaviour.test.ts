import { type AdapterUnderTest, runAdapterBehaviour } from '../../src/testing/index.js';
import { embeddedStores } from '../support/stores.js';
import { expressAdapter } from './express.js';
import { honoAdapter } from './hono.js';
import { nodeHttpAdapter } from './node-http.js';

const adapters: [string, AdapterUnderTest][] = [
  ['express 5', expressAdapter(5)],
  ['express 4', expressAdapter(4)],
  ['node:http', nodeHttpAdapter],
  ['hono', honoAdapter],
];

for (const [name, adapter] of adapters) {
  for (const store of embeddedStores()) {
    runAdapterBehaviour({
      name: `${name} / ${store.name}`,
      adapter,
      createStore: store.create,
      cleanup: store.cleanup,
    });
  }
}
