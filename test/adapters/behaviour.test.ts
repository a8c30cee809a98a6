import { runAdapterBehaviour } from '../../packages/coatcheck/src/testing/index.js';
import { embeddedStores } from '../support/stores.js';
import { adapters } from './all.js';

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
