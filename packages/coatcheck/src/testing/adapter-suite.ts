import { after, describe, it } from 'node:test';
import type { SessionEngineOptions } from '../core/options.js';
import type { SessionStore } from '../core/store/store.js';
import { type AdapterScenario, type Scenario, type ScenarioContext, scenarios } from './adapter-scenarios.js';

export type { AdapterScenario } from './adapter-scenarios.js';

/**
 * What the suite hands an adapter's `start`: the store to use (wrapped by the suite, so it can fail
 * on purpose and report what was written) and the session options to pass through unchanged.
 */
export interface AdapterSetup {
  /** The store the adapter's session middleware must use. */
  store: SessionStore;
  /** Options to pass to the session middleware as they are. */
  options: AdapterSessionOptions;
}

/** Session options every adapter passes to its session middleware as they are. */
export interface AdapterSessionOptions
  extends Pick<
    SessionEngineOptions,
    | 'idleTimeoutMs'
    | 'absoluteTimeoutMs'
    | 'renewalIntervalMs'
    | 'rotationIntervalMs'
    | 'rotationGraceMs'
    | 'guessLimit'
  > {
  /** The session cookie's name (the suite reads and forges cookies by it). Always `'sid'`. */
  name: string;
  /** The session secret (at least 32 characters). */
  secret: string;
  /** The suite's clock, in ms since the epoch: timeouts are driven by moving it. */
  now: () => number;
  /** Keeps warnings out of the test output. */
  warn: (message: string) => void;
  /** Origins for the adapter's CSRF check (its `origins` option). */
  csrfOrigins: string[];
}

/** A server the adapter started for one scenario. */
export interface RunningAdapter {
  /** Base URL, e.g. `http://127.0.0.1:4242` (no trailing slash). */
  url: string;
  /** Stops the server; called after the scenario, also when it failed. */
  close(): Promise<void>;
}

/**
 * An adapter under test.
 *
 * `start` serves, over real HTTP and through the adapter's own API (its session middleware, its
 * guards, its CSRF check), these JSON routes. Request bodies are JSON (`Content-Type:
 * application/json`); every answer below is JSON unless a guard or the CSRF check refuses first, in
 * which case only the status counts. `{ data }` is the session's application data as a plain
 * object (never the cookie, never metadata).
 *
 * | Route | Does | Answers |
 * | --- | --- | --- |
 * | `GET /me` | behind `requireAuth()` | 200 `{ userId, data }`; 401 when signed out |
 * | `GET /peek` | reads only: never creates or writes a session | 200 `{ userId: string \| null, handle: string \| null, data }` (`handle` of a stored session, from its meta) |
 * | `POST /set` | copies each key of the body object into the session data | 200 `{ data }` |
 * | `POST /slow?ms=N` | waits N ms, then does what `/set` does | 200 `{ data }` |
 * | `POST /login` | body `{ userId }`: the adapter's login (rotation, pre-login data dropped) | 200 `{ userId }` |
 * | `POST /logout` | the adapter's logout (destroys the session, clears the cookie) | 200 `{}` |
 * | `POST /logout-all` | signs out the user's other sessions (`logoutEverywhere()`) | 200 `{ count }` |
 * | `GET /sessions` | the signed-in user's device list (`listSessions()`) | 200 `[{ handle, current, ... }]` |
 * | `DELETE /sessions/:handle` | revokes one of the user's own sessions (`revokeSession`) | 200 `{ revoked: boolean }` |
 * | `POST /regenerate` | rotation keeping data and sign-in (`regenerate({ keep: true })`) | 200 `{}` |
 * | `POST /step-up` | records a step-up to level 2 (`stepUp(2)`) | 200 `{}` |
 * | `GET /fresh` | behind `requireFreshAuth({ maxAgeMs: 60_000 })` | 200 `{}`; 401 |
 * | `GET /stepped-up` | behind `requireStepUp({ level: 2, maxAgeMs: 60_000 })` | 200 `{}`; 401 |
 * | `GET /admin` | behind `requireRole('admin')` (roles from data `role`/`roles`) | 200 `{}`; 401 signed out; 403 |
 * | `GET /csrf` | a CSRF token for the session (may create a pre-session) | 200 `{ token }` |
 * | `POST /csrf-protected` | behind the adapter's CSRF check (on these two routes only) with `origins: options.csrfOrigins`, token in the `x-csrf-token` header | 200 `{}`; 403 refused |
 *
 * A store failure (the suite makes every store call throw) must never be answered as an anonymous
 * session: the default answer is 503; an adapter whose framework answers it differently names the
 * status in `storeFailureStatus`. The session must be stored before the response is sent (the
 * suite reads the store as soon as the response arrives).
 *
 * @example
 * runAdapterBehaviour({
 *   name: 'my adapter',
 *   createStore: () => new MemoryStore(),
 *   adapter: { start: async ({ store, options }) => startMyApp(store, options) },
 * });
 */
export interface AdapterUnderTest {
  /** Starts a server serving the routes above with the given store and options; one per scenario. */
  start(setup: AdapterSetup): Promise<RunningAdapter>;
  /**
   * Scenarios the framework makes impossible, each with the reason: the suite reports them as
   * skipped, by name, with that reason (`# SKIP unsupported by this adapter: <reason>`). Names:
   * `lazy-creation`, `login-rotation`, `logout`, `logout-everywhere`, `device-list`, `regenerate`,
   * `commit-before-response`, `idle-timeout`, `absolute-timeout`, `renewal`, `scheduled-rotation`,
   * `guards`, `csrf`, `store-failure`, `parallel-writers`, `no-resurrection`, `hostile-cookies`.
   */
  unsupported?: Partial<Record<AdapterScenario, string>>;
  /** The status a store failure is answered with. @default 503 */
  storeFailureStatus?: number;
}

/** Options of `runAdapterBehaviour`. */
export interface AdapterBehaviourOptions {
  /** Shown in the test names, e.g. `'express 5 / sqlite'`. */
  name: string;
  /** The adapter to drive. */
  adapter: AdapterUnderTest;
  /** Makes the store the scenarios run on. Called once for the suite; closed after it. */
  createStore: () => Promise<SessionStore> | SessionStore;
  /** Tears the store down after the suite (close is called first). */
  cleanup?: () => Promise<void> | void;
}

/**
 * The adapter behaviour suite: every framework adapter must pass it. It runs over real HTTP with
 * `fetch`, one server per scenario. Run it from a node:test file.
 *
 * @example
 * import { runAdapterBehaviour } from 'coatcheck/testing';
 * runAdapterBehaviour({ name: 'hono / memory', adapter: honoAdapter, createStore: () => new MemoryStore() });
 */
export function runAdapterBehaviour(options: AdapterBehaviourOptions): void {
  describe(`adapter behaviour: ${options.name}`, () => {
    let store: SessionStore | undefined;
    const context: ScenarioContext = {
      adapter: options.adapter,
      store: async () => {
        store ??= await options.createStore();
        return store;
      },
    };
    after(async () => {
      await store?.close();
      await options.cleanup?.();
    });
    for (const [name, scenario] of Object.entries(scenarios) as [AdapterScenario, Scenario][]) {
      const title = `${name}: ${scenario.title}`;
      const reason = options.adapter.unsupported?.[name];
      // Reported by name with its reason, never dropped silently.
      if (reason) it(title, { skip: `unsupported by this adapter: ${reason}` }, () => {});
      else it(title, () => scenario.run(context));
    }
  });
}
