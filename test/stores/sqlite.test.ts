import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, it } from 'node:test';
import { SqliteStore } from '../../src/stores/sqlite.js';
import { makeRecord, runStoreConformance } from '../../src/testing/conformance.js';

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
  assert.equal(second.db.prepare('SELECT version FROM coatcheck_schema').pluck().get(), 1);
  const plan = second.db
    .prepare('EXPLAIN QUERY PLAN SELECT * FROM coatcheck_sessions WHERE user_id = ?')
    .all('alice') as { detail: string }[];
  assert.match(plan.map((row) => row.detail).join(' '), /USING INDEX coatcheck_sessions_user/);
  await second.close();
});

it('the sqlite store keeps every key when several processes write one session at once', async () => {
  const path = join(dir, 'processes.db');
  const store = new SqliteStore({ path });
  const record = makeRecord();
  await store.create(record);
  const script = `
    import { SqliteStore } from './src/stores/sqlite.ts';
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
