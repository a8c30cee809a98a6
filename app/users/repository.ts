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
}

/** Where users live: SQLite by default, PostgreSQL when DATABASE_URL is set. */
export interface UserRepository {
  findByEmail(email: string): Promise<User | null>;
  findById(id: string): Promise<User | null>;
  /** Inserts a user; null (and nothing written) when the email is taken. */
  create(fields: { email: string; passwordHash: string; role: Role }): Promise<User | null>;
  setPasswordHash(id: string, passwordHash: string): Promise<void>;
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
