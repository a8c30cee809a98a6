import type { LoginOptions, SessionEngine } from '../core/engine.js';
import { SessionStateError, SessionStoreError } from '../core/errors.js';
import { isForbiddenKey } from '../core/record.js';
import type { SessionInfo, SessionState } from '../core/state.js';
import { Cookie } from './cookie.js';

type Callback = (error?: unknown) => void;

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
  /** Writes the session now (used by `save`). */
  commit(): Promise<void>;
  /** A store failure met inside the handler: the response becomes a 503 whatever the handler sends. */
  storeFailure: SessionStoreError | null;
  /** The request's `req.session.cookie`, made on first use. */
  cookie?: Cookie;
}

/** Read-only facts about the session; never the token. */
export interface SessionMeta {
  handle: string;
  userId: string | null;
  createdAt: number;
  authAt: number | null;
  lastSeenAt: number;
  idleExpiresAt: number;
  absoluteExpiresAt: number;
  /** Assurance level: 0 anonymous, 1 password login, 2+ after a step-up with a further factor. */
  aal: number;
  /** Time of the last step-up, or null. */
  stepUpAt: number | null;
}

/** Reads a Session's binding; set once the class below is defined. */
let readBinding: (session: Session) => SessionBinding | undefined;

/** The engine and request state behind a Session: for layers built on the adapter (CSRF, guards). */
export function bindingOf(session: Session): SessionBinding {
  return binding(session);
}

function binding(session: Session): SessionBinding {
  const found = readBinding(session);
  if (!found) throw new TypeError('this Session is not attached to a request');
  return found;
}

/**
 * Runs `work`, then the express-session style callback if one was given; otherwise returns the
 * promise. A promise nobody awaits never becomes an unhandled rejection: the failure is kept on the
 * request and the response fails closed when it is committed.
 */
function settle<T>(
  bound: SessionBinding,
  tracked: Promise<T>,
  callback?: (error?: unknown, value?: T) => void,
): Promise<T> | undefined {
  const work = track(bound, tracked);
  if (callback) {
    work.then(
      (value) => callback(undefined, value),
      (error: unknown) => callback(error),
    );
    return undefined;
  }
  work.catch(() => {});
  return work;
}

/** Remembers a store failure on the request, so the response fails closed (S49). */
function track<T>(bound: SessionBinding, work: Promise<T>): Promise<T> {
  return work.catch((error: unknown) => {
    if (error instanceof SessionStoreError) bound.storeFailure ??= error;
    throw error;
  });
}

/** Copies the application's data off a Session object into a null-prototype object (S51). */
export function collectData(session: Session): Record<string, unknown> {
  const data = Object.create(null) as Record<string, unknown>;
  for (const key of Object.keys(session)) {
    if (!isForbiddenKey(key)) data[key] = (session as unknown as Record<string, unknown>)[key];
  }
  return data;
}

/**
 * express-session's `req.session`: application data as own properties, plus `regenerate`, `destroy`,
 * `reload`, `save`, `touch` with callbacks or promises, and coatcheck's extensions (`login`,
 * `logout`, `reauthenticate`, `stepUp`, `listSessions`, `revokeSession`, `logoutEverywhere`).
 */
export class Session {
  // A private field, not a WeakMap entry per request: invisible to Object.keys and JSON, and cheap.
  readonly #bound: SessionBinding;
  static {
    readBinding = (session) => (#bound in session ? session.#bound : undefined);
  }

  constructor(bound: SessionBinding) {
    this.#bound = bound;
    const data = bound.state.data;
    // Forbidden keys were dropped when the data was parsed (S51); assigning any other key is safe.
    for (const key in data)
      if (!isForbiddenKey(key)) (this as unknown as Record<string, unknown>)[key] = data[key];
  }

  /** express-session's cookie view of this session (made on first use). */
  get cookie(): Cookie {
    const bound = binding(this);
    bound.cookie ??= new Cookie(bound.state, bound.engine);
    return bound.cookie;
  }

  /** The session's handle: public, never the token (express-session's session id). */
  get id(): string {
    const { engine, state } = binding(this);
    return engine.handleOf(state);
  }

  /** Handle, user, and timing of this session, or null while nothing is stored. */
  get meta(): SessionMeta | null {
    const record = binding(this).state.record;
    if (!record) return null;
    const { handle, userId, createdAt, authAt, lastSeenAt, idleExpiresAt, absoluteExpiresAt, aal, stepUpAt } =
      record;
    return { handle, userId, createdAt, authAt, lastSeenAt, idleExpiresAt, absoluteExpiresAt, aal, stepUpAt };
  }

  /** Rotation: a new token, same data; the old token stops working at once. */
  regenerate(callback?: Callback): Promise<void> | undefined {
    return settle(
      binding(this),
      this.#rotate((engine, state) => engine.rotate(state, { keepData: true })),
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

  /** Signs a user in: rotation, user id, authentication time; pre-login data dropped but `keep` (S19). */
  login(userId: string, options?: LoginOptions, callback?: Callback): Promise<void> | undefined {
    return settle(
      binding(this),
      this.#rotate((engine, state) => engine.login(state, userId, options)),
      callback,
    );
  }

  /** Records a fresh authentication (step-up) and rotates; never creates a second session. */
  reauthenticate(callback?: Callback): Promise<void> | undefined {
    return settle(
      binding(this),
      this.#rotate((engine, state) => engine.reauthenticate(state)),
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
      this.#rotate((engine, state) => engine.stepUp(state, level)),
      callback,
    );
  }

  /** The signed-in user's sessions (device list), with `current` marking this one. */
  async listSessions(): Promise<SessionInfo[]> {
    const bound = binding(this);
    const userId = bound.state.record?.userId;
    if (!userId) return [];
    return track(
      bound,
      bound.engine.listUserSessions(userId, { currentHandle: bound.state.record?.handle ?? null }),
    );
  }

  /** Signs out one of the user's own sessions by handle; false if no such session of theirs. */
  async revokeSession(handle: string): Promise<boolean> {
    const { engine, state } = binding(this);
    const userId = state.record?.userId;
    if (!userId) return false;
    if (handle === state.record?.handle) {
      await this.destroy();
      return true;
    }
    return track(binding(this), engine.revoke(handle, { userId, by: userId }));
  }

  /** Signs out every other session of the user, or all of them with `includeCurrent`. */
  async logoutEverywhere(options: { includeCurrent?: boolean } = {}): Promise<number> {
    const { engine, state } = binding(this);
    const userId = state.record?.userId;
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

  async #rotate(work: (engine: SessionEngine, state: SessionState) => Promise<void>): Promise<void> {
    const bound = binding(this);
    bound.state.data = collectData(this);
    try {
      await work(bound.engine, bound.state);
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
