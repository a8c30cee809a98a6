import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import fc from 'fast-check';
import { isForbiddenKey, parseData } from '../../packages/coatcheck/src/core/store/record.js';

/** What parseData promises, written the slow, obvious way: a reviver that copies every object. */
function reference(text: string): unknown {
  const value: unknown = JSON.parse(text, (key, item: unknown) => {
    if (isForbiddenKey(key)) return undefined;
    if (item !== null && typeof item === 'object' && !Array.isArray(item)) {
      return Object.assign(Object.create(null) as Record<string, unknown>, item);
    }
    return item;
  });
  if (value === null || typeof value !== 'object' || Array.isArray(value)) return Object.create(null);
  return value;
}

/** Every non-array object in `value` has a null prototype, and no key is a prototype key. */
function assertNullPrototypes(value: unknown, path = 'data'): void {
  if (value === null || typeof value !== 'object') return;
  if (Array.isArray(value)) {
    assert.equal(Object.getPrototypeOf(value), Array.prototype, path);
    for (const [i, item] of value.entries()) assertNullPrototypes(item, `${path}[${i}]`);
    return;
  }
  assert.equal(Object.getPrototypeOf(value), null, `${path} has a prototype`);
  for (const key of Reflect.ownKeys(value)) {
    assert.ok(typeof key === 'string' && !isForbiddenKey(key), `${path} keeps ${String(key)}`);
    assertNullPrototypes((value as Record<string, unknown>)[key], `${path}.${key}`);
  }
}

describe('session data is parsed into null-prototype objects (S51)', () => {
  it('gives the same data as a copying reviver for any JSON value, prototype keys included', () => {
    const key = fc.oneof(
      fc.string(),
      fc.constantFrom('__proto__', 'constructor', 'prototype', 'toString', 'hasOwnProperty', 'cookie'),
    );
    const json = fc.letrec((tie) => ({
      value: fc.oneof(
        { depthSize: 'small', withCrossShrink: true },
        fc.constantFrom(null, true, false),
        fc.double({ noNaN: true, noDefaultInfinity: true }),
        fc.string(),
        fc.array(tie('value'), { maxLength: 4 }),
        fc.dictionary(key, tie('value'), { maxKeys: 5 }),
      ),
    })).value;
    fc.assert(
      fc.property(json, (value) => {
        const text = JSON.stringify(value);
        const parsed = parseData(text);
        assert.deepStrictEqual(parsed, reference(text));
        assertNullPrototypes(parsed);
      }),
      { numRuns: 2000 },
    );
  });

  it('drops prototype keys at every depth, spelled with JSON escapes too, and pollutes nothing', () => {
    const text =
      '{"\\u005f_proto__":{"isAdmin":true},"a":[{"constructor":{"prototype":{"isAdmin":true}}},' +
      '[{"__proto__":{"polluted":1},"keep":1}]],"b":{"c":{"prototyp\\u0065":1,"d":2}}}';
    const data = parseData(text);
    assert.deepStrictEqual(JSON.parse(JSON.stringify(data)), { a: [{}, [{ keep: 1 }]], b: { c: { d: 2 } } });
    assertNullPrototypes(data);
    const row = data.a as Array<unknown>;
    const nested = (row[1] as Array<Record<string, unknown>>)[0]!;
    // A later `obj[key][k] = v` with key `__proto__` writes an own key, never a prototype.
    const key = '__proto__';
    (nested as Record<string, Record<string, unknown>>)[key] = { isAdmin: true };
    assert.equal(Object.getPrototypeOf(nested), null);
    assert.equal(({} as Record<string, unknown>).isAdmin, undefined);
    assert.equal(({} as Record<string, unknown>).polluted, undefined);
  });

  it('loads data nested 100,000 deep, which a reviver could not (its recursion overflowed)', () => {
    const depth = 100_000;
    const text = `${'{"a":'.repeat(depth)}1${'}'.repeat(depth)}`;
    let node: unknown = parseData(text);
    for (let i = 0; i < depth; i++) {
      assert.equal(Object.getPrototypeOf(node), null);
      node = (node as Record<string, unknown>).a;
    }
    assert.equal(node, 1);
  });

  it('gives empty data for JSON that is not an object, and throws on text that is not JSON', () => {
    for (const text of ['null', '[]', '[{"a":1}]', '"text"', '7', 'true']) {
      const data = parseData(text);
      assert.deepStrictEqual(Reflect.ownKeys(data), [], text);
      assert.equal(Object.getPrototypeOf(data), null, text);
    }
    assert.throws(() => parseData('{"a":'), SyntaxError);
  });
});
