import type { RememberedDeviceStore } from '../remember/device.js';
import type { SessionPatch, SessionRecord } from './record.js';

/** What a store can promise; the engine reports what is missing at start-up rather than faking it. */
export interface StoreCapabilities {
  /** Lists and revokes a user's sessions in O(that user's sessions). */
  userIndex: boolean;
  /** Applies a patch atomically: concurrent writers to different keys never lose each other's writes. */
  atomicUpdate: boolean;
  /** Keeps remembered devices ("keep me signed in") in `rememberedDevices`, with a per-user index. */
  rememberedDevices?: boolean;
}

/** What `destroy` reports of the record it removed. */
export interface Removed {
  successor: string | null;
}

/** One session `destroyAll` removed: its handle and user, for the audit events of the caller. */
export interface RemovedSession {
  /** The removed session's public handle. */
  handle: string;
  /** Its user, or null for an anonymous session. */
  userId: string | null;
}

/** Which sessions `destroyAll` removes. */
export interface DestroyAllOptions {
  /** Only sessions created before this time (ms since the epoch). @default every session */
  createdBefore?: number;
}

/** A renewal's whole write: the last request's time and the idle expiry it pushes back. */
export type Renewal = Pick<SessionRecord, 'lastSeenAt' | 'idleExpiresAt'>;

/** What the engine tells a store of a new record's handle. */
export interface CreateOptions {
  /**
   * The handle came from the engine's random generator (16 bytes from the CSPRNG), not from the
   * application's `genid`: the store may skip its check that the handle is free, which such a
   * handle fails with a probability of about 2^-65 among 2^32 sessions.
   */
  randomHandle?: boolean;
}

/** How a rotation treats the record it replaces, and what it tells the store of the new handle. */
export interface ReplaceOptions extends CreateOptions {
  /** Keep the old record as a pointer to the new one until this time (ms since the epoch). */
  graceUntil?: number;
}

/**
 * The store contract: small, promise-based, with a per-user index. Every store passes the
 * conformance suite in `coatcheck/testing`.
 */
export interface SessionStore {
  /** What this store promises; checked once when the engine is created. */
  readonly capabilities: StoreCapabilities;
  /** Remembered devices, when `capabilities.rememberedDevices`; the same conformance suite covers them. */
  readonly rememberedDevices?: RememberedDeviceStore;
  /** The record under this handle, or null. May return expired records; the engine decides. */
  get(handle: string): Promise<SessionRecord | null>;
  /**
   * Inserts a new record; returns false (and writes nothing) when the handle is taken. With
   * `randomHandle` the store may skip that check (CreateOptions).
   */
  create(record: SessionRecord, options?: CreateOptions): Promise<boolean>;
  /**
   * Applies a patch only if the session still exists, returning the new record, or null when it is
   * gone: a request that finishes after a logout never brings the session back (S29). A record
   * that a scheduled rotation replaced (`successor` set) is returned unchanged: the caller writes
   * to the successor instead, and the pointer's grace period is never stretched.
   */
  update(handle: string, patch: SessionPatch): Promise<SessionRecord | null>;
  /**
   * Optional: a renewal of `record`, the record the caller has just read, with the same answer and
   * the same guarantees as `update(record.handle, { meta: renewal })` (never resurrects, never
   * stretches a rotation's pointer). A store implements it when it can write a renewal more cheaply
   * than a patch because it knows the record's other fields; without it the engine calls `update`.
   */
  renew?(record: SessionRecord, renewal: Renewal): Promise<SessionRecord | null>;
  /**
   * Rotation: removes `oldHandle` and inserts `next` in one atomic step. Returns false, writing
   * nothing, when the old session is already gone or has a successor, or the new handle is taken
   * (a check the store may skip for a `randomHandle`).
   *
   * With `graceUntil` (periodic rotation, S21) the old record is kept instead, with `successor` set
   * to `next.handle` and its idle expiry brought forward to `graceUntil`: requests still carrying
   * the old token reach the new session until then. Only one rotation of a record can win.
   */
  replace(oldHandle: string, next: SessionRecord, options?: ReplaceOptions): Promise<boolean>;
  /**
   * Removes one session. Returns null when there was none, else what the removed record pointed to
   * (`successor`, set by a rotation with a grace period), read in the same atomic step: a logout
   * or revocation that races a rotation can then end the new record too.
   */
  destroy(handle: string): Promise<Removed | null>;
  /** Every stored session of a user (expired ones may be included; the engine filters). */
  listByUser(userId: string): Promise<SessionRecord[]>;
  /** Removes a user's sessions, except `exceptHandle`; returns the handles removed. */
  destroyByUser(userId: string, options?: { exceptHandle?: string }): Promise<string[]>;
  /**
   * Removes every session of every user, or those created before `createdBefore`: the kill switch
   * after a breach or a key leak (ASVS 7.4). An operator's command, never a request's: stores
   * without a global index walk all their records. Optional for stores outside this package; a
   * store that cannot enumerate its sessions throws SessionCapabilityError naming `destroyAll`.
   */
  destroyAll?(options?: DestroyAllOptions): Promise<RemovedSession[]>;
  /** Removes records whose expiry has passed; returns how many. */
  pruneExpired(now: number): Promise<number>;
  /** Releases timers and connections the store owns. */
  close(): Promise<void>;
}

/**
 * Where sessions written by express-session live (a connect store), read once per user when their
 * `s:<id>.<sig>` cookie arrives, then moved to coatcheck's format and removed.
 */
export interface LegacySessionSource {
  /** express-session's stored object (`{ cookie, ...data }`), or null. */
  getLegacy(id: string): Promise<Record<string, unknown> | null>;
  /** Removes express-session's record once it has been moved to coatcheck's format. */
  destroyLegacy(id: string): Promise<void>;
}

/** Renews `record` in `store`: by its `renew` when it has one, else by `update` with the renewal as metadata. */
export function renewIn(
  store: SessionStore,
  record: SessionRecord,
  renewal: Renewal,
): Promise<SessionRecord | null> {
  return store.renew ? store.renew(record, renewal) : store.update(record.handle, { meta: renewal });
}
