// Over ~250 lines on purpose: express-session's `Session` is one object to its users (its methods and
// coatcheck's extensions on `req.session`); its helpers live in callbacks.ts, meta.ts, request-cookie.ts.
import type { LoginOptions, SessionEngine } from '../core/engine.js';
import { SessionStateError, type SessionStoreError } from '../core/errors.js';
import { identityChange } from '../core/lifecycle/identity.js';
import { dataRead, storeData } from '../core/lifecycle/request-state.js';
import type { SessionInfo, SessionState } from '../core/lifecycle/state.js';
import type { RememberedDeviceInfo } from '../core/remember/info.js';
import { isForbiddenKey } from '../core/store/record.js';
import { type Callback, settle, splitCallback, track } from './callbacks.js';
import type { Cookie } from './cookie.js';
import { metaOf, type SessionMeta } from './meta.js';
import { sessionCookie } from './request-cookie.js';

/** Options of `req.session.regenerate`. */
export interface RegenerateOptions {
  /**
   * Keep the data and the sign-in: only the token changes (a rotation). Without it, regenerate is
   * express-session's: the session is destroyed and a new, empty, anonymous one replaces it.
   * @default false
   */
  keep?: boolean;
}

/** Thrown when a handler assigns `req.session.__proto__`: answered as 400 by Express (S51). */
function refusePrototypeWrite(): never {
  throw Object.assign(new SessionStateError('__proto__ is not a session key'), { status: 400, expose: true });
}

/** Per-request link between a Session object, the engine and the request. */
export interface SessionBinding {
  engine: SessionEngine;
  state: SessionState;
  /** Puts a new Session object on the request (after rotation, logout or reload). */
  replace(session: Session): void;
  /** The Session last put on the request for this binding (by the adapter, or by `replace`). */
  session?: Session;
  /** Writes the session now (used by `save`). */
  commit(): Promise<void>;
  /** A store failure met inside the handler: the response becomes a 503 whatever the handler sends. */
  storeFailure: SessionStoreError | null;
  /** The request's `req.session.cookie`, made on first use. */
  cookie?: Cookie;
  /**
   * Lifecycle calls still running (a `destroy()` or `regenerate()` the handler did not await): the
   * response's commit waits for them, so the data they ended is never written back.
   */
  inflight?: Set<Promise<unknown>>;
  /**
   * Whether the response has started (its head is written, or held as written): a new token could
   * no longer reach the browser. Absent where the adapter sends the head only after the handler.
   */
  responseStarted?(): boolean;
}

export type { SessionMeta } from './meta.js';

/** Reads a Session's binding; set once the class below is defined. */
let readBinding: (session: Session) => SessionBinding | undefined;

/** The stored data a Session was made from, parsed for it alone, and its text; set with the class. */
let loadedDataOf: (session: Session) => Record<string, unknown> | null;
let loadedTextOf: (session: Session) => string | null;

/** The engine and request state behind a Session: for layers built on the adapter (CSRF, guards). */
export function bindingOf(session: Session): SessionBinding {
  return binding(session);
}

function binding(session: Session): SessionBinding {
  const found = readBinding(session);
  if (!found) throw new TypeError('this Session is not attached to a request');
  return found;
}

/** Whether a Session belongs to this request state: false for one a second session middleware handed out. */
export function belongsTo(session: Session, state: SessionState): boolean {
  return readBinding(session)?.state === state;
}

/** Handle, user and timing of a session (what `req.session.meta` shows), even when `meta` is a data key. */
export function sessionMetaOf(session: Session): SessionMeta | null {
  const { engine, state } = binding(session);
  return metaOf(state.record, engine.options.userIdOf, collectData(session), state.dataText);
}

/**
 * Takes the handler's data off `req.session` into the request's state, for the commit to compare
 * with the stored text. When every value is the very one loaded and none is an object (nothing in
 * it could have changed inside), the state goes back to the stored text, unread: nothing is copied
 * and the commit serialises nothing. Objects are compared by their JSON, as express-session hashes
 * its whole session, so a change deep inside one is saved.
 */
export function takeData(session: Session, state: SessionState): void {
  const loaded = loadedDataOf(session);
  if (loaded && loadedTextOf(session) === state.dataText && unchangedSinceLoad(session, loaded)) {
    if (dataRead(state)) storeData(state, state.dataText);
  } else {
    state.data = collectData(session);
  }
}

/** Whether a Session's data keys are those of `loaded`, each holding the same primitive value. */
function unchangedSinceLoad(session: Session, loaded: Record<string, unknown>): boolean {
  const values = session as unknown as Record<string, unknown>;
  let count = 0;
  for (const key in values) {
    if (key === 'cookie' || !Object.hasOwn(values, key)) continue;
    const value = values[key];
    if ((value !== null && typeof value === 'object') || !(key in loaded) || loaded[key] !== value)
      return false;
    count++;
  }
  // `loaded` has a null prototype: for-in sees its own keys only.
  for (const _ in loaded) count--;
  return count === 0;
}

/**
 * Copies the application's data off a Session object into a null-prototype object (S51). The
 * cookie is the session's, never its data (express-session strips it the same way).
 */
export function collectData(session: Session): Record<string, unknown> {
  const data = Object.create(null) as Record<string, unknown>;
  for (const key of Object.keys(session)) {
    if (key !== 'cookie' && !isForbiddenKey(key))
      data[key] = (session as unknown as Record<string, unknown>)[key];
  }
  return data;
}

/**
 * The session's binding again, under a non-enumerable symbol: a property lookup, unlike the private
 * field, also finds it through a Proxy around the session or an object that inherits from it
 * (change-tracking wrappers), so the cookie reads there as on express-session's plain property.
 * Spreads, Object.assign and JSON leave it out.
 */
const BINDING = Symbol('coatcheck.session');

/**
 * The `cookie` accessor every Session defines: one getter and setter for all of them, so V8 gives
 * every Session the same hidden class (a closure per request made a new one per object, and every
 * property read on a session a megamorphic lookup).
 */
const COOKIE_PROPERTY: PropertyDescriptor = {
  enumerable: true,
  get(this: Session) {
    const bound = (this as unknown as Record<symbol, SessionBinding | undefined>)[BINDING];
    if (!bound) throw new TypeError('this Session is not attached to a request');
    bound.cookie ??= sessionCookie(bound.state, bound.engine);
    return bound.cookie;
  },
  set() {},
};

/**
 * express-session's `req.session`: application data as own properties, plus `regenerate`, `destroy`,
 * `reload`, `save`, `touch` with callbacks or promises, and coatcheck's extensions (`login`,
 * `logout`, `reauthenticate`, `stepUp`, `listSessions`, `revokeSession`, `logoutEverywhere`).
 */
export class Session {
  // A private field, not a WeakMap entry per request: invisible to Object.keys and JSON, and cheap.
  readonly #bound: SessionBinding;
  /** The stored text and data this Session was made from, when the data was parsed for it (`takeData`). */
  readonly #loadedText: string | null = null;
  readonly #loadedData: Record<string, unknown> | null = null;
  static {
    readBinding = (session) => (#bound in session ? session.#bound : undefined);
    loadedDataOf = (session) => (#bound in session ? session.#loadedData : null);
    loadedTextOf = (session) => (#bound in session ? session.#loadedText : null);
  }

  /**
   * express-session's `req.session.cookie`: an enumerable own property as there, so spreads and
   * Passport's `keepSessionInfo` merge see it, but never stored as data. Assigning to it (that
   * merge does) is accepted and changes nothing: the cookie belongs to the request's session.
   */
  declare cookie: Cookie;

  constructor(bound: SessionBinding) {
    this.#bound = bound;
    Object.defineProperty(this, BINDING, { value: bound });
    Object.defineProperty(this, 'cookie', COOKIE_PROPERTY);
    // Unread until now: the object about to be parsed is the stored text's, and no one else's yet.
    const unread = !dataRead(bound.state);
    const data = bound.state.data;
    if (unread) {
      this.#loadedText = bound.state.dataText;
      this.#loadedData = data;
    }
    // Forbidden keys were dropped when the data was parsed (S51); assigning any other key is safe.
    for (const key in data)
      if (key !== 'cookie' && !isForbiddenKey(key))
        (this as unknown as Record<string, unknown>)[key] = data[key];
  }

  /** The session's handle: public, never the token (express-session's session id). */
  get id(): string {
    const { engine, state } = binding(this);
    return engine.handleOf(state);
  }

  /**
   * Handle, user, and timing of this session, or null while nothing is stored. A session whose
   * data names another user than its record, or stopped naming its user (the engine's `userIdOf`),
   * shows as signed out until it is written (then the record agrees).
   */
  get meta(): SessionMeta | null {
    return sessionMetaOf(this);
  }

  /**
   * A data key named `meta` (an express-session app's own) is kept as data: it shadows this view on
   * that session, and `sessionMetaOf(req.session)` still reads the record.
   */
  set meta(value: unknown) {
    Object.defineProperty(this, 'meta', { value, writable: true, enumerable: true, configurable: true });
  }

  /**
   * express-session's regenerate: the session is destroyed in the store and `req.session` becomes a
   * new, empty, anonymous session with a new ID, stored once it holds data. `{ keep: true }`
   * rotates instead: a new token, same data and sign-in; the old token stops working at once.
   */
  regenerate(callback?: Callback): Promise<void> | undefined;
  regenerate(options: RegenerateOptions, callback?: Callback): Promise<void> | undefined;
  regenerate(
    optionsOrCallback?: RegenerateOptions | Callback,
    maybeCallback?: Callback,
  ): Promise<void> | undefined {
    const [options, callback] = splitCallback(optionsOrCallback, maybeCallback);
    const keepData = options?.keep === true;
    return settle(
      binding(this),
      this.#rotate((engine, state) => engine.rotate(state, { keepData }), keepData, true),
      callback,
    );
  }

  /** Ends the session in the store and expires the cookie; `req.session` becomes empty and anonymous. */
  destroy(callback?: Callback): Promise<void> | undefined {
    return settle(
      binding(this),
      this.#rotate((engine, state) => engine.logout(state)),
      callback,
    );
  }

  /** Same as `destroy`: real logout. */
  logout(callback?: Callback): Promise<void> | undefined {
    return this.destroy(callback);
  }

  /** Re-reads the session from the store, dropping unsaved changes. */
  reload(callback?: Callback): Promise<void> | undefined {
    return settle(
      binding(this),
      this.#rotate((engine, state) => engine.reload(state)),
      callback,
    );
  }

  /** Writes the session now. It is also written, if changed, before the response is sent. */
  save(callback?: Callback): Promise<void> | undefined {
    const bound = binding(this);
    bound.state.forceSave = true;
    const saved = bound.commit().then(() => {
      // Ended or rotated by another request meanwhile: the write was dropped (S29) and what this
      // request loaded goes with it; the browser may hold the rotated token, so nothing more is
      // written from this request.
      if (bound.state.endedElsewhere) bound.replace(new Session(bound));
    });
    return settle(bound, saved, callback);
  }

  /** Re-sends the cookie with a fresh Max-Age on this response. */
  touch(): this {
    const { state } = binding(this);
    if (state.record && state.cookie === 'keep') state.cookie = 'set';
    return this;
  }

  /** express-session alias of `touch`. */
  resetMaxAge(): this {
    return this.touch();
  }

  /**
   * Signs a user in: rotation, user id, authentication time; pre-login data dropped but `keep`
   * (S19). The callback may follow the user id directly, as in Passport's `req.login(user, cb)`.
   */
  login(userId: string, callback?: Callback): Promise<void> | undefined;
  login(userId: string, options?: LoginOptions, callback?: Callback): Promise<void> | undefined;
  login(
    userId: string,
    optionsOrCallback?: LoginOptions | Callback,
    maybeCallback?: Callback,
  ): Promise<void> | undefined {
    const [options, callback] = splitCallback(optionsOrCallback, maybeCallback);
    return settle(
      binding(this),
      this.#rotate((engine, state) => engine.login(state, userId, options), false, true),
      callback,
    );
  }

  /** Records a fresh authentication (step-up) and rotates; never creates a second session. */
  reauthenticate(callback?: Callback): Promise<void> | undefined {
    return settle(
      binding(this),
      this.#rotate((engine, state) => engine.reauthenticate(state), true, true),
      callback,
    );
  }

  /**
   * Records a step-up with a further factor at assurance level `level` (2 or more) once the
   * application has verified it (S40): `aal` and `stepUpAt` in the store, then rotation. Never
   * creates a second session.
   */
  stepUp(level: number, callback?: Callback): Promise<void> | undefined {
    return settle(
      binding(this),
      this.#rotate((engine, state) => engine.stepUp(state, level), true, true),
      callback,
    );
  }

  /** The signed-in user's sessions (device list), with `current` marking this one. */
  async listSessions(): Promise<SessionInfo[]> {
    const bound = binding(this);
    const userId = sessionMetaOf(this)?.userId;
    if (!userId) return [];
    return track(
      bound,
      bound.engine.listUserSessions(userId, { currentHandle: bound.state.record?.handle ?? null }),
    );
  }

  /** Signs out one of the user's own sessions by handle; false if no such session of theirs. */
  async revokeSession(handle: string): Promise<boolean> {
    const { engine, state } = binding(this);
    const userId = sessionMetaOf(this)?.userId;
    if (!userId) return false;
    if (handle === state.record?.handle) {
      await this.destroy();
      return true;
    }
    return track(binding(this), engine.revoke(handle, { userId, by: userId }));
  }

  /** The signed-in user's remembered devices ("keep me signed in"), `current` marking this one's. */
  async listRememberedDevices(): Promise<RememberedDeviceInfo[]> {
    const bound = binding(this);
    const userId = sessionMetaOf(this)?.userId;
    if (!userId) return [];
    const currentDeviceId = bound.state.record?.rememberedDeviceId ?? null;
    return track(bound, bound.engine.listRememberedDevices(userId, { currentDeviceId }));
  }

  /** Forgets one of the user's remembered devices and ends its sessions; false if no such device of theirs. */
  async revokeRememberedDevice(id: string): Promise<boolean> {
    const bound = binding(this);
    const userId = sessionMetaOf(this)?.userId;
    if (!userId) return false;
    if (id === bound.state.record?.rememberedDeviceId) {
      await this.destroy();
      return true;
    }
    return track(bound, bound.engine.revokeRememberedDevice(id, { userId, by: userId }));
  }

  /** Signs out every other session of the user, or all of them with `includeCurrent`; resolves to how many live sessions it ended. */
  async logoutEverywhere(options: { includeCurrent?: boolean } = {}): Promise<number> {
    const { engine, state } = binding(this);
    const userId = sessionMetaOf(this)?.userId;
    if (!userId) return 0;
    const count = await track(
      binding(this),
      engine.revokeUserSessions(
        userId,
        options.includeCurrent ? { by: userId } : { exceptHandle: state.record!.handle, by: userId },
      ),
    );
    if (options.includeCurrent) await this.destroy();
    return count;
  }

  /**
   * Runs a lifecycle call on the current data. With `carrySignIn` (the calls that keep the user on
   * a new token), a sign-in the data has ended (`userIdOf`) is written first: the new token must
   * not carry it, and the stored data it is judged against is about to be replaced.
   */
  async #rotate(
    work: (engine: SessionEngine, state: SessionState) => Promise<void>,
    carrySignIn = false,
    issuesToken = false,
  ): Promise<void> {
    const bound = binding(this);
    // Refused before anything changes: the old session would end and the new token never arrive.
    if (issuesToken && bound.responseStarted?.()) {
      throw new SessionStateError('the response has started: a new session cookie can no longer be sent');
    }
    const { engine, state } = bound;
    state.data = collectData(this);
    try {
      if (carrySignIn && identityChange(engine.options.userIdOf, state.record, state.data, state.dataText)) {
        await bound.commit();
      }
      await work(engine, state);
    } finally {
      // Also when it failed: a session that ended meanwhile leaves `req.session` empty, so nothing
      // loaded under it is written into another one.
      bound.replace(new Session(bound));
    }
  }
}

// CodeQL js/prototype-polluting-assignment: `req.session[key] = value` with key `__proto__` must not
// swap the Session's prototype.
Object.defineProperty(Session.prototype, '__proto__', {
  get(this: Session) {
    return Object.getPrototypeOf(this) as unknown;
  },
  set: refusePrototypeWrite,
  enumerable: false,
});
