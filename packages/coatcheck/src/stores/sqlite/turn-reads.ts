import BetterSqlite3 from 'better-sqlite3';

/**
 * The event loop's iteration, counted by libuv just before each poll phase (where I/O callbacks, and
 * so requests, run), or null where Node does not expose it (before 20.18 and 22.8).
 */
const nodeTiming = performance.nodeTiming;
const loopIteration: (() => number) | null =
  'uvMetricsInfo' in nodeTiming ? () => nodeTiming.uvMetricsInfo.loopCount : null;

/**
 * Reads by handle on a second connection to the store's file, where all the reads of one event-loop
 * turn share one read transaction. A turn runs from one poll phase to the next: the poll phase's
 * I/O callbacks, then the check, close and timers phases after it.
 *
 * In WAL mode each read transaction takes and releases a lock in the `-shm` file: two `fcntl` calls,
 * about 5 µs of a 6 µs read by primary key. One transaction per turn pays them once for every
 * request that turn serves. It ends in the turn's check phase (`setImmediate`), when a read finds
 * that a new poll phase has begun since it opened (a read in a check, close or timers phase opens
 * one that `setImmediate` would end only after the next poll phase), and before every write this
 * store makes, after which the turn's reads go to the main connection (see `afterWrite`), so:
 * - a read sees every write this store made before it, in this turn too;
 * - a read sees every commit made before the poll phase of its turn began, which includes every
 *   commit that came before the request it serves arrived (a request arrives in a poll phase);
 * - a write another connection or process committed during the current turn shows from the next turn;
 * - writes never run on this connection, so a write is never upgraded from a stale snapshot;
 * - no read of this store is open when it commits, so its checkpoints can finish and the WAL starts
 *   over; another process's checkpoint is held back by it for one turn at most.
 */
export class TurnReads<Values> {
  readonly #db: BetterSqlite3.Database;
  readonly #begin: BetterSqlite3.Statement;
  readonly #commit: BetterSqlite3.Statement;
  readonly #read: BetterSqlite3.Statement<[string], Values>;
  #open = false;
  /** The loop iteration the open read transaction began in. */
  #openedIn = 0;
  #closed = false;
  #afterWrite = false;
  #turnEndDue = false;

  /** False where Node does not count loop iterations: the store then reads on its main connection. */
  static readonly supported = loopIteration !== null;

  /** `path` is the file the main connection opened (its schema is in place); `sql` is a read by handle. */
  constructor(path: string, sql: string) {
    this.#db = new BetterSqlite3(path, { fileMustExist: true });
    this.#db.pragma('busy_timeout = 5000');
    this.#begin = this.#db.prepare('BEGIN');
    this.#commit = this.#db.prepare('COMMIT');
    this.#read = this.#db.prepare<[string], Values>(sql).raw(true);
  }

  /**
   * True from a write of the store to the end of the turn: its reads then go to the main connection.
   * The write kept that connection's page cache, while this one would drop its whole cache at its
   * next transaction, as SQLite does once another connection has committed.
   */
  get afterWrite(): boolean {
    return this.#afterWrite;
  }

  /** The row's values, or undefined; throws what better-sqlite3 throws (SQLITE_BUSY, a closed database). */
  get(handle: string): Values | undefined {
    const iteration = loopIteration!();
    if (this.#open && this.#openedIn !== iteration) this.#end();
    if (!this.#open) {
      this.#begin.run();
      this.#open = true;
      this.#openedIn = iteration;
      this.#endTurnLater();
    }
    return this.#read.get(handle);
  }

  /** Called before each write of the store: ends the shared read and sends reads to the main connection for the rest of the turn. */
  beforeWrite(): void {
    this.#end();
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
    this.#end();
  };

  /** Ends the shared read transaction, if one is open: the next read sees every commit so far. */
  #end(): void {
    if (!this.#open || this.#closed) return;
    this.#open = false;
    try {
      this.#commit.run();
    } catch {
      // A read transaction has nothing to lose: roll it back, so the next read starts afresh. This
      // runs from setImmediate, where a throw would end the process.
      try {
        if (this.#db.inTransaction) this.#db.exec('ROLLBACK');
      } catch {}
    }
  }

  close(): void {
    if (this.#closed) return;
    this.#end();
    this.#closed = true;
    this.#db.close();
  }
}
