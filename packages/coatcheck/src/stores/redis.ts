// Over ~250 lines on purpose: one class for the whole store contract on both Redis clients; the Lua
// scripts live in stores/redis/, remembered devices in stores/remembered.
import { SessionConfigError } from '../core/errors.js';
import type { RememberedDeviceStore } from '../core/remember/device.js';
import { expiresAt, type SessionPatch, type SessionRecord } from '../core/store/record.js';
import type {
  CreateOptions,
  DestroyAllOptions,
  Removed,
  RemovedSession,
  Renewal,
  ReplaceOptions,
  SessionStore,
  StoreCapabilities,
} from '../core/store/store.js';
import { isWrongType, type RedisClientLike, type RedisCommands, redisCommands } from './redis/client.js';
import {
  decodeRecord,
  encodeHeader,
  encodePatch,
  encodeRecord,
  HEADER,
  LIVE,
  layoutReadFrom,
  type RedisLayout,
  readFrom,
} from './redis/codec.js';
import { globLiteral } from './redis/scan.js';
import {
  CREATE,
  CREATE_INDEXED,
  DESTROY_CREATED_BEFORE,
  DESTROY_IF_USER,
  INDEX_ADD,
  INDEX_READ,
  RENEW,
  REPAIR,
  REPLACE,
  REPLACE_WITH_GRACE,
  SUPERSEDE,
  TAKE,
  UPDATE,
} from './redis/scripts.js';
import { redisRememberedDevices } from './remembered/redis.js';

export type { RedisClientLike } from './redis/client.js';

/** The TAKE script's answer: the removed session's user id and successor ('' for none), or null. */
function taken(reply: unknown): { userId: string; successor: string } | null {
  if (!Array.isArray(reply)) return null;
  return { userId: String(reply[0] ?? ''), successor: String(reply[1] ?? '') };
}

/**
 * Every command the store sends or runs inside its scripts: what a least-privilege ACL user needs
 * (`+hgetall +evalsha …`, keys `~<prefix>*`). ioredis's ready check also runs INFO, and Cluster
 * clients read the slot map (CLUSTER SLOTS or SHARDS).
 */
export const REDIS_ACL_COMMANDS: readonly string[] = [
  'get',
  'hgetall',
  'set',
  'setrange',
  'type',
  'evalsha',
  'eval',
  'zrem',
  'exists',
  'hset',
  'hdel',
  'hmget',
  'hget',
  'del',
  'pexpire',
  'pttl',
  'zadd',
  'zrange',
  'zremrangebyscore',
  // destroyAll only (the operator's kill switch), on each master.
  'scan',
];

/** Options of {@link RedisStore}. */
export interface RedisStoreOptions {
  /**
   * A connected node-redis v5 client or cluster, or an ioredis `Redis` or `Cluster`. The store
   * does not own it: `close()` leaves it open. Configure it to reconnect by itself and not to queue
   * commands while offline (see docs/operations-redis.md).
   */
  client: RedisClientLike;
  /** Prefix of every key; must not contain `{` or `}` (they are the Cluster hash tags). @default 'coatcheck:' */
  prefix?: string;
  /** Clock for TTLs and index pruning; the same clock as the engine's. @default Date.now */
  now?: () => number;
  /**
   * How a renewal is written. `'write'`: the changed fields written in place without a script
   * (SETRANGE of a string session's header, HSET of a packed hash's fields) together with PEXPIRE,
   * 3 commands per renewing request with its read. `'script'`: the UPDATE script, which reads the
   * session first (4 commands for a string session, 5 for a hash). Use `'script'` while instances
   * of 0.1.0 with periodic rotation on still run beside this release: their rotation pointers keep
   * the live marker, and a direct renewal racing their rotation would stretch such a pointer for
   * those instances (docs/operations-redis.md, "Upgrading").
   * @default 'write'
   */
  renewal?: 'write' | 'script';
  /**
   * How new sessions are stored. `'string'`: one Redis string per session, read with GET (a
   * header of the three fields a renewal changes, then every other field as one JSON list), so a
   * read hands the client one value to decode instead of a hash's 14 or more strings. `'packed'`:
   * a hash whose fields no script uses on its own (the secret's hash, times of creation, login and
   * step-up, device, CSRF secret, …) sit in one JSON field, `meta`. `'fields'`: a hash, one field
   * each, as 0.1.0 wrote them. This release reads, renews, rotates and updates all three, whichever
   * instance wrote them; a read of a layout other than the configured one costs a second command.
   * 0.1.0 reads only `'fields'`, so pass it while instances of 0.1.0 still run beside this release
   * (docs/operations-redis.md, "Upgrading").
   * @default 'string'
   */
  layout?: RedisLayout;
}

/**
 * The Redis store, standalone or Cluster, on node-redis or ioredis. One string per session
 * (`<prefix>s:{<handle>}`, or a hash in the other layouts, see `layout`) with a TTL of min(idle,
 * absolute) expiry; one sorted set per user (`<prefix>u:{<userId>}`, handle scored by absolute
 * expiry). Writes are Lua scripts on one key, reads one GET, renewals one SETRANGE and PEXPIRE;
 * only the kill switch (`destroyAll`) and `health` walk the keyspace (SCAN), and nothing runs KEYS.
 *
 * @example
 * import { createClient } from 'redis';
 * const client = createClient({ url: process.env.REDIS_URL, disableOfflineQueue: true });
 * await client.connect();
 * const store = new RedisStore({ client });
 */
export class RedisStore implements SessionStore {
  readonly capabilities: StoreCapabilities = { userIndex: true, atomicUpdate: true, rememberedDevices: true };
  /** The prefix of every key this store writes (`prefix` option, default `coatcheck:`). */
  readonly prefix: string;
  readonly rememberedDevices: RememberedDeviceStore;
  readonly #redis: RedisCommands;
  readonly #now: () => number;
  readonly #renewByScript: boolean;
  readonly #layout: RedisLayout;

  constructor(options: RedisStoreOptions) {
    if (typeof options !== 'object' || options === null) {
      throw new SessionConfigError('client', 'RedisStore needs { client }');
    }
    this.#redis = redisCommands(options.client);
    const prefix = options.prefix ?? 'coatcheck:';
    if (typeof prefix !== 'string' || /[{}]/.test(prefix)) {
      throw new SessionConfigError('prefix', 'must be a string without { or }');
    }
    this.prefix = prefix;
    this.#now = options.now ?? Date.now;
    if (options.renewal !== undefined && options.renewal !== 'write' && options.renewal !== 'script') {
      throw new SessionConfigError('renewal', "must be 'write' or 'script'");
    }
    this.#renewByScript = options.renewal === 'script';
    const layout = options.layout ?? 'string';
    if (layout !== 'string' && layout !== 'packed' && layout !== 'fields') {
      throw new SessionConfigError('layout', "must be 'string', 'packed' or 'fields'");
    }
    this.#layout = layout;
    this.rememberedDevices = redisRememberedDevices(this.#redis, prefix, this.#now);
  }

  /** Key of a session's hash; the handle is its hash tag. */
  sessionKey(handle: string): string {
    return `${this.prefix}s:{${handle}}`;
  }

  /** Key of a user's index; the user id is its hash tag. */
  userKey(userId: string): string {
    return `${this.prefix}u:{${userId}}`;
  }

  /**
   * One GET (the string layout) or HGETALL (a hash layout), as the configured layout stores a live
   * session; the other type answers WRONGTYPE and costs a second read: a rotation's pointer in its
   * grace period (each layout's pointer has the other type), or a session another layout wrote. A
   * rotation may change the key's type between two reads once more (a session of the other layout
   * becomes its pointer, of this layout's type), so the reads alternate up to three times.
   */
  get(handle: string): Promise<SessionRecord | null> {
    return this.#read(handle, this.#layout !== 'string', 3);
  }

  #read(handle: string, hash: boolean, attempts: number): Promise<SessionRecord | null> {
    const key = this.sessionKey(handle);
    return (hash ? this.#redis.hgetall(key) : this.#redis.get(key)).then(
      (reply) => decodeRecord(handle, reply),
      (error: unknown) => {
        if (!isWrongType(error) || attempts <= 1) throw error;
        return this.#read(handle, !hash, attempts - 1);
      },
    );
  }

  async create(record: SessionRecord, options: CreateOptions = {}): Promise<boolean> {
    const key = this.sessionKey(record.handle);
    const variant = options.randomHandle ? 'random' : 'checked';
    if (this.#redis.cluster || record.userId === null) {
      if (Number(await this.#redis.run(CREATE[variant], [key], this.#createArgs(record))) !== 1) return false;
      await this.#indexNew(record);
      return true;
    }
    const keys = [key, this.userKey(record.userId)];
    return Number(await this.#redis.run(CREATE_INDEXED[variant], keys, this.#indexedArgs(record))) === 1;
  }

  async update(handle: string, patch: SessionPatch): Promise<SessionRecord | null> {
    const meta = patch.meta ?? {};
    const movesUser = 'userId' in meta && meta.userId !== undefined;
    const before = movesUser ? await this.get(handle) : null;
    if (movesUser && !before) return null;
    // The client already holds this session's cookie: the new user's index must list it before
    // the session is theirs, or a crash in between would hide it from "sign out everywhere".
    if (before && meta.userId)
      await this.#index(meta.userId, meta.absoluteExpiresAt ?? before.absoluteExpiresAt, handle);

    const { remove, set, packed } = encodePatch(patch);
    const reply = await this.#redis.run(
      UPDATE,
      [this.sessionKey(handle)],
      [String(this.#now()), packed, String(remove.length), ...remove, ...set],
    );
    if (reply === null || reply === undefined) return null;
    const next = decodeRecord(handle, reply);
    if (!next || next.successor !== null) return next;
    // Indexed again after the write: a listing that healed the index in between cannot hide the session.
    if (next.userId !== null && (movesUser || 'absoluteExpiresAt' in meta)) {
      await this.#index(next.userId, next.absoluteExpiresAt, handle);
    }
    if (before?.userId && before.userId !== next.userId) {
      await this.#redis.zrem(this.userKey(before.userId), [handle]);
    }
    return next;
  }

  /**
   * A renewal of a session in the string layout: SETRANGE of its header (the two times and the
   * version, codec.ts HEADER) and PEXPIRE to min(idle, absolute) expiry, sent together (3 commands
   * with the request's read). A live session is longer than its header, so a longer string means it
   * renewed one. A string no longer than the header means the session was gone and SETRANGE made a
   * stub: REPAIR, one script, deletes it (S29). When SETRANGE met a hash, a rotation won the race (a
   * string session's pointer is a hash): every renewal racing it fails the same way, the pointer
   * gets its TTL back and is answered as `update` would.
   * A packed session is renewed the same way with HSET of the same three fields: the hash of a live
   * session already has every one of them, so HSET adding none means it renewed one, and its
   * pointer is a string. A session written field by field (0.1.0, or `layout: 'fields'`) is renewed
   * by the RENEW script with the live marker ({@link LIVE}), which does the same in one atomic step:
   * its rotation's pointer stays a hash, on which only the missing marker shows. With
   * `renewal: 'script'`, or for a record this store did not read (whose type is unknown), `update`
   * itself.
   */
  async renew(record: SessionRecord, renewal: Renewal): Promise<SessionRecord | null> {
    // A write in place is right only for the type the record was read from; a record built
    // elsewhere is renewed by the UPDATE script, which reads the key first.
    const layout = layoutReadFrom(record);
    if (this.#renewByScript || layout === undefined) return this.update(record.handle, { meta: renewal });
    const key = this.sessionKey(record.handle);
    const version = record.version + 1;
    const ttl = Math.ceil(Math.min(renewal.idleExpiresAt, record.absoluteExpiresAt) - this.#now());
    const renewed = () => readFrom({ ...record, ...renewal, version }, layout);
    if (layout === 'string') {
      const header = encodeHeader(renewal.lastSeenAt, renewal.idleExpiresAt, version);
      const length = await this.#redis.setrangeWithTtl(key, header, ttl);
      if (length === 'wrong type') return this.#pointerAfterRace(record.handle, true);
      return length > HEADER ? renewed() : this.#repair(record.handle, ttl);
    }
    const pairs = [
      'lastSeenAt',
      String(renewal.lastSeenAt),
      'idleExpiresAt',
      String(renewal.idleExpiresAt),
      'version',
      String(version),
    ];
    if (layout === 'fields' || this.#layout === 'fields') {
      const reply = await this.#redis.run(
        RENEW,
        [key],
        [String(ttl), String(this.#now()), ...pairs, LIVE, '1'],
      );
      if (!Array.isArray(reply) && Number(reply) === 1) return renewed();
      return decodeRecord(record.handle, reply);
    }
    const added = await this.#redis.hsetWithTtl(key, pairs, ttl);
    if (added === 0) return renewed();
    if (added !== 'wrong type') return this.#repair(record.handle, ttl);
    return this.#pointerAfterRace(record.handle, false);
  }

  /** A renewal's write did not land on a live session (a stub of a gone key, a hash pointer): REPAIR. */
  async #repair(handle: string, ttl: number): Promise<SessionRecord | null> {
    const reply = await this.#redis.run(
      REPAIR,
      [this.sessionKey(handle)],
      [String(ttl), String(this.#now())],
    );
    return decodeRecord(handle, reply);
  }

  /**
   * A renewal's PEXPIRE stretched a rotation's pointer: its TTL back to its own expiry. The pointer
   * has the other type than the session the renewal wrote to (`hash`: a string session's), so it is
   * read with that type's command first.
   */
  async #pointerAfterRace(handle: string, hash: boolean): Promise<SessionRecord | null> {
    const pointer = await this.#read(handle, hash, 3);
    if (pointer)
      await this.#redis.pexpire(this.sessionKey(handle), Math.ceil(expiresAt(pointer) - this.#now()));
    return pointer;
  }

  /**
   * Rotation. On a standalone server one script removes the old session and creates the new one.
   * In a Cluster the two keys live in different slots, so the old session is removed first and the
   * new one created after: a failure in between fails closed (the user signs in again), and never
   * leaves both tokens alive. Returns false when the old session is gone (or the new handle is
   * taken; in a Cluster the old session is then already removed). With a grace period the old
   * record stays as a pointer (it keeps its index entry until it expires); in a Cluster the new
   * record is then created before the old one becomes a pointer to it.
   */
  async replace(oldHandle: string, next: SessionRecord, options: ReplaceOptions = {}): Promise<boolean> {
    const variant = options.randomHandle ? 'random' : 'checked';
    if (options.graceUntil !== undefined) {
      return this.#replaceWithGrace(oldHandle, next, options.graceUntil, variant);
    }
    const oldKey = this.sessionKey(oldHandle);
    const newKey = this.sessionKey(next.handle);
    if (this.#redis.cluster) {
      const old = taken(await this.#redis.run(TAKE, [oldKey], ['current']));
      if (!old) return false;
      const [, created] = await Promise.all([
        this.#unindex(old.userId, oldHandle),
        this.#redis.run(CREATE[variant], [newKey], this.#createArgs(next)),
      ]);
      if (Number(created) !== 1) return false;
      await this.#indexNew(next);
      return true;
    }
    const keys = [oldKey, newKey, ...(next.userId === null ? [] : [this.userKey(next.userId)])];
    const oldUserId = await this.#redis.run(REPLACE[variant], keys, this.#indexedArgs(next));
    if (oldUserId === null || oldUserId === undefined) return false;
    await this.#unindex(String(oldUserId), oldHandle);
    return true;
  }

  async #replaceWithGrace(
    oldHandle: string,
    next: SessionRecord,
    graceUntil: number,
    variant: 'checked' | 'random',
  ): Promise<boolean> {
    const oldKey = this.sessionKey(oldHandle);
    const pointer = [next.handle, String(Math.round(graceUntil)), String(this.#now())];
    if (this.#redis.cluster) {
      // The new record comes first: the pointer never names a handle that does not exist yet (a
      // request between the two steps would find no successor) or that belongs to another session
      // (a taken `genid` handle). A rotation that then loses the claim on the old record removes its
      // new record, whose token nobody has been given.
      const newKey = this.sessionKey(next.handle);
      if (Number(await this.#redis.run(CREATE[variant], [newKey], this.#createArgs(next))) !== 1)
        return false;
      if (Number(await this.#redis.run(SUPERSEDE, [oldKey], pointer)) !== 1) {
        await this.#redis.run(TAKE, [newKey], []).catch(() => {});
        return false;
      }
      await this.#indexNew(next);
      return true;
    }
    const keys = [
      oldKey,
      this.sessionKey(next.handle),
      ...(next.userId === null ? [] : [this.userKey(next.userId)]),
    ];
    const [ttl, ...pairs] = this.#createArgs(next);
    const args = [...pointer, ttl!, String(next.absoluteExpiresAt), ...pairs];
    return Number(await this.#redis.run(REPLACE_WITH_GRACE[variant], keys, args)) === 1;
  }

  async destroy(handle: string): Promise<Removed | null> {
    // The user's index keeps the handle until a listing or a revocation finds the session gone
    // and removes it, or its absolute expiry passes: a logout is then one script.
    const removed = taken(await this.#redis.run(TAKE, [this.sessionKey(handle)], []));
    if (!removed) return null;
    return { successor: removed.successor || null };
  }

  /**
   * The user's sessions: the index (members past their absolute expiry dropped on the way), then
   * each session fetched. Members whose session is gone or belongs to someone else are removed.
   */
  async listByUser(userId: string): Promise<SessionRecord[]> {
    const handles = await this.#indexed(userId);
    // Sent together: node-redis and ioredis pipeline commands issued in the same tick, and in a
    // Cluster each goes to its own slot's node (MGET across slots would be refused).
    const records = await Promise.all(handles.map((handle) => this.get(handle)));
    const live: SessionRecord[] = [];
    const stale: string[] = [];
    records.forEach((record, i) => {
      if (record && record.userId === userId) live.push(record);
      else stale.push(handles[i]!);
    });
    await this.#redis.zrem(this.userKey(userId), stale);
    return live;
  }

  /** O(that user's sessions): each indexed session is removed only if it still belongs to the user. */
  async destroyByUser(userId: string, options: { exceptHandle?: string } = {}): Promise<string[]> {
    const handles = (await this.#indexed(userId)).filter((handle) => handle !== options.exceptHandle);
    const removed = await Promise.all(
      handles.map((handle) => this.#redis.run(DESTROY_IF_USER, [this.sessionKey(handle)], [userId])),
    );
    await this.#redis.zrem(this.userKey(userId), handles);
    return handles.filter((_, i) => Number(removed[i]) === 1);
  }

  /**
   * The kill switch: SCANs this prefix's session keys on every master (the only operation that
   * walks the keyspace; an operator's command, never a request's) and deletes each one created
   * before `createdBefore`, one script per key, then drops the handles from their users' indexes.
   */
  async destroyAll(options: DestroyAllOptions = {}): Promise<RemovedSession[]> {
    const before = options.createdBefore === undefined ? '' : String(options.createdBefore);
    const head = this.sessionKey('');
    const pattern = `${globLiteral(head.slice(0, -1))}*}`;
    const removed: RemovedSession[] = [];
    for await (const keys of this.#redis.scan(pattern)) {
      const handles = keys.map((key) => key.slice(head.length - 1, -1));
      const replies = await Promise.all(
        handles.map((handle) => this.#redis.run(DESTROY_CREATED_BEFORE, [this.sessionKey(handle)], [before])),
      );
      replies.forEach((reply, i) => {
        if (reply === null || reply === undefined) return;
        removed.push({ handle: handles[i]!, userId: String(reply) || null });
      });
    }
    await Promise.all(removed.map((session) => this.#unindex(session.userId ?? '', session.handle)));
    return removed;
  }

  /**
   * Always 0: Redis removes each session itself when its TTL runs out, and user indexes expire with
   * their longest-lived member and are pruned whenever they are read or added to. Nothing here
   * scans the keyspace.
   */
  async pruneExpired(_now: number): Promise<number> {
    return 0;
  }

  /** The client belongs to the application, which closes it. */
  async close(): Promise<void> {}

  /** CREATE_INDEXED / REPLACE arguments: the index entry, then CREATE's. */
  #indexedArgs(record: SessionRecord): string[] {
    return [
      String(record.absoluteExpiresAt),
      record.handle,
      String(this.#now()),
      ...this.#createArgs(record),
    ];
  }

  #createArgs(record: SessionRecord): string[] {
    return [String(Math.ceil(expiresAt(record) - this.#now())), ...encodeRecord(record, this.#layout)];
  }

  // The index entry is written after the session: the token has not reached anyone yet (the
  // engine commits before it responds), so a crash in between leaves only an unusable orphan that
  // expires, and a listing that heals the index never removes a live session's entry.
  async #indexNew(record: SessionRecord): Promise<void> {
    if (record.userId === null) return;
    try {
      await this.#index(record.userId, record.absoluteExpiresAt, record.handle);
    } catch (error) {
      // An unindexed session would escape "sign out everywhere": remove it and fail the request.
      await this.#redis.run(TAKE, [this.sessionKey(record.handle)], []).catch(() => {});
      throw error;
    }
  }

  async #index(userId: string, absoluteExpiresAt: number, handle: string): Promise<void> {
    await this.#redis.run(
      INDEX_ADD,
      [this.userKey(userId)],
      [String(absoluteExpiresAt), handle, String(this.#now())],
    );
  }

  async #unindex(userId: string, handle: string): Promise<void> {
    if (userId !== '') await this.#redis.zrem(this.userKey(userId), [handle]);
  }

  async #indexed(userId: string): Promise<string[]> {
    const reply = await this.#redis.run(INDEX_READ, [this.userKey(userId)], [String(this.#now())]);
    return Array.isArray(reply) ? reply.map(String) : [];
  }
}
