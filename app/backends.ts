import { chmodSync, closeSync, openSync, statSync } from 'node:fs';
import { join } from 'node:path';
import BetterSqlite3 from 'better-sqlite3';
import type { SessionStore } from 'coatcheck/express';
import { SqliteStore } from 'coatcheck/stores/sqlite';
import type { AppConfig } from './config.js';
import type { NotificationRepository } from './notifications/repository.js';
import { SqliteNotifications } from './notifications/sqlite.js';
import type { ThrottleCounter } from './throttle/counter.js';
import { SqliteCounter } from './throttle/sqlite.js';
import type { UserRepository } from './users/repository.js';
import { sealTotpSecrets } from './users/sealed-totp.js';
import { SqliteUsers } from './users/sqlite.js';

/** Where the app keeps sessions, users and throttling counters. */
export interface Backends {
  sessionStore: SessionStore;
  users: UserRepository;
  /** Security notifications and known devices, beside the users. */
  notifications: NotificationRepository;
  counter: ThrottleCounter;
  /** For the start-up line, e.g. `sessions: SQLite, users: SQLite`. */
  description: string;
  close(): Promise<void>;
}

type Closer = () => Promise<unknown> | unknown;

/** A database file other local users can read (made by an earlier version) becomes owner-only. */
function tightenMode(file: string): void {
  if ((statSync(file).mode & 0o077) === 0) return;
  try {
    chmodSync(file, 0o600);
  } catch {
    // Not ours to change (another owner): the operator's call, as with any file they set up.
  }
}

async function closeAll(closers: Closer[]): Promise<void> {
  for (const close of closers.reverse()) {
    try {
      await close();
    } catch {
      // Already closed by its owner: nothing left to release.
    }
  }
}

/**
 * Opens the backends the configuration asks for. Sessions and counters share one backend: Redis
 * when REDIS_URL is set, else PostgreSQL when DATABASE_URL is set, else the SQLite file in DATA_DIR.
 * Users live in PostgreSQL when DATABASE_URL is set, else in SQLite: Redis never holds users.
 */
export async function openBackends(config: AppConfig): Promise<Backends> {
  const closers: Closer[] = [];
  try {
    const sqliteFile = join(config.dataDir, 'coatcheck.db');
    let sqlite: BetterSqlite3.Database | null = null;
    const openSqlite = () => {
      if (!sqlite) {
        // Created owner-only before SQLite opens it; SQLite gives its -wal and -shm files the same mode.
        closeSync(openSync(sqliteFile, 'a', 0o600));
        tightenMode(sqliteFile);
        const db = new BetterSqlite3(sqliteFile);
        db.pragma('journal_mode = WAL');
        db.pragma('busy_timeout = 5000');
        closers.push(() => db.close());
        sqlite = db;
      }
      return sqlite;
    };

    let pool: import('pg').Pool | null = null;
    if (config.databaseUrl) {
      const { default: pg } = await import('pg');
      const opened = new pg.Pool({ connectionString: config.databaseUrl, max: 10 });
      // An idle client dropped by the server (restart, failover) must not crash the process.
      opened.on('error', () => {});
      closers.push(() => opened.end());
      pool = opened;
    }

    let users: UserRepository;
    let notifications: NotificationRepository;
    if (pool) {
      const { PostgresUsers } = await import('./users/postgres.js');
      const { PostgresNotifications } = await import('./notifications/postgres.js');
      users = await PostgresUsers.open(pool);
      notifications = await PostgresNotifications.open(pool);
    } else {
      users = new SqliteUsers(openSqlite());
      notifications = new SqliteNotifications(openSqlite());
    }
    users = sealTotpSecrets(users, config.secrets ?? []);
    closers.push(
      () => users.close(),
      () => notifications.close(),
    );

    let sessionStore: SessionStore;
    let counter: ThrottleCounter;
    let sessionsIn: string;
    if (config.redisUrl) {
      const { createClient } = await import('redis');
      const client = createClient({ url: config.redisUrl });
      // Connection errors surface as failed commands (503s); the client reconnects by itself.
      client.on('error', () => {});
      await client.connect();
      closers.push(() => client.close());
      const { RedisStore } = await import('coatcheck/stores/redis');
      const { RedisCounter } = await import('./throttle/redis.js');
      sessionStore = new RedisStore({ client });
      counter = new RedisCounter(client);
      sessionsIn = 'Redis';
    } else if (pool) {
      const { PostgresStore } = await import('coatcheck/stores/postgres');
      const { PostgresCounter } = await import('./throttle/postgres.js');
      sessionStore = new PostgresStore({ pool });
      counter = await PostgresCounter.open(pool);
      sessionsIn = 'PostgreSQL';
    } else {
      // The store opens the file itself, after the app created it owner-only, so that it reads on a
      // connection of its own: see SqliteStore in the library's README.
      counter = new SqliteCounter(openSqlite());
      sessionStore = new SqliteStore({ path: sqliteFile });
      sessionsIn = `SQLite (${sqliteFile})`;
    }
    closers.push(
      () => sessionStore.close(),
      () => counter.close(),
    );
    return {
      sessionStore,
      users,
      notifications,
      counter,
      description: `sessions: ${sessionsIn}; users: ${pool ? 'PostgreSQL' : 'SQLite'}`,
      close: () => closeAll(closers),
    };
  } catch (error) {
    await closeAll(closers);
    throw error;
  }
}
