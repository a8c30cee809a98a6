import assert from 'node:assert/strict';
import { it } from 'node:test';
import { MemoryStore } from '../../packages/coatcheck/src/stores/memory.js';
import { makeRecord, runStoreConformance } from '../../packages/coatcheck/src/testing/conformance.js';

runStoreConformance({ name: 'memory', createStore: () => new MemoryStore({ maxSessions: 100_000 }) });

it('the memory store stays within its bound and reports what it drops', async () => {
  const evicted: string[] = [];
  const store = new MemoryStore({ maxSessions: 1_000, onEvict: (record) => evicted.push(record.handle) });
  const first = makeRecord();
  await store.create(first);
  for (let i = 0; i < 20_000; i++) await store.create(makeRecord({ userId: `u${i % 50}` }));
  assert.equal(store.size, 1_000);
  assert.equal(evicted.length, 20_001 - 1_000);
  assert.equal(evicted[0], first.handle);
  const listed = (await Promise.all(Array.from({ length: 50 }, (_, i) => store.listByUser(`u${i}`)))).flat();
  assert.equal(listed.length, 1_000);
  await store.close();
});
