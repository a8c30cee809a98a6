import type { SessionEngine } from '../core/engine.js';
import type { SessionState } from '../core/lifecycle/state.js';
import { BROWSER_SESSION_COOKIE, cookieLifetimeOf } from '../core/store/record.js';
import { Cookie, VIEW } from './cookie.js';

type SameSite = NonNullable<Cookie['sameSite']>;
type Priority = NonNullable<Cookie['priority']>;

function refuse(name: string, value: unknown, current: unknown): void {
  // A per-session attribute could not be kept with the session; saying so beats ignoring it.
  if (value !== current) {
    throw new TypeError(`req.session.cookie.${name} is set by the session middleware's cookie option`);
  }
}

/** `req.session.cookie`: attributes from the request's cookie policy; `maxAge`/`expires` per session. */
class RequestCookie extends Cookie {
  readonly #state: SessionState;
  readonly #engine: SessionEngine;

  constructor(state: SessionState, engine: SessionEngine) {
    super(VIEW as never);
    this.#state = state;
    this.#engine = engine;
  }

  get #policy() {
    return this.#state.info.cookie ?? this.#engine.options.cookie;
  }

  get #lifetime(): number | null {
    const pending = this.#state.pendingMeta?.cookieMaxAgeMs;
    const createdAt = this.#state.record?.createdAt ?? this.#engine.options.now();
    const own = pending === undefined ? (this.#state.record?.cookieMaxAgeMs ?? null) : pending;
    return cookieLifetimeOf({ cookieMaxAgeMs: own, createdAt }, this.#policy.defaultLifetimeMs);
  }

  override get originalMaxAge(): number | null {
    return this.#lifetime;
  }

  override set originalMaxAge(value: number | null | undefined) {
    refuse('originalMaxAge', value, this.#lifetime);
  }

  override get maxAge(): number | null {
    const lifetime = this.#lifetime;
    if (lifetime === null) return null;
    const absolute = this.#state.record?.absoluteExpiresAt;
    const now = this.#engine.options.now();
    return absolute === undefined ? lifetime : Math.max(0, Math.min(lifetime, absolute - now));
  }

  override set maxAge(value: number | Date | null | undefined | false) {
    if (value instanceof Date) {
      this.expires = value;
      return;
    }
    if (value && typeof value !== 'number') throw new TypeError('maxAge must be a number or Date');
    const ms = value || null;
    if (ms !== null && (!Number.isFinite(ms) || ms <= 0))
      throw new RangeError('maxAge must be a positive number or null');
    // express-session: null (or `expires = false`) is a browser-session cookie even where the
    // cookie option sets a lifetime.
    const cookieMaxAgeMs = ms ?? BROWSER_SESSION_COOKIE;
    this.#state.pendingMeta = { ...this.#state.pendingMeta, cookieMaxAgeMs };
    if (this.#state.record) this.#state.cookie = 'set';
  }

  override get expires(): Date | null {
    const maxAge = this.maxAge;
    return maxAge === null ? null : new Date(this.#engine.options.now() + maxAge);
  }

  override set expires(value: Date | null | undefined | false) {
    if (value && !(value instanceof Date)) throw new TypeError('expires must be a Date');
    this.maxAge = value ? value.getTime() - this.#engine.options.now() : null;
  }

  override get path(): string {
    return this.#policy.path;
  }
  override set path(value: string) {
    refuse('path', value, this.path);
  }

  override get domain(): string | undefined {
    return this.#policy.domain;
  }
  override set domain(value: string | undefined) {
    refuse('domain', value, this.domain);
  }

  override get httpOnly(): boolean {
    return this.#policy.httpOnly;
  }
  override set httpOnly(value: boolean) {
    refuse('httpOnly', value, this.httpOnly);
  }

  override get secure(): boolean {
    return this.#policy.isSecure(this.#state.info.secure);
  }
  override set secure(value: boolean | 'auto' | undefined) {
    refuse('secure', value, this.secure);
  }

  override get sameSite(): 'lax' | 'strict' | 'none' {
    return this.#policy.sameSiteFor(this.#state.info.secure);
  }
  override set sameSite(value: SameSite | undefined) {
    refuse('sameSite', value, this.sameSite);
  }

  override get partitioned(): boolean | undefined {
    return this.#policy.isPartitioned(this.#state.info.secure) || undefined;
  }
  override set partitioned(value: boolean | undefined) {
    refuse('partitioned', value, this.partitioned);
  }

  override get priority(): Priority | undefined {
    return this.#policy.priority;
  }
  override set priority(value: Priority | undefined) {
    refuse('priority', value, this.priority);
  }
}

/** The request's `req.session.cookie`, a `Cookie` bound to its session state. */
export function sessionCookie(state: SessionState, engine: SessionEngine): Cookie {
  return new RequestCookie(state, engine);
}
