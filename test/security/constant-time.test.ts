import assert from 'node:assert/strict';
import crypto from 'node:crypto';
import { readFileSync } from 'node:fs';
import { syncBuiltinESMExports } from 'node:module';
import { after, afterEach, before, beforeEach, describe, it, type Mock, mock } from 'node:test';
import express from 'express';
import { createCsrfToken, verifyCsrfToken } from '../../packages/coatcheck/src/core/policies/csrf.js';
import { randomBase64url } from '../../packages/coatcheck/src/core/tokens/encoding.js';
import { createKeyring } from '../../packages/coatcheck/src/core/tokens/keyring.js';
import {
  hashSecret,
  issueToken,
  parseToken,
  secretHashMatches,
} from '../../packages/coatcheck/src/core/tokens/token.js';
import { csrf } from '../../packages/coatcheck/src/express/csrf.js';
import { session } from '../../packages/coatcheck/src/express/index.js';
import { MemoryStore } from '../../packages/coatcheck/src/stores/memory.js';
import { SECRET } from '../support/app.js';
import { Client, listen, type Running } from '../support/http.js';

type Spy = Mock<typeof crypto.timingSafeEqual>;
let spy: Spy;

/** The buffer lengths of every timingSafeEqual call since the last reset. */
const comparisons = () => spy.mock.calls.map((call) => call.arguments.map((buffer) => buffer.byteLength));

beforeEach(() => {
  // ESM named imports of node:crypto are live bindings; syncing makes them see the spy (S46).
  spy = mock.method(crypto, 'timingSafeEqual');
  syncBuiltinESMExports();
});
afterEach(() => {
  mock.restoreAll();
  syncBuiltinESMExports();
});

describe('S46 secret comparisons go through crypto.timingSafeEqual', () => {
  const keyring = createKeyring({ secret: SECRET, production: false, warn: () => {} });

  it('S46 a CSRF token is compared in constant time, on two 32-byte buffers', () => {
    const secret = randomBase64url(32);
    const token = createCsrfToken(secret);
    assert.equal(verifyCsrfToken(secret, token), true);
    assert.equal(verifyCsrfToken(randomBase64url(32), token), false);
    assert.deepEqual(comparisons(), [
      [32, 32],
      [32, 32],
    ]);
    assert.deepEqual(
      spy.mock.calls.map((call) => call.result),
      [true, false],
    );
  });

  it('S46 a malformed CSRF token is refused by its length check before any comparison', () => {
    const secret = randomBase64url(32);
    assert.equal(verifyCsrfToken(secret, createCsrfToken(secret).slice(1)), false);
    assert.equal(verifyCsrfToken(secret, 'x'), false);
    assert.equal(spy.mock.callCount(), 0);
  });

  it('S46 the cookie MAC and the stored secret hash are compared in constant time', () => {
    const issued = issueToken(keyring);
    const parsed = parseToken(keyring, issued.cookieValue);
    assert.equal(parsed.kind, 'token');
    assert.deepEqual(comparisons(), [[43, 43]], 'the MAC');
    if (parsed.kind !== 'token' || parsed.secret === null) assert.fail('a fresh parse carries the secret');
    assert.equal(secretHashMatches(hashSecret(parsed.secret), issued.secretHash), true);
    assert.equal(secretHashMatches(hashSecret(randomBase64url(32)), issued.secretHash), false);
    assert.deepEqual(comparisons().slice(1), [
      [43, 43],
      [43, 43],
    ]);
  });

  it('S46 a forged MAC is refused through the same comparison (cookie-signature#40: no truncation)', () => {
    const issued = issueToken(keyring);
    const forged = `${issued.cookieValue.slice(0, -1)}${issued.cookieValue.endsWith('A') ? 'B' : 'A'}`;
    assert.deepEqual(parseToken(keyring, forged), { kind: 'invalid', reason: 'bad-mac' });
    assert.deepEqual(parseToken(keyring, `${issued.cookieValue}garbage`), {
      kind: 'invalid',
      reason: 'malformed',
    });
    assert.deepEqual(comparisons(), [[43, 43]]);
  });

  it("S46 express-session's legacy signature is compared in constant time too", () => {
    const id = 'legacy-session-id';
    const sig = crypto.createHmac('sha256', SECRET).update(id).digest('base64').replace(/=+$/, '');
    assert.equal(keyring.unsignLegacy(`s:${id}.${sig}`), id);
    assert.equal(keyring.unsignLegacy(`s:${id}.${sig.slice(0, -1)}x`), null);
    assert.equal(spy.mock.callCount(), 2);
  });
});

describe('S46 over HTTP', () => {
  let app: Running;
  before(async () => {
    const server = express();
    server.use(session({ secret: SECRET, store: new MemoryStore(), warn: () => {} }), express.json());
    server.use(csrf({ origins: ['https://app.test'] }));
    server.get('/csrf', (req, res) => void res.json({ token: req.csrfToken() }));
    server.post('/change', (_req, res) => void res.json({ ok: true }));
    app = await listen(server as never);
  });
  after(() => app.close());

  it('S46 one authenticated state-changing request compares MAC, secret hash and CSRF token in constant time', async () => {
    const client = new Client(app.url);
    const { token } = (await client.get('/csrf')).json() as { token: string };
    spy.mock.resetCalls();
    assert.equal((await client.post('/change', {}, { 'x-csrf-token': token })).status, 200);
    assert.deepEqual(comparisons(), [
      [43, 43],
      [43, 43],
      [32, 32],
    ]);
    spy.mock.resetCalls();
    assert.equal(
      (await client.post('/change', {}, { 'x-csrf-token': createCsrfToken(randomBase64url(32)) })).status,
      403,
    );
    // The token's MAC was verified on the first request and is cached (tokens/verified-tokens.ts):
    // the secret hash and the CSRF token are still compared in constant time.
    assert.deepEqual(
      spy.mock.calls.map((call) => call.result),
      [true, false],
    );
  });
});

describe('S46 no plain equality on secrets', () => {
  // The files where request input meets a secret; a `===` there would leak a matching prefix.
  const files = [
    'src/core/policies/csrf.ts',
    'src/core/tokens/token.ts',
    'src/core/tokens/keyring.ts',
    'src/core/tokens/encoding.ts',
    'src/express/csrf.ts',
  ];
  const secretName = /\b(secret|secretHash|mac|sig|signature|expected|candidate|unmasked|csrfSecret)\b/i;
  const literal = /^(null|undefined|true|false|-?\d+|'[^']*'|"[^"]*")$/;

  function offencesIn(text: string, file: string): string[] {
    const offences: string[] = [];
    text.split('\n').forEach((line, index) => {
      const code = line.replace(/typeof\s+[\w.]+/g, 'TYPE').replace(/[\w.]+\.length\b/g, 'LENGTH');
      for (const match of code.matchAll(/([\w.[\]()'"]+)\s*(===|!==|==|!=)\s*([\w.[\]()'"]+)/g)) {
        const [left, right] = [match[1]!, match[3]!].map((operand) => operand.replace(/^[([]+|[)\]]+$/g, ''));
        if (left === undefined || right === undefined) continue;
        if (literal.test(left) || literal.test(right)) continue;
        if (secretName.test(left) || secretName.test(right))
          offences.push(`${file}:${index + 1}: ${line.trim()}`);
      }
    });
    return offences;
  }

  it('S46 no ===, !==, == or != compares a secret-named value with request input', () => {
    const offences = files.flatMap((file) =>
      offencesIn(readFileSync(new URL(`../../packages/coatcheck/${file}`, import.meta.url), 'utf8'), file),
    );
    assert.deepEqual(offences, []);
  });

  it('the scan catches plain comparisons and leaves lengths, types and literals alone', () => {
    assert.equal(offencesIn('if (mac === candidate) return;', 'x').length, 1);
    assert.equal(offencesIn('return hashSecret(secret) !== record.secretHash;', 'x').length, 1);
    assert.equal(
      offencesIn('if (secret.length !== 43 || typeof secret !== "string" || secret === null) {}', 'x').length,
      0,
    );
    assert.equal(hashSecret('a').length, 43);
  });
});
