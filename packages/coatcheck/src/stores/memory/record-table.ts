// Over ~250 lines on purpose: the slots, their two hash indexes and their two lists change together;
// split apart, each part's invariants would depend on calls made from another file.
import type { SessionDevice, SessionRecord } from '../../core/store/record.js';
import { ByteArena } from './byte-arena.js';

/** Slots in order, with their generations when taken. */
export interface Snapshot {
  slots: Int32Array;
  generations: Uint32Array;
  clears: number;
}

/**
 * Session records outside the JavaScript heap, in insertion order, indexed by handle and by user.
 *
 * Why: V8's young-generation collections take longer as the old generation grows, and they pause
 * every request; a million sessions held as objects made each one take ten times as long (see the
 * package README, "Stores"). Here a record's numbers live in a Float64Array and its strings in a
 * block of a {@link ByteArena}; the indexes are open-addressing tables of slot numbers in
 * Int32Arrays, so the heap holds a few dozen objects whatever the count.
 *
 * A slot is a record's place; slots are reused, so a saved slot is checked with its generation.
 */
export class RecordTable {
  readonly #arena = new ByteArena();
  #capacity = 0;
  #size = 0;
  #unused = 0;
  readonly #freeSlots: number[] = [];
  #numbers = new Float64Array(0);
  #handleHash = new Int32Array(0);
  #userHash = new Int32Array(0);
  #hasUser = new Uint8Array(0);
  #sizeClass = new Int8Array(0);
  #block = new Int32Array(0);
  #generation = new Uint32Array(0);
  #previous = new Int32Array(0);
  #next = new Int32Array(0);
  #userPrevious = new Int32Array(0);
  #userNext = new Int32Array(0);
  #first = -1;
  #last = -1;
  #clears = 0;
  /** Open addressing by handle: slot + 1, 0 for empty. */
  #byHandle = new Int32Array(0);
  /** Open addressing by user: the user's first slot + 1, 0 for empty. */
  #byUser = new Int32Array(0);

  /** Records held. */
  get size(): number {
    return this.#size;
  }

  /** The oldest record's slot, or -1. */
  get oldest(): number {
    return this.#first;
  }

  /** The record's slot, or -1. */
  find(handle: string): number {
    return this.#lookup(this.#byHandle, this.#handleHash, HANDLE, handle);
  }

  /** Slots of the user's records, oldest first. */
  userSlots(userId: string): number[] {
    const slots: number[] = [];
    for (let slot = this.#firstOfUser(userId); slot !== -1; slot = this.#userNext[slot]!) slots.push(slot);
    return slots;
  }

  /** Slots of every record, oldest first, with what {@link holds} needs to tell them from reused ones. */
  snapshot(): Snapshot {
    const slots = new Int32Array(this.#size);
    const generations = new Uint32Array(this.#size);
    let i = 0;
    for (let slot = this.#first; slot !== -1; slot = this.#next[slot]!) {
      slots[i] = slot;
      generations[i++] = this.#generation[slot]!;
    }
    return { slots, generations, clears: this.#clears };
  }

  /** Whether the snapshot's i-th slot still holds the record it held when the snapshot was taken. */
  holds(snapshot: Snapshot, i: number): boolean {
    const slot = snapshot.slots[i]!;
    return (
      snapshot.clears === this.#clears &&
      this.#generation[slot] === snapshot.generations[i] &&
      this.#sizeClass[slot] !== -1
    );
  }

  /** A fresh copy of the record in the slot. `handle` saves decoding it when the caller has it. */
  read(slot: number, handle?: string): SessionRecord {
    const numbers = this.#numbers;
    const n = slot * NUMBERS;
    const buffer = this.#arena.bufferOf(this.#sizeClass[slot]!, this.#block[slot]!);
    const start = this.#arena.offsetOf(this.#sizeClass[slot]!, this.#block[slot]!);
    let at = start + HEADER;
    const strings: (string | null)[] = [];
    for (let i = 0; i < STRINGS; i++) {
      const header = buffer.readUInt32LE(start + i * 4);
      const bytes = header >>> 2;
      const kind = header & 3;
      if (kind === ABSENT) strings.push(null);
      else if (i === HANDLE && handle !== undefined) strings.push(handle);
      else strings.push(buffer.toString(kind === LATIN1 ? 'latin1' : 'utf16le', at, at + bytes));
      at += bytes;
    }
    const deviceJson = strings[DEVICE_JSON];
    let device: SessionDevice;
    if (deviceJson != null) device = JSON.parse(deviceJson) as SessionDevice;
    else {
      device = {};
      if (strings[USER_AGENT] != null) device.userAgent = strings[USER_AGENT];
      if (strings[IP] != null) device.ip = strings[IP];
    }
    const record: SessionRecord = {
      handle: strings[HANDLE]!,
      secretHash: strings[SECRET_HASH]!,
      userId: strings[USER_ID]!,
      createdAt: numbers[n]!,
      authAt: nullable(numbers[n + 1]!),
      lastSeenAt: numbers[n + 2]!,
      idleExpiresAt: numbers[n + 3]!,
      absoluteExpiresAt: numbers[n + 4]!,
      version: numbers[n + 5]!,
      device,
      cookieMaxAgeMs: nullable(numbers[n + 6]!),
      csrfSecret: strings[CSRF_SECRET]!,
      aal: numbers[n + 7]!,
      stepUpAt: nullable(numbers[n + 8]!),
      rotatedAt: numbers[n + 9]!,
      successor: strings[SUCCESSOR]!,
      deviceKey: strings[DEVICE_KEY]!,
      deviceChallenge: strings[DEVICE_CHALLENGE]!,
      data: strings[DATA]!,
    };
    const remembered = strings[REMEMBERED_DEVICE_ID];
    if (remembered != null) record.rememberedDeviceId = remembered;
    return record;
  }

  /** The record's handle, decoded from its slot. */
  handleOf(slot: number): string {
    return this.#string(slot, HANDLE)!;
  }

  /** The record's user, decoded from its slot. */
  userIdOf(slot: number): string | null {
    return this.#hasUser[slot] === 1 ? this.#string(slot, USER_ID) : null;
  }

  /** The record's `createdAt`, read without decoding it. */
  createdAtOf(slot: number): number {
    return this.#numbers[slot * NUMBERS]!;
  }

  /** When the record expires (the earlier of its idle and absolute timeouts), read without decoding it. */
  expiresAtOf(slot: number): number {
    return Math.min(this.#numbers[slot * NUMBERS + 3]!, this.#numbers[slot * NUMBERS + 4]!);
  }

  /** Stores a record whose handle is not held, as the newest. @returns its slot. */
  add(record: SessionRecord): number {
    if (this.#freeSlots.length === 0 && this.#unused === this.#capacity) this.#grow();
    const slot = this.#freeSlots.length > 0 ? this.#freeSlots.pop()! : this.#unused++;
    this.#sizeClass[slot] = -1;
    this.#write(slot, record);
    this.#size++;
    this.#previous[slot] = this.#last;
    this.#next[slot] = -1;
    if (this.#last === -1) this.#first = slot;
    else this.#next[this.#last] = slot;
    this.#last = slot;
    this.#handleHash[slot] = hashOf(record.handle);
    insertEntry(this.#byHandle, this.#handleHash[slot]!, slot);
    if (record.userId !== null) this.#linkUser(slot, record.userId);
    return slot;
  }

  /** Replaces the record in the slot with one of the same handle; it keeps its place in the order. */
  put(slot: number, record: SessionRecord): void {
    const userId = this.userIdOf(slot);
    if (userId !== record.userId && userId !== null) this.#unlinkUser(slot, userId);
    this.#write(slot, record);
    if (userId !== record.userId && record.userId !== null) this.#linkUser(slot, record.userId);
  }

  /** Removes the record in the slot. */
  delete(slot: number): void {
    const userId = this.userIdOf(slot);
    if (userId !== null) this.#unlinkUser(slot, userId);
    removeEntry(this.#byHandle, this.#handleHash, this.#handleHash[slot]!, slot);
    const previous = this.#previous[slot]!;
    const next = this.#next[slot]!;
    if (previous === -1) this.#first = next;
    else this.#next[previous] = next;
    if (next === -1) this.#last = previous;
    else this.#previous[next] = previous;
    this.#arena.release(this.#sizeClass[slot]!, this.#block[slot]!);
    this.#sizeClass[slot] = -1;
    this.#generation[slot]!++;
    this.#freeSlots.push(slot);
    this.#size--;
  }

  /** Removes every record and gives back all memory. */
  clear(): void {
    this.#clears++;
    this.#arena.clear();
    this.#capacity = 0;
    this.#size = 0;
    this.#unused = 0;
    this.#freeSlots.length = 0;
    this.#first = -1;
    this.#last = -1;
    this.#resize(0);
  }

  #write(slot: number, record: SessionRecord): void {
    const n = slot * NUMBERS;
    const numbers = this.#numbers;
    numbers[n] = record.createdAt;
    numbers[n + 1] = record.authAt ?? Number.NaN;
    numbers[n + 2] = record.lastSeenAt;
    numbers[n + 3] = record.idleExpiresAt;
    numbers[n + 4] = record.absoluteExpiresAt;
    numbers[n + 5] = record.version;
    numbers[n + 6] = record.cookieMaxAgeMs ?? Number.NaN;
    numbers[n + 7] = record.aal;
    numbers[n + 8] = record.stepUpAt ?? Number.NaN;
    numbers[n + 9] = record.rotatedAt;
    const strings = stringsOf(record);
    let bytes = HEADER;
    const kinds: number[] = [];
    for (const value of strings) {
      const kind = value === null ? ABSENT : WIDE.test(value) ? UTF16 : LATIN1;
      kinds.push(kind);
      if (value !== null) bytes += kind === UTF16 ? value.length * 2 : value.length;
    }
    const sizeClass = ByteArena.sizeClassOf(bytes);
    const held = this.#sizeClass[slot]!;
    if (held !== sizeClass) {
      const block = this.#arena.allocate(sizeClass);
      if (held !== -1) this.#arena.release(held, this.#block[slot]!);
      this.#sizeClass[slot] = sizeClass;
      this.#block[slot] = block;
    }
    const buffer = this.#arena.bufferOf(sizeClass, this.#block[slot]!);
    const start = this.#arena.offsetOf(sizeClass, this.#block[slot]!);
    let at = start + HEADER;
    for (let i = 0; i < STRINGS; i++) {
      const value = strings[i]!;
      const kind = kinds[i]!;
      const length = value === null ? 0 : buffer.write(value, at, kind === UTF16 ? 'utf16le' : 'latin1');
      buffer.writeUInt32LE(length * 4 + kind, start + i * 4);
      at += length;
    }
    this.#hasUser[slot] = record.userId === null ? 0 : 1;
  }

  #string(slot: number, index: number): string | null {
    const sizeClass = this.#sizeClass[slot]!;
    const buffer = this.#arena.bufferOf(sizeClass, this.#block[slot]!);
    const start = this.#arena.offsetOf(sizeClass, this.#block[slot]!);
    let at = start + HEADER;
    for (let i = 0; i < index; i++) at += buffer.readUInt32LE(start + i * 4) >>> 2;
    const header = buffer.readUInt32LE(start + index * 4);
    const kind = header & 3;
    if (kind === ABSENT) return null;
    return buffer.toString(kind === LATIN1 ? 'latin1' : 'utf16le', at, at + (header >>> 2));
  }

  #firstOfUser(userId: string): number {
    return this.#lookup(this.#byUser, this.#userHash, USER_ID, userId);
  }

  /** The slot in `table` whose string `field` is `value`, or -1; `hashes` holds each slot's hash of it. */
  #lookup(table: Int32Array, hashes: Int32Array, field: number, value: string): number {
    // A Map answered any key, a handle of null included (an adapter's absent cookie); so does this.
    if (typeof value !== 'string') return -1;
    const hash = hashOf(value);
    const mask = table.length - 1;
    if (mask < 0) return -1;
    for (let at = hash & mask; ; at = (at + 1) & mask) {
      const entry = table[at]!;
      if (entry === 0) return -1;
      const slot = entry - 1;
      if (hashes[slot] === hash && this.#string(slot, field) === value) return slot;
    }
  }

  /** Appends the slot to its user's list: the first slot's `userPrevious` is the last slot. */
  #linkUser(slot: number, userId: string): void {
    const hash = hashOf(userId);
    this.#userHash[slot] = hash;
    this.#userNext[slot] = -1;
    const first = this.#firstOfUser(userId);
    if (first === -1) {
      this.#userPrevious[slot] = slot;
      insertEntry(this.#byUser, hash, slot);
      return;
    }
    const last = this.#userPrevious[first]!;
    this.#userNext[last] = slot;
    this.#userPrevious[slot] = last;
    this.#userPrevious[first] = slot;
  }

  #unlinkUser(slot: number, userId: string): void {
    const first = this.#firstOfUser(userId);
    const next = this.#userNext[slot]!;
    const last = this.#userPrevious[first]!;
    if (slot === first) {
      if (next === -1) {
        removeEntry(this.#byUser, this.#userHash, this.#userHash[slot]!, slot);
        return;
      }
      this.#userPrevious[next] = last;
      replaceEntry(this.#byUser, this.#userHash[slot]!, slot, next);
      return;
    }
    const previous = this.#userPrevious[slot]!;
    this.#userNext[previous] = next;
    if (next === -1) this.#userPrevious[first] = previous;
    else this.#userPrevious[next] = previous;
  }

  #grow(): void {
    this.#resize(Math.max(1_024, this.#capacity * 2));
  }

  #resize(capacity: number): void {
    this.#capacity = capacity;
    this.#numbers = copyInto(new Float64Array(capacity * NUMBERS), this.#numbers);
    this.#handleHash = copyInto(new Int32Array(capacity), this.#handleHash);
    this.#userHash = copyInto(new Int32Array(capacity), this.#userHash);
    this.#hasUser = copyInto(new Uint8Array(capacity), this.#hasUser);
    this.#sizeClass = copyInto(new Int8Array(capacity), this.#sizeClass);
    this.#block = copyInto(new Int32Array(capacity), this.#block);
    this.#generation = copyInto(new Uint32Array(capacity), this.#generation);
    this.#previous = copyInto(new Int32Array(capacity), this.#previous);
    this.#next = copyInto(new Int32Array(capacity), this.#next);
    this.#userPrevious = copyInto(new Int32Array(capacity), this.#userPrevious);
    this.#userNext = copyInto(new Int32Array(capacity), this.#userNext);
    // Both tables at most half full: probes stay short, and a probe always ends at an empty entry.
    this.#byHandle = new Int32Array(capacity * 2);
    this.#byUser = new Int32Array(capacity * 2);
    for (let slot = this.#first; slot !== -1; slot = this.#next[slot]!) {
      insertEntry(this.#byHandle, this.#handleHash[slot]!, slot);
      if (this.#hasUser[slot] === 1 && this.#isFirstOfUser(slot))
        insertEntry(this.#byUser, this.#userHash[slot]!, slot);
    }
  }

  /** A user's first slot is the one whose predecessor's `userNext` is not itself. */
  #isFirstOfUser(slot: number): boolean {
    const previous = this.#userPrevious[slot]!;
    return previous === slot || this.#userNext[previous] !== slot;
  }
}

const NUMBERS = 10;
const HANDLE = 0;
const SECRET_HASH = 1;
const USER_ID = 2;
const USER_AGENT = 3;
const IP = 4;
const CSRF_SECRET = 5;
const SUCCESSOR = 6;
const DEVICE_KEY = 7;
const DEVICE_CHALLENGE = 8;
const DATA = 9;
const REMEMBERED_DEVICE_ID = 10;
/** The device facts as JSON, when they hold more than a string user agent and address. */
const DEVICE_JSON = 11;
const STRINGS = 12;
/** Per string, a little-endian u32: byte length × 4 + kind. */
const HEADER = STRINGS * 4;
const ABSENT = 0;
const LATIN1 = 1;
const UTF16 = 2;
/** A string with a code unit above 0xFF is kept as UTF-16 (exact, lone surrogates included); others as Latin-1. */
const WIDE = /[\u0100-\uffff]/;

function stringsOf(record: SessionRecord): (string | null)[] {
  const device = record.device;
  const simple =
    Object.keys(device).every((key) => key === 'userAgent' || key === 'ip') &&
    (device.userAgent === undefined || typeof device.userAgent === 'string') &&
    (device.ip === undefined || typeof device.ip === 'string');
  return [
    record.handle,
    record.secretHash,
    record.userId,
    simple ? (device.userAgent ?? null) : null,
    simple ? (device.ip ?? null) : null,
    record.csrfSecret,
    record.successor,
    record.deviceKey,
    record.deviceChallenge,
    record.data,
    record.rememberedDeviceId ?? null,
    simple ? null : JSON.stringify(device),
  ];
}

const nullable = (value: number): number | null => (Number.isNaN(value) ? null : value);

/** FNV-1a over the string's UTF-16 code units, as a signed 32-bit integer (what an Int32Array holds). */
function hashOf(value: string): number {
  let hash = 0x811c9dc5 | 0;
  for (let i = 0; i < value.length; i++) hash = Math.imul(hash ^ value.charCodeAt(i), 0x01000193);
  return hash;
}

function insertEntry(table: Int32Array, hash: number, slot: number): void {
  const mask = table.length - 1;
  let at = hash & mask;
  while (table[at] !== 0) at = (at + 1) & mask;
  table[at] = slot + 1;
}

function positionOf(table: Int32Array, hash: number, slot: number): number {
  const mask = table.length - 1;
  let at = hash & mask;
  while (table[at] !== slot + 1) at = (at + 1) & mask;
  return at;
}

function replaceEntry(table: Int32Array, hash: number, slot: number, by: number): void {
  table[positionOf(table, hash, slot)] = by + 1;
}

/** Linear probing's deletion without tombstones: later entries of the run move back into the gap. */
function removeEntry(table: Int32Array, hashes: Int32Array, hash: number, slot: number): void {
  const mask = table.length - 1;
  let gap = positionOf(table, hash, slot);
  for (let at = (gap + 1) & mask; table[at] !== 0; at = (at + 1) & mask) {
    const home = hashes[table[at]! - 1]! & mask;
    const stays = gap <= at ? gap < home && home <= at : gap < home || home <= at;
    if (stays) continue;
    table[gap] = table[at]!;
    gap = at;
  }
  table[gap] = 0;
}

function copyInto<T extends Float64Array | Int32Array | Uint32Array | Uint8Array | Int8Array>(
  target: T,
  source: T,
): T {
  target.set(source.subarray(0, Math.min(source.length, target.length)) as never);
  return target;
}
