/**
 * The stores the chaos scenarios run on, started from the system's binaries by the test helpers:
 * the environment the app processes need, and the number of session records and user-index
 * entries the store holds (counted directly on its servers, never through the app).
 */
import { execFile } from 'node:child_process';
import { dirname, join } from 'node:path';
import { promisify } from 'node:util';
import pg from 'pg';
import { findPostgres, type PostgresServer, startPostgres } from '../test/support/postgres-server.js';
import {
  type RedisCluster,
  type RedisSentinelSet,
  type RedisServer,
  startRedis,
  startRedisCluster,
  startRedisSentinel,
} from '../test/support/redis-server.js';

const run = promisify(execFile);

export interface Counts {
  records: number;
  indexEntries: number;
}

export interface Backend {
  env: Record<string, string>;
  count(): Promise<Counts>;
  stop(): Promise<void>;
}

// Counted by a script on each master: no key leaves the server, and the Cluster allows KEYS on its own slots.
const COUNT = `local records = #redis.call('KEYS', 'coatcheck:s:*')
local entries = 0
for _, key in ipairs(redis.call('KEYS', 'coatcheck:u:*')) do entries = entries + redis.call('ZCARD', key) end
return {records, entries}`;

async function countRedis(servers: RedisServer[]): Promise<Counts> {
  const counts: Counts = { records: 0, indexEntries: 0 };
  for (const server of servers) {
    if (!/role:master/.test(await server.cli('INFO', 'replication').catch(() => ''))) continue;
    const [records = '0', entries = '0'] = (await server.cli('EVAL', COUNT, '0')).trim().split('\n');
    counts.records += Number(records);
    counts.indexEntries += Number(entries);
  }
  return counts;
}

export type RedisClientKind = 'node-redis' | 'ioredis';

/** A standalone Redis; with `persistent`, AOF on (every write reaches the file before its reply). */
export async function redisBackend(
  client: RedisClientKind,
  persistent: boolean,
): Promise<Backend & { server: RedisServer }> {
  const server = await startRedis({
    args: persistent ? ['--appendonly', 'yes', '--appendfsync', 'everysec'] : [],
  });
  return {
    server,
    env: { STORE: 'redis', CLIENT: client, REDIS_URL: server.url },
    count: () => countRedis([server]),
    stop: () => server.dispose(),
  };
}

/** 3 masters with a replica each; a master unreachable for 1 s fails over. */
export async function clusterBackend(client: RedisClientKind): Promise<Backend & { cluster: RedisCluster }> {
  const cluster = await startRedisCluster({ replicas: 1, nodeTimeoutMs: 1_000 });
  return {
    cluster,
    env: {
      STORE: 'redis-cluster',
      CLIENT: client,
      REDIS_NODES: cluster.nodes.map(({ host, port }) => `${host}:${port}`).join(','),
    },
    count: () => countRedis(cluster.servers),
    stop: () => cluster.stop(),
  };
}

/** A master, a replica and 3 sentinels. */
export async function sentinelBackend(client: RedisClientKind): Promise<Backend & { set: RedisSentinelSet }> {
  const set = await startRedisSentinel();
  return {
    set,
    env: {
      STORE: 'redis-sentinel',
      CLIENT: client,
      SENTINELS: set.sentinelNodes.map(({ host, port }) => `${host}:${port}`).join(','),
      SENTINEL_NAME: set.name,
    },
    count: () => countRedis([set.master, set.replica]),
    stop: () => set.stop(),
  };
}

/**
 * PostgreSQL with synchronous_commit back on for the store's database (the test server turns it
 * off): a commit is then in the WAL before its reply, so an immediate stop keeps every answered write.
 */
export async function postgresBackend(): Promise<
  Backend & { server: PostgresServer; immediateStop(): Promise<void> }
> {
  const server = await startPostgres();
  const admin = new pg.Client({ connectionString: server.connectionString });
  await admin.connect();
  await admin.query('ALTER DATABASE coatcheck SET synchronous_commit = on');
  const dataDir = String((await admin.query('SHOW data_directory')).rows[0].data_directory);
  await admin.end();
  const query = async (sql: string) => {
    const client = new pg.Client({ connectionString: server.connectionString });
    await client.connect();
    try {
      return (await client.query(sql)).rows[0] as Record<string, string>;
    } finally {
      await client.end();
    }
  };
  const pgCtl = join(dirname(findPostgres()!.postgres), 'pg_ctl');
  return {
    server,
    env: { STORE: 'postgres', DATABASE_URL: server.connectionString },
    count: async () => {
      const row = await query(
        'SELECT count(*) AS records, count(user_id) AS entries FROM coatcheck_sessions',
      );
      return { records: Number(row.records), indexEntries: Number(row.entries) };
    },
    // pg_ctl -m immediate: the postmaster and its backends quit at once, without a checkpoint (a crash).
    immediateStop: async () => {
      const args = ['-D', dataDir, '-m', 'immediate', '-w', 'stop'];
      const asRoot = process.getuid?.() === 0;
      await run(asRoot ? 'runuser' : pgCtl, asRoot ? ['-u', 'postgres', '--', pgCtl, ...args] : args, {
        timeout: 30_000,
      });
    },
    stop: () => server.stop(),
  };
}
