import { createRequire } from 'node:module';
import { after, before, describe } from 'node:test';
import session from 'express-session';
import pg from 'pg';
import { ConnectStore, type ConnectStoreLike } from '../../packages/coatcheck/src/stores/connect.js';
import { runStoreConformance } from '../../packages/coatcheck/src/testing/conformance.js';
import { findPostgres, type PostgresServer, startPostgres } from '../support/postgres-server.js';

// connect-pg-simple ships no type declarations; this is the part of its API the tests use.
type PgSessionStore = ConnectStoreLike & { close(): Promise<void> };
type ConnectPgSimple = (
  expressSession: unknown,
) => new (options: {
  pool: pg.Pool;
  createTableIfMissing?: boolean;
  pruneSessionInterval?: false;
}) => PgSessionStore;
const connectPgSimple = createRequire(import.meta.url)('connect-pg-simple') as ConnectPgSimple;

describe('connect-pg-simple wrapped', { skip: !findPostgres() && 'postgres is not installed' }, () => {
  let server: PostgresServer;
  let pool: pg.Pool;
  before(async () => {
    server = await startPostgres();
    pool = new pg.Pool({ connectionString: server.connectionString, max: 10 });
  });
  after(async () => {
    await pool?.end();
    await server?.stop();
  });

  runStoreConformance({
    name: 'connect-pg-simple through ConnectStore',
    honourCapabilities: true,
    expiresByItself: true,
    createStore: () => {
      const PgStore = connectPgSimple(session);
      return new ConnectStore(new PgStore({ pool, createTableIfMissing: true, pruneSessionInterval: false }));
    },
  });
});
