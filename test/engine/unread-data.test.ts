import assert from 'node:assert/strict';
import { after, describe, it } from 'node:test';
import { createSessionEngine } from '../../packages/coatcheck/src/core/engine.js';
import { MemoryStore } from '../../packages/coatcheck/src/stores/memory.js';
import { SECRET } from '../support/app.js';
import { jsonCalls } from '../support/json-calls.js';

const STORED = '{"cart":[1,2],"passport":{"user":"alice"}}';

/** Calls of JSON.parse on the stored data text, and of JSON.stringify that give it, while `work` runs. */
const storedJsonCalls = (work: () => Promise<void>) => jsonCalls((text) => text === STORED, work);

describe('a request that never reads its session data', () => {
  const store = new MemoryStore();
  after(() => store.close());
  const engine = createSessionEngine({ store, secret: SECRET, warn: () => {} });
  const info = (cookieHeader?: string) => ({ cookieHeader, secure: false, ip: '127.0.0.1', userAgent: 'ua' });

  it('neither parses nor serialises it, and a request that reads it still writes its change', async () => {
    const first = await engine.load(info());
    first.data.cart = [1, 2];
    first.data.passport = { user: 'alice' };
    await engine.commit(first);
    assert.equal(first.record?.userId, 'alice', 'the data named the user: a login');
    const cookie = engine.cookieHeaders(first)[0]!.split(';')[0]!;
    assert.equal((await store.get(first.record!.handle))?.data, STORED);

    // GET /me: the handler reads only who is signed in.
    const untouched = await storedJsonCalls(async () => {
      const state = await engine.load(info(cookie));
      assert.equal(state.record?.userId, 'alice');
      assert.equal(engine.needsCommit(state), false);
      await engine.commit(state);
      assert.deepEqual(engine.cookieHeaders(state), []);
    });
    assert.deepEqual(untouched, { parsed: 0, serialised: 0 });

    // A handler that reads the data pays for one parse and one comparison, and writes nothing
    // while the data stays as it was.
    const read = await storedJsonCalls(async () => {
      const state = await engine.load(info(cookie));
      assert.deepEqual(state.data.cart, [1, 2]);
      assert.equal(engine.needsCommit(state), false);
      await engine.commit(state);
    });
    assert.deepEqual(read, { parsed: 1, serialised: 2 });

    const changed = await engine.load(info(cookie));
    (changed.data.cart as number[]).push(3);
    assert.equal(engine.needsCommit(changed), true);
    await engine.commit(changed);
    assert.deepEqual(JSON.parse((await store.get(changed.record!.handle))!.data).cart, [1, 2, 3]);

    // Passport's logout empties `passport`: the sign-in ends, as before.
    const out = await engine.load(info(cookie));
    delete out.data.passport;
    await engine.commit(out);
    assert.equal(out.record?.userId ?? null, null);
  });
});
