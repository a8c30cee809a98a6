import assert from 'node:assert/strict';
import { after, describe, it } from 'node:test';
import { createSessionEngine } from '../../packages/coatcheck/src/core/engine.js';
import { createKeyring, type Keyring } from '../../packages/coatcheck/src/core/tokens/keyring.js';
import { issueToken } from '../../packages/coatcheck/src/core/tokens/token.js';
import { createTokenVerifier } from '../../packages/coatcheck/src/core/tokens/verified-tokens.js';
import { MemoryStore } from '../../packages/coatcheck/src/stores/memory.js';
import { SECRET } from '../support/app.js';

const OLD_SECRET = 'an-older-secret-that-still-verifies-0123456789';

/** A keyring whose MAC checks are counted. */
function countedKeyring(secret: string | string[] = SECRET): { keyring: Keyring; checks: () => number } {
  const keyring = createKeyring({ secret, production: false, warn: () => {} });
  let checks = 0;
  return {
    keyring: {
      ...keyring,
      verify(value, mac) {
        checks++;
        return keyring.verify(value, mac);
      },
    },
    checks: () => checks,
  };
}

describe('cached token verifications', () => {
  it('checks a MAC once per token: the same cookie value again is answered from memory', () => {
    const { keyring, checks } = countedKeyring();
    const verify = createTokenVerifier(keyring);
    const issued = issueToken(keyring);
    const first = verify(issued.cookieValue);
    const again = verify(issued.cookieValue);
    assert.equal(checks(), 1);
    assert.equal(first.kind, 'token');
    assert.equal(again.kind, 'token');
    if (first.kind !== 'token' || again.kind !== 'token') return;
    assert.equal(again.handle, issued.handle);
    assert.equal(again.secretHash, issued.secretHash);
    assert.equal(first.secretHash, issued.secretHash);
    assert.equal(again.keyIndex, 0);
  });

  it('never keeps the secret: a cached token holds its handle and the secret hash only', () => {
    const { keyring } = countedKeyring();
    const verify = createTokenVerifier(keyring);
    const issued = issueToken(keyring);
    verify(issued.cookieValue);
    const cached = verify(issued.cookieValue);
    const secret = issued.cookieValue.split('.')[1]!;
    assert.equal(cached.kind === 'token' && cached.secret, null);
    assert.ok(!JSON.stringify(cached).includes(secret));
  });

  it('never caches a forged value: each one pays the full check and is refused (S44)', () => {
    const { keyring, checks } = countedKeyring();
    const verify = createTokenVerifier(keyring);
    const issued = issueToken(keyring);
    const forged = `${issued.cookieValue.slice(0, -1)}${issued.cookieValue.endsWith('A') ? 'B' : 'A'}`;
    for (let i = 0; i < 3; i++) assert.deepEqual(verify(forged), { kind: 'invalid', reason: 'bad-mac' });
    assert.equal(checks(), 3);
    // The genuine value next to it is still accepted.
    assert.equal(verify(issued.cookieValue).kind, 'token');
  });

  it('does not cache a token signed with an older key: it keeps its secret for re-signing (S61)', () => {
    const old = createKeyring({ secret: OLD_SECRET, production: false, warn: () => {} });
    const { keyring, checks } = countedKeyring([SECRET, OLD_SECRET]);
    const verify = createTokenVerifier(keyring);
    const issued = issueToken(old);
    for (let i = 0; i < 2; i++) {
      const parsed = verify(issued.cookieValue);
      assert.equal(parsed.kind === 'token' && parsed.keyIndex, 1);
      assert.equal(parsed.kind === 'token' && parsed.secret, issued.cookieValue.split('.')[1]);
    }
    assert.equal(checks(), 2);
  });

  it('is bounded: past two generations of its capacity, the oldest tokens are checked again', () => {
    const { keyring, checks } = countedKeyring();
    const verify = createTokenVerifier(keyring, 2);
    const tokens = Array.from({ length: 5 }, () => issueToken(keyring).cookieValue);
    for (const token of tokens) verify(token);
    assert.equal(checks(), 5);
    // The two newest are cached, the first ones were dropped with their generation.
    verify(tokens[4]!);
    verify(tokens[3]!);
    assert.equal(checks(), 5);
    verify(tokens[0]!);
    assert.equal(checks(), 6);
  });
});

describe('a cached token over the engine', () => {
  const store = new MemoryStore();
  after(() => store.close());
  const engine = createSessionEngine({ store, secret: SECRET, warn: () => {} });
  const info = (cookieHeader?: string) => ({ cookieHeader, secure: false, ip: '127.0.0.1', userAgent: 'ua' });

  async function signedIn(): Promise<string> {
    const state = await engine.load(info());
    await engine.login(state, 'ada');
    await engine.commit(state);
    return engine.cookieHeaders(state)[0]!.split(';')[0]!;
  }

  it('still ends with the session: after a logout the cached token is refused (S29)', async () => {
    const cookie = await signedIn();
    assert.equal((await engine.load(info(cookie))).record?.userId, 'ada');
    assert.equal((await engine.load(info(cookie))).record?.userId, 'ada');
    const state = await engine.load(info(cookie));
    await engine.logout(state);
    await engine.commit(state);
    const after = await engine.load(info(cookie));
    assert.equal(after.record, null);
    assert.equal(after.cookie, 'clear');
  });

  it('is still compared with the store: a record whose secret hash differs refuses the token (S5)', async () => {
    const cookie = await signedIn();
    const handle = cookie.slice(cookie.indexOf('=') + 1).split('.')[0]!;
    assert.equal((await engine.load(info(cookie))).record?.userId, 'ada');
    const record = await store.get(handle);
    assert.ok(record);
    // The same handle, stored again with another secret: the cached token no longer matches it.
    await store.destroy(handle);
    assert.ok(await store.create({ ...record, secretHash: issueToken(engine.options.keyring).secretHash }));
    const refused = await engine.load(info(cookie));
    assert.equal(refused.record, null);
    assert.equal(refused.cookie, 'clear');
  });
});
