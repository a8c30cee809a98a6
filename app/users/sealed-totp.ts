import { createCipheriv, createDecipheriv, hkdfSync, randomBytes } from 'node:crypto';
import type { User, UserRepository } from './repository.js';

const VERSION = 'v1';

function keyOf(secret: string): Buffer {
  return Buffer.from(
    hkdfSync('sha256', secret, Buffer.alloc(0), 'coatcheck reference app: totp secrets', 32),
  );
}

/**
 * Keeps TOTP secrets encrypted at rest (AES-256-GCM, bound to the user's id), under a key derived
 * from SESSION_SECRET: a copy of the users table alone yields no working second factor. The first
 * secret seals; every listed secret opens, so SESSION_SECRET rotates like the session keys do. A
 * plain base32 secret, written before sealing existed, is accepted and sealed on first read.
 */
export function sealTotpSecrets(users: UserRepository, secrets: readonly string[]): UserRepository {
  const keys = secrets.map(keyOf);

  function seal(userId: string, totpSecret: string): string {
    const key = keys[0];
    if (!key) throw new Error('SESSION_SECRET is needed to store a second factor');
    const iv = randomBytes(12);
    const cipher = createCipheriv('aes-256-gcm', key, iv).setAAD(Buffer.from(userId));
    const sealed = Buffer.concat([cipher.update(totpSecret, 'utf8'), cipher.final(), cipher.getAuthTag()]);
    return `${VERSION}.${iv.toString('base64url')}.${sealed.toString('base64url')}`;
  }

  function open(userId: string, stored: string): string | null {
    const [version, iv, sealed] = stored.split('.');
    if (version !== VERSION || !iv || !sealed) return null;
    const bytes = Buffer.from(sealed, 'base64url');
    if (bytes.length <= 16) return null;
    for (const key of keys) {
      try {
        const decipher = createDecipheriv('aes-256-gcm', key, Buffer.from(iv, 'base64url'))
          .setAAD(Buffer.from(userId))
          .setAuthTag(bytes.subarray(-16));
        return Buffer.concat([decipher.update(bytes.subarray(0, -16)), decipher.final()]).toString('utf8');
      } catch {}
    }
    return null;
  }

  // A secret no key opens (its key dropped from SESSION_SECRET, a value copied from another user)
  // must not read as "no second factor": it stays enrolled, and no code ever matches it.
  async function opened(user: User | null): Promise<User | null> {
    const stored = user?.totpSecret;
    if (!user || !stored) return user;
    if (PLAIN_BASE32.test(stored)) {
      // Stored before sealing existed: still this user's factor, and sealed from now on, keeping
      // the last accepted time-step (S41).
      if (keys[0]) await users.resealTotp(user.id, stored, seal(user.id, stored));
      return user;
    }
    return { ...user, totpSecret: open(user.id, stored) ?? UNUSABLE };
  }

  return {
    ...bind(users),
    findByEmail: async (email) => opened(await users.findByEmail(email)),
    findById: async (id) => opened(await users.findById(id)),
    list: async (options) =>
      Promise.all((await users.list(options)).map(async (user) => (await opened(user))!)),
    enableTotp: (id, secret, step) => users.enableTotp(id, seal(id, secret), step),
  };
}

/** A secret as it was stored before sealing: plain base32, never the `v1.` sealed form. */
const PLAIN_BASE32 = /^[A-Z2-7]+$/;

/** Stands in for a secret that cannot be opened: never base32, so no code ever matches it. */
const UNUSABLE = '!unusable';

/** The repository's methods bound to it, so they can be spread into a wrapper. */
function bind(users: UserRepository): UserRepository {
  return {
    findByEmail: (email) => users.findByEmail(email),
    findById: (id) => users.findById(id),
    create: (fields) => users.create(fields),
    setPasswordHash: (id, hash) => users.setPasswordHash(id, hash),
    enableTotp: (id, secret, step) => users.enableTotp(id, secret, step),
    disableTotp: (id) => users.disableTotp(id),
    resealTotp: (id, previous, secret) => users.resealTotp(id, previous, secret),
    acceptTotpStep: (id, step) => users.acceptTotpStep(id, step),
    setRole: (id, role) => users.setRole(id, role),
    setDisabled: (id, at) => users.setDisabled(id, at),
    list: (options) => users.list(options),
    count: () => users.count(),
    close: () => users.close(),
  };
}
