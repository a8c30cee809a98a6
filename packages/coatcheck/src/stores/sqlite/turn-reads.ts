import BetterSqlite3 from 'better-sqlite3';

/** A queued read's settlement. */
interface Waiter<T> {
  resolve(value: T | null): void;
  reject(error: unknown): void;
}

/**
 * Reads by handle on a second connection to the store's file, where the reads an event-loop turn
 * asks for run together, in one read transaction, in the turn's check phase (`setImmediate`).
 *
 * In WAL mode each read transaction takes and releases a lock in the `-shm` file: two `fcntl` calls,
 * about 5 µs of a 6 µs read by primary key. One transaction for the reads of a turn pays them once
 * for every request that turn serves. The transaction begins after every read in it was asked for,
 * and so after every request those reads serve was received, and it ends before any of them is
 * answered; the store's writes first run the reads asked for before them, then the rest of the
 * turn reads on the main connection (see `afterWrite`). So:
 * - a read sees every commit, by this store, another store on the file or another process, made
 *   before it was asked for: a logout acknowledged before a request was sent is seen by that request;
 * - a read does not see this store's writes asked for after it;
 * - writes never run on this connection, so a write is never upgraded from a stale snapshot;
 * - no read transaction stays open while other code runs, so no checkpoint waits for one.
 */
export class TurnReads<T> {
  readonly #db: BetterSqlite3.Database;
  readonly #begin: BetterSqlite3.Statement;
  readonly #commit: BetterSqlite3.Statement;
  readonly #read: BetterSqlite3.Statement<[string], unknown[]>;
  readonly #recordOf: (handle: string, values: unknown[]) => T;
  #handles: string[] = [];
  #waiters: Waiter<T>[] = [];
  #closed = false;
  #afterWrite = false;
  #turnEndDue = false;

  /**
   * `path` is the file the main connection opened (its schema is in place); `sql` is a read by
   * handle whose raw values `recordOf` turns into the answer.
   */
  constructor(path: string, sql: string, recordOf: (handle: string, values: unknown[]) => T) {
    this.#db = new BetterSqlite3(path, { fileMustExist: true });
    this.#db.pragma('busy_timeout = 5000');
    this.#begin = this.#db.prepare('BEGIN');
    this.#commit = this.#db.prepare('COMMIT');
    this.#read = this.#db.prepare<[string], unknown[]>(sql).raw(true);
    this.#recordOf = recordOf;
  }

  /**
   * True from a write of the store to the end of the turn: its reads then go to the main connection.
   * The write kept that connection's page cache, while this one would drop its whole cache at its
   * next transaction, as SQLite does once another connection has committed.
   */
  get afterWrite(): boolean {
    return this.#afterWrite;
  }

  /**
   * The record, or null, from the turn's check phase; rejects with what better-sqlite3 throws
   * (SQLITE_BUSY, a closed database).
   */
  get(handle: string): Promise<T | null> {
    return new Promise<T | null>((resolve, reject) => {
      if (this.#closed) {
        reject(new TypeError('The database connection is not open'));
        return;
      }
      this.#handles.push(handle);
      this.#waiters.push({ resolve, reject });
      this.#endTurnLater();
    });
  }

  /** Called before each write of the store: runs the reads asked for so far and sends the turn's later reads to the main connection. */
  beforeWrite(): void {
    this.#runQueued();
    this.#afterWrite = true;
    this.#endTurnLater();
  }

  #endTurnLater(): void {
    if (this.#turnEndDue) return;
    this.#turnEndDue = true;
    setImmediate(this.#endTurn);
  }

  readonly #endTurn = (): void => {
    this.#turnEndDue = false;
    this.#afterWrite = false;
    this.#runQueued();
  };

  /**
   * Runs the queued reads in one read transaction, which ends before any caller sees an answer.
   * Never throws: it runs from setImmediate, where a throw would end the process; a read's failure
   * rejects that read.
   */
  #runQueued(): void {
    const handles = this.#handles;
    if (handles.length === 0) return;
    const waiters = this.#waiters;
    this.#handles = [];
    this.#waiters = [];
    try {
      this.#begin.run();
    } catch (error) {
      for (const waiter of waiters) waiter.reject(error);
      return;
    }
    // Settling only queues each caller's continuation: none runs before the transaction ended.
    for (let i = 0; i < handles.length; i++) {
      const handle = handles[i]!;
      try {
        const values = this.#read.get(handle);
        waiters[i]!.resolve(values ? this.#recordOf(handle, values) : null);
      } catch (error) {
        waiters[i]!.reject(error);
      }
    }
    try {
      this.#commit.run();
    } catch {
      // A read transaction has nothing to lose: roll it back, so the next one starts afresh.
      try {
        if (this.#db.inTransaction) this.#db.exec('ROLLBACK');
      } catch {}
    }
  }

  /** Runs the reads already asked for, then closes the connection; later reads reject. */
  close(): void {
    if (this.#closed) return;
    this.#runQueued();
    this.#closed = true;
    this.#db.close();
  }
}
