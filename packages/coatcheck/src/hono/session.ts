import type { LoginOptions, SessionEngine } from '../core/engine.js';
import { SessionStateError, SessionStoreError } from '../core/errors.js';
import { identityChange } from '../core/lifecycle/identity.js';
import { metaOf, type SessionMeta } from '../core/lifecycle/meta.js';
import { dataRead } from '../core/lifecycle/request-state.js';
import type { SessionInfo, SessionState } from '../core/lifecycle/state.js';
import type { RememberedDeviceInfo } from '../core/remember/info.js';
import { isForbiddenKey } from '../core/store/record.js';

export type { SessionMeta } from '../core/lifecycle/meta.js';

/** Per-request link between a HonoSession, the engine and the request's state. */
export interface SessionBinding {
  engine: SessionEngine;
  state: SessionState;
  /** A store failure met inside the handler: the response becomes a 503 whatever the handler sends. */
  storeFailure: SessionStoreError | null;
  /** Lifecycle calls still running (not awaited by the handler): the commit waits for them. */
  inflight: Set<Promise<unknown>>;
}

let readBinding: (session: HonoSession) => SessionBinding;

/** The engine and request state behind a session: for the guards and the CSRF check. */
export function bindingOf(session: HonoSession): SessionBinding {
  return readBinding(session);
}

/**
 * `c.get('session')`: the request's session. Data is read and written with `get` / `set` (stored
 * as JSON, as express-session stores it); the lifecycle calls mirror `req.session` of
 * `coatcheck/express`, returning promises. Everything is written once, after the handler, before
 * the response leaves.
 */
export class HonoSession<Data extends Record<string, unknown> = Record<string, unknown>> {
  readonly #bound: SessionBinding;
  static {
    readBinding = (session) => session.#bound;
  }

  constructor(bound: SessionBinding) {
    this.#bound = bound;
  }

  /** The value stored under `key`, or undefined. */
  get<K extends keyof Data & string>(key: K): Data[K] | undefined {
    return this.#bound.state.data[key] as Data[K] | undefined;
  }

  /**
   * Stores `value` under `key` (written after the handler). `undefined` removes the key.
   * @throws SessionStateError for `__proto__`, `constructor` and `prototype` (S51).
   */
  set<K extends keyof Data & string>(key: K, value: Data[K] | undefined): this {
    if (isForbiddenKey(key)) throw new SessionStateError(`${key} is not a session key`);
    if (value === undefined) delete this.#bound.state.data[key];
    else this.#bound.state.data[key] = value;
    return this;
  }

  /** Removes `key` from the data. */
  delete(key: keyof Data & string): this {
    delete this.#bound.state.data[key];
    return this;
  }

  /** A copy of the whole data, e.g. to render it. */
  get data(): Partial<Data> {
    return { ...this.#bound.state.data } as Partial<Data>;
  }

  /** The session's handle: public, never the token (express-session's session id). */
  get id(): string {
    const { engine, state } = this.#bound;
    return engine.handleOf(state);
  }

  /** Handle, user, and timing of this session, or null while nothing is stored. */
  get meta(): SessionMeta | null {
    const { engine, state } = this.#bound;
    // Data the request has not read is not parsed for this (a read stays free of JSON work).
    const data = dataRead(state) ? state.data : null;
    return metaOf(state.record, engine.options.userIdOf, data, state.dataText);
  }

  /**
   * Signs a user in: rotation, user id, authentication time; pre-login data dropped but `keep`
   * (S19).
   */
  login(userId: string, options?: LoginOptions): Promise<void> {
    return this.#run((engine, state) => engine.login(state, userId, options));
  }

  /** Ends the session in the store and expires the cookie; the session becomes empty and anonymous. */
  logout(): Promise<void> {
    return this.#run((engine, state) => engine.logout(state));
  }

  /** Same as `logout` (express-session's name). */
  destroy(): Promise<void> {
    return this.logout();
  }

  /**
   * express-session's regenerate: destroyed in the store, replaced by a new empty anonymous
   * session. `{ keep: true }` rotates instead: a new token, same data and sign-in.
   */
  regenerate(options: { keep?: boolean } = {}): Promise<void> {
    const keepData = options.keep === true;
    return this.#run((engine, state) => engine.rotate(state, { keepData }), keepData);
  }

  /** Records a fresh full authentication (step-up of `requireFreshAuth`) and rotates. */
  reauthenticate(): Promise<void> {
    return this.#run((engine, state) => engine.reauthenticate(state), true);
  }

  /** Records a verified step-up with a further factor at assurance `level` (2 or more, S40), then rotates. */
  stepUp(level: number): Promise<void> {
    return this.#run((engine, state) => engine.stepUp(state, level), true);
  }

  /** Re-reads the session from the store, dropping unsaved changes. */
  reload(): Promise<void> {
    return this.#run((engine, state) => engine.reload(state));
  }

  /** Writes the session now (also when it holds no data). It is written anyway after the handler. */
  save(): Promise<void> {
    return this.#run((engine, state) => {
      state.forceSave = true;
      return engine.commit(state);
    });
  }

  /** Re-sends the cookie with a fresh Max-Age on this response. */
  touch(): this {
    const { state } = this.#bound;
    if (state.record && state.cookie === 'keep') state.cookie = 'set';
    return this;
  }

  /** The signed-in user's sessions (device list), with `current` marking this one. */
  async listSessions(): Promise<SessionInfo[]> {
    const userId = this.meta?.userId;
    if (!userId) return [];
    const { engine, state } = this.#bound;
    return this.#track(engine.listUserSessions(userId, { currentHandle: state.record?.handle ?? null }));
  }

  /** Signs out one of the user's own sessions by handle; false if no such session of theirs. */
  async revokeSession(handle: string): Promise<boolean> {
    const userId = this.meta?.userId;
    if (!userId) return false;
    const { engine, state } = this.#bound;
    if (handle === state.record?.handle) {
      await this.logout();
      return true;
    }
    return this.#track(engine.revoke(handle, { userId, by: userId }));
  }

  /** The signed-in user's remembered devices ("keep me signed in"), `current` marking this one's. */
  async listRememberedDevices(): Promise<RememberedDeviceInfo[]> {
    const userId = this.meta?.userId;
    if (!userId) return [];
    const { engine, state } = this.#bound;
    const currentDeviceId = state.record?.rememberedDeviceId ?? null;
    return this.#track(engine.listRememberedDevices(userId, { currentDeviceId }));
  }

  /** Forgets one of the user's remembered devices and ends its sessions; false if no such device of theirs. */
  async revokeRememberedDevice(id: string): Promise<boolean> {
    const userId = this.meta?.userId;
    if (!userId) return false;
    const { engine, state } = this.#bound;
    if (id === state.record?.rememberedDeviceId) {
      await this.logout();
      return true;
    }
    return this.#track(engine.revokeRememberedDevice(id, { userId, by: userId }));
  }

  /** Signs out every other session of the user, or all of them with `includeCurrent`; returns how many. */
  async logoutEverywhere(options: { includeCurrent?: boolean } = {}): Promise<number> {
    const userId = this.meta?.userId;
    if (!userId) return 0;
    const { engine, state } = this.#bound;
    const except = options.includeCurrent ? {} : { exceptHandle: state.record!.handle };
    const count = await this.#track(engine.revokeUserSessions(userId, { ...except, by: userId }));
    if (options.includeCurrent) await this.logout();
    return count;
  }

  /** Remembers a store failure, so the response fails closed even if the handler catches it (S49). */
  #track<T>(work: Promise<T>): Promise<T> {
    return work.catch((error: unknown) => {
      if (error instanceof SessionStoreError) this.#bound.storeFailure ??= error;
      throw error;
    });
  }

  /**
   * Runs a lifecycle call. With `carrySignIn` (calls that keep the user on a new token), a sign-in
   * the data has ended (`userIdOf`) is written first, as `coatcheck/express` does.
   */
  #run(
    work: (engine: SessionEngine, state: SessionState) => Promise<void>,
    carrySignIn = false,
  ): Promise<void> {
    const { engine, state, inflight } = this.#bound;
    const run = (async () => {
      if (carrySignIn && identityChange(engine.options.userIdOf, state.record, state.data, state.dataText)) {
        await this.#track(engine.commit(state));
      }
      await this.#track(work(engine, state));
    })();
    // A call the handler does not await (`session.logout(); return c.redirect('/')`) is waited for
    // before the commit, and its failure is the response's 503, never an unhandled rejection.
    inflight.add(run);
    const done = () => inflight.delete(run);
    run.then(done, done);
    return run;
  }
}
