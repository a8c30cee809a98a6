import { randomUUID } from 'node:crypto';
import type pg from 'pg';
import {
  type DeviceSighting,
  NOTIFICATION_KINDS,
  type Notification,
  type NotificationKind,
  type NotificationRepository,
} from './repository.js';

interface Row {
  id: string;
  user_id: string;
  kind: string;
  text: string;
  created_at: string | number;
  read_at: string | number | null;
}

const toNotification = (row: Row): Notification => ({
  id: row.id,
  userId: row.user_id,
  kind: NOTIFICATION_KINDS.includes(row.kind as NotificationKind)
    ? (row.kind as NotificationKind)
    : 'new_device',
  text: row.text,
  createdAt: Number(row.created_at),
  readAt: row.read_at === null ? null : Number(row.read_at),
});

/**
 * Notifications and known devices in PostgreSQL, on the pool the users also use.
 *
 * @example
 * const notifications = await PostgresNotifications.open(pool);
 */
export class PostgresNotifications implements NotificationRepository {
  private constructor(readonly pool: pg.Pool) {}

  /** Creates the tables if needed; safe when several instances start at once. */
  static async open(pool: pg.Pool): Promise<PostgresNotifications> {
    const client = await pool.connect();
    try {
      await client.query('BEGIN');
      await client.query("SELECT pg_advisory_xact_lock(hashtext('coatcheck_app_notifications'))");
      await client.query(`CREATE TABLE IF NOT EXISTS app_notifications (
        id TEXT PRIMARY KEY,
        user_id TEXT NOT NULL,
        kind TEXT NOT NULL,
        text TEXT NOT NULL,
        created_at BIGINT NOT NULL,
        read_at BIGINT
      )`);
      await client.query(
        'CREATE INDEX IF NOT EXISTS app_notifications_user ON app_notifications (user_id, created_at)',
      );
      await client.query(`CREATE TABLE IF NOT EXISTS app_known_devices (
        user_id TEXT NOT NULL,
        fingerprint TEXT NOT NULL,
        first_seen_at BIGINT NOT NULL,
        PRIMARY KEY (user_id, fingerprint)
      )`);
      await client.query('COMMIT');
    } catch (error) {
      await client.query('ROLLBACK');
      throw error;
    } finally {
      client.release();
    }
    return new PostgresNotifications(pool);
  }

  async add(fields: {
    userId: string;
    kind: NotificationKind;
    text: string;
    createdAt: number;
  }): Promise<Notification> {
    const notification: Notification = { id: randomUUID(), readAt: null, ...fields };
    await this.pool.query(
      'INSERT INTO app_notifications (id, user_id, kind, text, created_at) VALUES ($1, $2, $3, $4, $5)',
      [notification.id, notification.userId, notification.kind, notification.text, notification.createdAt],
    );
    return notification;
  }

  async list(userId: string, limit: number): Promise<Notification[]> {
    const { rows } = await this.pool.query<Row>(
      'SELECT * FROM app_notifications WHERE user_id = $1 ORDER BY created_at DESC, id LIMIT $2',
      [userId, limit],
    );
    return rows.map(toNotification);
  }

  async countUnread(userId: string): Promise<number> {
    const { rows } = await this.pool.query<{ n: string }>(
      'SELECT COUNT(*) AS n FROM app_notifications WHERE user_id = $1 AND read_at IS NULL',
      [userId],
    );
    return Number(rows[0]?.n ?? 0);
  }

  async markRead(userId: string, at: number, id?: string): Promise<number> {
    const result =
      id === undefined
        ? await this.pool.query(
            'UPDATE app_notifications SET read_at = $1 WHERE user_id = $2 AND read_at IS NULL',
            [at, userId],
          )
        : await this.pool.query(
            'UPDATE app_notifications SET read_at = $1 WHERE user_id = $2 AND id = $3 AND read_at IS NULL',
            [at, userId, id],
          );
    return result.rowCount ?? 0;
  }

  async rememberDevice(userId: string, fingerprint: string, at: number): Promise<DeviceSighting> {
    // One statement: the insert and the count of the user's other devices see the same snapshot.
    const { rows } = await this.pool.query<{ inserted: boolean; others: string }>(
      `WITH inserted AS (
         INSERT INTO app_known_devices (user_id, fingerprint, first_seen_at) VALUES ($1, $2, $3)
         ON CONFLICT DO NOTHING RETURNING 1
       )
       SELECT EXISTS (SELECT 1 FROM inserted) AS inserted,
              (SELECT COUNT(*) FROM app_known_devices WHERE user_id = $1 AND fingerprint <> $2) AS others`,
      [userId, fingerprint, at],
    );
    const row = rows[0];
    if (!row?.inserted) return 'known';
    return Number(row.others) === 0 ? 'first' : 'new';
  }

  async close(): Promise<void> {}
}
