/** A counter's state: hits in the current window and when the window ends (epoch ms). */
export interface Hit {
  count: number;
  resetAt: number;
}

/**
 * Fixed-window counters kept in the session store's backend, so every instance of the app sees the
 * same counts (SQLite table, Redis INCR + PEXPIRE, or PostgreSQL table).
 */
export interface ThrottleCounter {
  /** Adds one to `key`; a new window of `windowMs` starts with the first hit after the last one ended. */
  hit(key: string, windowMs: number): Promise<Hit>;
  /** The current count, without adding to it. */
  peek(key: string): Promise<Hit>;
  /**
   * Takes `hit` back: one less in its window, unless that window has already ended (so a late
   * release never lowers the count of the next window).
   */
  release(key: string, hit: Hit): Promise<void>;
  reset(key: string): Promise<void>;
  close(): Promise<void>;
}
