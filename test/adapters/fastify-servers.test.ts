// The adapter behaviour suite (copied in test/adapters/suite/) on Redis and PostgreSQL for Fastify.
import { after, before, describe, it } from 'node:test';
import pg from 'pg';
import { createClient } from 'redis';
import { PostgresStore } from '../../src/stores/postgres.js';
import { RedisStore } from '../../src/stores/redis.js';
import { findPostgres, type PostgresServer, startPostgres } from '../support/postgres-server.js';
import { hasRedis, type RedisServer, startRedis } from '../support/redis-server.js';
import { fastifyAdapter } from './fastify.js';
import { runAdapterBehaviour } from './suite/adapter-suite.js';

const hasPostgres = findPostgres() !== null;
let redis: RedisServer | undefined;
let postgres: PostgresServer | undefined;

before(async () => {
  if (hasRedis) redis = await startRedis();
  if (hasPostgres) postgres = await startPostgres();
});
after(async () => {
  await redis?.dispose();
  await postgres?.stop();
});

let count = 0;
if (hasRedis) {
  let client: ReturnType<typeof createClient> | undefined;
  runAdapterBehaviour({
    name: 'fastify / redis',
    adapter: fastifyAdapter,
    async createStore() {
      client = createClient({ url: redis!.url });
      await client.connect();
      return new RedisStore({ client, prefix: `fastify-adapter:${count++}:` });
    },
    // The store does not own the client it was given.
    cleanup: () => client?.close(),
  });
} else {
  describe('adapter behaviour: fastify / redis', () => it('runs', { skip: 'redis-server is not installed' }));
}
if (hasPostgres) {
  let pool: pg.Pool | undefined;
  runAdapterBehaviour({
    name: 'fastify / postgres',
    adapter: fastifyAdapter,
    async createStore() {
      pool = new pg.Pool({ connectionString: await postgres!.createDatabase(`fastifyadapter${count++}`) });
      return new PostgresStore({ pool, pruneIntervalMs: 0 });
    },
    cleanup: () => pool?.end(),
  });
} else {
  describe('adapter behaviour: fastify / postgres', () => it('runs', { skip: 'postgres is not installed' }));
}
