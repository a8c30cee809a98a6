import { type SerializeOptions, stringifySetCookie } from 'cookie';
import { isForbiddenKey } from '../core/store/record.js';

type SameSite = boolean | 'lax' | 'strict' | 'none' | 'auto';
type Priority = 'low' | 'medium' | 'high';

/** What `new Cookie(options)` takes: express-session's cookie options; other keys are kept as given. */
export interface CookieInit {
  /** Lifetime in ms from now; a Date is taken as `expires` (deprecated in express-session). */
  maxAge?: number | Date | null | undefined;
  /** A Date; an ISO string (from a store's JSON) is read as one. */
  expires?: Date | string | null | undefined;
  /** The lifetime in ms the cookie was last given; kept from a store's JSON. */
  originalMaxAge?: number | null | undefined;
  /** @default '/' */
  path?: string | undefined;
  /** Unset: a host-only cookie. */
  domain?: string | undefined;
  /** @default true */
  httpOnly?: boolean | undefined;
  /** `'auto'` follows the request's protocol (express-session). */
  secure?: boolean | 'auto' | undefined;
  /** `true` means `Strict`, as in express-session and the `cookie` package. */
  sameSite?: SameSite | undefined;
  /** CHIPS `Partitioned`. */
  partitioned?: boolean | undefined;
  /** Chromium's `Priority`. */
  priority?: Priority | undefined;
  [key: string]: unknown;
}

/** The cookie's attributes as express-session's `cookie.data` lists them (and in that order). */
export interface CookieData {
  /** Lifetime in ms the cookie was last given; null for a browser-session cookie. */
  originalMaxAge: number | null | undefined;
  /** CHIPS `Partitioned`. */
  partitioned: boolean | undefined;
  /** Chromium's `Priority`. */
  priority: Priority | undefined;
  /** Expiry date; null for a browser-session cookie. */
  expires: Date | null | undefined;
  /** `Secure`; `'auto'` follows the request. */
  secure: boolean | 'auto' | undefined;
  /** `HttpOnly`. */
  httpOnly: boolean;
  /** `Domain`; undefined for a host-only cookie. */
  domain: string | undefined;
  /** `Path`. */
  path: string;
  /** `SameSite`; `true` means `Strict`. */
  sameSite: SameSite | undefined;
}

/**
 * Passed by `req.session.cookie`'s subclass to skip the standalone fields, which would shadow its
 * accessors. Internal: not exported from the package.
 */
export const VIEW: unique symbol = Symbol('request cookie');

// The attributes are own data properties of a standalone Cookie (as in express-session) and
// accessors on a request's cookie; declaring them here keeps one public type for both.
export interface Cookie {
  /** `Path`; outside it no cookie is set (express-session). @default '/' */
  path: string;
  /** `HttpOnly` (S11). @default true */
  httpOnly: boolean;
  /** Lifetime in ms the cookie was given when it was last set; null for a browser-session cookie. */
  originalMaxAge: number | null | undefined;
  /** `Domain`; unset for a host-only cookie (required by the `__Host-` prefix, S10). */
  domain?: string | undefined;
  /** `Secure`; `'auto'` follows the request's protocol. */
  secure?: boolean | 'auto' | undefined;
  /** `SameSite`; `true` means `Strict` (express-session). */
  sameSite?: SameSite | undefined;
  /** CHIPS `Partitioned`, sent only with `Secure`. */
  partitioned?: boolean | undefined;
  /** Chromium's `Priority`. */
  priority?: Priority | undefined;
}

/**
 * express-session's `session.Cookie`. `new Cookie(options)` behaves as express-session's: defaults
 * `path '/'`, `httpOnly true`, `expires null`, `maxAge`/`originalMaxAge` null; `maxAge` must be a
 * number (or a Date), `expires` a Date; `serialize(name, value)` writes a Set-Cookie value.
 * `req.session.cookie` is the same class, reading the middleware's cookie policy for the request.
 *
 * @throws TypeError for options that are not an object, a `maxAge` that is not a number or Date, or
 * an `expires` that is not a Date.
 * @example
 * const cookie = new Cookie({ maxAge: 60_000, sameSite: 'lax' });
 * res.setHeader('Set-Cookie', cookie.serialize('prefs', 'dark'));
 */
// biome-ignore lint/suspicious/noUnsafeDeclarationMerging: no class field may shadow the accessors
export class Cookie {
  #expires: Date | null | undefined = null;

  constructor(options?: CookieInit);
  constructor(options?: CookieInit | typeof VIEW) {
    if (options === VIEW) return;
    this.path = '/';
    this.maxAge = null;
    this.httpOnly = true;
    if (options) {
      if (typeof options !== 'object') throw new TypeError('argument options must be a object');
      // express-session copies every key but `data`; prototype keys would swap this object's prototype.
      for (const key in options) {
        if (key !== 'data' && !isForbiddenKey(key)) (this as Record<string, unknown>)[key] = options[key];
      }
    }
    if (this.originalMaxAge === undefined || this.originalMaxAge === null) this.originalMaxAge = this.maxAge;
  }

  /** The expiry date; null (or undefined) for a browser-session cookie. */
  get expires(): Date | null | undefined {
    return this.#expires;
  }

  /**
   * Sets the expiry; an ISO string (a store's JSON) is read as a Date, `false` or null makes a
   * browser-session cookie. Resets `originalMaxAge` from it, as express-session does.
   * @throws TypeError for anything else.
   */
  set expires(date: Date | string | null | undefined | false) {
    // A store's JSON gives the date as a string (express-session's Store#createSession passes it in
    // as such); anything else that is not a Date is refused here rather than at serialize time.
    let value: Date | null | undefined;
    if (date instanceof Date || date === null || date === undefined) value = date;
    // `cookie.expires = false` is the old Connect way of asking for a browser-session cookie.
    else if (date === false) value = null;
    else if (typeof date === 'string' && !Number.isNaN(Date.parse(date))) value = new Date(date);
    else throw new TypeError('expires must be a Date');
    this.#expires = value;
    this.originalMaxAge = this.maxAge;
  }

  /** Milliseconds the cookie has left; null for a browser-session cookie. */
  get maxAge(): number | null | undefined {
    const expires = this.expires;
    return expires instanceof Date ? expires.valueOf() - Date.now() : expires;
  }

  /**
   * Sets the lifetime in ms from now (and `originalMaxAge` to exactly that); a Date is taken as
   * `expires`; null makes a browser-session cookie (express-session).
   * @throws TypeError for a value that is not a number, a Date or null.
   */
  set maxAge(ms: number | Date | null | undefined | false) {
    if (ms && typeof ms !== 'number' && !(ms instanceof Date))
      throw new TypeError('maxAge must be a number or Date');
    if (typeof ms === 'number') {
      this.expires = new Date(Date.now() + ms);
      // Exactly what was asked, even if the clock ticked between the two reads (express-session
      // derives it from the date just set, and can be a few ms short under load).
      this.originalMaxAge = ms;
    } else this.expires = ms instanceof Date || ms === undefined ? ms : null;
  }

  /** The attributes handed to the `cookie` package. */
  get data(): CookieData {
    return {
      originalMaxAge: this.originalMaxAge,
      partitioned: this.partitioned,
      priority: this.priority,
      expires: this.expires,
      secure: this.secure,
      httpOnly: this.httpOnly,
      domain: this.domain,
      path: this.path,
      sameSite: this.sameSite,
    };
  }

  /** A Set-Cookie value for `name=value` with these attributes (the value is URI-encoded). */
  serialize(name: string, value: string): string {
    return stringifySetCookie(name, value, this.data as SerializeOptions);
  }

  /** What a store keeps: {@link Cookie.data} (express-session's `Cookie#toJSON`). */
  toJSON(): CookieData {
    return this.data;
  }
}
