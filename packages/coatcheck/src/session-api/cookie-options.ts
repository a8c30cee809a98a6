import type { IncomingMessage } from 'node:http';
import type { CookieOptions } from '../core/cookies/cookie-policy.js';
import { SessionConfigError } from '../core/errors.js';

/** express-session's cookie options, plus coatcheck's. */
export interface SessionCookieOptions {
  /**
   * Persistent cookie lifetime in ms; unset for a browser-session cookie (S13). When both `maxAge`
   * and `expires` are given, the one written last in the object wins (express-session).
   */
  maxAge?: number | null | undefined;
  /**
   * A fixed expiry date (express-session): each new session's cookie lifetime is this date minus its
   * creation time, kept with the session. A date already past at start-up is refused.
   */
  expires?: Date | null | undefined;
  /** No cookie is set on requests whose path (before mounting) does not start with it. @default '/' */
  path?: string | undefined;
  /** Leave unset for a host-only cookie; a domain rules out the `__Host-` prefix (S10). */
  domain?: string | undefined;
  /** Keeps the cookie out of `document.cookie` (S11). @default true */
  httpOnly?: boolean | undefined;
  /** `'auto'`: Secure when the request came over HTTPS (`trust proxy` honoured). @default 'auto' */
  secure?: boolean | 'auto' | undefined;
  /**
   * `true` means `'strict'`; `'auto'` and `'none'` send `None` on Secure responses and `Lax` on the
   * others, and are refused with `secure: false`; `false` is refused (S12). @default 'lax'
   */
  sameSite?: 'lax' | 'strict' | 'none' | 'auto' | boolean | undefined;
  /** CHIPS `Partitioned`, sent only with Secure; refused with `secure: false`. @default false */
  partitioned?: boolean | undefined;
  /** `Priority` attribute. */
  priority?: 'low' | 'medium' | 'high' | undefined;
}

/** Cookie options, or express-session 1.19's function of the request returning them. */
export type SessionCookieOption = SessionCookieOptions | ((req: IncomingMessage) => SessionCookieOptions);

/** express-session's cookie options as the engine's, validated; a function's are resolved per request. */
export function cookieOptions(cookie: SessionCookieOption = {}, name: string | undefined): CookieOptions {
  if (typeof cookie === 'function') return { name: name ?? 'id' };
  const options = engineCookie(cookie);
  if (options.expiresAt !== undefined && options.expiresAt <= Date.now()) {
    throw new SessionConfigError('cookie.expires', 'is already past');
  }
  return { ...(name === undefined ? {} : { name }), ...options };
}

/** One cookie options object as the engine's, validated (each request's, when `cookie` is a function). */
export function engineCookie(cookie: SessionCookieOptions): Omit<CookieOptions, 'name'> {
  if (typeof cookie !== 'object' || cookie === null) {
    throw new SessionConfigError('cookie', 'must be an object, or a function returning one');
  }
  const { path, domain, httpOnly, secure, partitioned, priority } = cookie;
  return {
    ...(path === undefined ? {} : { path }),
    ...(domain === undefined ? {} : { domain }),
    ...(httpOnly === undefined ? {} : { httpOnly }),
    ...(secure === undefined ? {} : { secure }),
    ...sameSiteOf(cookie.sameSite),
    ...(partitioned === undefined ? {} : { partitioned }),
    ...(priority === undefined ? {} : { priority: lower(priority) as 'low' }),
    ...lifetimeOf(cookie),
  };
}

const lower = (value: unknown) => (typeof value === 'string' ? value.toLowerCase() : value);

function sameSiteOf(sameSite: SessionCookieOptions['sameSite']): Pick<CookieOptions, 'sameSite'> {
  if (sameSite === undefined) return {};
  if (sameSite === true) return { sameSite: 'strict' };
  if (sameSite === false) {
    throw new SessionConfigError(
      'cookie.sameSite',
      "must be 'lax', 'strict', 'none' or 'auto' (never absent)",
    );
  }
  return { sameSite: lower(sameSite) as 'lax' };
}

/**
 * express-session's Cookie assigns the options in order, and `maxAge` and `expires` both set the
 * expiry, so the later key wins, even when its value is null or undefined (no expiry).
 */
function lifetimeOf(cookie: SessionCookieOptions): Pick<CookieOptions, 'maxAgeMs' | 'expiresAt'> {
  let lifetime: Pick<CookieOptions, 'maxAgeMs' | 'expiresAt'> = {};
  for (const key of Object.keys(cookie)) {
    if (key === 'maxAge') {
      const { maxAge } = cookie as { maxAge: unknown };
      if (typeof maxAge === 'number') lifetime = { maxAgeMs: maxAge };
      else if (maxAge instanceof Date) lifetime = { expiresAt: maxAge.getTime() };
      else if (!maxAge) lifetime = {};
      else throw new SessionConfigError('cookie.maxAge', 'must be a number of milliseconds');
    } else if (key === 'expires') {
      const { expires } = cookie as { expires: unknown };
      if (expires instanceof Date) lifetime = { expiresAt: expires.getTime() };
      else if (expires === null || expires === undefined) lifetime = {};
      else throw new SessionConfigError('cookie.expires', 'must be a Date');
    }
  }
  return lifetime;
}
