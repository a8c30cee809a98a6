import { globLiteral, scanNodeRedisKeys } from '../stores/redis/scan.js';
import type { OpenedStore } from './open-store.js';

/** What `coatcheck health` reports. Counts are of records in the store at `time`. */
export interface StoreHealth {
  store: OpenedStore['kind'];
  /** The table layout version recorded in `coatcheck_schema`; null for Redis, which has none. */
  schemaVersion: number | null;
  /** Every stored record, expired and superseded (rotation grace) ones included. */
  records: number;
  /** Sessions that still work: not expired and not replaced by a rotation. Null where not counted. */
  live: number | null;
  /** Live sessions with a user. */
  signedIn: number | null;
  /** Records past their expiry, waiting for `prune`. Redis drops them itself: always 0 there. */
  expired: number;
  /** Users with at least one live session (Redis: users with an index). */
  users: number;
  /** UTC ISO-8601. */
  time: string;
}

interface Counts {
  records: number;
  live: number;
  signed_in: number;
  expired: number;
  users: number;
}

const COUNTS = (table: string) => `SELECT
  count(*) AS records,
  count(*) FILTER (WHERE expires_at > $1 AND successor IS NULL) AS live,
  count(*) FILTER (WHERE expires_at > $1 AND successor IS NULL AND user_id IS NOT NULL) AS signed_in,
  count(*) FILTER (WHERE expires_at <= $1) AS expired,
  count(DISTINCT user_id) FILTER (WHERE expires_at > $1 AND successor IS NULL) AS users
  FROM ${table}`;

/** The store's schema version and session counts, read with plain queries (SCAN on Redis). */
export async function storeHealth(opened: OpenedStore, now: number): Promise<StoreHealth> {
  const time = new Date(now).toISOString();
  if (opened.kind === 'sqlite') {
    const { db, table } = opened;
    const version = db
      .prepare<[string], { version: number }>('SELECT version FROM coatcheck_schema WHERE name = ?')
      .get(table);
    // SQLite has FILTER on aggregates since 3.30; a named parameter stands for $1.
    const counts = db
      .prepare<[{ now: number }], Counts>(COUNTS(table).replaceAll('$1', '@now'))
      .get({ now })!;
    return { store: 'sqlite', schemaVersion: version?.version ?? null, ...shape(counts), time };
  }
  if (opened.kind === 'postgres') {
    const { pool, schema, table } = opened;
    const quoted = `"${schema}"."${table}"`;
    const version = await pool.query<{ version: number }>(
      `SELECT version FROM "${schema}".coatcheck_schema WHERE name = $1`,
      [table],
    );
    const counts = await pool.query<Record<keyof Counts, string>>(COUNTS(quoted), [now]);
    const row = counts.rows[0]!;
    const numbers = Object.fromEntries(
      Object.entries(row).map(([k, v]) => [k, Number(v)]),
    ) as unknown as Counts;
    return { store: 'postgres', schemaVersion: version.rows[0]?.version ?? null, ...shape(numbers), time };
  }
  const count = async (kind: 's' | 'u') => {
    let total = 0;
    for await (const keys of scanNodeRedisKeys(
      opened.client,
      `${globLiteral(`${opened.prefix}${kind}:{`)}*}`,
    )) {
      total += keys.length;
    }
    return total;
  };
  const [records, users] = [await count('s'), await count('u')];
  return {
    store: 'redis',
    schemaVersion: null,
    records,
    live: null,
    signedIn: null,
    expired: 0,
    users,
    time,
  };
}

function shape(counts: Counts) {
  return {
    records: Number(counts.records),
    live: Number(counts.live),
    signedIn: Number(counts.signed_in),
    expired: Number(counts.expired),
    users: Number(counts.users),
  };
}
