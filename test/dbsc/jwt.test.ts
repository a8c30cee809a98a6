import assert from 'node:assert/strict';
import { generateKeyPairSync, sign } from 'node:crypto';
import { describe, it } from 'node:test';
import { boundCookieValue, hasDeviceProof } from '../../packages/coatcheck/src/core/dbsc/device-state.js';
import {
  decodeJwt,
  importPublicJwk,
  jwkThumbprint,
  verifyJwt,
} from '../../packages/coatcheck/src/core/dbsc/jwt.js';
import { createKeyring } from '../../packages/coatcheck/src/core/tokens/keyring.js';
import { BrowserKey } from './browser-key.js';

const b64 = (value: unknown) => Buffer.from(JSON.stringify(value)).toString('base64url');

describe('DBSC proof parsing', () => {
  const good = new BrowserKey('ES256').jwt({ jti: 'c' }, { withKey: true });
  const cases: [string, string | undefined, boolean][] = [
    ['a bare compact JWS', good, true],
    ['a structured-field string', `"${good}"`, true],
    ['nothing', undefined, false],
    ['an empty value', '', false],
    ['two parts', good.split('.').slice(0, 2).join('.'), false],
    ['four parts', `${good}.x`, false],
    ['a character outside base64url', good.replace('.', '.+'), false],
    ['a header that is not an object', `${b64([1])}.${b64({ jti: 'c' })}.c2ln`, false],
    ['a header that is not JSON', `bm90IGpzb24.${b64({ jti: 'c' })}.c2ln`, false],
    ['an oversized value', `${'a'.repeat(9000)}.${b64({})}.c2ln`, false],
  ];
  for (const [name, value, ok] of cases) {
    it(`${ok ? 'reads' : 'refuses'} ${name}`, () => assert.equal(decodeJwt(value) !== null, ok));
  }
});

describe('DBSC proof signatures', () => {
  it('accepts ES256 only as raw r||s, never DER', () => {
    const key = new BrowserKey('ES256');
    const jwk = key.publicKey.export({ format: 'jwk' });
    const imported = importPublicJwk(jwk, 'ES256')!;
    const raw = decodeJwt(key.jwt({ jti: 'c' }))!;
    assert.equal(verifyJwt(raw, 'ES256', imported.key), true);
    const der = sign('sha256', Buffer.from(raw.signingInput), key.privateKey).toString('base64url');
    assert.equal(verifyJwt(decodeJwt(`${raw.signingInput}.${der}`)!, 'ES256', imported.key), false);
  });

  it('refuses a proof whose header names another algorithm than the key', () => {
    const key = new BrowserKey('RS256');
    const imported = importPublicJwk(key.publicKey.export({ format: 'jwk' }), 'RS256')!;
    const jwt = decodeJwt(key.jwt({ jti: 'c' }))!;
    assert.equal(verifyJwt(jwt, 'RS256', imported.key), true);
    assert.equal(verifyJwt({ ...jwt, header: { ...jwt.header, alg: 'none' } }, 'RS256', imported.key), false);
  });

  it('imports only public members, refuses short RSA keys and keys of the wrong type', () => {
    const { privateKey } = generateKeyPairSync('ec', { namedCurve: 'P-256' });
    const withPrivate = privateKey.export({ format: 'jwk' });
    assert.deepEqual(Object.keys(importPublicJwk(withPrivate, 'ES256')!.jwk).sort(), [
      'crv',
      'kty',
      'x',
      'y',
    ]);
    assert.equal(importPublicJwk(withPrivate, 'RS256'), null);
    const short = generateKeyPairSync('rsa', { modulusLength: 1024 }).publicKey.export({ format: 'jwk' });
    assert.equal(importPublicJwk(short, 'RS256'), null);
    const p384 = generateKeyPairSync('ec', { namedCurve: 'P-384' }).publicKey.export({ format: 'jwk' });
    assert.equal(importPublicJwk(p384, 'ES256'), null);
    assert.equal(importPublicJwk('not a key', 'ES256'), null);
  });

  it('computes the RFC 7638 §3.1 example thumbprint', () => {
    const n =
      '0vx7agoebGcQSuuPiLJXZptN9nndrQmbXEps2aiAFbWhM78LhWx4cbbfAAtVT86zwu1RK7aPFFxuhDR1L6tSoc_BJECPebWKRXjBZCiFV4n3oknjhMstn64tZ_2W-5JsGY4Hc5n9yBXArwl93lqt7_RN5w6Cf0h4QyQ5v-65YGjQR0_FDW2QvzqY368QQMicAtaSqzs8KJZgnYb9c7d0zgdAZHzu6qMQvRL5hajrn1n91CbOpbISD08qNLyrdkt-bFTWhAI4vMQFh6WeZu0fM4lFd2NcRwr3XPksINHaQ-G_xBniIqbw0Ls1jF44-csFCur-kEgU8awapJzKnqDKgw';
    assert.equal(jwkThumbprint({ kty: 'RSA', n, e: 'AQAB' }), 'NzbLsXh8uDCcd-6MNwXF4W_7noWXFZAfHkxZsRGC9Xs');
  });
});

describe('DBSC bound cookie', () => {
  const keyring = createKeyring({ secret: 'k'.repeat(40), production: false, warn: () => {} });
  const key = JSON.stringify({ id: 'dbsc-1', cookie: 'b' });
  const at = 1_000_000;
  const value = boundCookieValue(keyring, 'dbsc-1', at + 60_000);
  const cases: [string, string | undefined, boolean][] = [
    ['its own unexpired cookie', `a=1; b=${value}`, true],
    ['no cookie', 'a=1', false],
    ['no Cookie header', undefined, false],
    ['two cookies of that name (S18)', `b=${value}; b=${value}`, false],
    [
      'a cookie made for another DBSC session',
      `b=${boundCookieValue(keyring, 'dbsc-2', at + 60_000)}`,
      false,
    ],
    ['a changed expiry', `b=${value.replace(/^\d+/, String(at + 999_999))}`, false],
    ['an expired cookie', `b=${boundCookieValue(keyring, 'dbsc-1', at)}`, false],
    ['an extra part', `b=${value}.x`, false],
  ];
  for (const [name, header, ok] of cases) {
    it(`${ok ? 'accepts' : 'refuses'} ${name}`, () =>
      assert.equal(hasDeviceProof(key, header, keyring, at), ok));
  }
  it('fails closed on a stored key it cannot read', () => {
    assert.equal(hasDeviceProof('{broken', `b=${value}`, keyring, at), false);
  });
});
