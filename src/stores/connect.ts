import { SessionCapabilityError } from '../core/errors.js';
import {
  applyPatch,
  expiresAt,
  type SessionPatch,
  type SessionRecord,
  supersede,
  withRecordDefaults,
} from '../core/record.js';
import type {
  LegacySessionSource,
  Removed,
  ReplaceOptions,
  SessionStore,
  StoreCapabilities,
} from '../core/store.js';

type Callback<T> = (error?: unknown, value?: T) => void;

/** The callback API every express-session store implements (connect-redis, connect-pg-simple, …). */
export interface ConnectStoreLike {
  get(sid: string, callback: Callback<Record<string, unknown> | null | undefined>): unknown;
  set(sid: string, session: Record<string, unknown>, callback: Callback<unknown>): unknown;
  destroy(sid: string, callback: Callback<unknown>): unknown;
}

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
  readonly capabilities: StoreCapabilities = { userIndex: false, atomicUpdate: false };
  readonly inner: ConnectStoreLike;

  constructor(inner: ConnectStoreLike) {
    if (!isConnectStore(inner)) throw new TypeError('expected an express-session store (get, set, destroy)');
    this.inner = inner;
  }

  async get(handle: string): Promise<SessionRecord | null> {
    const stored = await promised<Record<string, unknown> | null | undefined>((cb) =>
      this.inner.get(handle, cb),
    );
    const record = stored?.coatcheck as SessionRecord | undefined;
    return record && typeof record === 'object' && record.handle === handle
      ? withRecordDefaults(record)
      : null;
  }

  async create(record: SessionRecord): Promise<boolean> {
    if (await this.get(record.handle)) return false;
    await this.#write(record);
    return true;
  }

  async update(handle: string, patch: SessionPatch): Promise<SessionRecord | null> {
    const record = await this.get(handle);
    if (!record) return null;
    if (record.successor !== null) return record;
    const next = applyPatch(record, patch);
    await this.#write(next);
    return next;
  }

  async replace(oldHandle: string, next: SessionRecord, options: ReplaceOptions = {}): Promise<boolean> {
    const old = await this.get(oldHandle);
    if (!old || old.successor !== null) return false;
    await this.#write(next);
    if (options.graceUntil === undefined) await this.destroy(oldHandle);
    else await this.#write(supersede(old, next.handle, options.graceUntil));
    return true;
  }

  async destroy(handle: string): Promise<Removed | null> {
    const record = await this.get(handle);
    await promised((cb) => this.inner.destroy(handle, cb));
    return record && { successor: record.successor };
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

  /** Connect stores expire entries themselves from `cookie.expires`. */
  async pruneExpired(): Promise<number> {
    return 0;
  }

  async close(): Promise<void> {}

  async getLegacy(id: string): Promise<Record<string, unknown> | null> {
    const stored = await promised<Record<string, unknown> | null | undefined>((cb) => this.inner.get(id, cb));
    if (!stored || typeof stored !== 'object' || 'coatcheck' in stored) return null;
    return stored;
  }

  async destroyLegacy(id: string): Promise<void> {
    await promised((cb) => this.inner.destroy(id, cb));
  }

  #write(record: SessionRecord): Promise<unknown> {
    const expires = new Date(expiresAt(record));
    // `cookie.expires` is what connect stores read to set their own TTL.
    const session = {
      cookie: {
        originalMaxAge: expires.getTime() - Date.now(),
        expires: expires.toISOString(),
        path: '/',
        httpOnly: true,
      },
      coatcheck: record,
    };
    return promised((cb) => this.inner.set(record.handle, session, cb));
  }
}
