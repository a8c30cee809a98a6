/**
 * What the fuzz sends: Cookie headers (random, shaped like coatcheck's `<handle>.<secret>.<mac>`,
 * or an issued value with one small change), CSRF tokens (random, issued to another session, or
 * an issued one changed), and session data of any JSON shape with the keys that break naive code.
 */
import fc from 'fast-check';
import { Session } from '../packages/coatcheck/src/session-api/session.js';

/** The origin the CSRF app trusts; fuzzed requests state it, so only the token decides. */
export const FUZZ_ORIGIN = 'https://app.test';

/** Values the server has sent so far: session cookie values and CSRF tokens. */
export interface Issued {
  /** The most recent session cookie values (a bounded list: the sources of mutations). */
  cookies: string[];
  csrfTokens: string[];
}

const BASE64URL = 'ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_';
const base64url = (length: number) =>
  fc.string({ unit: fc.constantFrom(...BASE64URL), minLength: length, maxLength: length });
// Every character a Node client may put in a header value: tab, visible ASCII, Latin-1.
const headerChar = fc
  .oneof(fc.integer({ min: 0x20, max: 0x7e }), fc.integer({ min: 0x80, max: 0xff }), fc.constant(9))
  .map((code) => String.fromCharCode(code));
const headerText = (maxLength: number) => fc.string({ unit: headerChar, maxLength });
const tokenish = fc.string({ unit: fc.constantFrom(...`${BASE64URL}.=%+/ ;,"\\`), maxLength: 140 });

/** One issued value (or a made-up one before any was seen), for mutation. */
function issuedValue(values: readonly string[]): fc.Arbitrary<string> {
  return fc.nat().chain((n) => (values.length ? fc.constant(values[n % values.length]!) : base64url(108)));
}

/** A small change to a string: a character replaced, removed or added, cut short, or case-flipped. */
function mutate(value: fc.Arbitrary<string>): fc.Arbitrary<string> {
  return fc
    .tuple(value, fc.nat(), fc.constantFrom(...`${BASE64URL}.=%`), fc.nat(5))
    .map(([text, at, char, kind]) => {
      const i = text.length ? at % text.length : 0;
      switch (kind) {
        case 0:
          return (
            text.slice(0, i) +
            (text[i] === char ? BASE64URL[(BASE64URL.indexOf(char) + 1) % 64] : char) +
            text.slice(i + 1)
          );
        case 1:
          return text.slice(0, i) + text.slice(i + 1);
        case 2:
          return text.slice(0, i) + char + text.slice(i);
        case 3:
          return text.slice(0, i);
        case 4:
          return text.slice(0, i) + text.slice(i).toUpperCase();
        default:
          return `${text.slice(0, i)}%${text.charCodeAt(i).toString(16).toUpperCase()}${text.slice(i + 1)}`;
      }
    })
    .filter((text) => text !== '');
}

/** A whole Cookie header; the session cookie is named `id` in the test app. */
export function cookieArbitrary(issued: Issued): fc.Arbitrary<string> {
  const shaped = fc
    .tuple(fc.oneof(base64url(22), tokenish), base64url(43), base64url(43))
    .map((parts) => parts.join('.'));
  const value = fc.oneof(shaped, mutate(issuedValue(issued.cookies)), tokenish, headerText(600));
  const pair = fc
    .tuple(fc.constantFrom('id', 'ID', ' id', 'id ', 'connect.sid', 'other', 'id\t'), value)
    .map(([name, v]) => `${name}=${v}`);
  return fc.oneof(
    pair,
    fc.array(pair, { minLength: 2, maxLength: 4 }).map((pairs) => pairs.join('; ')),
    headerText(300),
  );
}

/** A CSRF token header value. */
export function csrfTokenArbitrary(issued: Issued): fc.Arbitrary<string> {
  return fc.oneof(
    base64url(86),
    issuedValue(issued.csrfTokens),
    mutate(issuedValue(issued.csrfTokens)),
    tokenish,
    headerText(200),
  );
}

/**
 * `req.session`'s own API (`login`, `save`, `id`, `meta`, …): a data key of that name shadows it, in
 * express-session as here, so an app never writes one; nor `passport`, whose `user` signs a user in
 * (the engine's default `userIdOf`). The fuzz leaves them out.
 */
const SESSION_API = new Set([...Object.getOwnPropertyNames(Session.prototype), 'cookie', 'passport']);
const nastyKey = fc.constantFrom(
  '__proto__',
  'constructor',
  'prototype',
  'toJSON',
  'hasOwnProperty',
  'valueOf',
  '',
  ' ',
  '\u0000',
  'a.b',
  '$where',
  'userId',
  'authAt',
  'aal',
);
const dataKey = fc.oneof(nastyKey, fc.string({ maxLength: 20 })).filter((key) => !SESSION_API.has(key));

/** A JSON request body for POST /set: an object of any values, keys included that break naive code. */
export function dataArbitrary(): fc.Arbitrary<string> {
  const entry = fc.tuple(dataKey, fc.jsonValue({ maxDepth: 4 }));
  return fc.oneof(
    fc.array(entry, { maxLength: 6 }).map((entries) => JSON.stringify(Object.fromEntries(entries))),
    // Top-level arrays and scalars; objects come from the line above, whose keys are filtered.
    fc
      .jsonValue({ maxDepth: 3 })
      .filter((value) => value === null || typeof value !== 'object' || Array.isArray(value))
      .map((value) => JSON.stringify(value) ?? 'null'),
    fc.string({ maxLength: 40 }),
  );
}
