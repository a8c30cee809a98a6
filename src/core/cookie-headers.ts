import type { ResolvedOptions } from './options.js';
import type { SessionState } from './state.js';

/**
 * The Set-Cookie header values a response carries for its session, decided from the state after
 * commit: the token set (with a Max-Age for persistent cookies), expired, or left alone; and
 * express-session's cookie expired after a migration.
 */
export function cookieHeadersFor(state: SessionState, { cookie, now }: ResolvedOptions): string[] {
  const headers: string[] = [];
  const { secure } = state.info;
  if (state.clearLegacyCookie && state.clearLegacyCookie !== cookie.nameFor(secure)) {
    headers.push(cookie.serializeClear(secure, state.clearLegacyCookie));
  }
  if (!cookie.canSet(secure)) return headers;
  if (state.cookie === 'clear') headers.push(cookie.serializeClear(secure));
  if (state.cookie !== 'set' || !state.cookieValue || !state.record) return headers;
  const lifetime = state.record.cookieMaxAgeMs ?? cookie.maxAgeMs;
  if (lifetime === undefined || lifetime === null) {
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
