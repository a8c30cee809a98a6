import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { after, before, describe, it } from 'node:test';
import pg from 'pg';
import { SessionConfigError } from '../../packages/coatcheck/src/core/errors.js';
import { PostgresStore } from '../../packages/coatcheck/src/stores/postgres.js';
import { makeRecord, runStoreConformance } from '../../packages/coatcheck/src/testing/conformance.js';
import { startTestApp } from '../support/app.js';
import { Client } from '../support/http.js';
import { findPostgres, type PostgresServer, startPostgres } from '../support/postgres-server.js';

const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));
const PRUNE_LOCK_CLASS = 1668243828;

describe('postgres store', { skip: !findPostgres() && 'postgres is not installed' }, () => {
  let server: PostgresServer;
  let admin: pg.Pool;
  before(async () => {
    server = await startPostgres();
    admin = new pg.Pool({ connectionString: server.connectionString, max: 4 });
  });
  after(async () => {
    await admin?.end();
    await server?.stop();
  });

  let pool: pg.Pool;
  runStoreConformance({
    name: 'postgres (given pool)',
    createStore: () => {
      pool = new pg.Pool({ connectionString: server.connectionString, max: 10 });
      return new PostgresStore({ pool, pruneIntervalMs: 0 });
    },
    cleanup: () => pool.end(),
  });
  runStoreConformance({
    name: 'postgres (connection string)',
    createStore: async () =>
      new PostgresStore({ connectionString: await server.createDatabase('by_url'), pruneIntervalMs: 0 }),
  });
  runStoreConformance({
    name: 'postgres (custom schema and table)',
    createStore: () =>
      new PostgresStore({
        connectionString: server.connectionString,
        schema: 'auth',
        table: 'web_sessions',
        pruneIntervalMs: 0,
      }),
  });

  const count = async (table: string) =>
    Number((await admin.query<{ n: string }>(`SELECT count(*) AS n FROM ${table}`)).rows[0]!.n);

  it('records its schema version and creates the user and expiry indexes', async () => {
    const store = new PostgresStore({ connectionString: server.connectionString, pruneIntervalMs: 0 });
    await store.get('warm-up-handle-0000');
    const version = await admin.query(
      `SELECT version FROM coatcheck_schema WHERE name = 'coatcheck_sessions'`,
    );
    assert.deepEqual(version.rows, [{ version: 4 }]);
    const custom = await admin.query(`SELECT name, version FROM auth.coatcheck_schema`);
    assert.deepEqual(custom.rows, [{ name: 'web_sessions', version: 4 }]);
    const indexes = await admin.query<{ indexname: string; indexdef: string }>(
      `SELECT indexname, indexdef FROM pg_indexes WHERE schemaname = 'public' AND tablename = 'coatcheck_sessions'
       ORDER BY indexname`,
    );
    assert.deepEqual(
      indexes.rows.map((row) => row.indexname),
      ['coatcheck_sessions_expires', 'coatcheck_sessions_pkey', 'coatcheck_sessions_user'],
    );
    assert.match(indexes.rows[2]!.indexdef, /\(user_id\) WHERE \(user_id IS NOT NULL\)/);
    await store.close();
  });

  it("finds and revokes a user's sessions through the user index, not a scan", async () => {
    const store = new PostgresStore({
      connectionString: server.connectionString,
      table: 'explain_sessions',
      pruneIntervalMs: 0,
    });
    await store.get('warm-up-handle-0000');
    await admin.query(
      `INSERT INTO explain_sessions SELECT 'h' || g, 's', 'u' || (g % 2000), 0, 0, 0, 1, 1, 1, 1, '{}', NULL, NULL, '{}'
       FROM generate_series(1, 20000) g`,
    );
    await admin.query('ANALYZE explain_sessions');
    for (const query of [
      'SELECT * FROM explain_sessions WHERE user_id = $1',
      'DELETE FROM explain_sessions WHERE user_id = $1 AND ($2::text IS NULL OR handle <> $2::text) RETURNING handle',
    ]) {
      const values = query.includes('$2') ? ['u17', null] : ['u17'];
      const plan = await admin.query<{ 'QUERY PLAN': string }>(`EXPLAIN ${query}`, values);
      const text = plan.rows.map((row) => row['QUERY PLAN']).join('\n');
      assert.match(text, /Index Scan using explain_sessions_user|Bitmap Index Scan on explain_sessions_user/);
      assert.doesNotMatch(text, /Seq Scan/);
    }
    assert.equal((await store.listByUser('u17')).length, 10);
    await store.close();
  });

  it('S26 the scheduled pruner removes expired rows and keeps live ones', async () => {
    const table = 'prune_s26';
    const options = { connectionString: server.connectionString, table };
    const writer = new PostgresStore({ ...options, pruneIntervalMs: 0 });
    const live = makeRecord();
    await writer.create(live);
    const baseline = await count(table);
    const now = Date.now();
    for (let i = 0; i < 100; i++) {
      await writer.create(makeRecord({ idleExpiresAt: now - 1 - i, absoluteExpiresAt: now + 60_000 }));
    }
    assert.equal(await count(table), baseline + 100);
    const pruning = new PostgresStore({ ...options, pruneIntervalMs: 50 });
    const deadline = Date.now() + 10_000;
    while ((await count(table)) !== baseline && Date.now() < deadline) await sleep(50);
    assert.equal(await count(table), baseline, 'the row count is back to its baseline');
    assert.ok(await writer.get(live.handle), 'the live session stays');
    await pruning.close();
    await writer.close();
  });

  it('two stores pruning at the same time do not both run the delete', async () => {
    const table = 'prune_pair';
    const options = { connectionString: server.connectionString, table, pruneIntervalMs: 0 };
    const first = new PostgresStore(options);
    const second = new PostgresStore(options);
    const expired = Array.from({ length: 20 }, () => makeRecord({ idleExpiresAt: Date.now() - 1000 }));
    for (const record of expired) await first.create(record);
    await second.get('warm-up-handle-0000');

    // Hold one expired row so the first pruner's DELETE waits inside its statement, lock held.
    const blocker = await admin.connect();
    await blocker.query('BEGIN');
    await blocker.query(`SELECT 1 FROM ${table} WHERE handle = $1 FOR UPDATE`, [expired[0]!.handle]);
    const running = first.pruneOnce();
    const deadline = Date.now() + 5_000;
    const lockHeld = async () =>
      Number(
        (
          await admin.query<{ n: string }>(
            `SELECT count(*) AS n FROM pg_locks WHERE locktype = 'advisory' AND classid = $1 AND granted`,
            [PRUNE_LOCK_CLASS],
          )
        ).rows[0]!.n,
      ) > 0;
    while (!(await lockHeld()) && Date.now() < deadline) await sleep(20);
    assert.equal(await lockHeld(), true, 'the first pruner holds the prune lock');

    assert.equal(await second.pruneOnce(), null, 'the second pruner skips while the first runs');
    assert.equal(await count(table), 20);

    await blocker.query('COMMIT');
    blocker.release();
    assert.equal(await running, 20);
    assert.equal(await lockHeld(), false, 'the lock ends with the statement');
    assert.equal(await second.pruneOnce(), 0);
    await first.close();
    await second.close();
  });

  it('instances starting together on a fresh database all start cleanly, and so does a later one', async () => {
    const connectionString = await server.createDatabase('fresh_start');
    const stores = Array.from(
      { length: 6 },
      () => new PostgresStore({ connectionString, pruneIntervalMs: 0 }),
    );
    const records = stores.map(() => makeRecord());
    await Promise.all(stores.map((store, i) => store.create(records[i]!)));
    const later = new PostgresStore({ connectionString, pruneIntervalMs: 0 });
    for (const record of records) assert.equal((await later.get(record.handle))?.handle, record.handle);
    const check = new pg.Client({ connectionString });
    await check.connect();
    const versions = await check.query('SELECT name, version FROM coatcheck_schema');
    assert.deepEqual(versions.rows, [{ name: 'coatcheck_sessions', version: 4 }]);
    await check.end();
    await Promise.all([...stores, later].map((store) => store.close()));
  });

  it('runs on the shipped SQL with createSchema false, the same schema it creates itself', async () => {
    const manual = await server.createDatabase('manual_schema');
    const automatic = await server.createDatabase('automatic_schema');
    const missing = await server.createDatabase('no_schema');
    const sql = [
      '001_init.sql',
      '002_step_up_rotation.sql',
      '003_device_key.sql',
      '004_remembered_devices.sql',
    ]
      .map((file) =>
        readFileSync(new URL(`../../packages/coatcheck/sql/postgres/${file}`, import.meta.url), 'utf8'),
      )
      .join('\n');
    const describeSchema = async (connectionString: string) => {
      const client = new pg.Client({ connectionString });
      await client.connect();
      const columns = await client.query(
        `SELECT table_name, column_name, data_type, is_nullable, ordinal_position FROM information_schema.columns
         WHERE table_schema = 'public' ORDER BY table_name, ordinal_position`,
      );
      const indexes = await client.query(
        `SELECT indexname, indexdef FROM pg_indexes WHERE schemaname = 'public' ORDER BY indexname`,
      );
      const versions = await client.query('SELECT name, version FROM coatcheck_schema');
      await client.end();
      return { columns: columns.rows, indexes: indexes.rows, versions: versions.rows };
    };
    const client = new pg.Client({ connectionString: manual });
    await client.connect();
    await client.query(sql);
    await client.end();

    const store = new PostgresStore({ connectionString: manual, createSchema: false, pruneIntervalMs: 0 });
    const record = makeRecord({ userId: 'alice', data: '{"a":1}' });
    assert.equal(await store.create(record), true);
    assert.equal((await store.update(record.handle, { set: { b: '2' } }))?.version, 2);
    assert.deepEqual(JSON.parse((await store.get(record.handle))!.data), { a: 1, b: 2 });
    await store.close();
    const created = new PostgresStore({ connectionString: automatic, pruneIntervalMs: 0 });
    await created.get('warm-up-handle-0000');
    await created.close();
    assert.deepEqual(await describeSchema(manual), await describeSchema(automatic));

    const unmigrated = new PostgresStore({
      connectionString: missing,
      createSchema: false,
      pruneIntervalMs: 0,
    });
    await assert.rejects(unmigrated.get('warm-up-handle-0000'), { code: '42P01' });
    await unmigrated.close();
  });

  it('upgrades a version 1 table in place: old sessions keep working, signed-in ones read as password logins', async () => {
    const connectionString = await server.createDatabase('upgrade_v1');
    const client = new pg.Client({ connectionString });
    await client.connect();
    await client.query(
      readFileSync(new URL('../../packages/coatcheck/sql/postgres/001_init.sql', import.meta.url), 'utf8'),
    );
    const old = makeRecord({ userId: 'alice' });
    await client.query(
      `INSERT INTO coatcheck_sessions (handle, secret_hash, user_id, created_at, auth_at, last_seen_at,
         idle_expires_at, absolute_expires_at, expires_at, version, device, cookie_max_age_ms, csrf_secret, data)
       VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, 1, '{}', NULL, NULL, '{"a":1}')`,
      [
        old.handle,
        old.secretHash,
        old.userId,
        old.createdAt,
        old.authAt,
        old.lastSeenAt,
        old.idleExpiresAt,
        old.absoluteExpiresAt,
        Math.min(old.idleExpiresAt, old.absoluteExpiresAt),
      ],
    );
    const store = new PostgresStore({ connectionString, pruneIntervalMs: 0 });
    const read = await store.get(old.handle);
    assert.equal(read?.aal, 1);
    assert.equal(read?.rotatedAt, old.createdAt);
    assert.equal(read?.successor, null);
    assert.deepEqual(JSON.parse(read!.data), { a: 1 });
    const versions = await client.query('SELECT version FROM coatcheck_schema');
    assert.deepEqual(versions.rows, [{ version: 4 }]);
    await client.end();
    await store.close();
  });

  it('refuses a NUL character in session data, which jsonb cannot hold, and keeps the row as it was', async () => {
    const store = new PostgresStore({ connectionString: server.connectionString, pruneIntervalMs: 0 });
    const record = makeRecord({ data: '{"a":1}' });
    await store.create(record);
    await assert.rejects(store.update(record.handle, { set: { b: JSON.stringify('x\u0000y') } }), {
      code: '22P05',
    });
    const stored = await store.get(record.handle);
    assert.equal(stored?.version, record.version);
    assert.deepEqual(JSON.parse(stored!.data), { a: 1 });
    await store.close();
  });

  it('refuses bad names and conflicting options at construction', () => {
    const connectionString = server.connectionString;
    for (const table of ['x; DROP TABLE users', 'a"b', '', '1abc', 'a'.repeat(49)]) {
      assert.throws(() => new PostgresStore({ connectionString, table }), SessionConfigError);
    }
    assert.throws(() => new PostgresStore({ connectionString, schema: 'public.x' }), SessionConfigError);
    assert.throws(() => new PostgresStore({ connectionString, pool: admin }), SessionConfigError);
    assert.throws(() => new PostgresStore({ pool: admin, ssl: true }), SessionConfigError);
    assert.throws(() => new PostgresStore({}), SessionConfigError);
    assert.throws(() => new PostgresStore({ connectionString, pruneIntervalMs: -1 }), SessionConfigError);
  });

  it('hands the ssl option to its own pool', async () => {
    const store = new PostgresStore({
      connectionString: server.connectionString,
      ssl: { rejectUnauthorized: true },
      pruneIntervalMs: 0,
    });
    // The test server has no TLS: a store that asks for it must fail rather than fall back to plain text.
    await assert.rejects(store.get('warm-up-handle-0000'), /does not support SSL/);
    await store.close();
  });

  it('leaves a given pool open and owns a pool it created', async () => {
    const given = new pg.Pool({ connectionString: server.connectionString, max: 1 });
    const store = new PostgresStore({ pool: given, pruneIntervalMs: 0 });
    await store.get('warm-up-handle-0000');
    await store.close();
    assert.equal((await given.query('SELECT 1 AS one')).rows[0].one, 1);
    await given.end();
    const owning = new PostgresStore({ connectionString: server.connectionString, pruneIntervalMs: 0 });
    await owning.get('warm-up-handle-0000');
    await owning.close();
    assert.equal(owning.pool.ended, true);
  });

  it('counts the statements behind each kind of request (figures in docs/operations-postgres.md)', async () => {
    const counted = new pg.Pool({ connectionString: server.connectionString, max: 4 });
    const store = new PostgresStore({ pool: counted, table: 'counted_sessions', pruneIntervalMs: 0 });
    await store.get('warm-up-handle-0000');
    const statements: string[] = [];
    const query = counted.query.bind(counted);
    counted.query = ((config: { name?: string }, ...rest: unknown[]) => {
      statements.push(config.name?.replace(/^coatcheck_|_[0-9a-f]{12}$/g, '') ?? 'other');
      return (query as (...args: unknown[]) => unknown)(config, ...rest);
    }) as typeof counted.query;
    const app = await startTestApp(store);
    try {
      const client = new Client(app.url);
      const step = async (run: () => Promise<{ status: number }>, status = 200) => {
        statements.length = 0;
        assert.equal((await run()).status, status);
        return [...statements];
      };
      assert.deepEqual(
        await step(() => client.post('/set', { cart: [1] })),
        ['create'],
        'first write of an anonymous session',
      );
      assert.deepEqual(
        await step(() => client.post('/login', { userId: 'alice' })),
        ['get', 'replace'],
        'login',
      );
      assert.deepEqual(await step(() => client.get('/me')), ['get'], 'authenticated read');
      app.clock.advance(61_000);
      assert.deepEqual(await step(() => client.get('/me')), ['get', 'update'], 'read with renewal');
      assert.deepEqual(
        await step(() => client.post('/set', { theme: 'dark' })),
        ['get', 'update'],
        'data write',
      );
      assert.deepEqual(await step(() => client.get('/sessions')), ['get', 'list_by_user'], 'device list');
      const other = new Client(app.url);
      assert.deepEqual(await step(() => other.get('/peek')), [], 'a request without a session cookie');
      const forged = `${'h'.repeat(22)}.${'s'.repeat(43)}.${'m'.repeat(43)}`;
      assert.deepEqual(
        await step(() => other.get('/peek', { cookie: `id=${forged}` })),
        [],
        'a forged cookie',
      );
      assert.equal(app.events.at(-1)?.type, 'session.tamper', 'the forged cookie was read and refused');
      assert.deepEqual(
        await step(() => other.post('/login', { userId: 'alice' })),
        ['create'],
        'login without a pre-session',
      );
      assert.deepEqual(
        await step(() => other.post('/logout-all', {})),
        ['get', 'list_by_user', 'destroy_by_user'],
        'log out everywhere else',
      );
      assert.deepEqual(await step(() => client.get('/me'), 401), ['get'], 'a revoked session is refused');
      assert.deepEqual(await step(() => other.post('/logout')), ['get', 'destroy'], 'logout');
    } finally {
      // A failed assertion must not leave the pool open: the file would never end.
      await app.close();
      await store.close();
      await counted.end();
    }
  });
});
