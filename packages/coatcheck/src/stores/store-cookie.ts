/** express-session's `Cookie#toJSON`: what its stores persist under `session.cookie`. */
export interface StoreCookieJSON {
  originalMaxAge: number | null;
  expires: Date | null;
  httpOnly: boolean;
  path: string;
  sameSite: 'lax';
}

/**
 * The `cookie` of a session handed to an express-session store, shaped like express-session's
 * `Cookie`: stores take their TTL from it, each in its own way. connect-redis and connect-pg-simple
 * read `expires`, memorystore reads `maxAge` (falling back to one day when it is not a number),
 * session-file-store adds `originalMaxAge` to the time of the write. All three give the record's
 * expiry here, so no store drops a session before coatcheck would, nor keeps it long after.
 *
 * Path, HttpOnly and SameSite are coatcheck's defaults: the store never sees the cookie options.
 */
export class StoreCookie {
  /** Lifetime left at the write, in ms, as after express-session's `resetMaxAge()`. */
  originalMaxAge: number;
  expires: Date;
  httpOnly = true;
  path = '/';
  sameSite = 'lax' as const;
  readonly #now: () => number;

  constructor(expiresAtMs: number, now: () => number = Date.now) {
    this.#now = now;
    this.expires = new Date(expiresAtMs);
    this.originalMaxAge = Math.max(0, expiresAtMs - now());
  }

  /** Time left in ms, read when the store asks (express-session's `Cookie#maxAge` getter). */
  get maxAge(): number {
    return this.expires.getTime() - this.#now();
  }

  /** As express-session's `Cookie#toJSON`: no `maxAge`, `expires` becomes an ISO date when serialised. */
  toJSON(): StoreCookieJSON {
    return {
      originalMaxAge: this.originalMaxAge,
      expires: this.expires,
      httpOnly: this.httpOnly,
      path: this.path,
      sameSite: this.sameSite,
    };
  }
}

/** When an express-session record's `cookie.expires` says it ended, or null when it never does. */
export function legacyExpiry(stored: Record<string, unknown>): number | null {
  const cookie = stored.cookie as { expires?: unknown } | null | undefined;
  const expires = cookie && typeof cookie === 'object' ? cookie.expires : undefined;
  if (typeof expires !== 'string' && typeof expires !== 'number' && !(expires instanceof Date)) return null;
  const at = new Date(expires).getTime();
  return Number.isNaN(at) ? null : at;
}
