import assert from 'node:assert/strict';
import { it } from 'node:test';
import { setFlagsFromString } from 'node:v8';
import { runInNewContext } from 'node:vm';
import fc from 'fast-check';
import type { SessionRecord } from '../../packages/coatcheck/src/core/store/record.js';
import { MemoryStore } from '../../packages/coatcheck/src/stores/memory.js';
import { makeRecord } from '../../packages/coatcheck/src/testing/conformance.js';

/**
 * MemoryStore keeps records outside the JavaScript heap. These tests hold it to what a Map of objects
 * gave: exact strings, insertion order, eviction of the oldest, the per-user index, and iteration
 * that survives changes, against a model that is a plain Map.
 */

class Model {
  readonly sessions = new Map<string, SessionRecord>();
  constructor(readonly max: number) {}
  create(record: SessionRecord): { created: boolean; evicted: string[] } {
    if (this.sessions.has(record.handle)) return { created: false, evicted: [] };
    const evicted: string[] = [];
    while (this.sessions.size >= this.max) {
      const oldest = this.sessions.keys().next().value as string;
      this.sessions.delete(oldest);
      evicted.push(oldest);
    }
    this.sessions.set(record.handle, structuredClone(record));
    return { created: true, evicted };
  }
  /** The user's handles, sorted: a store's list has no set order. */
  byUser(userId: string): string[] {
    return [...this.sessions.values()]
      .filter((r) => r.userId === userId)
      .map((r) => r.handle)
      .sort();
  }
}

const handles = ['h0', 'h1', 'h2', 'h3', 'h4', 'h5', 'h6', 'h7'];
const users = ['alice', 'bob', 'é', '\ud800', null];
const texts = ['', 'plain', 'ÿé', 'Ā', '😀', 'a\udc00b', '\u0000', 'x'.repeat(300), '€'.repeat(700)];

const operation = fc.oneof(
  {
    arbitrary: fc.record({
      op: fc.constant('create' as const),
      handle: fc.constantFrom(...handles),
      userId: fc.constantFrom(...users),
      text: fc.constantFrom(...texts),
    }),
    weight: 4,
  },
  fc.record({
    op: fc.constant('create' as const),
    handle: fc.constantFrom(...handles),
    userId: fc.constantFrom(...users),
    text: fc.constantFrom(...texts),
  }),
  fc.record({ op: fc.constant('get' as const), handle: fc.constantFrom(...handles) }),
  fc.record({
    op: fc.constant('update' as const),
    handle: fc.constantFrom(...handles),
    userId: fc.constantFrom(...users),
    text: fc.constantFrom(...texts),
  }),
  fc.record({ op: fc.constant('destroy' as const), handle: fc.constantFrom(...handles) }),
  fc.record({
    op: fc.constant('replace' as const),
    from: fc.constantFrom(...handles),
    to: fc.constantFrom(...handles),
    grace: fc.boolean(),
  }),
  fc.record({
    op: fc.constant('destroyByUser' as const),
    userId: fc.constantFrom('alice', 'bob', 'é', '\ud800'),
    except: fc.constantFrom(...handles),
  }),
  fc.record({ op: fc.constant('prune' as const), at: fc.integer({ min: 0, max: 40 }) }),
);

it('matches a Map of records under any sequence of operations (strings exact, order kept, oldest evicted)', async () => {
  await fc.assert(
    fc.asyncProperty(
      fc.array(operation, { minLength: 20, maxLength: 80 }),
      fc.integer({ min: 1, max: 7 }),
      async (ops, max) => {
        const evicted: string[] = [];
        const store = new MemoryStore({ maxSessions: max, onEvict: (r) => evicted.push(r.handle) });
        const model = new Model(max);
        let clock = 0;
        for (const step of ops) {
          clock++;
          if (step.op === 'create') {
            const record = makeRecord({
              handle: step.handle,
              userId: step.userId,
              data: JSON.stringify({ text: step.text }),
              device: { userAgent: step.text, ip: '::1' },
              csrfSecret: step.text,
              createdAt: clock,
              idleExpiresAt: clock + 20,
              absoluteExpiresAt: clock + 30,
            });
            const expected = model.create(record);
            evicted.length = 0;
            assert.equal(await store.create(record), expected.created);
            assert.deepEqual(evicted, expected.evicted);
          } else if (step.op === 'get') {
            assert.deepEqual(await store.get(step.handle), model.sessions.get(step.handle) ?? null);
          } else if (step.op === 'update') {
            const held = model.sessions.get(step.handle);
            const got = await store.update(step.handle, {
              meta: { userId: step.userId, lastSeenAt: clock },
              set: { text: JSON.stringify(step.text) },
            });
            if (!held) assert.equal(got, null);
            else if (held.successor !== null) assert.deepEqual(got, held);
            else {
              assert.ok(got);
              assert.equal(got.userId, step.userId);
              assert.equal((JSON.parse(got.data) as { text: string }).text, step.text);
              model.sessions.set(step.handle, structuredClone(got));
            }
          } else if (step.op === 'destroy') {
            const held = model.sessions.get(step.handle);
            assert.deepEqual(await store.destroy(step.handle), held ? { successor: held.successor } : null);
            model.sessions.delete(step.handle);
          } else if (step.op === 'replace') {
            const old = model.sessions.get(step.from);
            const next = makeRecord({ handle: step.to, userId: old?.userId ?? null, createdAt: clock });
            const ok = !!old && old.successor === null && !model.sessions.has(step.to);
            const options = step.grace ? { graceUntil: clock + 5 } : {};
            assert.equal(await store.replace(step.from, next, options), ok);
            if (ok && old) {
              if (step.grace) {
                model.sessions.set(step.from, {
                  ...old,
                  successor: step.to,
                  idleExpiresAt: Math.min(old.idleExpiresAt, clock + 5),
                  absoluteExpiresAt: Math.min(old.absoluteExpiresAt, clock + 5),
                  version: old.version + 1,
                });
              } else model.sessions.delete(step.from);
              model.create(next);
            }
          } else if (step.op === 'destroyByUser') {
            const expected = model.byUser(step.userId).filter((h) => h !== step.except);
            assert.deepEqual(
              (await store.destroyByUser(step.userId, { exceptHandle: step.except })).sort(),
              expected,
            );
            for (const handle of expected) model.sessions.delete(handle);
          } else {
            const expected = [...model.sessions.values()].filter(
              (r) => Math.min(r.idleExpiresAt, r.absoluteExpiresAt) <= step.at,
            );
            assert.equal(await store.pruneExpired(step.at), expected.length);
            for (const r of expected) model.sessions.delete(r.handle);
          }
          assert.equal(store.size, model.sessions.size);
          assert.deepEqual([...store.records()], [...model.sessions.values()]);
          for (const userId of ['alice', 'bob', 'é', '\ud800']) {
            assert.deepEqual(
              (await store.listByUser(userId)).map((r) => r.handle).sort(),
              model.byUser(userId),
            );
          }
        }
        await store.close();
      },
    ),
    { numRuns: 300 },
  );
});

it('keeps any string exactly: lone surrogates, NUL, Latin-1, astral characters, long texts', async () => {
  const store = new MemoryStore();
  await fc.assert(
    fc.asyncProperty(fc.string({ unit: 'binary' }), fc.string({ unit: 'binary' }), async (a, b) => {
      const record = makeRecord({
        userId: a,
        data: JSON.stringify({ a, b }),
        device: { userAgent: b, ip: a },
      });
      assert.equal(await store.create(record), true);
      assert.deepEqual(await store.get(record.handle), record);
      assert.deepEqual(
        (await store.listByUser(a)).map((r) => r.handle),
        [record.handle],
      );
      await store.destroy(record.handle);
    }),
    { numRuns: 500 },
  );
  // Records of a megabyte or more get a buffer each, given back when they go and taken anew after.
  const long = makeRecord({ data: JSON.stringify({ blob: '\ud83d'.repeat(3_000_000) }) });
  await store.create(long);
  assert.deepEqual(await store.get(long.handle), long);
  await store.destroy(long.handle);
  const next = makeRecord({
    data: JSON.stringify({ blob: '\ud83e'.repeat(3_000_000) }),
    device: { userAgent: '€'.repeat(600_000) },
  });
  const small = makeRecord();
  await store.create(next);
  await store.create(small);
  assert.deepEqual(await store.get(next.handle), next);
  assert.deepEqual(await store.get(small.handle), small);
  assert.equal(await store.get(long.handle), null);
  await store.close();
});

it('keeps device facts beyond a user agent and an address', async () => {
  const store = new MemoryStore();
  const device = { userAgent: 'ua', ip: '::1', platform: 'Linux' } as SessionRecord['device'];
  const record = makeRecord({ device, rememberedDeviceId: 'rd-1' });
  await store.create(record);
  assert.deepEqual(await store.get(record.handle), record);
  const bare = makeRecord({ device: {} });
  await store.create(bare);
  assert.deepEqual((await store.get(bare.handle))?.device, {});
  await store.close();
});

it('survives growth, reuse of slots and user changes over many sessions', async () => {
  const store = new MemoryStore({ maxSessions: 3_000 });
  const model = new Model(3_000);
  for (let i = 0; i < 20_000; i++) {
    const record = makeRecord({ handle: `s${i}`, userId: `u${i % 97}`, createdAt: i });
    model.create(record);
    await store.create(record);
    if (i % 3 === 0) {
      const victim = `s${i - (i % 1_000)}`;
      await store.destroy(victim);
      model.sessions.delete(victim);
    }
    if (i % 7 === 0 && model.sessions.has(`s${i - 5}`)) {
      const changed = await store.update(`s${i - 5}`, { meta: { userId: `u${i % 13}` } });
      assert.ok(changed);
      model.sessions.set(changed.handle, changed);
    }
  }
  assert.equal(store.size, model.sessions.size);
  assert.deepEqual([...store.records()], [...model.sessions.values()]);
  for (let u = 0; u < 97; u++) {
    assert.deepEqual((await store.listByUser(`u${u}`)).map((r) => r.handle).sort(), model.byUser(`u${u}`));
  }
  await store.close();
});

it('yields only records still held when the store changes during iteration', async () => {
  const store = new MemoryStore();
  const records = Array.from({ length: 10 }, (_, i) => makeRecord({ handle: `r${i}` }));
  for (const record of records) await store.create(record);
  const seen: string[] = [];
  for (const record of store.records()) {
    seen.push(record.handle);
    if (record.handle === 'r2') {
      await store.destroy('r5');
      await store.destroy('r6');
      await store.create(makeRecord({ handle: 'late' })); // may take r5's or r6's slot
    }
    if (record.handle === 'r7') await store.clear();
  }
  assert.deepEqual(seen, ['r0', 'r1', 'r2', 'r3', 'r4', 'r7']);
  await store.close();
});

it('holds a hundred thousand sessions without growing the JavaScript heap by more than 20 bytes each', async () => {
  setFlagsFromString('--expose-gc');
  const gc = runInNewContext('gc') as () => void;
  const store = new MemoryStore({ maxSessions: 100_000 });
  const template = makeRecord({ userId: 'someone', data: '{"role":"member","cart":[1,2,3]}' });
  gc();
  const before = process.memoryUsage().heapUsed;
  for (let i = 0; i < 100_000; i++) {
    await store.create({
      ...template,
      handle: `h${i.toString(36).padStart(16, '0')}`,
      userId: `user${i >> 2}`,
    });
  }
  gc();
  const perSession = (process.memoryUsage().heapUsed - before) / 100_000;
  // Held as objects (the store before this layout) the same sessions took about 700 bytes each.
  assert.ok(perSession < 20, `${perSession.toFixed(1)} bytes of heap per session`);
  assert.equal((await store.get('h000000000000002s'))?.userId, 'user25');
  await store.close();
});

it('answers a lookup by a handle or user that is not a string with nothing, as a Map did', async () => {
  const store = new MemoryStore();
  await store.create(makeRecord({ handle: 'null', userId: 'undefined' }));
  for (const key of [null, undefined, 0, {}]) {
    assert.equal(await store.get(key as unknown as string), null);
    assert.equal(await store.destroy(key as unknown as string), null);
    assert.deepEqual(await store.listByUser(key as unknown as string), []);
  }
  assert.equal(store.size, 1);
  await store.close();
});
