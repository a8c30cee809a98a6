// SqliteStore's reads by handle run together per event-loop turn, in one read transaction on a
// second connection, in the turn's check phase: what a read sees of this store's writes, another
// connection's and another process's, whatever phase it was asked for in; and that no read
// transaction is held while other code runs.
import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import { once } from 'node:events';
import { mkdtempSync, rmSync, statSync } from 'node:fs';
import { type AddressInfo, connect, createServer, type Socket } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, it } from 'node:test';
import { promisify } from 'node:util';
import BetterSqlite3 from 'better-sqlite3';
import type { SessionRecord } from '../../packages/coatcheck/src/core/store/record.js';
import { SessionStoreApi } from '../../packages/coatcheck/src/session-api/session-store-api.js';
import { SqliteStore } from '../../packages/coatcheck/src/stores/sqlite.js';
import { makeRecord } from '../../packages/coatcheck/src/testing/conformance.js';

const dir = mkdtempSync(join(tmpdir(), 'coatcheck-sqlite-turn-'));
after(() => rmSync(dir, { recursive: true, force: true }));
let files = 0;
const nextPath = () => join(dir, `s${files++}.db`);
const nextTurn = () => new Promise<void>((resolve) => setImmediate(resolve));
const checkpoint = (db: BetterSqlite3.Database) =>
  (db.pragma('wal_checkpoint(TRUNCATE)') as { busy: number }[])[0]!.busy;

it("a read sees this store's own writes made earlier in the same turn", async () => {
  const store = new SqliteStore({ path: nextPath() });
  const kept = makeRecord({ userId: 'alice', data: '{"n":1}' });
  const gone = makeRecord({ userId: 'bob' });
  await Promise.all([store.create(kept), store.create(gone)]);
  await nextTurn();

  // No await between the calls: every one of them runs in this turn.
  const first = store.get(gone.handle);
  const destroyed = store.destroy(gone.handle);
  const afterDestroy = store.get(gone.handle);
  const updated = store.update(kept.handle, { set: { n: '2' } });
  const afterUpdate = store.get(kept.handle);
  const fresh = makeRecord({ userId: 'carol' });
  const created = store.create(fresh);
  const afterCreate = store.get(fresh.handle);

  assert.equal((await first)?.handle, gone.handle);
  assert.deepEqual(await destroyed, { successor: null });
  assert.equal(await afterDestroy, null);
  assert.ok(await updated);
  assert.deepEqual(JSON.parse((await afterUpdate)!.data), { n: 2 });
  assert.equal(await created, true);
  assert.equal((await afterCreate)?.userId, 'carol');
  await store.close();
});

it("a read sees another connection's commit made before it was asked for, though other reads of its turn were asked for before that commit", async () => {
  const path = nextPath();
  const here = new SqliteStore({ path });
  const there = new SqliteStore({ path });
  const [earlier, record] = [makeRecord({ userId: 'bob' }), makeRecord({ userId: 'alice' })];
  await Promise.all([here.create(earlier), here.create(record)]);
  await nextTurn();

  // No await in between: one turn. A snapshot taken at the first read would still hold `record`.
  const first = here.get(earlier.handle);
  const removed = there.destroy(record.handle);
  const afterLogout = here.get(record.handle);
  // A renewal writes on the main connection, as the file is now: the session is gone.
  const renewed = here.renew(record, {
    lastSeenAt: record.lastSeenAt + 1,
    idleExpiresAt: record.idleExpiresAt + 1,
  });
  assert.equal((await first)?.handle, earlier.handle);
  assert.deepEqual(await removed, { successor: null });
  assert.equal(await afterLogout, null, 'the logout came before the read was asked for');
  assert.equal(await renewed, null);
  await Promise.all([here.close(), there.close()]);
});

it("another process's logout is seen from the next turn", async () => {
  const path = nextPath();
  const store = new SqliteStore({ path });
  const record = makeRecord({ userId: 'alice' });
  await store.create(record);
  assert.equal((await store.get(record.handle))?.userId, 'alice');
  const script = `
    import { SqliteStore } from './packages/coatcheck/src/stores/sqlite.ts';
    const store = new SqliteStore({ path: process.argv[1] });
    console.log(JSON.stringify(await store.destroy(process.argv[2])));
    await store.close();`;
  const { stdout } = await promisify(execFile)(
    process.execPath,
    ['--import', 'tsx', '--input-type=module', '-e', script, path, record.handle],
    { cwd: process.cwd(), timeout: 30_000 },
  );
  assert.deepEqual(JSON.parse(stdout), { successor: null });
  await nextTurn();
  assert.equal(await store.get(record.handle), null);
  await store.close();
});

it('no read transaction is open while other code runs: a checkpoint finishes at any point of a turn', async () => {
  const path = nextPath();
  const store = new SqliteStore({ path });
  const records = Array.from({ length: 50 }, () =>
    makeRecord({ data: JSON.stringify({ pad: 'x'.repeat(500) }) }),
  );
  for (const record of records) await store.create(record);
  await nextTurn();

  const reads = records.map((record) => store.get(record.handle));
  assert.equal(checkpoint(store.db), 0, 'the asked-for reads hold no transaction');
  assert.equal((await Promise.all(reads)).filter(Boolean).length, 50);
  assert.equal(checkpoint(store.db), 0, 'the answered reads hold no transaction');
  assert.equal(statSync(`${path}-wal`).size, 0);
  await store.close();
});

// With the shared read ended after each write instead of before it, a read was open at every
// commit, no checkpoint finished and the WAL never started over: 2,000 turns grew it to 25 MB.
it('reads and writes in every turn keep the WAL within its checkpoint size', async () => {
  const path = nextPath();
  const store = new SqliteStore({ path });
  const records = Array.from({ length: 20 }, () => makeRecord());
  for (const record of records) await store.create(record);
  const pad = JSON.stringify('x'.repeat(1_000));
  for (let turn = 0; turn < 2_000; turn++) {
    const record = records[turn % records.length]!;
    const read = store.get(record.handle);
    const written = store.update(record.handle, { set: { pad, turn: String(turn) } });
    assert.ok(await read);
    assert.ok(await written);
    await nextTurn();
  }
  const walBytes = statSync(`${path}-wal`).size;
  // 1,000 pages of 4 KiB start a checkpoint (SQLite's default wal_autocheckpoint).
  assert.ok(walBytes < 6 * 1024 * 1024, `the WAL grew to ${walBytes} bytes`);
  await store.close();
});

it("after the store's own write, the turn's reads go to the main connection and see other commits at once", async () => {
  const path = nextPath();
  const store = new SqliteStore({ path });
  const there = new SqliteStore({ path });
  const [a, b] = [makeRecord(), makeRecord()];
  await Promise.all([store.create(a), store.create(b)]);
  await nextTurn();

  const written = store.update(a.handle, { set: { n: '1' } });
  const read = store.get(a.handle);
  assert.equal(checkpoint(store.db), 0, 'no read transaction is open after the write');
  const gone = there.destroy(b.handle);
  const afterOther = store.get(b.handle);
  assert.ok(await written);
  assert.deepEqual(JSON.parse((await read)!.data), { n: 1 });
  assert.deepEqual(await gone, { successor: null });
  assert.equal(await afterOther, null, 'a read on the main connection sees the other commit at once');
  await nextTurn();
  assert.deepEqual(JSON.parse((await store.get(a.handle))!.data), { n: 1 });
  assert.equal(await store.get(b.handle), null);
  await Promise.all([store.close(), there.close()]);
});

it('closing the store in the middle of a turn answers the reads asked for; the scheduled run is harmless', async () => {
  const store = new SqliteStore({ path: nextPath() });
  const record = makeRecord();
  await store.create(record);
  await nextTurn();
  const read = store.get(record.handle);
  await store.close();
  assert.equal((await read)?.handle, record.handle);
  await nextTurn();
  await assert.rejects(store.get(record.handle), /not open/);
});

it('a memory database and a database the application gave are read on that connection: its writes show at once', async () => {
  const memory = new SqliteStore({ path: ':memory:' });
  const given = new SqliteStore({ database: new BetterSqlite3(nextPath()) });
  for (const store of [memory, given]) {
    const record = makeRecord();
    await store.create(record);
    await nextTurn();
    const seen = store.get(record.handle);
    store.db.prepare('DELETE FROM coatcheck_sessions WHERE handle = ?').run(record.handle);
    assert.equal((await seen)?.handle, record.handle);
    assert.equal(await store.get(record.handle), null);
    await store.close();
  }
  given.db.close();
});

// A read asked for in a phase other than poll once opened a transaction that lasted through the next
// poll phase: requests that arrived after another process's logout still read the session. Each case
// reads in that phase, commits the removal on another connection once the read was answered, and
// reads from a socket's data event, which runs in a later poll phase.
const phases: [string, (run: () => void, store: SqliteStore, handle: string) => void][] = [
  ['a check phase (setImmediate)', (run) => setImmediate(run)],
  ['a timers phase (setTimeout)', (run) => setTimeout(run, 0)],
  [
    'a close phase (a socket\'s "close" event)',
    (run) => {
      const server = createServer((socket) => socket.destroy()).listen(0, '127.0.0.1', () => {
        const socket = connect((server.address() as AddressInfo).port, '127.0.0.1');
        socket.on('error', () => {});
        socket.on('close', () => {
          server.close();
          run();
        });
      });
    },
  ],
  [
    "the callback of express-session's store API (`req.sessionStore.get(sid, cb)`, called back from setImmediate)",
    (run, store, handle) => new SessionStoreApi(store).get(handle, () => run()),
  ],
];
for (const [phase, inPhase] of phases) {
  it(`a read asked for in ${phase} leaves no snapshot for the next poll phase`, async () => {
    const path = nextPath();
    const here = new SqliteStore({ path });
    const there = new SqliteStore({ path });
    const record = makeRecord({ userId: 'alice' });
    await here.create(record);
    const server = createServer();
    await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
    const accepted = once(server, 'connection') as Promise<[Socket]>;
    const client = connect((server.address() as AddressInfo).port, '127.0.0.1');
    const [peer] = await accepted;
    await nextTurn();

    const afterLogout = new Promise<SessionRecord | null>((resolve, reject) => {
      peer.once('data', () => here.get(record.handle).then(resolve, reject));
    });
    const beforeLogout = await new Promise<SessionRecord | null>((resolve, reject) => {
      inPhase(
        () => {
          here.get(record.handle).then((seen) => {
            resolve(seen);
            there.destroy(record.handle).then(() => client.write('after logout'), reject);
          }, reject);
        },
        here,
        record.handle,
      );
    });
    assert.equal(beforeLogout?.handle, record.handle);
    assert.equal(await afterLogout, null, 'a request that arrived after the logout reads no session');
    client.destroy();
    peer.destroy();
    server.close();
    await Promise.all([here.close(), there.close()]);
  });
}
