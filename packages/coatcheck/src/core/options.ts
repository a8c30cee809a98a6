import { type CookieOptions, type CookiePolicy, createCookiePolicy } from './cookies/cookie-policy.js';
import { SessionConfigError } from './errors.js';
import { passportUserId, type UserIdOf } from './lifecycle/identity.js';
import { type BindingCheck, type BindingOptions, createBindingCheck } from './policies/binding.js';
import { createGuessLimiter, type GuessLimiter, type GuessLimitOptions } from './policies/guess-limiter.js';
import { type RememberOptions, type ResolvedRemember, resolveRemember } from './remember/options.js';
import type { CreateOptions, LegacySessionSource, SessionStore } from './store/store.js';
import { createKeyring, type Keyring } from './tokens/keyring.js';
import type { ParsedToken } from './tokens/token.js';
import { createTokenVerifier } from './tokens/verified-tokens.js';

/** Options of the session engine. Durations are in milliseconds throughout the public API. */
export interface SessionEngineOptions {
  /** Where sessions live: a coatcheck store (memory, SQLite, Redis, PostgreSQL) or a wrapped connect store. */
  store: SessionStore;
  /** One secret or several: the first signs, all verify, so secrets rotate without logging anyone out. */
  secret?: string | readonly string[];
  /** Session ends after this long without a request. @default 1_800_000 (30 min) */
  idleTimeoutMs?: number;
  /** Session ends this long after it was created, whatever the activity. @default 43_200_000 (12 h) */
  absoluteTimeoutMs?: number;
  /** Activity is written to the store at most once per interval. @default min(60_000, idleTimeoutMs / 2) */
  renewalIntervalMs?: number;
  /** Every store call fails with SessionStoreError after this long. @default 5_000 */
  storeTimeoutMs?: number;
  /** A session's token is replaced by a new one this often while it is in use (S21); unset for never. */
  rotationIntervalMs?: number;
  /** How long a token replaced on that schedule still leads to its session (parallel requests). @default 30_000 */
  rotationGraceMs?: number;
  /** How the session cookie is written; see {@link CookieOptions}. */
  cookie?: CookieOptions;
  /** Name of express-session's cookie, read to keep users logged in after a switch; false to ignore. @default 'connect.sid' */
  legacyCookieName?: string | false;
  /** Where express-session's records live; a wrapped connect store provides this itself. */
  legacy?: LegacySessionSource;
  /** Pre-login data kept across login (S19); everything else is dropped. @default ['returnTo'] */
  keepOnLogin?: readonly string[];
  /**
   * Who the application's session data says is signed in, for apps that sign users in through
   * their data rather than `login()` (Passport's `req.login` writes `passport.user`). Checked each
   * time the session is written:
   * - when it names a user other than the record's, the write is that user's `login()`, keeping
   *   all the data: new token, user index, `authAt`, `aal` 1, the session limit, device binding,
   *   `auth.login.success`;
   * - when it names nobody while the data as last stored named the record's user (Passport's
   *   logout deletes `passport.user`; so does a `deserializeUser` that returns false), the write is
   *   a `logout()` (destroyed in the store, `session.logout`), and the data left becomes a new
   *   anonymous session;
   * - a user signed in by `login()` whose data never named anyone is left alone.
   *
   * Until that write, `req.session.meta` (and so every guard) treats a session whose data and
   * record disagree about the user as signed out. Return null always to turn this off. If it
   * throws, the write fails and the response is a 503.
   * @default Passport's shape: `data.passport.user` when it is a non-empty string or a finite number, as a string
   */
  userIdOf?: UserIdOf;
  /**
   * Makes handles (express-session's `genid`): any non-empty string of at most 256 characters once
   * percent-encoded, without control characters; unique. A bad result or a throw is SessionStateError.
   */
  generateHandle?: (request: unknown) => string;
  /** Device binding (S42): what a change of browser family or network prefix does. @default { policy: 'log' } */
  binding?: BindingOptions;
  /** Session-ID guessing detection (S44); false turns it off. @default { max: 20, windowMs: 60_000 } */
  guessLimit?: GuessLimitOptions | false;
  /** Most concurrent sessions per user (S36); unset for no limit. */
  maxSessionsPerUser?: number;
  /** At the limit: sign the oldest session out, or refuse the new login (409). @default 'evict-oldest' */
  sessionLimitPolicy?: 'evict-oldest' | 'refuse';
  /**
   * "Keep me signed in on this device" for `login(userId, { remember: true })`: a separate,
   * rotating credential per device that starts a new session once the last one lapsed by idle
   * timeout or the browser was closed. Needs a store with `capabilities.rememberedDevices`.
   * `true` for the defaults. @default off
   */
  remember?: RememberOptions | boolean;
  /** @default process.env.NODE_ENV === 'production' */
  production?: boolean;
  /** Clock, injected for tests. @default Date.now */
  now?: () => number;
  /** Where start-up warnings go. @default console.warn */
  warn?: (message: string) => void;
}

export interface ResolvedOptions {
  store: SessionStore;
  keyring: Keyring;
  /** The keyring's token check, with a cache of the tokens it verified (tokens/verified-tokens.ts). */
  verifyToken: (raw: string) => ParsedToken;
  cookie: CookiePolicy;
  idleTimeoutMs: number;
  absoluteTimeoutMs: number;
  renewalIntervalMs: number;
  storeTimeoutMs: number;
  rotation: { intervalMs: number; graceMs: number } | null;
  legacyCookieName: string | null;
  legacy: LegacySessionSource | null;
  keepOnLogin: readonly string[];
  userIdOf: UserIdOf;
  generateHandle: ((request: unknown) => string) | null;
  /** What every create and rotation tells the store of its new handle (random unless `genid` gives it). */
  newHandles: CreateOptions;
  binding: BindingCheck;
  guessLimiter: GuessLimiter | null;
  maxSessionsPerUser: number | null;
  sessionLimitPolicy: 'evict-oldest' | 'refuse';
  remember: ResolvedRemember | null;
  now: () => number;
  warn: (message: string) => void;
}

function duration(option: string, value: number | undefined, fallback: number): number {
  if (value === undefined) return fallback;
  if (typeof value !== 'number' || !Number.isFinite(value) || value <= 0) {
    throw new SessionConfigError(option, 'must be a positive number of milliseconds');
  }
  return value;
}

function isStore(value: unknown): value is SessionStore {
  const store = value as Partial<SessionStore> | null;
  return (
    typeof store === 'object' &&
    store !== null &&
    typeof store.get === 'function' &&
    typeof store.create === 'function' &&
    typeof store.update === 'function' &&
    typeof store.replace === 'function'
  );
}

function resolveRotation(options: SessionEngineOptions, idleTimeoutMs: number): ResolvedOptions['rotation'] {
  if (options.rotationIntervalMs === undefined) {
    if (options.rotationGraceMs !== undefined) {
      throw new SessionConfigError('rotationGraceMs', 'needs rotationIntervalMs');
    }
    return null;
  }
  const intervalMs = duration('rotationIntervalMs', options.rotationIntervalMs, 0);
  if (!options.store.capabilities.atomicUpdate) {
    // Two requests racing the rotation could each mint a live token on such a store.
    throw new SessionConfigError('rotationIntervalMs', 'needs a store with atomic updates');
  }
  const graceMs = duration(
    'rotationGraceMs',
    options.rotationGraceMs,
    Math.min(30_000, intervalMs / 2, idleTimeoutMs),
  );
  if (graceMs >= intervalMs)
    throw new SessionConfigError('rotationGraceMs', 'must be below rotationIntervalMs');
  if (graceMs > idleTimeoutMs)
    throw new SessionConfigError('rotationGraceMs', 'must be at most idleTimeoutMs');
  return { intervalMs, graceMs };
}

export function resolveOptions(options: SessionEngineOptions): ResolvedOptions {
  if (!isStore(options.store))
    throw new SessionConfigError('store', 'must implement the SessionStore interface');
  const warn = options.warn ?? ((message: string) => console.warn(message));
  // Read through globalThis: runtimes without `process` (Workers) must not throw here.
  const env = (globalThis as { process?: { env?: Record<string, string | undefined> } }).process?.env;
  const production = options.production ?? env?.NODE_ENV === 'production';
  const idleTimeoutMs = duration('idleTimeoutMs', options.idleTimeoutMs, 30 * 60_000);
  const absoluteTimeoutMs = duration('absoluteTimeoutMs', options.absoluteTimeoutMs, 12 * 3_600_000);
  if (absoluteTimeoutMs < idleTimeoutMs) {
    throw new SessionConfigError('absoluteTimeoutMs', 'must be at least idleTimeoutMs');
  }
  const renewalIntervalMs = duration(
    'renewalIntervalMs',
    options.renewalIntervalMs,
    Math.min(60_000, Math.floor(idleTimeoutMs / 2)),
  );
  if (renewalIntervalMs > idleTimeoutMs / 2) {
    throw new SessionConfigError('renewalIntervalMs', 'must be at most half of idleTimeoutMs');
  }
  const rotation = resolveRotation(options, idleTimeoutMs);
  const legacyCookieName =
    options.legacyCookieName === false ? null : (options.legacyCookieName ?? 'connect.sid');
  if (legacyCookieName !== null && !/^[!#$%&'*+\-.^_`|~0-9A-Za-z]+$/.test(legacyCookieName)) {
    throw new SessionConfigError('legacyCookieName', 'must be an RFC 6265 token');
  }
  if (options.generateHandle !== undefined && typeof options.generateHandle !== 'function') {
    throw new SessionConfigError('genid', 'must be a function');
  }
  const keepOnLogin = options.keepOnLogin ?? ['returnTo'];
  if (!Array.isArray(keepOnLogin) || keepOnLogin.some((key) => typeof key !== 'string')) {
    throw new SessionConfigError('keepOnLogin', 'must be an array of data keys');
  }
  if (options.userIdOf !== undefined && typeof options.userIdOf !== 'function') {
    throw new SessionConfigError('userIdOf', 'must be a function');
  }
  const { maxSessionsPerUser, sessionLimitPolicy = 'evict-oldest' } = options;
  if (maxSessionsPerUser !== undefined && (!Number.isInteger(maxSessionsPerUser) || maxSessionsPerUser < 1)) {
    throw new SessionConfigError('maxSessionsPerUser', 'must be a positive integer');
  }
  if (sessionLimitPolicy !== 'evict-oldest' && sessionLimitPolicy !== 'refuse') {
    throw new SessionConfigError('sessionLimitPolicy', "must be 'evict-oldest' or 'refuse'");
  }
  if (maxSessionsPerUser !== undefined && !options.store.capabilities.userIndex) {
    throw new SessionConfigError('maxSessionsPerUser', 'needs a store with a per-user index');
  }
  const keyring = createKeyring({ secret: options.secret, production, warn });
  return {
    binding: createBindingCheck(options.binding),
    guessLimiter: options.guessLimit === false ? null : createGuessLimiter(options.guessLimit),
    maxSessionsPerUser: maxSessionsPerUser ?? null,
    sessionLimitPolicy,
    remember: resolveRemember(options.remember, options.store),
    store: options.store,
    keyring,
    verifyToken: createTokenVerifier(keyring),
    cookie: createCookiePolicy(options.cookie),
    idleTimeoutMs,
    absoluteTimeoutMs,
    renewalIntervalMs,
    storeTimeoutMs: duration('storeTimeoutMs', options.storeTimeoutMs, 5_000),
    rotation,
    legacyCookieName,
    legacy: options.legacy ?? null,
    keepOnLogin,
    userIdOf: options.userIdOf ?? passportUserId,
    generateHandle: options.generateHandle ?? null,
    newHandles: { randomHandle: options.generateHandle === undefined },
    now: options.now ?? Date.now,
    warn,
  };
}
