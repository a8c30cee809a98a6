/** A user's role: admins see and manage every user's sessions. */
export type Role = 'user' | 'admin';

/** Every role there is, for validation. */
export const ROLES: readonly Role[] = ['user', 'admin'];

/** A stored user. The password is only ever held as an argon2id hash. */
export interface User {
  id: string;
  email: string;
  role: Role;
  passwordHash: string;
  createdAt: number;
  /** The base32 TOTP secret once a second factor is enabled, else null. Never logged or shown again. */
  totpSecret: string | null;
  /** When an administrator disabled the account (it cannot sign in; ASVS 7.4), or null. */
  disabledAt: number | null;
}

/** Where users live: SQLite by default, PostgreSQL when DATABASE_URL is set. */
export interface UserRepository {
  findByEmail(email: string): Promise<User | null>;
  findById(id: string): Promise<User | null>;
  /** Inserts a user; null (and nothing written) when the email is taken. */
  create(fields: { email: string; passwordHash: string; role: Role }): Promise<User | null>;
  setPasswordHash(id: string, passwordHash: string): Promise<void>;
  /**
   * Enables TOTP with `secret`; `step` is the time-step of the code that confirmed it, so that code
   * cannot be used again (S41).
   */
  enableTotp(id: string, secret: string, step: number): Promise<void>;
  disableTotp(id: string): Promise<void>;
  /**
   * Replaces the stored TOTP secret `previous` with `secret` (the same secret in another form),
   * keeping the last accepted time-step; nothing changes when `previous` is no longer stored.
   */
  resealTotp(id: string, previous: string, secret: string): Promise<void>;
  /**
   * Records `step` as the user's last accepted TOTP time-step, only when it is later than the one
   * stored, in one conditional UPDATE: of two requests with the same code, exactly one gets true (S41).
   */
  acceptTotpStep(id: string, step: number): Promise<boolean>;
  /** Disables the account at `at` (ms), or enables it with null; false when there is no such user. */
  setDisabled(id: string, at: number | null): Promise<boolean>;
  /** Changes a user's role; false when there is no such user. */
  setRole(id: string, role: Role): Promise<boolean>;
  /** Users in sign-up order. */
  list(options: { limit: number; offset: number }): Promise<User[]>;
  count(): Promise<number>;
  close(): Promise<void>;
}

/** Emails are compared case-insensitively and without surrounding spaces. */
export function normalizeEmail(email: string): string {
  return email.trim().toLowerCase();
}
