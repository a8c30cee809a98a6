import { MemoryStore as BoundedMemoryStore, type MemoryStoreOptions } from '../stores/memory.js';
import { SessionStoreApi } from './session-store-api.js';

export type { MemoryStoreOptions } from '../stores/memory.js';
export type { StoreCallback, StoredSession } from './session-store-api.js';
export { SessionStoreApi } from './session-store-api.js';

/**
 * The bounded in-process store, with express-session's MemoryStore API on top: `get`, `set`,
 * `destroy`, `touch`, `all`, `length` and `clear` take express-session's callbacks (or return a
 * promise), and it is an EventEmitter like every express-session `Store`. A `sid` is
 * `req.sessionID`, coatcheck's session handle, so the Socket.IO recipe
 * `store.get(socket.request.sessionID, cb)` reads the session of the request that opened the socket.
 *
 * Called without a callback, `get(handle)` and `destroy(handle)` keep the coatcheck store contract
 * (`SessionRecord` / `Removed`): that is how the engine calls them.
 *
 * @example
 * import session, { MemoryStore } from 'coatcheck/express';
 * const store = new MemoryStore({ maxSessions: 50_000 });
 * app.use(session({ secret, store }));
 * io.use((socket, next) => store.get(socket.request.sessionID, (err, sess) => next(err ?? undefined)));
 */
export class MemoryStore extends SessionStoreApi {
  readonly #bounded: BoundedMemoryStore;

  constructor(options: MemoryStoreOptions = {}) {
    const bounded = new BoundedMemoryStore(options);
    super(bounded, options.now ?? Date.now);
    this.#bounded = bounded;
  }

  /** Number of records held, expired ones not yet swept included. */
  get size(): number {
    return this.#bounded.size;
  }
}
