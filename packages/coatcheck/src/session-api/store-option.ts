import type { SessionStore } from '../core/store/store.js';
import { ConnectStore, isConnectStore } from '../stores/connect.js';
import { MemoryStore } from './memory-store.js';

/** The store to use: the given one, a wrapped express-session store, or a bounded MemoryStore. */
export function resolveStore(
  store: SessionStore | object | undefined,
  warn: (message: string) => void,
): SessionStore {
  if (store === undefined) {
    warn('coatcheck: no store given; using an in-process MemoryStore (not shared, lost at restart)');
    return new MemoryStore();
  }
  if (isConnectStore(store)) {
    warn(
      'coatcheck: an express-session store was given; it has no per-user index (device lists, logout everywhere) and no atomic updates',
    );
    return new ConnectStore(store);
  }
  return store as SessionStore;
}
