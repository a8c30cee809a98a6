// Over ~250 lines on purpose: one class maps coatcheck's whole store contract onto any express-session
// store's callbacks, and says by name which capabilities such a store cannot give.
import { SessionCapabilityError } from '../core/errors.js';
import {
  applyPatch,
  expiresAt,
  type SessionPatch,
  type SessionRecord,
  supersede,
  withRecordDefaults,
} from '../core/store/record.js';
import type {
  LegacySessionSource,
  Removed,
  ReplaceOptions,
  SessionStore,
  StoreCapabilities,
} from '../core/store/store.js';
import { legacyExpiry, StoreCookie } from './store-cookie.js';

type Callback<T> = (error?: unknown, value?: T) => void;

/** The callback API every express-session store implements (connect-redis, connect-pg-simple, …). */
export interface ConnectStoreLike {
  /** The session stored under `sid`, or null/undefined; an `ENOENT` error also means none (session-file-store). */
  get(sid: string, callback: Callback<Record<string, unknown> | null | undefined>): unknown;
  /** Stores the whole session object (with its `cookie`) under `sid`. */
  set(sid: string, session: Record<string, unknown>, callback: Callback<unknown>): unknown;
  /** Removes the session under `sid`. */
  destroy(sid: string, callback: Callback<unknown>): unknown;
}

/** Whether `value` is an express-session store (get, set, destroy) rather than a coatcheck store (which has `replace`). */
export function isConnectStore(value: unknown): value is ConnectStoreLike {
  const store = value as Partial<ConnectStoreLike> | null;
  return (
    typeof store === 'object' &&
    store !== null &&
    typeof store.get === 'function' &&
    typeof store.set === 'function' &&
    typeof store.destroy === 'function' &&
    typeof (store as Partial<SessionStore>).replace !== 'function'
  );
}

/**
 * Top-level keys of a stored session that are not data: ours, and session-file-store's
 * `__lastAccess`, which it adds to every session it writes.
 */
const RESERVED_KEYS = ['cookie', 'coatcheck', '__lastAccess'] as const;

/**
 * A missing session reported as an error: session-file-store answers `ENOENT` for a file that is not
 * there, and express-session treats that as "no session" (index.js: `err.code !== 'ENOENT'`).
 */
function isNotFound(error: unknown): boolean {
  return (error as { code?: unknown } | null)?.code === 'ENOENT';
}

function promised<T>(run: (callback: Callback<T>) => unknown): Promise<T | undefined> {
  return new Promise((resolve, reject) => {
    const result = run((error, value) => (error ? reject(error) : resolve(value)));
    // Some stores answer with a promise as well as (or instead of) the callback.
    if (result && typeof (result as Promise<T>).then === 'function')
      (result as Promise<T>).then(resolve, reject);
  });
}

/**
 * Runs any express-session store as a coatcheck store, and reads the sessions express-session wrote
 * there so users stay logged in after the switch. Such stores have no per-user index and no atomic
 * update: listing or revoking a user's sessions throws SessionCapabilityError, and two concurrent
 * writes to one session can lose one of them (as with express-session itself).
 */
export class ConnectStore implements SessionStore, LegacySessionSource {
  /**
   * None: an express-session store has no per-user index and writes whole sessions (last writer
   * wins), so remembered devices (theft detection needs both) are refused at start-up rather than
   * half done.
   */
  readonly capabilities: StoreCapabilities = {
    userIndex: false,
    atomicUpdate: false,
    rememberedDevices: false,
  };
  /** The wrapped express-session store, as given. */
  readonly inner: ConnectStoreLike;

  constructor(inner: ConnectStoreLike) {
    if (!isConnectStore(inner)) throw new TypeError('expected an express-session store (get, set, destroy)');
    this.inner = inner;
  }

  /**
   * Without a callback: the coatcheck record (store contract). With one, as on express-session's
   * `req.sessionStore`: the wrapped store's own answer, the session in express-session's shape.
   */
  get(handle: string): Promise<SessionRecord | null>;
  get(sid: string, callback: Callback<Record<string, unknown> | null | undefined>): unknown;
  get(sid: string, callback?: Callback<Record<string, unknown> | null | undefined>): unknown {
    return typeof callback === 'function' ? this.inner.get(sid, callback) : this.#get(sid);
  }

  async #get(handle: string): Promise<SessionRecord | null> {
    const stored = await this.#read(handle);
    const record = stored?.coatcheck as Omit<SessionRecord, 'data'> & { data?: unknown };
    if (!stored || !record || typeof record !== 'object' || record.handle !== handle) return null;
    if (typeof record.data === 'string') return withRecordDefaults(record as SessionRecord);
    // The data is the session's own keys, as express-session keeps them; an app may have changed
    // them through the store itself (`store.set(sid, session)` from a Socket.IO handler).
    const { cookie: _cookie, coatcheck: _record, __lastAccess: _bookkeeping, ...data } = stored;
    return withRecordDefaults({ ...record, data: JSON.stringify(data) });
  }

  async create(record: SessionRecord): Promise<boolean> {
    if (await this.#get(record.handle)) return false;
    await this.#write(record);
    return true;
  }

  async update(handle: string, patch: SessionPatch): Promise<SessionRecord | null> {
    const record = await this.#get(handle);
    if (!record) return null;
    if (record.successor !== null) return record;
    const next = applyPatch(record, patch);
    await this.#write(next);
    return next;
  }

  async replace(oldHandle: string, next: SessionRecord, options: ReplaceOptions = {}): Promise<boolean> {
    const old = await this.#get(oldHandle);
    if (!old || old.successor !== null) return false;
    await this.#write(next);
    if (options.graceUntil === undefined) await this.#destroy(oldHandle);
    else await this.#write(supersede(old, next.handle, options.graceUntil));
    return true;
  }

  /** Without a callback: removes the record and reports it (store contract). With one: the wrapped store's. */
  destroy(handle: string): Promise<Removed | null>;
  destroy(sid: string, callback: Callback<unknown>): unknown;
  destroy(sid: string, callback?: Callback<unknown>): unknown {
    return typeof callback === 'function' ? this.inner.destroy(sid, callback) : this.#destroy(sid);
  }

  async #destroy(handle: string): Promise<Removed | null> {
    const record = await this.#get(handle);
    await this.#remove(handle);
    return record && { successor: record.successor };
  }

  /** express-session's `set`, passed to the wrapped store, for apps that write it through `req.sessionStore`. */
  set(sid: string, session: Record<string, unknown>, callback?: Callback<unknown>): unknown {
    return this.inner.set(sid, session, callback ?? (() => {}));
  }

  /** express-session's optional `touch`, `all`, `length` and `clear`, when the wrapped store has them. */
  touch(sid: string, session: Record<string, unknown>, callback?: Callback<unknown>): unknown {
    return this.#optional('touch', [sid, session, callback]);
  }

  /** express-session's optional `all`, passed through. @throws TypeError when the wrapped store lacks it. */
  all(callback?: Callback<unknown>): unknown {
    return this.#optional('all', [callback]);
  }

  /** express-session's optional `length`, passed through. @throws TypeError when the wrapped store lacks it. */
  length(callback?: Callback<unknown>): unknown {
    return this.#optional('length', [callback]);
  }

  /** express-session's optional `clear`, passed through. @throws TypeError when the wrapped store lacks it. */
  clear(callback?: Callback<unknown>): unknown {
    return this.#optional('clear', [callback]);
  }

  async listByUser(): Promise<SessionRecord[]> {
    throw new SessionCapabilityError('userIndex', "this express-session store cannot list a user's sessions");
  }

  async destroyByUser(): Promise<string[]> {
    throw new SessionCapabilityError(
      'userIndex',
      "this express-session store cannot revoke a user's sessions",
    );
  }

  /** Connect stores offer no way to enumerate sessions that could serve a kill switch. */
  async destroyAll(): Promise<never> {
    throw new SessionCapabilityError('destroyAll', 'this express-session store cannot end every session');
  }

  /** Connect stores expire entries themselves from `cookie.expires`. */
  async pruneExpired(): Promise<number> {
    return 0;
  }

  async close(): Promise<void> {}

  /**
   * express-session's record behind an `s:<id>` cookie, or null. A record whose `cookie.expires` has
   * passed is removed and never returned: the browser dropped that cookie, express-session's
   * MemoryStore drops such records, and many stores hand back expired entries until a sweep runs, so
   * only a replayed cookie could ask for one.
   */
  async getLegacy(id: string): Promise<Record<string, unknown> | null> {
    const stored = await this.#read(id);
    if (!stored || typeof stored !== 'object' || 'coatcheck' in stored) return null;
    const expiry = legacyExpiry(stored);
    if (expiry !== null && expiry <= Date.now()) {
      await this.#remove(id);
      return null;
    }
    const { __lastAccess: _bookkeeping, ...session } = stored;
    return session;
  }

  /** Removes express-session's record once the session has moved to coatcheck's format. */
  async destroyLegacy(id: string): Promise<void> {
    await this.#remove(id);
  }

  // The inner store's methods are looked up at every call: apps and instrumentation replace them on
  // the instance at run time.
  async #read(id: string): Promise<Record<string, unknown> | null | undefined> {
    try {
      return await promised<Record<string, unknown> | null | undefined>((cb) => this.inner.get(id, cb));
    } catch (error) {
      if (isNotFound(error)) return null;
      throw error;
    }
  }

  async #remove(id: string): Promise<void> {
    try {
      await promised((cb) => this.inner.destroy(id, cb));
    } catch (error) {
      if (!isNotFound(error)) throw error;
    }
  }

  #optional(name: 'touch' | 'all' | 'length' | 'clear', args: unknown[]): unknown {
    const method = (this.inner as unknown as Record<string, unknown>)[name];
    if (typeof method !== 'function')
      throw new TypeError(`the wrapped express-session store has no ${name}()`);
    return method.apply(this.inner, args);
  }

  /**
   * Writes the object express-session would pass: the data's keys at the top level, so an app reading
   * the store directly (`store.get(req.sessionID, cb)`, `store.all(cb)`) finds them where it always
   * did; `cookie` for the store's TTL (see StoreCookie); coatcheck's metadata under `coatcheck`.
   * Data that itself holds one of RESERVED_KEYS stays inside the record instead.
   */
  #write(record: SessionRecord): Promise<unknown> {
    const cookie = new StoreCookie(expiresAt(record));
    const data = JSON.parse(record.data) as Record<string, unknown>;
    const { data: _text, ...meta } = record;
    const session = RESERVED_KEYS.some((key) => Object.hasOwn(data, key))
      ? { cookie, coatcheck: record }
      : { ...data, cookie, coatcheck: meta };
    return promised((cb) => this.inner.set(record.handle, session, cb));
  }
}
