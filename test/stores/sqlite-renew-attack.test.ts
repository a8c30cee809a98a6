/**
 * SqliteStore.renew answers exactly as `update(handle, { meta: renewal })` does, on one file shared by
 * two connections (two processes' stores): a logged-out session stays gone (S29), a rotation's
 * pointer is returned unchanged and never stretched (S21), and the row's expiry stays
 * min(idle, absolute), so the sweep removes it at the absolute limit.
 */
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { pathToFileURL } from 'node:url';
import type { SessionRecord } from '../../packages/coatcheck/src/core/store/record.js';
import { SqliteStore } from '../../packages/coatcheck/src/stores/sqlite.js';
import { makeRecord } from '../../packages/coatcheck/src/testing/conformance.js';

const normal = (record: SessionRecord | null) =>
  record && { ...record, data: JSON.parse(record.data) as unknown };

describe('SqliteStore.renew against update semantics on one shared file', () => {
  const dir = mkdtempSync(join(tmpdir(), 'coatcheck-renew-'));
  const path = join(dir, 'shared.db');
  let a: SqliteStore;
  let b: SqliteStore;
  const expiresAtOf = (store: SqliteStore, handle: string) =>
    store.db.prepare('SELECT expires_at FROM coatcheck_sessions WHERE handle = ?').pluck().get(handle) as
      | number
      | undefined;

  before(() => {
    a = new SqliteStore({ path, sweepIntervalMs: 0 });
    b = new SqliteStore({ path, sweepIntervalMs: 0 });
  });
  after(async () => {
    await a.close();
    await b.close();
    rmSync(dir, { recursive: true, force: true });
  });

  it('renew and update give the same record, from the row the other process wrote', async () => {
    const viaRenew = makeRecord({ userId: 'alice', authAt: 1, data: '{"x":1}' });
    const fresh = makeRecord();
    const viaUpdate = {
      ...viaRenew,
      handle: fresh.handle,
      secretHash: fresh.secretHash,
      csrfSecret: fresh.csrfSecret,
    };
    await a.create(viaRenew);
    await a.create(viaUpdate);
    // The other process changes the data and a device field after this process read the record.
    await b.update(viaRenew.handle, { set: { x: '2' }, meta: { deviceChallenge: '{"current":"c"}' } });
    await b.update(viaUpdate.handle, { set: { x: '2' }, meta: { deviceChallenge: '{"current":"c"}' } });
    const renewal = { lastSeenAt: viaRenew.lastSeenAt + 1000, idleExpiresAt: viaRenew.idleExpiresAt + 1000 };
    const renewed = await a.renew(viaRenew, renewal);
    const updated = await a.update(viaUpdate.handle, { meta: renewal });
    assert.ok(renewed && updated);
    const strip = (r: SessionRecord) => ({ ...normal(r), handle: '', secretHash: '', csrfSecret: '' });
    assert.deepEqual(strip(renewed), strip(updated));
    assert.deepEqual(JSON.parse(renewed.data), { x: 2 });
    assert.equal(renewed.version, viaRenew.version + 2);
    assert.deepEqual(normal(await b.get(viaRenew.handle)), normal(renewed));
    assert.equal(expiresAtOf(b, viaRenew.handle), renewal.idleExpiresAt);
  });

  it('S29 a renewal after the other process logged out returns null and writes nothing', async () => {
    const record = makeRecord({ userId: 'bob' });
    await a.create(record);
    await b.destroy(record.handle);
    assert.equal(
      await a.renew(record, { lastSeenAt: record.lastSeenAt + 1, idleExpiresAt: record.idleExpiresAt + 1 }),
      null,
    );
    assert.equal(await b.get(record.handle), null);
    assert.equal(expiresAtOf(a, record.handle), undefined);
    // Logged out everywhere too.
    const other = makeRecord({ userId: 'bob' });
    await a.create(other);
    await b.destroyByUser('bob');
    assert.equal(await a.renew(other, { lastSeenAt: 1, idleExpiresAt: other.idleExpiresAt + 1 }), null);
    assert.deepEqual(await b.listByUser('bob'), []);
  });

  it('S21 a renewal of a rotated session returns the pointer unchanged and never stretches the grace', async () => {
    const old = makeRecord({ userId: 'carol' });
    await a.create(old);
    const next = makeRecord({ userId: 'carol' });
    const graceUntil = Date.now() + 5_000;
    assert.equal(await b.replace(old.handle, next, { graceUntil }), true);
    const pointer = await b.get(old.handle);
    const expiresBefore = expiresAtOf(a, old.handle);
    const answer = await a.renew(old, {
      lastSeenAt: Date.now() + 60_000,
      idleExpiresAt: Date.now() + 3_600_000,
    });
    assert.deepEqual(normal(answer), normal(pointer));
    assert.equal(answer?.successor, next.handle);
    assert.deepEqual(normal(await b.get(old.handle)), normal(pointer));
    assert.equal(expiresAtOf(b, old.handle), expiresBefore);
    assert.ok(expiresBefore! <= graceUntil);
    // And once the grace is swept, the pointer is gone, renewal or not.
    await b.pruneExpired(graceUntil + 1);
    assert.equal(await a.renew(old, { lastSeenAt: 1, idleExpiresAt: graceUntil + 3_600_000 }), null);
    assert.equal(await b.get(old.handle), null);
    assert.ok(await b.get(next.handle));
  });

  it('the expiry stays min(idle, absolute): an idle expiry past the absolute limit is swept at the limit', async () => {
    const now = Date.now();
    const record = makeRecord({
      userId: 'dave',
      absoluteExpiresAt: now + 10_000,
      idleExpiresAt: now + 5_000,
    });
    await a.create(record);
    const renewed = await a.renew(record, { lastSeenAt: now + 1, idleExpiresAt: now + 60_000 });
    assert.equal(renewed?.idleExpiresAt, now + 60_000);
    assert.equal(renewed?.absoluteExpiresAt, now + 10_000);
    assert.equal(expiresAtOf(b, record.handle), now + 10_000);
    await b.pruneExpired(now + 10_000);
    assert.equal(await a.get(record.handle), null);
  });

  it('interleaved renewals, rotation and logout from two connections end as update would', async () => {
    for (let i = 0; i < 50; i++) {
      const record = makeRecord({ userId: `eve-${i}` });
      await a.create(record);
      const stores = i % 2 ? [a, b] : [b, a];
      const renewal = { lastSeenAt: record.lastSeenAt + i, idleExpiresAt: record.idleExpiresAt + i };
      await stores[0]!.renew(record, renewal);
      if (i % 3 === 0) await stores[1]!.destroy(record.handle);
      else if (i % 3 === 1)
        await stores[1]!.replace(record.handle, makeRecord({ userId: `eve-${i}` }), {
          graceUntil: Date.now() + 1000,
        });
      const expected = await stores[1]!.get(record.handle);
      const got = await stores[0]!.renew(record, {
        lastSeenAt: Date.now(),
        idleExpiresAt: Date.now() + 7_200_000,
      });
      if (i % 3 === 2) {
        assert.equal(got?.version, expected!.version + 1);
        assert.equal(expiresAtOf(a, record.handle), Math.min(got!.idleExpiresAt, got!.absoluteExpiresAt));
      } else assert.deepEqual(normal(got), normal(expected));
      if (i % 3 !== 2) assert.deepEqual(normal(await stores[1]!.get(record.handle)), normal(expected));
    }
  });
  it('S29 S21 another process renewing in a loop while this one logs out and rotates', async () => {
    const handles: SessionRecord[] = [];
    for (let i = 0; i < 200; i++) {
      const record = makeRecord({ userId: `race-${i}` });
      await a.create(record);
      handles.push(record);
    }
    const storeUrl = pathToFileURL(resolve('packages/coatcheck/src/stores/sqlite.ts')).href;
    const script = `
      const { SqliteStore } = await import(${JSON.stringify(storeUrl)});
      const store = new SqliteStore({ path: ${JSON.stringify(path)}, sweepIntervalMs: 0 });
      const records = JSON.parse(process.argv[1]);
      process.stdout.write('ready\\n');
      const end = Date.now() + 1500;
      while (Date.now() < end)
        for (const r of records) await store.renew(r, { lastSeenAt: Date.now(), idleExpiresAt: Date.now() + 7200000 });
      await store.close();
    `;
    const proc = spawn(
      process.execPath,
      ['--import', 'tsx', '--input-type=module', '-e', script, JSON.stringify(handles)],
      {
        stdio: ['ignore', 'pipe', 'inherit'],
      },
    );
    // Listened for at once: the child may finish its 1.5 s loop while this one is still writing.
    const exited = new Promise<number | null>((ok) => proc.once('exit', ok));
    await Promise.race([new Promise<void>((ok) => proc.stdout.once('data', () => ok())), exited]);
    const graceUntil = Date.now() + 2_000;
    for (const [i, record] of handles.entries()) {
      if (i % 2) await b.destroy(record.handle);
      else await b.replace(record.handle, makeRecord({ userId: `race-${i}` }), { graceUntil });
      await new Promise((r) => setImmediate(r));
    }
    const code = await exited;
    assert.equal(code, 0);
    for (const [i, record] of handles.entries()) {
      const row = await b.get(record.handle);
      if (i % 2) assert.equal(row, null, 'a logged-out session stays gone');
      else {
        assert.ok(row?.successor, 'the pointer stays a pointer');
        assert.ok(
          row.idleExpiresAt <= graceUntil && row.absoluteExpiresAt <= graceUntil,
          'grace not stretched',
        );
        assert.ok(expiresAtOf(b, record.handle)! <= graceUntil);
      }
    }
  });
});
