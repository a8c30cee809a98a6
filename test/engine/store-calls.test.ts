import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { SessionStoreError } from '../../packages/coatcheck/src/core/errors.js';
import { createEventBus, type SessionEvent } from '../../packages/coatcheck/src/core/events.js';
import { createStoreCall } from '../../packages/coatcheck/src/core/store/store-calls.js';

const TIMEOUT_MS = 40;

function timedCalls() {
  const events: SessionEvent[] = [];
  const bus = createEventBus(Date.now, (error) => {
    throw error;
  });
  bus.on((event) => events.push(event));
  return { call: createStoreCall(TIMEOUT_MS, bus), events, bus };
}

/** A store operation that answers only when told to. */
function deferred<T>() {
  let answer!: (value: T) => void;
  let fail!: (error: unknown) => void;
  const promise = new Promise<T>((resolve, reject) => {
    answer = resolve;
    fail = reject;
  });
  return { promise, answer, fail };
}

const outcome = (promise: Promise<unknown>) =>
  promise.then(
    (value) => ({ value }),
    (error: unknown) => ({ error }),
  );

describe('timed store calls', { timeout: 20_000 }, () => {
  // The deadline ticker is unref'd (a real store keeps its socket open); these stores hold nothing open.
  let keepAlive: NodeJS.Timeout;
  before(() => {
    keepAlive = setInterval(() => {}, 1_000);
  });
  after(() => clearInterval(keepAlive));

  it('times out exactly the calls the store leaves unanswered, wherever they sit among the others', async () => {
    const { call, events } = timedCalls();
    const stores = Array.from({ length: 7 }, () => deferred<string>());
    const results = stores.map((store, k) => outcome(call(`op${k}`, () => store.promise)));
    // Answered at once: the first, the last and one in the middle; one fails; the rest never answer.
    stores[0]!.answer('a');
    stores[3]!.answer('d');
    stores[6]!.answer('g');
    stores[4]!.fail(new Error('connection reset'));
    const settled = await Promise.all(results);
    assert.deepEqual(settled[0], { value: 'a' });
    assert.deepEqual(settled[3], { value: 'd' });
    assert.deepEqual(settled[6], { value: 'g' });
    const failed = settled[4] as { error: SessionStoreError };
    assert.ok(failed.error instanceof SessionStoreError);
    assert.equal(failed.error.operation, 'op4');
    for (const k of [1, 2, 5]) {
      const timedOut = settled[k] as { error: SessionStoreError };
      assert.ok(timedOut.error instanceof SessionStoreError, `op${k} timed out`);
      assert.equal(timedOut.error.message, `session store timed out during op${k}`);
    }
    const failures = events.filter((event) => event.type === 'store.error');
    assert.deepEqual(failures.map((event) => event.operation).sort(), ['op1', 'op2', 'op4', 'op5']);
    assert.equal(failures.filter((event) => event.failure === 'timeout').length, 3);
    // An answer after the timeout changes nothing: the call stays rejected, nothing is emitted again.
    stores[1]!.answer('late');
    stores[2]!.fail(new Error('late failure'));
    await new Promise((resolve) => setTimeout(resolve, TIMEOUT_MS));
    assert.equal(events.filter((event) => event.type === 'store.error').length, 4);
  });

  it('keeps timing calls out after the list emptied, and a call that throws at once fails without a timeout', async () => {
    const { call } = timedCalls();
    assert.deepEqual(await outcome(call('get', async () => 'first')), { value: 'first' });
    await new Promise((resolve) => setTimeout(resolve, 2 * TIMEOUT_MS));
    const hung = deferred<string>();
    const started = Date.now();
    const late = (await outcome(call('get', () => hung.promise))) as { error: SessionStoreError };
    assert.equal(late.error.message, 'session store timed out during get');
    assert.ok(Date.now() - started < 10 * TIMEOUT_MS);
    const thrown = (await outcome(
      call('update', () => {
        throw new Error('synchronous failure');
      }),
    )) as { error: SessionStoreError };
    assert.equal(thrown.error.operation, 'update');
    assert.equal((thrown.error.cause as Error).message, 'synchronous failure');
  });

  it('settles thousands of calls answered out of order, then times out the one left', async () => {
    const { call } = timedCalls();
    const stores = Array.from({ length: 2_000 }, () => deferred<number>());
    const results = stores.map((store, k) => outcome(call('get', () => store.promise.then(() => k))));
    // Every other call first, then the rest backwards, leaving call 1,001 unanswered.
    for (let k = 0; k < stores.length; k += 2) stores[k]!.answer(k);
    for (let k = stores.length - 1; k > 0; k -= 2) if (k !== 1_001) stores[k]!.answer(k);
    const settled = await Promise.all(results);
    settled.forEach((result, k) => {
      if (k === 1_001) assert.ok('error' in result);
      else assert.deepEqual(result, { value: k });
    });
  });

  it('a call its store answers from a store.error listener while deadlines are checked is not timed out too', async () => {
    const { call, events, bus } = timedCalls();
    // A client whose replies are thenables answered synchronously, here by its error handler.
    let answerB!: (value: string) => void;
    const reply = {
      // biome-ignore lint/suspicious/noThenProperty: a non-native promise is the point
      then(onAnswer: (value: string) => void) {
        answerB = onAnswer;
      },
    } as unknown as Promise<string>;
    bus.on((event) => {
      if (event.type === 'store.error' && event.operation === 'opC') answerB('b');
    });
    // Pending list, newest first: opC, opB, opA; opC times out first and its listener answers opB.
    const a = outcome(call('opA', () => deferred<string>().promise));
    const b = outcome(call('opB', () => reply));
    const c = outcome(call('opC', () => deferred<string>().promise));
    const settled = await Promise.all([a, b, c]);
    assert.deepEqual(settled[1], { value: 'b' });
    assert.ok('error' in settled[0]! && 'error' in settled[2]!);
    await new Promise((resolve) => setTimeout(resolve, TIMEOUT_MS));
    const failures = events.filter((event) => event.type === 'store.error').map((event) => event.operation);
    assert.deepEqual(failures.sort(), ['opA', 'opC']);
  });

  it('a store method that answers with anything but a promise fails at once with a store error, never a timeout', async () => {
    const { call, events } = timedCalls();
    for (const [answer, shown] of [
      [undefined, 'undefined'],
      [null, 'null'],
      [{ handle: 'h' }, 'object'],
    ] as const) {
      const failed = (await outcome(call('get', () => answer as unknown as Promise<unknown>))) as {
        error: SessionStoreError;
      };
      assert.ok(failed.error instanceof SessionStoreError);
      assert.equal(failed.error.operation, 'get');
      assert.equal((failed.error.cause as Error).message, `the store's get returned ${shown}, not a promise`);
    }
    await new Promise((resolve) => setTimeout(resolve, 2 * TIMEOUT_MS));
    const failures = events.filter((event) => event.type === 'store.error');
    assert.equal(failures.length, 3);
    assert.ok(failures.every((event) => event.failure === 'error'));
  });
});
