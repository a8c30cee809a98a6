import type BetterSqlite3 from 'better-sqlite3';
import type { Hit, ThrottleCounter } from './counter.js';

/**
 * Throttling counters in the app's SQLite file: one upsert per hit, atomic across the processes
 * sharing the file.
 */
export class SqliteCounter implements ThrottleCounter {
  readonly #statements;
  readonly #sweeper: NodeJS.Timeout;

  constructor(db: BetterSqlite3.Database) {
    db.exec(`CREATE TABLE IF NOT EXISTS app_throttle (
      key TEXT PRIMARY KEY,
      count INTEGER NOT NULL,
      reset_at INTEGER NOT NULL
    ) WITHOUT ROWID`);
    this.#statements = {
      hit: db.prepare<{ key: string; now: number; until: number }, Hit>(
        `INSERT INTO app_throttle (key, count, reset_at) VALUES (@key, 1, @until)
         ON CONFLICT (key) DO UPDATE SET
           count = CASE WHEN reset_at <= @now THEN 1 ELSE count + 1 END,
           reset_at = CASE WHEN reset_at <= @now THEN @until ELSE reset_at END
         RETURNING count, reset_at AS resetAt`,
      ),
      peek: db.prepare<[string, number], Hit>(
        'SELECT count, reset_at AS resetAt FROM app_throttle WHERE key = ? AND reset_at > ?',
      ),
      release: db.prepare<[string, number]>(
        'UPDATE app_throttle SET count = count - 1 WHERE key = ? AND reset_at = ? AND count > 0',
      ),
      reset: db.prepare<[string]>('DELETE FROM app_throttle WHERE key = ?'),
      prune: db.prepare<[number]>('DELETE FROM app_throttle WHERE reset_at <= ?'),
    };
    this.#sweeper = setInterval(() => this.#statements.prune.run(Date.now()), 60_000);
    this.#sweeper.unref();
  }

  async hit(key: string, windowMs: number): Promise<Hit> {
    const now = Date.now();
    return this.#statements.hit.get({ key, now, until: now + windowMs })!;
  }

  async peek(key: string): Promise<Hit> {
    return this.#statements.peek.get(key, Date.now()) ?? { count: 0, resetAt: 0 };
  }

  async release(key: string, hit: Hit): Promise<void> {
    this.#statements.release.run(key, hit.resetAt);
  }

  async reset(key: string): Promise<void> {
    this.#statements.reset.run(key);
  }

  async close(): Promise<void> {
    clearInterval(this.#sweeper);
  }
}
