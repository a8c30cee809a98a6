import { SessionConfigError } from '../../core/errors.js';
import { clusterRediscovery } from './rediscover.js';
import { scanIoredisKeys, scanNodeRedisKeys } from './scan.js';
import type { RedisScript } from './scripts.js';

type AnyFunction = (...args: never[]) => unknown;

/**
 * A node-redis v5 client or cluster (`createClient()`, `createCluster()`, `createSentinel()`), or an
 * ioredis `Redis` or `Cluster`. Recognised by shape, so neither driver is imported.
 */
export type RedisClientLike =
  | {
      /** node-redis v5: HGETALL. */
      hGetAll: AnyFunction;
      /** node-redis v5: EVALSHA. */
      evalSha: AnyFunction;
      /** node-redis v5: EVAL (the fallback on NOSCRIPT). */
      eval: AnyFunction;
      /** node-redis v5: ZREM. */
      zRem: AnyFunction;
    }
  | {
      /** ioredis: HGETALL. */
      hgetall: AnyFunction;
      /** ioredis: EVALSHA. */
      evalsha: AnyFunction;
      /** ioredis: EVAL (the fallback on NOSCRIPT). */
      eval: AnyFunction;
      /** ioredis: ZREM. */
      zrem: AnyFunction;
    };

interface NodeRedisLike {
  hGetAll(key: string): Promise<unknown>;
  get(key: string): Promise<unknown>;
  hSet(key: string, pairs: string[]): Promise<unknown>;
  setRange(key: string, offset: number, value: string): Promise<unknown>;
  pExpire(key: string, ms: number): Promise<unknown>;
  withTypeMapping?(mapping: Record<number, unknown>): NodeRedisLike;
  readonly clientSideCache?: unknown;
  evalSha(sha: string, options: { keys: string[]; arguments: string[] }): Promise<unknown>;
  eval(script: string, options: { keys: string[]; arguments: string[] }): Promise<unknown>;
  zRem(key: string, members: string[]): Promise<unknown>;
  masters?: unknown;
}

interface IoRedisLike {
  hgetall(key: string): Promise<unknown>;
  get(key: string): Promise<unknown>;
  hset(key: string, ...pairs: string[]): Promise<unknown>;
  setrange(key: string, offset: number, value: string): Promise<unknown>;
  pexpire(key: string, ms: number): Promise<unknown>;
  evalsha(sha: string, numKeys: number, ...args: string[]): Promise<unknown>;
  eval(script: string, numKeys: number, ...args: string[]): Promise<unknown>;
  zrem(key: string, ...members: string[]): Promise<unknown>;
  isCluster?: boolean;
}

interface Emitter {
  on?(event: 'error', listener: (error: unknown) => void): unknown;
  listenerCount?(event: 'error'): number;
}

/** The few operations the store needs, the same for both drivers. */
export interface RedisCommands {
  /** Whether keys of different slots may not meet in one command (Redis Cluster). */
  readonly cluster: boolean;
  hgetall(key: string): Promise<unknown>;
  /** GET: the text of a string key (a session in the string layout, a packed one's pointer), or null. */
  get(key: string): Promise<unknown>;
  /**
   * HSET of the pairs and PEXPIRE, sent together without a script (one round trip). Resolves to
   * the number of fields HSET added, or 'wrong type' when the key holds a string (HSET refused it
   * with WRONGTYPE; PEXPIRE still ran).
   */
  hsetWithTtl(key: string, pairs: string[], ttlMs: number): Promise<number | 'wrong type'>;
  /**
   * SETRANGE of the text at offset 0 and PEXPIRE, sent together without a script (one round
   * trip). Resolves to the string's new length, or 'wrong type' when the key holds a hash
   * (SETRANGE refused it with WRONGTYPE; PEXPIRE still ran).
   */
  setrangeWithTtl(key: string, text: string, ttlMs: number): Promise<number | 'wrong type'>;
  pexpire(key: string, ttlMs: number): Promise<void>;
  run(script: RedisScript, keys: string[], args: string[]): Promise<unknown>;
  zrem(key: string, members: string[]): Promise<void>;
  /** Batches of the keys matching a SCAN pattern, on every master. */
  scan(pattern: string): AsyncIterable<string[]>;
}

const isNoScript = (error: unknown) => /^NOSCRIPT/.test(String((error as { message?: unknown })?.message));

/** The server's answer to a hash command on a string key (a rotation's pointer). */
export const isWrongType = (error: unknown) =>
  /^WRONGTYPE/.test(String((error as { message?: unknown })?.message));

/** A write's answer when PEXPIRE was sent beside it: its number, or 'wrong type' for WRONGTYPE. */
async function writeAnswer(
  write: Promise<unknown>,
  pexpire: Promise<unknown>,
): Promise<number | 'wrong type'> {
  const [written, expired] = await Promise.allSettled([write, pexpire]);
  if (expired.status === 'rejected') throw expired.reason;
  if (written.status === 'fulfilled') return Number(written.value);
  if (isWrongType(written.reason)) return 'wrong type';
  throw written.reason;
}

function withFallback(
  evalSha: (sha: string) => Promise<unknown>,
  evalSource: (source: string) => Promise<unknown>,
  script: RedisScript,
): Promise<unknown> {
  // The script cache is per server and empties at restart or failover: load it again by EVAL.
  return evalSha(script.sha).catch((error: unknown) => {
    if (isNoScript(error)) return evalSource(script.source);
    throw error;
  });
}

/**
 * RESP's map type (`%`, 37). Mapped to Array, node-redis hands HGETALL's reply over as the flat
 * field, value list it read, instead of building an object of it on every read. Not with a
 * client-side cache, which node-redis skips for any type mapping but the client's own.
 */
const RESP_MAP = 37;

function fromNodeRedis(client: NodeRedisLike): RedisCommands {
  const rediscover = clusterRediscovery(client);
  const flat = client.clientSideCache ? client : (client.withTypeMapping?.({ [RESP_MAP]: Array }) ?? client);
  // Only a Cluster's commands are watched: elsewhere a command's promise is handed on as it is.
  // WRONGTYPE is an answer from a node that works.
  const watched = rediscover
    ? <T>(command: Promise<T>): Promise<T> =>
        command.catch((error: unknown) => {
          if (!isWrongType(error)) rediscover();
          throw error;
        })
    : <T>(command: Promise<T>): Promise<T> => command;
  return {
    cluster: 'masters' in client,
    hgetall: (key) => watched(flat.hGetAll(key)),
    get: (key) => watched(client.get(key)),
    hsetWithTtl: (key, pairs, ttlMs) =>
      writeAnswer(watched(client.hSet(key, pairs)), watched(client.pExpire(key, ttlMs))),
    setrangeWithTtl: (key, text, ttlMs) =>
      writeAnswer(watched(client.setRange(key, 0, text)), watched(client.pExpire(key, ttlMs))),
    pexpire: async (key, ttlMs) => {
      await watched(client.pExpire(key, ttlMs));
    },
    run: (script, keys, args) =>
      watched(
        withFallback(
          (sha) => client.evalSha(sha, { keys, arguments: args }),
          (source) => client.eval(source, { keys, arguments: args }),
          script,
        ),
      ),
    zrem: async (key, members) => {
      if (members.length) await watched(client.zRem(key, members));
    },
    scan: (pattern) => scanNodeRedisKeys(client, pattern),
  };
}

function fromIoredis(client: IoRedisLike): RedisCommands {
  return {
    cluster: client.isCluster === true,
    hgetall: (key) => client.hgetall(key),
    get: (key) => client.get(key),
    hsetWithTtl: (key, pairs, ttlMs) => writeAnswer(client.hset(key, ...pairs), client.pexpire(key, ttlMs)),
    setrangeWithTtl: (key, text, ttlMs) =>
      writeAnswer(client.setrange(key, 0, text), client.pexpire(key, ttlMs)),
    pexpire: async (key, ttlMs) => {
      await client.pexpire(key, ttlMs);
    },
    run: (script, keys, args) =>
      withFallback(
        (sha) => client.evalsha(sha, keys.length, ...keys, ...args),
        (source) => client.eval(source, keys.length, ...keys, ...args),
        script,
      ),
    zrem: async (key, members) => {
      if (members.length) await client.zrem(key, ...members);
    },
    scan: (pattern) => scanIoredisKeys(client, pattern),
  };
}

/** Wraps whichever driver was given; throws SessionConfigError naming `client` for anything else. */
export function redisCommands(client: unknown): RedisCommands {
  const candidate = client as Partial<NodeRedisLike & IoRedisLike> & Emitter;
  let commands: RedisCommands;
  if (typeof candidate?.hGetAll === 'function' && typeof candidate.evalSha === 'function') {
    commands = fromNodeRedis(candidate as NodeRedisLike);
  } else if (typeof candidate?.hgetall === 'function' && typeof candidate.evalsha === 'function') {
    commands = fromIoredis(candidate as IoRedisLike);
  } else {
    throw new SessionConfigError('client', 'must be a node-redis (v5) or ioredis client or cluster');
  }
  // node-redis emits 'error' on every lost connection, and an emitter without a listener would
  // crash the process; the failed calls already surface as SessionStoreError (503, fail closed).
  if (typeof candidate.on === 'function' && candidate.listenerCount?.('error') === 0) {
    candidate.on('error', () => {});
  }
  return commands;
}
