import type { Session as SessionData } from 'fastify';
import { SessionStateError } from '../core/errors.js';
import { isForbiddenKey } from '../core/store/record.js';
import type { Callback } from '../session-api/callbacks.js';
import {
  bindingOf,
  collectData,
  type RegenerateOptions,
  Session,
  type SessionBinding,
} from '../session-api/session.js';
import './types.js';

/** The adapter's side of a request's binding: the Session object currently on the request. */
export interface FastifyBinding extends SessionBinding {
  current(): FastifySession;
  /** A `set()` was called: reported when the response's session was already stored. */
  writtenLate(): void;
}

function fastifyBinding(session: Session): FastifyBinding {
  return bindingOf(session) as FastifyBinding;
}

/**
 * `request.session`: @fastify/session's API (`get`, `set`, `sessionId`, `regenerate`, `destroy`,
 * `reload`, `save`, `touch`, `isModified`, `isSaved`; promises or callbacks) on coatcheck's engine,
 * with coatcheck's extensions (`login`, `logout`, `listSessions`, `revokeSession`,
 * `logoutEverywhere`, `reauthenticate`, `stepUp`, `meta`). Data keys are also own properties, as
 * in @fastify/session.
 */
export class FastifySession extends Session {
  /** Reads a data key (@fastify/session). */
  get<K extends string>(key: K): (K extends keyof SessionData ? SessionData[K] : unknown) | undefined;
  get(key: string): unknown {
    if (key === 'cookie') return this.cookie;
    return isForbiddenKey(key) ? undefined : (this as unknown as Record<string, unknown>)[key];
  }

  /** Writes a data key; `undefined` removes it when stored (JSON). `__proto__` and the like are refused (S51). */
  set<K extends string>(
    key: K,
    value: (K extends keyof SessionData ? SessionData[K] : unknown) | undefined,
  ): void;
  set(key: string, value: unknown): void {
    if (isForbiddenKey(key) || key === 'cookie') {
      throw new SessionStateError(`${key} is not a session key`);
    }
    fastifyBinding(this).writtenLate();
    (this as unknown as Record<string, unknown>)[key] = value;
  }

  /** The session's handle (@fastify/session's `sessionId`): public, never the token. */
  get sessionId(): string {
    return this.id;
  }

  /** Whether the data changed since it was loaded or last written (@fastify/session). */
  isModified(): boolean {
    const { state } = fastifyBinding(this);
    return JSON.stringify(collectData(this)) !== state.dataText;
  }

  /** Whether the session is held by the store (@fastify/session). */
  isSaved(): boolean {
    return fastifyBinding(this).state.record !== null;
  }

  /**
   * @fastify/session's and express-session's regenerate: the session is destroyed in the store and
   * `request.session` becomes a new, empty, anonymous one. With a list of keys (@fastify/session,
   * used by @fastify/passport's login), those keys are copied into the new session.
   * `{ keep: true }` rotates instead: a new token, same data and sign-in.
   */
  override regenerate(callback?: Callback): Promise<void> | undefined;
  override regenerate(
    options: RegenerateOptions | readonly string[],
    callback?: Callback,
  ): Promise<void> | undefined;
  override regenerate(
    optionsOrCallback?: RegenerateOptions | readonly string[] | Callback,
    maybeCallback?: Callback,
  ): Promise<void> | undefined {
    if (!Array.isArray(optionsOrCallback)) {
      return super.regenerate(optionsOrCallback as RegenerateOptions, maybeCallback);
    }
    const keys = optionsOrCallback as readonly string[];
    const bound = fastifyBinding(this);
    const kept = keys.filter((key) => Object.hasOwn(this, key) && key !== 'cookie' && !isForbiddenKey(key));
    const values = kept.map((key) => (this as unknown as Record<string, unknown>)[key]);
    const done = (super.regenerate() as Promise<void>).then(() => {
      const next = bound.current();
      for (const [i, key] of kept.entries()) next.set(key, values[i]);
    });
    if (!maybeCallback) return done;
    done.then(
      () => maybeCallback(),
      (error: unknown) => maybeCallback(error),
    );
    return undefined;
  }
}
