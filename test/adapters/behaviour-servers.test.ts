import { after, before, describe, it } from 'node:test';
import pg from 'pg';
import { createClient } from 'redis';
import { PostgresStore } from '../../packages/coatcheck/src/stores/postgres.js';
import { RedisStore } from '../../packages/coatcheck/src/stores/redis.js';
import { runAdapterBehaviour } from '../../packages/coatcheck/src/testing/index.js';
import { findPostgres, type PostgresServer, startPostgres } from '../support/postgres-server.js';
import { hasRedis, type RedisServer, startRedis } from '../support/redis-server.js';
import { adapters } from './all.js';

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
for (const [name, adapter] of adapters) {
  if (hasRedis) {
    let client: ReturnType<typeof createClient> | undefined;
    runAdapterBehaviour({
      name: `${name} / redis`,
      adapter,
      async createStore() {
        client = createClient({ url: redis!.url });
        await client.connect();
        return new RedisStore({ client, prefix: `adapters:${count++}:` });
      },
      // The store does not own the client it was given.
      cleanup: () => client?.close(),
    });
  } else
    describe(`adapter behaviour: ${name} / redis`, () =>
      it('runs', { skip: 'redis-server is not installed' }));
  if (hasPostgres) {
    let pool: pg.Pool | undefined;
    runAdapterBehaviour({
      name: `${name} / postgres`,
      adapter,
      async createStore() {
        pool = new pg.Pool({ connectionString: await postgres!.createDatabase(`adapters${count++}`) });
        return new PostgresStore({ pool, pruneIntervalMs: 0 });
      },
      cleanup: () => pool?.end(),
    });
  } else
    describe(`adapter behaviour: ${name} / postgres`, () =>
      it('runs', { skip: 'postgres is not installed' }));
}
