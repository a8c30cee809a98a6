import { findCookie } from '../cookies/find-cookie.js';
import { parseData } from '../store/record.js';
import type { ParsedToken } from '../tokens/token.js';
import type { RotationContext } from './periodic-rotation.js';
import type { RequestInfo, SessionState } from './state.js';

/**
 * The first steps of loading a session, on what the request carries: its cookie, the token in it,
 * and express-session's session when the cookie still names one. None of them calls the store for
 * a cookie this server did not issue.
 */

type StepContext = Pick<RotationContext, 'options' | 'call' | 'events'>;

/** The session cookie found in the request, and whether it came under express-session's old name. */
export interface FoundCookie {
  value: string;
  fromLegacyName: boolean;
}

export const requestFacts = (info: RequestInfo) => ({
  ip: info.ip,
  userAgent: info.userAgent,
  requestId: info.requestId,
});

/** The session cookie, under its name or (during a migration) express-session's; null for none or two. */
export function readCookie(state: SessionState, { options, events }: StepContext): FoundCookie | null {
  const { info } = state;
  const name = options.cookie.nameFor(info.secure);
  let lookup = findCookie(info.cookieHeader, name);
  let fromLegacyName = false;
  if (lookup.kind === 'none' && options.legacyCookieName && options.legacyCookieName !== name) {
    lookup = findCookie(info.cookieHeader, options.legacyCookieName);
    fromLegacyName = lookup.kind !== 'none';
  }
  if (lookup.kind === 'duplicate') events.emit({ type: 'session.duplicate_cookie', ...requestFacts(info) });
  return lookup.kind === 'one' ? { value: lookup.value, fromLegacyName } : null;
}

/** The parsed token, or null for a value this server did not sign (counted as a guess, S44). */
export function verifyToken(
  state: SessionState,
  cookie: FoundCookie,
  { options, events }: StepContext,
): Exclude<ParsedToken, { kind: 'invalid' }> | null {
  const token = options.verifyToken(cookie.value);
  if (token.kind !== 'invalid') return token;
  const { info } = state;
  if (!cookie.fromLegacyName) state.cookie = 'clear';
  // S44: only a value this server did not sign is a guess. A MAC-valid token was issued here, so an
  // unknown or expired one is a returning user, whose cookie is cleared and who goes on as anonymous
  // (a NAT of returning users must never be locked out of the sign-in page).
  const limiter = options.guessLimiter;
  if (limiter?.isBlocked(info.ip, options.now())) state.throttled = true;
  else if (limiter?.record(info.ip, options.now())) {
    events.emit({ type: 'security.session_bruteforce', ...requestFacts(info) });
  }
  events.emit({ type: 'session.tamper', reason: token.reason, ...requestFacts(info) });
  return null;
}

/**
 * express-session's session, moved on first sight: its data becomes a new coatcheck session (created
 * at commit), and the old record is removed so the old cookie stops working.
 */
export async function migrateLegacy(
  state: SessionState,
  id: string,
  cookie: FoundCookie,
  { options, call, events }: StepContext,
): Promise<SessionState> {
  const facts = requestFacts(state.info);
  if (cookie.fromLegacyName) state.clearLegacyCookie = options.legacyCookieName;
  else state.cookie = 'clear';
  const legacyStore = options.legacy;
  if (!legacyStore) {
    events.emit({ type: 'session.unknown_id', reason: 'legacy cookie without a legacy store', ...facts });
    return state;
  }
  const legacy = await call('getLegacy', () => legacyStore.getLegacy(id));
  if (!legacy) {
    events.emit({ type: 'session.unknown_id', reason: 'legacy', ...facts });
    return state;
  }
  const { cookie: _cookie, ...data } = legacy;
  state.data = parseData(JSON.stringify(data));
  state.forceSave = true;
  await call('destroyLegacy', () => legacyStore.destroyLegacy(id));
  events.emit({ type: 'session.migrated', ...facts });
  return state;
}
