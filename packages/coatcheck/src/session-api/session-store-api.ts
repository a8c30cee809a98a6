// Over ~250 lines on purpose: one class, `req.sessionStore`, carries express-session's whole Store API
// (get, set, touch, destroy, all, length, clear, with callbacks or promises) over coatcheck's store contract.
import { SessionCapabilityError } from '../core/errors.js';
import { destroySession } from '../core/lifecycle/destroy.js';
import type { RememberedDeviceStore } from '../core/remember/device.js';
import {
  diffData,
  expiresAt,
  isLiveSession,
  type SessionPatch,
  type SessionRecord,
} from '../core/store/record.js';
import {
  type CreateOptions,
  type DestroyAllOptions,
  type Removed,
  type RemovedSession,
  type Renewal,
  type ReplaceOptions,
  renewIn,
  type SessionStore,
  type StoreCapabilities,
} from '../core/store/store.js';
import { legacyExpiry, StoreCookie } from '../stores/store-cookie.js';
import { Store } from './store.js';

/** express-session's store callback. */
export type StoreCallback<T = void> = (error: Error | null, value?: T) => void;

/** A session as express-session's MemoryStore hands it out: the data, plus the cookie's JSON. */
export interface StoredSession {
  /** The cookie as express-session stores it (its JSON form), from the session's expiry. */
  cookie: {
    /** Lifetime in ms the cookie was given; null for a browser-session cookie. */
    originalMaxAge: number | null;
    /** ISO date of the session's expiry. */
    expires: string | null;
    /** `HttpOnly`. */
    httpOnly: boolean;
    /** `Path`. */
    path: string;
    /** `SameSite`. */
    sameSite?: 'lax' | 'strict';
  };
  [key: string]: unknown;
}

/** Successors followed at most from a handle a scheduled rotation replaced (as in core/lifecycle/destroy.ts). */
const MAX_CHAIN = 8;

/** Calls back on a later turn, as express-session's MemoryStore does, so a throwing callback stays uncaught. */
function deliver<T>(work: Promise<T>, callback: StoreCallback<T>): void {
  work.then(
    (value) => setImmediate(callback, null, value),
    (error: unknown) => setImmediate(callback, error instanceof Error ? error : new Error(String(error))),
  );
}

/** express-session's dual form: calls back when given a callback, else returns the promise. */
function settle<T>(work: Promise<T>, callback: StoreCallback<T> | undefined): Promise<T> | undefined {
  if (typeof callback !== 'function') return work;
  deliver(work, callback);
  return undefined;
}

/** A coatcheck store that can list and clear every record (the in-process one can). */
interface Enumerable {
  records(): Iterable<SessionRecord>;
  clear(): Promise<void>;
}

function isEnumerable(store: SessionStore): store is SessionStore & Enumerable {
  const candidate = store as Partial<Enumerable>;
  return typeof candidate.records === 'function' && typeof candidate.clear === 'function';
}

/**
 * express-session's store API over any coatcheck store: what `req.sessionStore` is, so apps that
 * call `req.sessionStore.get(sid, cb)` (the Socket.IO recipe), `set`, `destroy` or `touch` work on
 * SQLite, Redis or PostgreSQL as on express-session. `all`, `length` and `clear` need a store that
 * can list every record (the in-process one); others answer SessionCapabilityError.
 *
 * Called without a callback, `get(handle)` and `destroy(handle)` keep the coatcheck store contract
 * (`SessionRecord` / `Removed`): that is how the engine calls them.
 */
export class SessionStoreApi extends Store implements SessionStore {
  /** The wrapped store's capabilities, unchanged. */
  readonly capabilities: StoreCapabilities;
  /** The wrapped store's remembered devices, when it keeps them. */
  readonly rememberedDevices?: RememberedDeviceStore;
  readonly #store: SessionStore;
  readonly #now: () => number;

  constructor(store: SessionStore, now: () => number = Date.now) {
    super();
    this.#store = store;
    this.#now = now;
    this.capabilities = store.capabilities;
    if (store.rememberedDevices) this.rememberedDevices = store.rememberedDevices;
  }

  /** With a callback: the session's data and cookie, or null. Without: the stored record (store contract). */
  get(handle: string): Promise<SessionRecord | null>;
  get(sid: string, callback: StoreCallback<StoredSession | null>): void;
  get(
    sid: string,
    callback?: StoreCallback<StoredSession | null>,
  ): Promise<SessionRecord | null> | undefined {
    if (typeof callback !== 'function') return this.#store.get(sid);
    deliver(
      this.#current(sid).then((record) => record && this.#shape(record)),
      callback,
    );
    return undefined;
  }

  /**
   * Writes the session's data (its `cookie` aside) into the live session `sid`, and renews it as
   * `touch` does. An unknown or ended `sid` is left alone: a write never brings a session back (S29).
   */
  set(sid: string, session: Record<string, unknown>): Promise<void>;
  set(sid: string, session: Record<string, unknown>, callback: StoreCallback): void;
  set(sid: string, session: Record<string, unknown>, callback?: StoreCallback): Promise<void> | undefined {
    return settle(this.#write(sid, session, true), callback);
  }

  /**
   * Renews the live session `sid` to `session.cookie.expires` (or `maxAge` from now), as
   * express-session's `touch`. Renewal only ever extends, never past the absolute timeout.
   */
  touch(sid: string, session: Record<string, unknown>): Promise<void>;
  touch(sid: string, session: Record<string, unknown>, callback: StoreCallback): void;
  touch(sid: string, session: Record<string, unknown>, callback?: StoreCallback): Promise<void> | undefined {
    return settle(this.#write(sid, session, false), callback);
  }

  /**
   * With a callback: ends the session, and whatever a scheduled rotation replaced it with, as a
   * logout does. Without: removes this one record (store contract).
   */
  destroy(handle: string): Promise<Removed | null>;
  destroy(sid: string, callback: StoreCallback): void;
  destroy(sid: string, callback?: StoreCallback): Promise<Removed | null> | undefined {
    if (typeof callback !== 'function') return this.#store.destroy(sid);
    // A logout's destroy: whatever a scheduled rotation replaced it with goes too (core/lifecycle/destroy.ts).
    deliver(
      destroySession(this.#store, (_operation, run) => run(), sid).then(() => undefined),
      callback,
    );
    return undefined;
  }

  /** Every live session by sid, in express-session's shape. */
  all(): Promise<Record<string, StoredSession>>;
  all(callback: StoreCallback<Record<string, StoredSession>>): void;
  all(
    callback?: StoreCallback<Record<string, StoredSession>>,
  ): Promise<Record<string, StoredSession>> | undefined {
    return settle(this.#all(), callback);
  }

  /** How many live sessions there are. */
  length(): Promise<number>;
  length(callback: StoreCallback<number>): void;
  length(callback?: StoreCallback<number>): Promise<number> | undefined {
    return settle(
      this.#all().then((sessions) => Object.keys(sessions).length),
      callback,
    );
  }

  /** Removes every session. */
  clear(): Promise<void>;
  clear(callback: StoreCallback): void;
  clear(callback?: StoreCallback): Promise<void> | undefined {
    const store = this.#store;
    const work = isEnumerable(store)
      ? store.clear()
      : Promise.reject(new SessionCapabilityError('clear', 'this store cannot clear every session'));
    return settle(work, callback);
  }

  create(record: SessionRecord, options?: CreateOptions): Promise<boolean> {
    return this.#store.create(record, options);
  }

  update(handle: string, patch: SessionPatch): Promise<SessionRecord | null> {
    return this.#store.update(handle, patch);
  }

  renew(record: SessionRecord, renewal: Renewal): Promise<SessionRecord | null> {
    return renewIn(this.#store, record, renewal);
  }

  replace(oldHandle: string, next: SessionRecord, options?: ReplaceOptions): Promise<boolean> {
    return this.#store.replace(oldHandle, next, options);
  }

  listByUser(userId: string): Promise<SessionRecord[]> {
    return this.#store.listByUser(userId);
  }

  destroyByUser(userId: string, options?: { exceptHandle?: string }): Promise<string[]> {
    return this.#store.destroyByUser(userId, options);
  }

  /** The wrapped store's kill switch; SessionCapabilityError naming `destroyAll` when it has none. */
  async destroyAll(options?: DestroyAllOptions): Promise<RemovedSession[]> {
    if (typeof this.#store.destroyAll !== 'function') {
      throw new SessionCapabilityError('destroyAll', 'the session store cannot end every session');
    }
    return this.#store.destroyAll(options);
  }

  pruneExpired(now: number): Promise<number> {
    return this.#store.pruneExpired(now);
  }

  close(): Promise<void> {
    return this.#store.close();
  }

  /** The live session a sid leads to: a handle replaced on schedule leads to its successor (S21). */
  async #current(sid: string): Promise<SessionRecord | null> {
    const now = this.#now();
    let record = await this.#store.get(sid);
    for (let step = 0; record?.successor && step < MAX_CHAIN; step++) {
      if (expiresAt(record) <= now) return null;
      record = await this.#store.get(record.successor);
    }
    return record && isLiveSession(record, now) ? record : null;
  }

  #shape(record: SessionRecord): StoredSession {
    const cookie = new StoreCookie(expiresAt(record), this.#now);
    // Through JSON, as express-session's MemoryStore keeps sessions: `expires` is an ISO string.
    return JSON.parse(JSON.stringify({ ...JSON.parse(record.data), cookie })) as StoredSession;
  }

  async #write(sid: string, session: Record<string, unknown>, withData: boolean): Promise<void> {
    const record = await this.#current(sid);
    if (!record) return;
    const { cookie, ...data } = session;
    const patch: SessionPatch = {};
    if (withData) Object.assign(patch, diffData(record.data, JSON.parse(JSON.stringify(data))));
    const until = this.#renewal(record, cookie);
    if (until !== null) patch.meta = { lastSeenAt: this.#now(), idleExpiresAt: until };
    if (patch.set || patch.unset || patch.meta) await this.#store.update(record.handle, patch);
  }

  /** The later idle expiry `cookie` asks for, capped by the absolute timeout, or null. */
  #renewal(record: SessionRecord, cookie: unknown): number | null {
    if (!cookie || typeof cookie !== 'object') return null;
    const maxAge = (cookie as { maxAge?: unknown }).maxAge;
    const asked = legacyExpiry({ cookie }) ?? (typeof maxAge === 'number' ? this.#now() + maxAge : null);
    if (asked === null) return null;
    const until = Math.min(asked, record.absoluteExpiresAt);
    return until > record.idleExpiresAt ? until : null;
  }

  async #all(): Promise<Record<string, StoredSession>> {
    const now = this.#now();
    const sessions: Record<string, StoredSession> = Object.create(null);
    const store = this.#store;
    if (!isEnumerable(store)) throw new SessionCapabilityError('all', 'this store cannot list every session');
    for (const record of store.records()) {
      if (isLiveSession(record, now)) sessions[record.handle] = this.#shape(record);
    }
    return sessions;
  }
}
