import { randomUUID } from 'node:crypto';
import type pg from 'pg';
import { ROLES, type Role, type User, type UserRepository } from './repository.js';

interface Row {
  id: string;
  email: string;
  role: string;
  password_hash: string;
  created_at: string | number;
  totp_secret: string | null;
  disabled_at: string | number | null;
}

const toUser = (row: Row): User => ({
  id: row.id,
  email: row.email,
  role: ROLES.includes(row.role as Role) ? (row.role as Role) : 'user',
  passwordHash: row.password_hash,
  createdAt: Number(row.created_at),
  totpSecret: row.totp_secret,
  disabledAt: row.disabled_at === null || row.disabled_at === undefined ? null : Number(row.disabled_at),
});

/**
 * Users in PostgreSQL (when DATABASE_URL is set), on the pool the session store also uses.
 *
 * @example
 * const users = await PostgresUsers.open(pool);
 */
export class PostgresUsers implements UserRepository {
  private constructor(readonly pool: pg.Pool) {}

  /** Creates the table if needed; safe when several instances start at once. */
  static async open(pool: pg.Pool): Promise<PostgresUsers> {
    const client = await pool.connect();
    try {
      await client.query('BEGIN');
      await client.query("SELECT pg_advisory_xact_lock(hashtext('coatcheck_app_users'))");
      await client.query(`CREATE TABLE IF NOT EXISTS app_users (
        id TEXT PRIMARY KEY,
        email TEXT NOT NULL UNIQUE,
        role TEXT NOT NULL DEFAULT 'user',
        password_hash TEXT NOT NULL,
        created_at BIGINT NOT NULL
      )`);
      // Added after the first version: an existing table gains them in place.
      await client.query(
        `ALTER TABLE app_users ADD COLUMN IF NOT EXISTS totp_secret TEXT,
          ADD COLUMN IF NOT EXISTS totp_last_step BIGINT, ADD COLUMN IF NOT EXISTS disabled_at BIGINT`,
      );
      await client.query('COMMIT');
    } catch (error) {
      await client.query('ROLLBACK');
      throw error;
    } finally {
      client.release();
    }
    return new PostgresUsers(pool);
  }

  async #one(sql: string, values: unknown[]): Promise<User | null> {
    const { rows } = await this.pool.query<Row>(sql, values);
    return rows[0] ? toUser(rows[0]) : null;
  }

  findByEmail(email: string): Promise<User | null> {
    return this.#one('SELECT * FROM app_users WHERE email = $1', [email]);
  }

  findById(id: string): Promise<User | null> {
    return this.#one('SELECT * FROM app_users WHERE id = $1', [id]);
  }

  create(fields: { email: string; passwordHash: string; role: Role }): Promise<User | null> {
    return this.#one(
      `INSERT INTO app_users (id, email, role, password_hash, created_at) VALUES ($1, $2, $3, $4, $5)
       ON CONFLICT (email) DO NOTHING RETURNING *`,
      [randomUUID(), fields.email, fields.role, fields.passwordHash, Date.now()],
    );
  }

  async setPasswordHash(id: string, passwordHash: string): Promise<void> {
    await this.pool.query('UPDATE app_users SET password_hash = $1 WHERE id = $2', [passwordHash, id]);
  }

  async enableTotp(id: string, secret: string, step: number): Promise<void> {
    await this.pool.query('UPDATE app_users SET totp_secret = $1, totp_last_step = $2 WHERE id = $3', [
      secret,
      step,
      id,
    ]);
  }

  async disableTotp(id: string): Promise<void> {
    await this.pool.query('UPDATE app_users SET totp_secret = NULL WHERE id = $1', [id]);
  }

  async resealTotp(id: string, previous: string, secret: string): Promise<void> {
    await this.pool.query('UPDATE app_users SET totp_secret = $1 WHERE id = $2 AND totp_secret = $3', [
      secret,
      id,
      previous,
    ]);
  }

  async acceptTotpStep(id: string, step: number): Promise<boolean> {
    const result = await this.pool.query(
      `UPDATE app_users SET totp_last_step = $1
       WHERE id = $2 AND totp_secret IS NOT NULL AND (totp_last_step IS NULL OR totp_last_step < $1)`,
      [step, id],
    );
    return result.rowCount === 1;
  }

  async setDisabled(id: string, at: number | null): Promise<boolean> {
    const result = await this.pool.query('UPDATE app_users SET disabled_at = $1 WHERE id = $2', [at, id]);
    return result.rowCount === 1;
  }

  async setRole(id: string, role: Role): Promise<boolean> {
    const result = await this.pool.query('UPDATE app_users SET role = $1 WHERE id = $2', [role, id]);
    return result.rowCount === 1;
  }

  async list({ limit, offset }: { limit: number; offset: number }): Promise<User[]> {
    const { rows } = await this.pool.query<Row>(
      'SELECT * FROM app_users ORDER BY created_at, email LIMIT $1 OFFSET $2',
      [limit, offset],
    );
    return rows.map(toUser);
  }

  async count(): Promise<number> {
    const { rows } = await this.pool.query<{ n: string }>('SELECT COUNT(*) AS n FROM app_users');
    return Number(rows[0]?.n ?? 0);
  }

  async close(): Promise<void> {}
}
