import assert from 'node:assert/strict';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import BetterSqlite3 from 'better-sqlite3';
import { createTotpSecret, matchTotpStep, totpCodeAt } from '../../app/totp.js';
import { sealTotpSecrets } from '../../app/users/sealed-totp.js';
import { SqliteUsers } from '../../app/users/sqlite.js';

describe('TOTP secrets at rest', () => {
  let dir: string;
  let db: BetterSqlite3.Database;
  before(() => {
    dir = mkdtempSync(join(tmpdir(), 'coatcheck-sealed-'));
    db = new BetterSqlite3(join(dir, 'users.db'));
  });
  after(() => {
    db.close();
    rmSync(dir, { recursive: true, force: true });
  });

  it('are stored encrypted, open for their own user only, and survive a SESSION_SECRET rotation', async () => {
    const plain = new SqliteUsers(db);
    const users = sealTotpSecrets(plain, ['first-secret-0123456789-0123456789-abc']);
    const alice = (await users.create({ email: 'alice@example.com', passwordHash: 'x', role: 'user' }))!;
    const bob = (await users.create({ email: 'bob@example.com', passwordHash: 'x', role: 'user' }))!;
    const secret = createTotpSecret();
    await users.enableTotp(alice.id, secret, 1);

    const stored = (await plain.findById(alice.id))!.totpSecret!;
    assert.ok(!stored.includes(secret), 'the table holds no plain secret');
    assert.match(stored, /^v1\./);
    assert.equal((await users.findById(alice.id))?.totpSecret, secret);
    assert.equal((await users.findByEmail('alice@example.com'))?.totpSecret, secret);

    // Copied onto another user, the sealed value opens for nobody, and still counts as enrolled.
    await plain.enableTotp(bob.id, stored, 1);
    const copied = (await users.findById(bob.id))!.totpSecret;
    assert.ok(copied !== null && copied !== secret);

    const rotated = sealTotpSecrets(plain, [
      'second-secret-0123456789-0123456789-ab',
      'first-secret-0123456789-0123456789-abc',
    ]);
    assert.equal((await rotated.findById(alice.id))?.totpSecret, secret, 'an older secret still opens');
    const dropped = sealTotpSecrets(plain, ['second-secret-0123456789-0123456789-ab']);
    const lost = (await dropped.findById(alice.id))!.totpSecret;
    assert.ok(lost !== null && lost !== secret, 'without its key the factor stays enrolled but unusable');
    const now = Date.now();
    assert.equal(matchTotpStep(lost, totpCodeAt(secret, now), now), null, 'no code matches it');
  });

  it('a plain secret stored before sealing still works, and is sealed on first read keeping its last step', async () => {
    const plain = new SqliteUsers(db);
    const users = sealTotpSecrets(plain, ['first-secret-0123456789-0123456789-abc']);
    const carol = (await plain.create({ email: 'carol@example.com', passwordHash: 'x', role: 'user' }))!;
    const secret = createTotpSecret();
    const now = Date.now();
    const usedStep = matchTotpStep(secret, totpCodeAt(secret, now), now)!;
    await plain.enableTotp(carol.id, secret, usedStep);

    assert.equal((await users.findByEmail('carol@example.com'))?.totpSecret, secret, 'not locked out');
    const stored = (await plain.findById(carol.id))!.totpSecret!;
    assert.match(stored, /^v1\./);
    assert.ok(!stored.includes(secret), 'sealed in place');
    assert.equal((await users.findById(carol.id))?.totpSecret, secret, 'and opens like any sealed one');
    assert.equal(await users.acceptTotpStep(carol.id, usedStep), false, 'the used step stays used (S41)');
    assert.equal(await users.acceptTotpStep(carol.id, usedStep + 1), true);
    assert.equal(
      (await users.list({ limit: 10, offset: 0 })).find((u) => u.id === carol.id)?.totpSecret,
      secret,
    );
  });

  it('a reseal does not overwrite a secret that changed since it was read', async () => {
    const plain = new SqliteUsers(db);
    const dave = (await plain.create({ email: 'dave@example.com', passwordHash: 'x', role: 'user' }))!;
    await plain.enableTotp(dave.id, 'JBSWY3DPEHPK3PXP', 1);
    await plain.disableTotp(dave.id);
    await plain.resealTotp(dave.id, 'JBSWY3DPEHPK3PXP', 'v1.sealed.elsewhere');
    assert.equal((await plain.findById(dave.id))?.totpSecret, null);
  });
});
