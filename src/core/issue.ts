import { randomBase64url } from './encoding.js';
import { SessionStateError } from './errors.js';
import type { ResolvedOptions } from './options.js';
import type { SessionRecord } from './record.js';
import { deviceOf, type SessionState } from './state.js';
import { isHandle, issueToken } from './token.js';

/** A record about to be stored, with the cookie value that will name it. */
export type IssuedRecord = SessionRecord & { cookieValue: string };

export interface RecordIssuer {
  /** A handle from the application's `genid`, checked; undefined when there is none. */
  customHandle(state: SessionState): string | undefined;
  /** A new record with a new token: defaults for a new anonymous session, overridden by `fields`. */
  issue(state: SessionState, fields: Partial<SessionRecord>, handle?: string): IssuedRecord;
}

/** Makes new records and their tokens: every session and every rotation starts here. */
export function createRecordIssuer(options: ResolvedOptions): RecordIssuer {
  const { keyring, now } = options;

  function customHandle(state: SessionState): string | undefined {
    if (!options.generateHandle) return undefined;
    const handle = options.generateHandle(state.info.request);
    if (typeof handle !== 'string' || !isHandle(handle)) {
      throw new SessionStateError('genid must return 16 to 128 base64url characters');
    }
    return handle;
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
            : (state.record?.cookieMaxAgeMs ?? null),
        csrfSecret: randomBase64url(32),
        aal: 0,
        stepUpAt: null,
        rotatedAt: at,
        successor: null,
        data: '{}',
        ...fields,
      };
    },
  };
}
