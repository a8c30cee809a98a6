import type { SessionEngine } from '../engine.js';
import type { SessionState } from '../lifecycle/state.js';
import { boundCookieValue, nextChallenges, readChallenges } from './device-state.js';
import { type DeviceBoundSessionOptions, type ResolvedDbscOptions, resolveDbscOptions } from './options.js';
import { boundCookieAttributes, type DbscOutcome, type DbscRequest, refresh, register } from './protocol.js';

export type { DeviceChallenges, DeviceKey } from './device-state.js';
export { readDeviceKey } from './device-state.js';
export type { DbscAlgorithm } from './jwt.js';
export { jwkThumbprint } from './jwt.js';
export type { DbscScopeRule, DeviceBoundSessionOptions } from './options.js';
export type { DbscRequest } from './protocol.js';

/** A DBSC answer for the adapter to send as it is. */
export interface DbscResponse {
  /** HTTP status code. */
  status: number;
  /** Header name and value pairs; `Set-Cookie` may appear more than once. */
  headers: [string, string][];
  /** Response body (JSON text), or null for none. */
  body: string | null;
}

/** Device Bound Session Credentials on one engine: the registration offer and the two routes. */
export interface DeviceBoundSessions {
  /** The DBSC options as resolved at creation (defaults filled in, durations in ms). */
  readonly options: ResolvedDbscOptions;
  /**
   * The `Secure-Session-Registration` header value inviting the browser to bind this signed-in
   * session to a key, or null (anonymous, ended, or already bound). The challenge it carries is
   * written with the session at commit, so call it before the response's commit (after `login`).
   */
  offer(state: SessionState): string | null;
  /**
   * Answers a registration or refresh request, or returns null for any other request. Loads and
   * writes the session itself: mount it before the session middleware and the CSRF token check
   * (the browser sends these POSTs without a token; the Origin / Sec-Fetch-Site policy still applies).
   */
  handle(request: DbscRequest): Promise<DbscResponse | null>;
}

const JSON_HEADERS: [string, string][] = [
  ['content-type', 'application/json'],
  ['cache-control', 'no-store'],
];

/** Whether the request may reach the DBSC routes: the resource-isolation half of the CSRF defence. */
function isAllowedOrigin(request: DbscRequest, options: ResolvedDbscOptions): boolean {
  const site = request.header('sec-fetch-site');
  if (!options.originPolicy) return site === undefined || site === 'same-origin' || site === 'none';
  return options.originPolicy({
    method: request.method,
    secFetchSite: site,
    secFetchMode: request.header('sec-fetch-mode'),
    secFetchDest: request.header('sec-fetch-dest'),
    origin: request.header('origin'),
    referer: request.header('referer'),
    authenticated: true,
    strict: false,
  }).allowed;
}

/**
 * Creates the server side of Device Bound Session Credentials (W3C WebAppSec DBSC draft) for an
 * engine: a session bound to a browser key needs a short-lived cookie the browser renews by signing
 * a challenge, so a copied session cookie stops working within `cookieLifetimeMs`.
 *
 * @throws SessionConfigError naming a bad option.
 * @example
 * const dbsc = createDeviceBoundSessions(engine, { origins: ['https://app.test'] });
 * const answer = await dbsc.handle(request); // in the adapter, before the session middleware
 */
export function createDeviceBoundSessions(
  engine: SessionEngine,
  dbscOptions: DeviceBoundSessionOptions = {},
): DeviceBoundSessions {
  const options = resolveDbscOptions(dbscOptions);
  const { now, keyring } = engine.options;
  const context = { options, events: { emit: engine.emit, on: engine.on }, now };

  function respond(state: SessionState, request: DbscRequest, outcome: DbscOutcome): DbscResponse {
    const headers: [string, string][] = engine.cookieHeaders(state).map((value) => ['set-cookie', value]);
    const key = outcome.issueCookieFor;
    if (key) {
      const at = now();
      const value = boundCookieValue(keyring, key.id, at + options.cookieLifetimeMs);
      const maxAge = Math.floor(options.cookieLifetimeMs / 1000);
      headers.push([
        'set-cookie',
        `${key.cookie}=${value}; Max-Age=${maxAge}; ${boundCookieAttributes(request.secure)}`,
      ]);
    }
    if (outcome.challenge) {
      const { value, id } = outcome.challenge;
      headers.push(['secure-session-challenge', `"${value}";id="${id}"`]);
    }
    const body = outcome.body === null ? null : JSON.stringify(outcome.body);
    return { status: outcome.status, headers: body === null ? headers : [...JSON_HEADERS, ...headers], body };
  }

  return {
    options,

    offer(state) {
      const record = state.record;
      if (!record?.userId || record.deviceKey !== null || state.ended || state.endedElsewhere) return null;
      const before = readChallenges(state.pendingMeta?.deviceChallenge ?? record.deviceChallenge);
      const next = nextChallenges(before, now(), options.timing);
      state.pendingMeta = { ...state.pendingMeta, deviceChallenge: JSON.stringify(next) };
      return `(${options.algorithms.join(' ')});path="${options.registrationPath}";challenge="${next.current}"`;
    },

    async handle(request) {
      const isRegistration = request.path === options.registrationPath;
      if (request.method !== 'POST' || (!isRegistration && request.path !== options.refreshPath)) return null;
      if (!isAllowedOrigin(request, options)) return { status: 403, headers: [], body: null };
      const state = await engine.load({
        cookieHeader: request.header('cookie'),
        secure: request.secure,
        ip: request.ip,
        userAgent: request.header('user-agent'),
        request: request.request,
        path: request.path,
        dbscRoute: true,
      });
      const outcome = (isRegistration ? register : refresh)(state, request, context);
      await engine.commit(state);
      // Ended by another request while this one ran (logout, revocation): nothing was written.
      if (state.endedElsewhere || !state.record) {
        const ended: DbscOutcome = isRegistration
          ? { status: 403, body: null }
          : { status: 200, body: { continue: false } };
        return respond(state, request, ended);
      }
      return respond(state, request, outcome);
    },
  };
}
