import { randomUUID } from 'node:crypto';
import type BetterSqlite3 from 'better-sqlite3';
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
  created_at: number;
  read_at: number | null;
}

const toNotification = (row: Row): Notification => ({
  id: row.id,
  userId: row.user_id,
  kind: NOTIFICATION_KINDS.includes(row.kind as NotificationKind)
    ? (row.kind as NotificationKind)
    : 'new_device',
  text: row.text,
  createdAt: row.created_at,
  readAt: row.read_at,
});

/**
 * Notifications and known devices in the app's SQLite file.
 *
 * @example
 * const notifications = new SqliteNotifications(new BetterSqlite3('data/coatcheck.db'));
 */
export class SqliteNotifications implements NotificationRepository {
  readonly #db: BetterSqlite3.Database;
  readonly #statements;

  constructor(db: BetterSqlite3.Database) {
    this.#db = db;
    db.exec(`CREATE TABLE IF NOT EXISTS app_notifications (
      id TEXT PRIMARY KEY,
      user_id TEXT NOT NULL,
      kind TEXT NOT NULL,
      text TEXT NOT NULL,
      created_at INTEGER NOT NULL,
      read_at INTEGER
    );
    CREATE INDEX IF NOT EXISTS app_notifications_user ON app_notifications (user_id, created_at);
    CREATE TABLE IF NOT EXISTS app_known_devices (
      user_id TEXT NOT NULL,
      fingerprint TEXT NOT NULL,
      first_seen_at INTEGER NOT NULL,
      PRIMARY KEY (user_id, fingerprint)
    ) WITHOUT ROWID`);
    this.#statements = {
      insert: db.prepare(
        'INSERT INTO app_notifications (id, user_id, kind, text, created_at) VALUES (?, ?, ?, ?, ?)',
      ),
      list: db.prepare<[string, number], Row>(
        'SELECT * FROM app_notifications WHERE user_id = ? ORDER BY created_at DESC, rowid DESC LIMIT ?',
      ),
      unread: db.prepare<[string], { n: number }>(
        'SELECT COUNT(*) AS n FROM app_notifications WHERE user_id = ? AND read_at IS NULL',
      ),
      readOne: db.prepare(
        'UPDATE app_notifications SET read_at = ? WHERE user_id = ? AND id = ? AND read_at IS NULL',
      ),
      readAll: db.prepare('UPDATE app_notifications SET read_at = ? WHERE user_id = ? AND read_at IS NULL'),
      remember: db.prepare(
        'INSERT OR IGNORE INTO app_known_devices (user_id, fingerprint, first_seen_at) VALUES (?, ?, ?)',
      ),
      devices: db.prepare<[string], { n: number }>(
        'SELECT COUNT(*) AS n FROM app_known_devices WHERE user_id = ?',
      ),
    };
  }

  async add(fields: {
    userId: string;
    kind: NotificationKind;
    text: string;
    createdAt: number;
  }): Promise<Notification> {
    const notification: Notification = { id: randomUUID(), readAt: null, ...fields };
    this.#statements.insert.run(
      notification.id,
      notification.userId,
      notification.kind,
      notification.text,
      notification.createdAt,
    );
    return notification;
  }

  async list(userId: string, limit: number): Promise<Notification[]> {
    return this.#statements.list.all(userId, limit).map(toNotification);
  }

  async countUnread(userId: string): Promise<number> {
    return this.#statements.unread.get(userId)?.n ?? 0;
  }

  async markRead(userId: string, at: number, id?: string): Promise<number> {
    const result =
      id === undefined
        ? this.#statements.readAll.run(at, userId)
        : this.#statements.readOne.run(at, userId, id);
    return result.changes;
  }

  async rememberDevice(userId: string, fingerprint: string, at: number): Promise<DeviceSighting> {
    return this.#db
      .transaction((): DeviceSighting => {
        if (this.#statements.remember.run(userId, fingerprint, at).changes === 0) return 'known';
        return (this.#statements.devices.get(userId)?.n ?? 0) === 1 ? 'first' : 'new';
      })
      .immediate();
  }

  async close(): Promise<void> {}
}
