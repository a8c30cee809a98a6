import type { SessionEngine } from '../core/engine.js';
import type { SessionState } from '../core/state.js';

/**
 * express-session's `req.session.cookie`. Attributes come from the middleware's cookie policy;
 * `maxAge` and `expires` are per session and make the cookie persistent ("remember me").
 */
export class Cookie {
  readonly #state: SessionState;
  readonly #engine: SessionEngine;

  constructor(state: SessionState, engine: SessionEngine) {
    this.#state = state;
    this.#engine = engine;
  }

  get #lifetime(): number | null {
    const pending = this.#state.pendingMeta?.cookieMaxAgeMs;
    if (pending !== undefined) return pending;
    return this.#state.record?.cookieMaxAgeMs ?? this.#engine.options.cookie.maxAgeMs ?? null;
  }

  /** Lifetime given to the cookie when it was last set, in ms; null for a browser-session cookie. */
  get originalMaxAge(): number | null {
    return this.#lifetime;
  }

  /** Milliseconds the cookie has left; null for a browser-session cookie. */
  get maxAge(): number | null {
    const lifetime = this.#lifetime;
    if (lifetime === null) return null;
    const absolute = this.#state.record?.absoluteExpiresAt;
    const now = this.#engine.options.now();
    return absolute === undefined ? lifetime : Math.max(0, Math.min(lifetime, absolute - now));
  }

  set maxAge(value: number | null) {
    if (value !== null && (!Number.isFinite(value) || value <= 0))
      throw new RangeError('maxAge must be a positive number or null');
    this.#state.pendingMeta = { ...this.#state.pendingMeta, cookieMaxAgeMs: value };
    if (this.#state.record) this.#state.cookie = 'set';
  }

  get expires(): Date | null {
    const maxAge = this.maxAge;
    return maxAge === null ? null : new Date(this.#engine.options.now() + maxAge);
  }

  set expires(value: Date | null) {
    this.maxAge = value === null ? null : value.getTime() - this.#engine.options.now();
  }

  get path(): string {
    return this.#engine.options.cookie.path;
  }

  get domain(): string | undefined {
    return this.#engine.options.cookie.domain;
  }

  get httpOnly(): boolean {
    return this.#engine.options.cookie.httpOnly;
  }

  get secure(): boolean {
    return this.#engine.options.cookie.isSecure(this.#state.info.secure);
  }

  get sameSite(): 'lax' | 'strict' {
    return this.#engine.options.cookie.sameSite;
  }

  toJSON() {
    return {
      originalMaxAge: this.originalMaxAge,
      expires: this.expires,
      secure: this.secure,
      httpOnly: this.httpOnly,
      domain: this.domain,
      path: this.path,
      sameSite: this.sameSite,
    };
  }
}
