/**
 * Bulk insertion of stored sessions for the scale runs: through the store's own API (SQLite, in
 * transactions), or one session written by the store and then copied inside the database with a new
 * handle and user per copy (Postgres: `INSERT … SELECT generate_series`; Redis: COPY in a Lua loop,
 * with the user index entry the store would write). Seeded sessions belong to other users and never
 * authenticate.
 */
import type { SessionRecord } from '../../packages/coatcheck/src/core/store/record.js';
import type { SessionStore } from '../../packages/coatcheck/src/core/store/store.js';

const HOUR = 3_600_000;

/** A stored session that no cookie can name (its secret hash matches no secret). */
export function seedRecord(handle: string, userId: string | null, at = Date.now()): SessionRecord {
  return {
    handle,
    secretHash: 'A'.repeat(43),
    userId,
    createdAt: at,
    authAt: userId ? at : null,
    lastSeenAt: at,
    idleExpiresAt: at + HOUR,
    absoluteExpiresAt: at + 12 * HOUR,
    version: 1,
    device: { userAgent: 'coatcheck-bench', ip: '127.0.0.1' },
    cookieMaxAgeMs: null,
    csrfSecret: null,
    aal: userId ? 1 : 0,
    stepUpAt: null,
    rotatedAt: at,
    successor: null,
    deviceKey: null,
    deviceChallenge: null,
    data: '{"role":"member","cart":[1,2,3]}',
  };
}

/** Handle of the i-th seeded session: fixed width, base64url, 20 characters. */
export const seedHandle = (i: number) => `seed${i.toString(36).padStart(16, '0')}`;
/** Seeded sessions spread over many users, four sessions each. */
export const seedUser = (i: number) => `other${Math.floor(i / 4)}`;

/** Inserts seeded sessions [from, to) through `create`, `inFlight` at a time. */
export async function seedThroughApi(store: SessionStore, from: number, to: number, inFlight = 2_000) {
  for (let start = from; start < to; start += inFlight) {
    const end = Math.min(to, start + inFlight);
    const batch: Promise<boolean>[] = [];
    for (let i = start; i < end; i++) batch.push(store.create(seedRecord(seedHandle(i), seedUser(i))));
    const created = await Promise.all(batch);
    if (created.some((ok) => !ok)) throw new Error('a seeded handle was already taken');
  }
}

interface SqliteLike extends SessionStore {
  db: { transaction<F extends (...args: never[]) => unknown>(run: F): F };
}

/** SQLite: `create` runs its statement synchronously, so batches of calls share one transaction. */
export async function seedSqlite(store: SessionStore, from: number, to: number): Promise<void> {
  const { db } = store as SqliteLike;
  for (let start = from; start < to; start += 50_000) {
    const end = Math.min(to, start + 50_000);
    const pending: Promise<boolean>[] = [];
    db.transaction(() => {
      for (let i = start; i < end; i++) pending.push(store.create(seedRecord(seedHandle(i), seedUser(i))));
    })();
    await Promise.all(pending);
  }
}

interface PostgresLike extends SessionStore {
  pool: { query(text: string, values?: unknown[]): Promise<{ rows: Record<string, unknown>[] }> };
  tableName: string;
}

/**
 * Postgres: one row written by the store, then copied server-side with a new handle and user per
 * copy. Every other column keeps the store's own encoding. Falls back to the store API when the
 * table does not have the expected `handle` and `user_id` columns.
 */
export async function seedPostgres(store: SessionStore, from: number, to: number): Promise<void> {
  const { pool, tableName } = store as PostgresLike;
  const template = seedHandle(-1 >>> 0);
  await store.create(seedRecord(template, 'template-user'));
  const [schema, table] = tableName.split('.').map((part) => part.replaceAll('"', '')) as [string, string];
  const { rows } = await pool.query(
    'SELECT column_name FROM information_schema.columns WHERE table_schema = $1 AND table_name = $2 ORDER BY ordinal_position',
    [schema, table],
  );
  const columns = rows.map((row) => String(row.column_name));
  if (!columns.includes('handle') || !columns.includes('user_id')) {
    await store.destroy(template);
    await seedThroughApi(store, from, to, 200);
    return;
  }
  const select = columns.map((column) => {
    if (column === 'handle') return `'seed' || lpad(to_hex(i), 16, '0')`;
    if (column === 'user_id') return `'other' || (i / 4)`;
    return `t."${column}"`;
  });
  for (let start = from; start < to; start += 250_000) {
    const end = Math.min(to, start + 250_000);
    await pool.query(
      `INSERT INTO ${tableName} (${columns.map((c) => `"${c}"`).join(', ')})
       SELECT ${select.join(', ')} FROM ${tableName} t, generate_series($1::bigint, $2::bigint) i
       WHERE t.handle = $3`,
      [start, end - 1, template],
    );
  }
  await store.destroy(template);
  await pool.query(`ANALYZE ${tableName}`);
}

interface RedisLike extends SessionStore {
  sessionKey(handle: string): string;
  userKey(userId: string): string;
}

interface EvalClient {
  type(key: string): Promise<string>;
  get(key: string): Promise<string | null>;
  hGetAll(key: string): Promise<Record<string, string>>;
  zScore(key: string, member: string): Promise<number | null>;
  pTTL(key: string): Promise<number>;
  eval(script: string, options: { keys: string[]; arguments: string[] }): Promise<unknown>;
}

// Standalone Redis only: the copies' keys are built inside the script. A string session (the
// default layout) is copied with its user id replaced in its JSON text (ARGV[7] the template's
// '"userId","<user>"' text); a hash with the user field (ARGV[7]) set.
const COPY_SESSIONS = `
local from, to = tonumber(ARGV[1]), tonumber(ARGV[2])
local text = redis.call('TYPE', KEYS[1]).ok == 'string' and redis.call('GET', KEYS[1])
local ttl = redis.call('PTTL', KEYS[1])
for i = from, to do
  local handle = 'seed' .. string.format('%016x', i)
  local user = 'other' .. math.floor(i / 4)
  local key = ARGV[3] .. handle .. ARGV[4]
  if text then
    local at = string.find(text, ARGV[7], 1, true)
    redis.call('SET', key, string.sub(text, 1, at - 1) .. '"userId","' .. user .. '"' .. string.sub(text, at + #ARGV[7]), 'PX', ttl)
  else
    redis.call('COPY', KEYS[1], key)
    redis.call('HSET', key, ARGV[7], user)
  end
  local index = ARGV[5] .. user .. ARGV[6]
  redis.call('ZADD', index, ARGV[8], handle)
  redis.call('PEXPIRE', index, ARGV[9])
end
return to - from + 1`;

/**
 * Redis: the store writes one session (string or hash, and a user index entry); the script copies
 * it (TTL included) under new handles with another user, and adds the index entry with
 * the template's score and TTL. Falls back to the store API when the store does not expose its key
 * names.
 */
export async function seedRedis(store: SessionStore, client: EvalClient, from: number, to: number) {
  const redis = store as RedisLike;
  if (typeof redis.sessionKey !== 'function' || typeof redis.userKey !== 'function') {
    await seedThroughApi(store, from, to);
    return;
  }
  const template = seedHandle(-1 >>> 0);
  const templateUser = 'template-user';
  await store.create(seedRecord(template, templateUser));
  const sessionKey = redis.sessionKey(template);
  const userKey = redis.userKey(templateUser);
  let userField: string | undefined;
  if ((await client.type(sessionKey)) === 'string') {
    const text = await client.get(sessionKey);
    userField = `"userId",${JSON.stringify(templateUser)}`;
    if (!text?.includes(userField)) userField = undefined;
  } else {
    const fields = await client.hGetAll(sessionKey);
    userField = Object.keys(fields).find((field) => fields[field] === templateUser);
  }
  const score = await client.zScore(userKey, template);
  const userTtl = await client.pTTL(userKey);
  if (!userField || score === null || userTtl <= 0) throw new Error('unexpected Redis layout for seeding');
  const [sessionPrefix, sessionSuffix] = redis.sessionKey('\u0000').split('\u0000') as [string, string];
  const [userPrefix, userSuffix] = redis.userKey('\u0000').split('\u0000') as [string, string];
  for (let start = from; start < to; start += 20_000) {
    const end = Math.min(to, start + 20_000) - 1;
    await client.eval(COPY_SESSIONS, {
      keys: [sessionKey],
      arguments: [
        String(start),
        String(end),
        sessionPrefix,
        sessionSuffix,
        userPrefix,
        userSuffix,
        userField,
        String(score),
        String(userTtl),
      ],
    });
  }
  await store.destroy(template);
}
