import { applyPatch, type SessionPatch, type SessionRecord, supersede } from '../core/store/record.js';
import type {
  DestroyAllOptions,
  Removed,
  RemovedSession,
  ReplaceOptions,
  SessionStore,
  StoreCapabilities,
} from '../core/store/store.js';
import { RecordTable } from './memory/record-table.js';
import { MemoryRememberedDevices } from './remembered/memory.js';

/** Options of {@link MemoryStore}: a bounded in-process store for tests and single-process apps. */
export interface MemoryStoreOptions {
  /** Most sessions held; at the bound the oldest session is dropped. @default 10_000 */
  maxSessions?: number;
  /** How often expired sessions are swept out. @default 60_000 */
  sweepIntervalMs?: number;
  /** Called with each session dropped to stay within `maxSessions`. */
  onEvict?: (record: SessionRecord) => void;
  /** @default Date.now */
  now?: () => number;
}

/**
 * A bounded in-process store: for tests and single-process development. Unlike express-session's
 * MemoryStore it never grows without limit (expressjs/session#284), but it does not survive a restart.
 */
export class MemoryStore implements SessionStore {
  /** A per-user index, atomic patches and remembered devices: the full contract. */
  readonly capabilities: StoreCapabilities = { userIndex: true, atomicUpdate: true, rememberedDevices: true };
  readonly rememberedDevices = new MemoryRememberedDevices();
  readonly #sessions = new RecordTable();
  readonly #maxSessions: number;
  readonly #onEvict: ((record: SessionRecord) => void) | undefined;
  readonly #now: () => number;
  readonly #sweeper: NodeJS.Timeout;

  constructor(options: MemoryStoreOptions = {}) {
    this.#maxSessions = options.maxSessions ?? 10_000;
    if (!Number.isInteger(this.#maxSessions) || this.#maxSessions < 1) {
      throw new RangeError('maxSessions must be a positive integer');
    }
    this.#onEvict = options.onEvict;
    this.#now = options.now ?? Date.now;
    this.#sweeper = setInterval(() => void this.pruneExpired(this.#now()), options.sweepIntervalMs ?? 60_000);
    this.#sweeper.unref();
  }

  /** Number of sessions held. */
  get size(): number {
    return this.#sessions.size;
  }

  async get(handle: string): Promise<SessionRecord | null> {
    const slot = this.#sessions.find(handle);
    return slot === -1 ? null : this.#sessions.read(slot, handle);
  }

  async create(record: SessionRecord): Promise<boolean> {
    if (this.#sessions.find(record.handle) !== -1) return false;
    this.#insert(record);
    return true;
  }

  async update(handle: string, patch: SessionPatch): Promise<SessionRecord | null> {
    const slot = this.#sessions.find(handle);
    if (slot === -1) return null;
    const record = this.#sessions.read(slot, handle);
    if (record.successor !== null) return record;
    const next = applyPatch(record, patch);
    this.#sessions.put(slot, next);
    return this.#sessions.read(slot, handle);
  }

  async replace(oldHandle: string, next: SessionRecord, options: ReplaceOptions = {}): Promise<boolean> {
    const slot = this.#sessions.find(oldHandle);
    if (slot === -1 || this.#sessions.find(next.handle) !== -1) return false;
    const old = this.#sessions.read(slot, oldHandle);
    if (old.successor !== null) return false;
    if (options.graceUntil === undefined) this.#sessions.delete(slot);
    else this.#sessions.put(slot, supersede(old, next.handle, options.graceUntil));
    this.#insert(next);
    return true;
  }

  async destroy(handle: string): Promise<Removed | null> {
    const slot = this.#sessions.find(handle);
    if (slot === -1) return null;
    const { successor } = this.#sessions.read(slot, handle);
    this.#sessions.delete(slot);
    return { successor };
  }

  async listByUser(userId: string): Promise<SessionRecord[]> {
    return this.#sessions.userSlots(userId).map((slot) => this.#sessions.read(slot));
  }

  async destroyByUser(userId: string, options: { exceptHandle?: string } = {}): Promise<string[]> {
    const removed: string[] = [];
    for (const slot of this.#sessions.userSlots(userId)) {
      const handle = this.#sessions.handleOf(slot);
      if (handle === options.exceptHandle) continue;
      this.#sessions.delete(slot);
      removed.push(handle);
    }
    return removed;
  }

  async destroyAll(options: DestroyAllOptions = {}): Promise<RemovedSession[]> {
    const before = options.createdBefore ?? Number.POSITIVE_INFINITY;
    const removed: RemovedSession[] = [];
    const snapshot = this.#sessions.snapshot();
    for (let i = 0; i < snapshot.slots.length; i++) {
      const slot = snapshot.slots[i]!;
      if (this.#sessions.createdAtOf(slot) >= before) continue;
      removed.push({ handle: this.#sessions.handleOf(slot), userId: this.#sessions.userIdOf(slot) });
      this.#sessions.delete(slot);
    }
    return removed;
  }

  async pruneExpired(now: number): Promise<number> {
    let count = this.rememberedDevices.prune(now);
    const snapshot = this.#sessions.snapshot();
    for (let i = 0; i < snapshot.slots.length; i++) {
      const slot = snapshot.slots[i]!;
      if (this.#sessions.expiresAtOf(slot) <= now) {
        this.#sessions.delete(slot);
        count++;
      }
    }
    return count;
  }

  async close(): Promise<void> {
    clearInterval(this.#sweeper);
  }

  /** Every record held (copies), expired ones included, oldest first. */
  *records(): IterableIterator<SessionRecord> {
    const snapshot = this.#sessions.snapshot();
    for (let i = 0; i < snapshot.slots.length; i++) {
      if (this.#sessions.holds(snapshot, i)) yield this.#sessions.read(snapshot.slots[i]!);
    }
  }

  /** Removes every session. */
  async clear(): Promise<void> {
    this.#sessions.clear();
    this.rememberedDevices.clear();
  }

  #insert(record: SessionRecord): void {
    while (this.#sessions.size >= this.#maxSessions) {
      const oldest = this.#sessions.oldest;
      const evicted = this.#onEvict ? this.#sessions.read(oldest) : null;
      this.#sessions.delete(oldest);
      if (evicted) this.#onEvict?.(evicted);
    }
    this.#sessions.add(record);
  }
}
