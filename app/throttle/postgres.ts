import type pg from 'pg';
import type { Hit, ThrottleCounter } from './counter.js';

/** Throttling counters in PostgreSQL: one atomic upsert per hit, shared by every instance. */
export class PostgresCounter implements ThrottleCounter {
  readonly #sweeper: NodeJS.Timeout;

  private constructor(readonly pool: pg.Pool) {
    this.#sweeper = setInterval(() => {
      this.pool.query('DELETE FROM app_throttle WHERE reset_at <= $1', [Date.now()]).catch(() => {});
    }, 60_000);
    this.#sweeper.unref();
  }

  /** Creates the table if needed; safe when several instances start at once. */
  static async open(pool: pg.Pool): Promise<PostgresCounter> {
    const client = await pool.connect();
    try {
      await client.query('BEGIN');
      await client.query("SELECT pg_advisory_xact_lock(hashtext('coatcheck_app_throttle'))");
      await client.query(
        'CREATE TABLE IF NOT EXISTS app_throttle (key TEXT PRIMARY KEY, count INTEGER NOT NULL, reset_at BIGINT NOT NULL)',
      );
      await client.query('COMMIT');
    } catch (error) {
      await client.query('ROLLBACK');
      throw error;
    } finally {
      client.release();
    }
    return new PostgresCounter(pool);
  }

  async hit(key: string, windowMs: number): Promise<Hit> {
    const now = Date.now();
    const { rows } = await this.pool.query<{ count: number; reset_at: string }>(
      `INSERT INTO app_throttle AS t (key, count, reset_at) VALUES ($1, 1, $3)
       ON CONFLICT (key) DO UPDATE SET
         count = CASE WHEN t.reset_at <= $2 THEN 1 ELSE t.count + 1 END,
         reset_at = CASE WHEN t.reset_at <= $2 THEN $3 ELSE t.reset_at END
       RETURNING count, reset_at`,
      [key, now, now + windowMs],
    );
    return { count: rows[0]!.count, resetAt: Number(rows[0]!.reset_at) };
  }

  async peek(key: string): Promise<Hit> {
    const { rows } = await this.pool.query<{ count: number; reset_at: string }>(
      'SELECT count, reset_at FROM app_throttle WHERE key = $1 AND reset_at > $2',
      [key, Date.now()],
    );
    return rows[0] ? { count: rows[0].count, resetAt: Number(rows[0].reset_at) } : { count: 0, resetAt: 0 };
  }

  async release(key: string, hit: Hit): Promise<void> {
    await this.pool.query(
      'UPDATE app_throttle SET count = count - 1 WHERE key = $1 AND reset_at = $2 AND count > 0',
      [key, hit.resetAt],
    );
  }

  async reset(key: string): Promise<void> {
    await this.pool.query('DELETE FROM app_throttle WHERE key = $1', [key]);
  }

  async close(): Promise<void> {
    clearInterval(this.#sweeper);
  }
}
