import { SessionStateError } from '../errors.js';
import type { ResolvedOptions } from '../options.js';
import type { SessionRecord } from '../store/record.js';
import { randomBase64url } from '../tokens/encoding.js';
import { isHandle, issueToken, MAX_HANDLE_LENGTH } from '../tokens/token.js';
import { deviceOf, type SessionState } from './state.js';

/** A record about to be stored, with the cookie value that will name it. */
export type IssuedRecord = SessionRecord & { cookieValue: string };

export interface RecordIssuer {
  /**
   * A handle from the application's `genid`, checked; undefined when there is none.
   * @throws SessionStateError when genid throws or returns something that cannot name a session.
   */
  customHandle(state: SessionState): string | undefined;
  /** A new record with a new token: defaults for a new anonymous session, overridden by `fields`. */
  issue(state: SessionState, fields: Partial<SessionRecord>, handle?: string): IssuedRecord;
}

/** Makes new records and their tokens: every session and every rotation starts here. */
export function createRecordIssuer(options: ResolvedOptions): RecordIssuer {
  const { keyring, now } = options;

  function customHandle(state: SessionState): string | undefined {
    if (!options.generateHandle) return undefined;
    let handle: unknown;
    try {
      handle = options.generateHandle(state.info.request);
    } catch (error) {
      throw new SessionStateError('genid threw', { cause: error });
    }
    // express-session takes any string; empty, control characters and lone surrogates could not
    // name a record faithfully in every store (or would forge log lines), so they fail closed.
    if (!isHandle(handle)) {
      throw new SessionStateError(
        `genid must return a non-empty string of at most ${MAX_HANDLE_LENGTH} characters once percent-encoded, without control characters`,
      );
    }
    return handle as string;
  }

  /**
   * The lifetime a new session keeps when the cookie options cannot give it again later: a fixed
   * `expires` date (express-session: the date minus the session's creation time) or options
   * computed for this request. A lifetime from the configured `maxAge` stays null and follows it.
   */
  function lifetimeFor(state: SessionState, at: number): number | null {
    const policy = state.info.cookie;
    if (policy) return policy.defaultLifetimeMs(at) ?? null;
    return options.cookie.expiresAt === undefined ? null : (options.cookie.defaultLifetimeMs(at) ?? null);
  }

  return {
    customHandle,
    issue(state, fields, handle = customHandle(state)) {
      const at = now();
      const token = issueToken(keyring, handle);
      const absoluteExpiresAt = at + options.absoluteTimeoutMs;
      return {
        handle: token.handle,
        secretHash: token.secretHash,
        cookieValue: token.cookieValue,
        userId: null,
        createdAt: at,
        authAt: null,
        lastSeenAt: at,
        idleExpiresAt: Math.min(at + options.idleTimeoutMs, absoluteExpiresAt),
        absoluteExpiresAt,
        version: 1,
        device: deviceOf(state.info),
        cookieMaxAgeMs:
          state.pendingMeta?.cookieMaxAgeMs !== undefined
            ? state.pendingMeta.cookieMaxAgeMs
            : (state.record?.cookieMaxAgeMs ?? lifetimeFor(state, at)),
        csrfSecret: randomBase64url(32),
        aal: 0,
        stepUpAt: null,
        rotatedAt: at,
        successor: null,
        deviceKey: null,
        deviceChallenge: null,
        data: '{}',
        ...fields,
      };
    },
  };
}
