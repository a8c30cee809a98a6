import assert from 'node:assert/strict';
import { after, describe, it } from 'node:test';
import { createSessionEngine } from '../../packages/coatcheck/src/core/engine.js';
import { MemoryStore } from '../../packages/coatcheck/src/stores/memory.js';
import { SECRET } from '../support/app.js';

/** Calls of JSON.stringify on the object `data()` returns (the request's data), while `work` runs. */
async function serialisations(data: () => unknown, work: () => Promise<void>): Promise<number> {
  const { stringify } = JSON;
  let calls = 0;
  JSON.stringify = function (this: JSON, ...args: Parameters<typeof JSON.stringify>) {
    if (args[0] !== undefined && args[0] === data()) calls++;
    return stringify.apply(this, args);
  } as typeof JSON.stringify;
  try {
    await work();
  } finally {
    JSON.stringify = stringify;
  }
  return calls;
}

describe('a request that changes its session data', () => {
  const store = new MemoryStore();
  after(() => store.close());
  const engine = createSessionEngine({ store, secret: SECRET, warn: () => {} });
  const info = (cookieHeader?: string) => ({ cookieHeader, secure: false, ip: '127.0.0.1', userAgent: 'ua' });

  async function session(): Promise<string> {
    const first = await engine.load(info());
    first.data.cart = [1];
    await engine.commit(first);
    return engine.cookieHeaders(first)[0]!.split(';')[0]!;
  }

  it('serialises the data once when commit follows needsCommit, as every adapter calls them', async () => {
    const cookie = await session();
    let data: unknown;
    const calls = await serialisations(
      () => data,
      async () => {
        const state = await engine.load(info(cookie));
        data = state.data;
        (state.data.cart as number[]).push(2);
        assert.equal(engine.needsCommit(state), true);
        await engine.commit(state);
      },
    );
    assert.equal(calls, 1);
    const state = await engine.load(info(cookie));
    assert.deepEqual(state.data.cart, [1, 2]);
  });

  it('stores a change made after needsCommit in a later turn, and one that replaced the data', async () => {
    const cookie = await session();
    const state = await engine.load(info(cookie));
    state.data.cart = [1, 2];
    assert.equal(engine.needsCommit(state), true);
    await Promise.resolve();
    (state.data.cart as number[]).push(3);
    await engine.commit(state);
    assert.deepEqual((await engine.load(info(cookie))).data.cart, [1, 2, 3]);

    const again = await engine.load(info(cookie));
    again.data.cart = [4];
    assert.equal(engine.needsCommit(again), true);
    again.data = { cart: [5] };
    await engine.commit(again);
    assert.deepEqual((await engine.load(info(cookie))).data.cart, [5]);
  });

  it('does not hand one request the text of another when their calls interleave', async () => {
    const [a, b] = [await session(), await session()];
    const stateA = await engine.load(info(a));
    const stateB = await engine.load(info(b));
    stateA.data.cart = ['a'];
    stateB.data.cart = ['b'];
    assert.equal(engine.needsCommit(stateA), true);
    assert.equal(engine.needsCommit(stateB), true);
    await Promise.all([engine.commit(stateA), engine.commit(stateB)]);
    assert.deepEqual((await engine.load(info(a))).data.cart, ['a']);
    assert.deepEqual((await engine.load(info(b))).data.cart, ['b']);
  });
});
