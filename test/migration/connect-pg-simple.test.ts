import assert from 'node:assert/strict';
import type { IncomingMessage } from 'node:http';
import { createRequire } from 'node:module';
import { after, before, describe, it } from 'node:test';
import express from 'express';
import expressSession from 'express-session';
import pg from 'pg';
import { session } from '../../packages/coatcheck/src/express/index.js';
import { ConnectStore, type ConnectStoreLike } from '../../packages/coatcheck/src/stores/connect.js';
import { PostgresStore } from '../../packages/coatcheck/src/stores/postgres.js';
import { Client, listen, type Running } from '../support/http.js';
import { findPostgres, type PostgresServer, startPostgres } from '../support/postgres-server.js';

// connect-pg-simple ships no type declarations; this is the part of its API the test uses.
type PgSessionStore = ConnectStoreLike & { close(): Promise<void> };
type ConnectPgSimple = (
  expressSession: unknown,
) => new (options: {
  pool: pg.Pool;
  createTableIfMissing?: boolean;
  pruneSessionInterval?: false;
}) => PgSessionStore;
const connectPgSimple = createRequire(import.meta.url)('connect-pg-simple') as ConnectPgSimple;

const SECRET = 'migration-secret-that-is-long-enough-0123456789';
type Data = { user?: string; cart?: number[] };
const data = (req: IncomingMessage) => (req as IncomingMessage & { session: Data }).session;

/** The application's own routes: the same code runs on express-session and on coatcheck. */
function routes(app: express.Express): express.Express {
  app.use(express.json());
  app.post('/login', (req, res) => {
    const { user, cart } = req.body as Data;
    Object.assign(data(req), { user, cart });
    res.json({ ok: true });
  });
  app.get('/me', (req, res) => {
    const { user, cart } = data(req);
    if (!user) return void res.status(401).json({ error: 'unauthenticated' });
    res.json({ user, cart });
  });
  return app;
}

/** The sid inside express-session's `s:<sid>.<signature>` cookie. */
const sidOf = (cookie: string) => /^s:([^.]+)\./.exec(decodeURIComponent(cookie))?.[1] ?? '';

describe('moving from express-session + connect-pg-simple', {
  skip: !findPostgres() && 'postgres is not installed',
}, () => {
  let server: PostgresServer;
  let pool: pg.Pool;
  const running: Running[] = [];
  before(async () => {
    server = await startPostgres();
    pool = new pg.Pool({ connectionString: server.connectionString, max: 10 });
  });
  after(async () => {
    for (const app of running) await app.close();
    await pool?.end();
    await server?.stop();
  });

  const start = async (app: express.Express) => {
    const started = await listen(app as never);
    running.push(started);
    return started;
  };
  const legacyRows = async (sid: string) =>
    (await pool.query('SELECT 1 FROM session WHERE sid = $1', [sid])).rowCount ?? 0;

  /** Users log in on the express-session app; returns their clients holding `connect.sid`. */
  async function loginOnExpressSession(store: PgSessionStore, kind: string) {
    const app = express();
    app.use(expressSession({ secret: SECRET, store, resave: false, saveUninitialized: false }) as never);
    const legacy = await start(routes(app));
    const users = [
      { user: `alice-${kind}`, cart: [1, 2] },
      { user: `bob-${kind}`, cart: [3] },
    ];
    const clients = [];
    for (const body of users) {
      const client = new Client(legacy.url);
      assert.equal((await client.post('/login', body)).status, 200);
      const cookie = client.jar.get('connect.sid');
      assert.ok(cookie, 'express-session set connect.sid');
      assert.deepEqual((await client.get('/me')).json(), body);
      assert.equal(await legacyRows(sidOf(cookie)), 1, 'the session is in the connect-pg-simple table');
      clients.push({ body, cookie });
    }
    return { legacy, clients };
  }

  for (const variant of ['the same connect-pg-simple store', 'PostgresStore with a legacy source'] as const) {
    it(`keeps users logged in when switching to coatcheck on ${variant}`, async () => {
      const PgStore = connectPgSimple(expressSession);
      const pgStore = new PgStore({ pool, createTableIfMissing: true, pruneSessionInterval: false });
      const kind = variant === 'the same connect-pg-simple store' ? 'wrapped' : 'native';
      const { legacy, clients } = await loginOnExpressSession(pgStore, kind);

      const postgresStore = new PostgresStore({ pool, table: 'migrated_sessions', pruneIntervalMs: 0 });
      const options =
        kind === 'wrapped' ? { store: pgStore } : { store: postgresStore, legacy: new ConnectStore(pgStore) };
      const app = express();
      app.use(session({ secret: SECRET, warn: () => {}, ...options }));
      const next = await start(routes(app));

      for (const { body, cookie } of clients) {
        const client = new Client(next.url);
        client.jar.set('connect.sid', cookie);
        const first = await client.get('/me');
        assert.equal(first.status, 200, 'still logged in');
        assert.deepEqual(first.json(), body, 'with their data');
        assert.ok(
          first.setCookies.some((line) => line.startsWith('id=') && !/max-age=0/i.test(line)),
          'a coatcheck cookie is issued',
        );
        assert.ok(
          first.setCookies.some(
            (line) => line.startsWith('connect.sid=') && /max-age=0|expires=thu, 01 jan 1970/i.test(line),
          ),
          'the express-session cookie is expired',
        );
        assert.equal(client.jar.has('connect.sid'), false);
        assert.equal(await legacyRows(sidOf(cookie)), 0, 'the old row is gone');

        assert.deepEqual((await client.get('/me')).json(), body, 'the new cookie works');
        const stored =
          kind === 'native'
            ? await pool.query<{ data: string }>('SELECT data::text AS data FROM migrated_sessions')
            : await pool.query<{ data: string }>(
                // The data's keys sit at the top level, as express-session stores them.
                `SELECT (sess::jsonb - 'cookie' - 'coatcheck')::text AS data FROM session WHERE sess::jsonb ? 'coatcheck'`,
              );
        assert.ok(
          stored.rows.some((row) => (JSON.parse(row.data) as Data).user === body.user),
          `the session now lives in ${kind === 'native' ? 'the coatcheck table' : 'the store as a coatcheck record'}`,
        );

        const replay = new Client(next.url);
        replay.jar.set('connect.sid', cookie);
        assert.equal((await replay.get('/me')).status, 401, 'the old cookie no longer works on coatcheck');
        const back = new Client(legacy.url);
        back.jar.set('connect.sid', cookie);
        assert.equal((await back.get('/me')).status, 401, 'nor on the old app');
      }
      await postgresStore.close();
    });
  }
});
