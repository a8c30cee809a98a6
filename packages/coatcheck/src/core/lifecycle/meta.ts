import type { SessionRecord } from '../store/record.js';
import { identityChange, type UserIdOf } from './identity.js';
import { type AuthMethod, authMethodOf } from './state.js';

/** Read-only facts about the session; never the token. */
export interface SessionMeta {
  /** Public name of the session (device lists, revocation); never authenticates. */
  handle: string;
  /** The signed-in user, or null. */
  userId: string | null;
  /** When the session was created, ms since the epoch. */
  createdAt: number;
  /** Last full authentication, ms since the epoch, or null: what `requireFreshAuth` measures. */
  authAt: number | null;
  /** Last renewal, ms since the epoch. */
  lastSeenAt: number;
  /** End of the idle timeout, ms since the epoch. */
  idleExpiresAt: number;
  /** End of the absolute timeout, ms since the epoch. */
  absoluteExpiresAt: number;
  /** Assurance level: 0 anonymous, 1 password login, 2+ after a step-up with a further factor. */
  aal: number;
  /** Time of the last step-up, or null. */
  stepUpAt: number | null;
  /** `'remembered'` for a session a remembered device started (not fresh), `'login'` otherwise; null when anonymous. */
  authMethod: AuthMethod | null;
}

/**
 * `req.session.meta` of a session with `record`: null while nothing is stored. A session whose
 * data names another user than its record, or stopped naming its user (`userIdOf`), shows as
 * signed out until it is written (then the record agrees), so guards never let through a user the
 * data has signed out (a Passport `deserializeUser` that returned false). `data` null: the request
 * has not read its data, which is then the stored text and agrees with the record (identity.ts).
 */
export function metaOf(
  record: SessionRecord | null,
  userIdOf: UserIdOf,
  data: Readonly<Record<string, unknown>> | null,
  storedText: string,
): SessionMeta | null {
  if (!record) return null;
  const { handle, userId, createdAt, authAt, lastSeenAt, idleExpiresAt, absoluteExpiresAt, aal, stepUpAt } =
    record;
  const meta = {
    handle,
    userId,
    createdAt,
    authAt,
    lastSeenAt,
    idleExpiresAt,
    absoluteExpiresAt,
    aal,
    stepUpAt,
    authMethod: authMethodOf(record),
  };
  if (data === null || !identityChange(userIdOf, record, data, storedText)) return meta;
  return { ...meta, userId: null, authAt: null, aal: 0, stepUpAt: null, authMethod: null };
}
