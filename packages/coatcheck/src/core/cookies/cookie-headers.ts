import type { SessionState } from '../lifecycle/state.js';
import type { ResolvedOptions } from '../options.js';
import { cookieLifetimeOf } from '../store/record.js';

/**
 * The Set-Cookie header values a response carries for its session, decided from the state after
 * commit: the token set (with a Max-Age for persistent cookies), expired, or left alone; and
 * express-session's cookie expired after a migration. The request's own cookie policy applies when
 * the options depend on the request; none at all is set outside the cookie's path (express-session:
 * the request path must start with `cookie.path`).
 */
export function cookieHeadersFor(
  state: SessionState,
  { cookie: configured, now }: ResolvedOptions,
): string[] {
  const { secure, path } = state.info;
  const cookie = state.info.cookie ?? configured;
  if (path !== undefined && !path.startsWith(cookie.path)) return [];
  const headers: string[] = [];
  if (state.clearLegacyCookie && state.clearLegacyCookie !== cookie.nameFor(secure)) {
    headers.push(cookie.serializeClear(secure, state.clearLegacyCookie));
  }
  if (!cookie.canSet(secure)) return headers;
  if (state.cookie === 'clear') headers.push(cookie.serializeClear(secure));
  if (state.cookie !== 'set' || !state.cookieValue || !state.record) return headers;
  const lifetime = cookieLifetimeOf(state.record, cookie.defaultLifetimeMs);
  if (lifetime === null) {
    headers.push(cookie.serialize(state.cookieValue, { secure }));
    return headers;
  }
  // S13: a persistent cookie never outlives the session's absolute lifetime.
  const remaining = Math.min(lifetime, state.record.absoluteExpiresAt - now());
  headers.push(
    cookie.serialize(state.cookieValue, { secure, maxAgeSeconds: Math.max(0, Math.floor(remaining / 1000)) }),
  );
  return headers;
}
