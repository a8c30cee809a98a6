import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import fc from 'fast-check';
import type { SessionRecord } from '../../packages/coatcheck/src/core/store/record.js';
import { decodeRecord, encodeRecord } from '../../packages/coatcheck/src/stores/redis/codec.js';

/** Any number a record's time, version, level or cookie lifetime field can hold, edges first. */
const number = fc.oneof(
  fc.constantFrom(0, -1, 1, 9, 10, 999_999_999_999_999, 1_000_000_000_000_000, Number.MAX_SAFE_INTEGER),
  fc.integer({ min: -1, max: 4_102_444_800_000 }),
  fc.maxSafeInteger(),
);
const text = fc.string({ unit: 'binary', maxLength: 40 });
const nullable = <T>(arbitrary: fc.Arbitrary<T>) => fc.option(arbitrary, { nil: null });

const record: fc.Arbitrary<SessionRecord> = fc
  .record({
    handle: fc.constant('h'),
    secretHash: fc.string({ minLength: 1, maxLength: 44 }),
    userId: nullable(text),
    createdAt: number,
    authAt: nullable(number),
    lastSeenAt: number,
    idleExpiresAt: number,
    absoluteExpiresAt: number,
    version: number,
    device: fc.record({ userAgent: text, ip: text }, { requiredKeys: [] }).map((device) => ({ ...device })),
    cookieMaxAgeMs: nullable(number),
    csrfSecret: nullable(text),
    aal: fc.integer({ min: 0, max: 3 }),
    stepUpAt: nullable(number),
    rotatedAt: number,
    successor: nullable(text),
    deviceKey: nullable(text),
    deviceChallenge: nullable(text),
    rememberedDeviceId: fc.option(text, { nil: undefined }),
    data: fc.dictionary(fc.string({ maxLength: 8 }), fc.jsonValue()).map((data) => JSON.stringify(data)),
  })
  .map((fields) => fields as SessionRecord);

/** The reply shapes a driver may hand over: the flat list, an object, a Map. */
function replies(pairs: string[]): unknown[] {
  const entries: [string, string][] = [];
  for (let i = 0; i < pairs.length; i += 2) entries.push([pairs[i]!, pairs[i + 1]!]);
  return [pairs, Object.fromEntries(entries), new Map(entries)];
}

describe('Redis codec: a record survives encode and decode', () => {
  /** A record as a decode gives it back: data re-serialised, no `rememberedDeviceId` key when unset. */
  const normalised = (record: SessionRecord, wellFormed = false): Record<string, unknown> => {
    const out: Record<string, unknown> = { ...record, data: JSON.stringify(JSON.parse(record.data)) };
    if (out.rememberedDeviceId === undefined) delete out.rememberedDeviceId;
    if (wellFormed) {
      for (const field of WELL_FORMED) {
        const value = out[field];
        if (typeof value === 'string') out[field] = value.toWellFormed();
      }
    }
    return out;
  };
  /** The text fields the string layout writes as well-formed UTF-16 (a lone surrogate as U+FFFD). */
  const WELL_FORMED = [
    'secretHash',
    'userId',
    'csrfSecret',
    'successor',
    'deviceKey',
    'deviceChallenge',
    'rememberedDeviceId',
  ] as const;

  for (const layout of ['packed', 'fields'] as const) {
    it(`in the ${layout} layout, every reply shape, any field values`, () => {
      fc.assert(
        fc.property(record, (original) => {
          for (const reply of replies(encodeRecord(original, layout))) {
            const decoded = decodeRecord('h', reply);
            assert.ok(decoded);
            assert.deepEqual(normalised(decoded), normalised(original));
          }
        }),
        { numRuns: 300 },
      );
    });
  }

  it('in the string layout, any field values: text fields with lone surrogates come back as U+FFFD', () => {
    fc.assert(
      fc.property(record, (original) => {
        const [value, ...rest] = encodeRecord(original, 'string');
        assert.equal(rest.length, 0, 'one value');
        const list = JSON.parse(value!.slice(72)) as unknown[];
        assert.ok(
          list.every((entry) =>
            typeof entry === 'string'
              ? entry.isWellFormed()
              : Object.values(entry as object).every((text: string) => text.isWellFormed()),
          ),
          'Lua decodes it: cjson refuses the escape of a lone surrogate',
        );
        const device = list[list.findIndex((entry, i) => i % 2 === 0 && entry === 'device') + 1];
        const plain = Object.values(original.device).every((text) => text.isWellFormed());
        assert.equal(
          typeof device,
          plain ? 'object' : 'string',
          'the device is an object when its values are well formed',
        );
        const decoded = decodeRecord('h', value);
        assert.ok(decoded);
        assert.deepEqual(normalised(decoded), normalised(original, true));
      }),
      { numRuns: 300 },
    );
  });

  it('reads a string no longer than its header as no session (a renewal stub)', () => {
    assert.equal(decodeRecord('h', `${'1'.padEnd(24)}${'2'.padEnd(24)}${'3'.padEnd(24)}`), null);
    assert.equal(decodeRecord('h', '1'), null);
  });

  it('reads number fields as Number does, whatever their text', () => {
    const odd = ['', ' 7', '7 ', '+7', '-0', '0x10', '1e3', '007', '12.5', '1234567890123456', 'abc'];
    for (const value of odd) {
      const decoded = decodeRecord('h', ['secretHash', 's', 'version', value, 'createdAt', value]);
      assert.ok(decoded);
      assert.ok(Object.is(decoded.version, Number(value)), `version ${JSON.stringify(value)}`);
      assert.ok(Object.is(decoded.createdAt, Number(value)), `createdAt ${JSON.stringify(value)}`);
    }
  });
});
