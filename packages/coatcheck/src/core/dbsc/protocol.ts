import type { EventBus } from '../events.js';
import type { SessionState } from '../lifecycle/state.js';
import type { SessionRecord } from '../store/record.js';
import { randomBase64url, safeEqual } from '../tokens/encoding.js';
import {
  type DeviceChallenges,
  type DeviceKey,
  isOutstanding,
  nextChallenges,
  readChallenges,
  readDeviceKey,
} from './device-state.js';
import {
  type DbscAlgorithm,
  type DecodedJwt,
  decodeJwt,
  importPublicJwk,
  jwkThumbprint,
  unquote,
  verifyJwt,
} from './jwt.js';
import type { ResolvedDbscOptions } from './options.js';

/** The facts about a DBSC request that the protocol reads; adapters fill them in. */
export interface DbscRequest {
  /** HTTP method, upper-case (`POST`). */
  method: string;
  /** URL path, without the query. */
  path: string;
  /** A request header by lower-case name. */
  header(name: string): string | undefined;
  /** Whether the request arrived over HTTPS (trusted proxies honoured). */
  secure: boolean;
  /** The client address (trusted proxies honoured), for the device facts of the binding (S42). */
  ip?: string | undefined;
  /** The adapter's own request object, handed to `generateHandle`. */
  request?: unknown;
}

/** What a DBSC step decided, before the session is written. */
export interface DbscOutcome {
  status: 200 | 400 | 403;
  /** JSON body, or null for none. */
  body: unknown;
  /** The key to issue a bound cookie for, after the write. */
  issueCookieFor?: DeviceKey;
  /** A challenge to send in `Secure-Session-Challenge` for this DBSC session. */
  challenge?: { value: string; id: string };
}

interface StepContext {
  options: ResolvedDbscOptions;
  events: EventBus;
  now: () => number;
}

const TYP = 'dbsc+jwt';

/** The DBSC session description the browser keeps: registration and refresh answers (draft §9.7). */
export function sessionConfig(key: DeviceKey, request: DbscRequest, options: ResolvedDbscOptions) {
  const host = request.header('host');
  return {
    session_identifier: key.id,
    refresh_url: options.refreshPath,
    scope: {
      ...(host ? { origin: `${request.secure ? 'https' : 'http'}://${host}` } : {}),
      include_site: options.includeSite,
      ...(options.scopeSpecification ? { scope_specification: options.scopeSpecification } : {}),
    },
    credentials: [{ type: 'cookie', name: key.cookie, attributes: boundCookieAttributes(request.secure) }],
  };
}

/** The bound cookie's attributes, as Set-Cookie carries them and the browser matches them. */
export function boundCookieAttributes(secure: boolean): string {
  return `Path=/; HttpOnly; SameSite=Lax${secure ? '; Secure' : ''}`;
}

/** Stages a new challenge for the session (written at commit) and returns it. */
function stageChallenge(state: SessionState, before: DeviceChallenges | null, context: StepContext): string {
  const next = nextChallenges(before, context.now(), context.options.timing);
  state.pendingMeta = { ...state.pendingMeta, deviceChallenge: JSON.stringify(next) };
  return next.current;
}

function refuse(record: SessionRecord, state: SessionState, context: StepContext, reason: string): void {
  const { ip, userAgent, requestId } = state.info;
  context.events.emit({
    type: 'session.binding_mismatch',
    handle: record.handle,
    userId: record.userId,
    reason,
    ip,
    userAgent,
    requestId,
  });
}

/** The key a registration proof carries (header `jwk`; early Chromium builds put it in the payload as `key`). */
function offeredKey(jwt: DecodedJwt, algorithms: readonly DbscAlgorithm[]) {
  const alg = jwt.header.alg;
  if (jwt.header.typ !== TYP || typeof alg !== 'string' || !algorithms.includes(alg as DbscAlgorithm))
    return null;
  const imported = importPublicJwk(jwt.header.jwk ?? jwt.payload.key, alg as DbscAlgorithm);
  if (!imported || !verifyJwt(jwt, alg as DbscAlgorithm, imported.key)) return null;
  return { alg: alg as DbscAlgorithm, jwk: imported.jwk, thumbprint: jwkThumbprint(imported.jwk) };
}

/**
 * Registration (draft §9.5): the proof must be a `dbsc+jwt` signed by the key it carries, with an
 * offered algorithm, over a challenge this session has outstanding. The key and its RFC 7638
 * thumbprint are stored with the session. A resent registration by the same key is answered again;
 * a session already bound to another key stays as it is.
 */
export function register(state: SessionState, request: DbscRequest, context: StepContext): DbscOutcome {
  const record = state.record;
  if (!record?.userId) return { status: 403, body: null };
  const jwt = decodeJwt(request.header('secure-session-response'));
  if (!jwt) return { status: 400, body: null };
  const offered = offeredKey(jwt, context.options.algorithms);
  const challenges = readChallenges(record.deviceChallenge);
  if (!offered || !isOutstanding(challenges, jwt.payload.jti, context.now())) {
    refuse(record, state, context, 'device registration');
    return { status: 403, body: null };
  }
  let key = readDeviceKey(record.deviceKey);
  if (key && key.thumbprint !== offered.thumbprint) {
    refuse(record, state, context, 'device registration');
    return { status: 403, body: null };
  }
  if (!key) {
    key = {
      id: randomBase64url(16),
      ...offered,
      boundAt: context.now(),
      cookie: context.options.cookieNameFor(request.secure),
    };
    state.pendingMeta = { ...state.pendingMeta, deviceKey: JSON.stringify(key) };
  }
  const challenge = stageChallenge(state, challenges, context);
  const { ip, userAgent, requestId } = state.info;
  context.events.emit({
    type: 'session.device_bound',
    handle: record.handle,
    userId: record.userId,
    reason: key.thumbprint,
    ip,
    userAgent,
    requestId,
  });
  return {
    status: 200,
    body: sessionConfig(key, request, context.options),
    issueCookieFor: key,
    challenge: { value: challenge, id: key.id },
  };
}

/**
 * Refresh (draft §9.8). A session that ended (logout, revocation, sign-out everywhere, a new
 * login) answers `{"continue": false}` so the browser stops. Without a valid proof: 403 and a fresh
 * challenge, never another 4xx (Chrome drops the session on those). With a proof signed by the
 * stored key over an outstanding challenge: a new bound cookie.
 */
export function refresh(state: SessionState, request: DbscRequest, context: StepContext): DbscOutcome {
  const record = state.record;
  const key = readDeviceKey(record?.deviceKey ?? null);
  // Chromium sends the id bare although the draft says a structured-field string.
  const id = unquote(request.header('sec-secure-session-id')?.trim() ?? '');
  if (!record || !key || !safeEqual(id, key.id)) return { status: 200, body: { continue: false } };
  const challenges = readChallenges(record.deviceChallenge);
  const jwt = decodeJwt(request.header('secure-session-response'));
  const imported = jwt && importPublicJwk(key.jwk, key.alg);
  const proven =
    jwt !== null &&
    imported !== null &&
    jwt.header.typ === TYP &&
    verifyJwt(jwt, key.alg, imported.key) &&
    isOutstanding(challenges, jwt.payload.jti, context.now());
  const challenge = { value: stageChallenge(state, challenges, context), id: key.id };
  if (!proven) {
    if (jwt) refuse(record, state, context, 'device proof');
    return { status: 403, body: null, challenge };
  }
  return { status: 200, body: sessionConfig(key, request, context.options), issueCookieFor: key, challenge };
}
