import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { existsSync, mkdtempSync, readdirSync, readlinkSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, it } from 'node:test';
import BetterSqlite3 from 'better-sqlite3';
import { SqliteStore } from '../../packages/coatcheck/src/stores/sqlite.js';
import { makeRecord, runStoreConformance } from '../../packages/coatcheck/src/testing/conformance.js';

const dir = mkdtempSync(join(tmpdir(), 'coatcheck-sqlite-'));
runStoreConformance({
  name: 'sqlite',
  createStore: () => new SqliteStore({ path: join(dir, 'conformance.db') }),
});
after(() => rmSync(dir, { recursive: true, force: true }));

it('the sqlite store survives a restart and records its schema version', async () => {
  const path = join(dir, 'restart.db');
  const record = makeRecord({ userId: 'alice', data: '{"a":1}' });
  const first = new SqliteStore({ path });
  await first.create(record);
  await first.close();
  const second = new SqliteStore({ path });
  assert.deepEqual(JSON.parse((await second.get(record.handle))!.data), { a: 1 });
  assert.equal(second.db.prepare('SELECT version FROM coatcheck_schema').pluck().get(), 4);
  const plan = second.db
    .prepare('EXPLAIN QUERY PLAN SELECT * FROM coatcheck_sessions WHERE user_id = ?')
    .all('alice') as { detail: string }[];
  assert.match(plan.map((row) => row.detail).join(' '), /USING INDEX coatcheck_sessions_user/);
  await second.close();
});

it('the sqlite store upgrades a version 1 file in place: old sessions keep working as password logins', async () => {
  const path = join(dir, 'upgrade.db');
  const db = new BetterSqlite3(path);
  db.exec(`
    CREATE TABLE coatcheck_schema (name TEXT PRIMARY KEY, version INTEGER NOT NULL);
    INSERT INTO coatcheck_schema VALUES ('coatcheck_sessions', 1);
    CREATE TABLE coatcheck_sessions (
      handle TEXT PRIMARY KEY, secret_hash TEXT NOT NULL, user_id TEXT, created_at INTEGER NOT NULL,
      auth_at INTEGER, last_seen_at INTEGER NOT NULL, idle_expires_at INTEGER NOT NULL,
      absolute_expires_at INTEGER NOT NULL, expires_at INTEGER NOT NULL, version INTEGER NOT NULL,
      device TEXT NOT NULL, cookie_max_age_ms INTEGER, csrf_secret TEXT, data TEXT NOT NULL
    ) WITHOUT ROWID;`);
  const old = makeRecord({ userId: 'alice', data: '{"a":1}' });
  db.prepare(`INSERT INTO coatcheck_sessions VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, 1, '{}', NULL, NULL, ?)`).run(
    old.handle,
    old.secretHash,
    old.userId,
    old.createdAt,
    old.authAt,
    old.lastSeenAt,
    old.idleExpiresAt,
    old.absoluteExpiresAt,
    Math.min(old.idleExpiresAt, old.absoluteExpiresAt),
    old.data,
  );
  db.close();
  const store = new SqliteStore({ path });
  const read = await store.get(old.handle);
  assert.equal(read?.aal, 1);
  assert.equal(read?.rotatedAt, old.createdAt);
  assert.equal(read?.successor, null);
  assert.deepEqual(JSON.parse(read!.data), { a: 1 });
  assert.equal(store.db.prepare('SELECT version FROM coatcheck_schema').pluck().get(), 4);
  await store.close();
});

it('the sqlite store keeps every key when several processes write one session at once', async () => {
  const path = join(dir, 'processes.db');
  const store = new SqliteStore({ path });
  const record = makeRecord();
  await store.create(record);
  const script = `
    import { SqliteStore } from './packages/coatcheck/src/stores/sqlite.ts';
    const store = new SqliteStore({ path: process.argv[1] });
    for (let i = 0; i < 50; i++) await store.update(process.argv[2], { set: { [process.argv[3] + i]: String(i) } });
    await store.close();`;
  const run = (prefix: string) =>
    new Promise<void>((resolve, reject) => {
      const child = spawn(
        process.execPath,
        ['--import', 'tsx', '--input-type=module', '-e', script, path, record.handle, prefix],
        {
          stdio: 'inherit',
        },
      );
      child.on('exit', (code) => (code === 0 ? resolve() : reject(new Error(`child exited ${code}`))));
    });
  await Promise.all([run('a'), run('b'), run('c')]);
  const data = JSON.parse((await store.get(record.handle))!.data) as Record<string, number>;
  assert.equal(Object.keys(data).length, 150);
  await store.close();
});

it("the sqlite store creates its file's folder (the README's `data/sessions.db` in a fresh project)", async () => {
  const path = join(dir, 'fresh-project', 'data', 'sessions.db');
  const store = new SqliteStore({ path });
  const record = makeRecord();
  assert.equal(await store.create(record), true);
  assert.equal((await store.get(record.handle))?.handle, record.handle);
  await store.close();
  assert.ok(existsSync(path));
});

it('a constructor that throws on a file of a newer schema closes the connection it opened', async () => {
  const path = join(dir, 'newer.db');
  const store = new SqliteStore({ path });
  await store.close();
  const db = new BetterSqlite3(path);
  db.prepare('UPDATE coatcheck_schema SET version = 99').run();
  db.close();
  const openOnFile = () =>
    readdirSync('/proc/self/fd').filter((fd) => {
      try {
        return readlinkSync(`/proc/self/fd/${fd}`).startsWith(path);
      } catch {
        return false;
      }
    }).length;
  for (let i = 0; i < 10; i++) {
    assert.throws(() => new SqliteStore({ path }), /schema version 99; this coatcheck knows/);
  }
  assert.equal(openOnFile(), 0, 'descriptors left open on the file');
});
