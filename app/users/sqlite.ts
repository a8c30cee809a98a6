import { randomUUID } from 'node:crypto';
import type BetterSqlite3 from 'better-sqlite3';
import { ROLES, type Role, type User, type UserRepository } from './repository.js';

interface Row {
  id: string;
  email: string;
  role: string;
  password_hash: string;
  created_at: number;
  totp_secret: string | null;
  disabled_at: number | null;
}

const toUser = (row: Row): User => ({
  id: row.id,
  email: row.email,
  role: ROLES.includes(row.role as Role) ? (row.role as Role) : 'user',
  passwordHash: row.password_hash,
  createdAt: row.created_at,
  totpSecret: row.totp_secret,
  disabledAt: row.disabled_at ?? null,
});

/** Columns added after the first version, added in place to an existing database. */
const ADDED_COLUMNS: Record<string, string> = {
  totp_secret: 'TEXT',
  totp_last_step: 'INTEGER',
  disabled_at: 'INTEGER',
};

function migrate(db: BetterSqlite3.Database): void {
  const present = new Set(
    db
      .prepare<[string], { name: string }>('SELECT name FROM pragma_table_info(?)')
      .all('app_users')
      .map((column) => column.name),
  );
  for (const [name, type] of Object.entries(ADDED_COLUMNS)) {
    if (!present.has(name)) db.exec(`ALTER TABLE app_users ADD COLUMN ${name} ${type}`);
  }
}

/**
 * Users in the app's SQLite file, beside the sessions.
 *
 * @example
 * const users = new SqliteUsers(new BetterSqlite3('data/coatcheck.db'));
 */
export class SqliteUsers implements UserRepository {
  readonly #statements;

  constructor(db: BetterSqlite3.Database) {
    db.exec(`CREATE TABLE IF NOT EXISTS app_users (
      id TEXT PRIMARY KEY,
      email TEXT NOT NULL UNIQUE,
      role TEXT NOT NULL DEFAULT 'user',
      password_hash TEXT NOT NULL,
      created_at INTEGER NOT NULL
    )`);
    db.transaction(() => migrate(db)).immediate();
    this.#statements = {
      byEmail: db.prepare<[string], Row>('SELECT * FROM app_users WHERE email = ?'),
      byId: db.prepare<[string], Row>('SELECT * FROM app_users WHERE id = ?'),
      insert: db.prepare(
        'INSERT OR IGNORE INTO app_users (id, email, role, password_hash, created_at) VALUES (?, ?, ?, ?, ?)',
      ),
      password: db.prepare('UPDATE app_users SET password_hash = ? WHERE id = ?'),
      role: db.prepare('UPDATE app_users SET role = ? WHERE id = ?'),
      disabled: db.prepare('UPDATE app_users SET disabled_at = ? WHERE id = ?'),
      enableTotp: db.prepare('UPDATE app_users SET totp_secret = ?, totp_last_step = ? WHERE id = ?'),
      disableTotp: db.prepare('UPDATE app_users SET totp_secret = NULL WHERE id = ?'),
      resealTotp: db.prepare<{ id: string; previous: string; secret: string }>(
        'UPDATE app_users SET totp_secret = @secret WHERE id = @id AND totp_secret = @previous',
      ),
      acceptStep: db.prepare<{ id: string; step: number }>(
        `UPDATE app_users SET totp_last_step = @step
         WHERE id = @id AND totp_secret IS NOT NULL AND (totp_last_step IS NULL OR totp_last_step < @step)`,
      ),
      list: db.prepare<[number, number], Row>(
        'SELECT * FROM app_users ORDER BY created_at, email LIMIT ? OFFSET ?',
      ),
      count: db.prepare<[], { n: number }>('SELECT COUNT(*) AS n FROM app_users'),
    };
  }

  async findByEmail(email: string): Promise<User | null> {
    const row = this.#statements.byEmail.get(email);
    return row ? toUser(row) : null;
  }

  async findById(id: string): Promise<User | null> {
    const row = this.#statements.byId.get(id);
    return row ? toUser(row) : null;
  }

  async create(fields: { email: string; passwordHash: string; role: Role }): Promise<User | null> {
    const user: User = {
      id: randomUUID(),
      createdAt: Date.now(),
      totpSecret: null,
      disabledAt: null,
      ...fields,
    };
    const result = this.#statements.insert.run(
      user.id,
      user.email,
      user.role,
      user.passwordHash,
      user.createdAt,
    );
    return result.changes === 1 ? user : null;
  }

  async setPasswordHash(id: string, passwordHash: string): Promise<void> {
    this.#statements.password.run(passwordHash, id);
  }

  async enableTotp(id: string, secret: string, step: number): Promise<void> {
    this.#statements.enableTotp.run(secret, step, id);
  }

  async disableTotp(id: string): Promise<void> {
    this.#statements.disableTotp.run(id);
  }

  async resealTotp(id: string, previous: string, secret: string): Promise<void> {
    this.#statements.resealTotp.run({ id, previous, secret });
  }

  async acceptTotpStep(id: string, step: number): Promise<boolean> {
    return this.#statements.acceptStep.run({ id, step }).changes === 1;
  }

  async setDisabled(id: string, at: number | null): Promise<boolean> {
    return this.#statements.disabled.run(at, id).changes === 1;
  }

  async setRole(id: string, role: Role): Promise<boolean> {
    return this.#statements.role.run(role, id).changes === 1;
  }

  async list({ limit, offset }: { limit: number; offset: number }): Promise<User[]> {
    return this.#statements.list.all(limit, offset).map(toUser);
  }

  async count(): Promise<number> {
    return this.#statements.count.get()?.n ?? 0;
  }

  async close(): Promise<void> {}
}
