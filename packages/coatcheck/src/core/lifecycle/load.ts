import { lacksDeviceProof } from '../dbsc/enforce.js';
import { cookieLifetimeOf, type SessionRecord } from '../store/record.js';
import { type ParsedToken, resignToken, secretHashMatches } from '../tokens/token.js';
import { destroySession } from './destroy.js';
import { migrateLegacy, readCookie, requestFacts, verifyToken } from './load-cookie.js';
import {
  followSuccessor,
  isRotationDue,
  type RotationContext,
  rotateOnSchedule,
} from './periodic-rotation.js';
import type { RecentRenewals } from './renewals.js';
import { anonymousState } from './request-state.js';
import { deviceOf, endElsewhere, type RequestInfo, readRecordInto, type SessionState } from './state.js';

interface LoadContext extends RotationContext {
  renewals: RecentRenewals;
}

type OurToken = Extract<ParsedToken, { kind: 'token' }>;

/**
 * One request's session, in named steps: cookie -> token -> record -> successor -> timeouts ->
 * device proof -> binding -> rotation or renewal. A missing, malformed or forged cookie costs no
 * store call; anything wrong yields an anonymous session and an event.
 */
export async function loadSession(info: RequestInfo, context: LoadContext): Promise<SessionState> {
  const state = anonymousState(info);
  const cookie = readCookie(state, context);
  if (!cookie) return state;
  const token = verifyToken(state, cookie, context);
  if (!token) return state;
  if (token.kind === 'legacy') return migrateLegacy(state, token.id, cookie, context);
  if (cookie.fromLegacyName) {
    // Our own token under the old name: only ever a mistake or a planted cookie.
    context.events.emit({
      type: 'session.tamper',
      reason: 'token under the legacy name',
      ...requestFacts(info),
    });
    return state;
  }
  const found = await findRecord(state, token, context);
  if (!found) return state;
  const superseded = found.successor !== null;
  const current = superseded ? await followToSuccessor(state, found, context) : found;
  if (!current) return state;
  const expired = expiryOf(current, context.options.now());
  if (expired) {
    await endExpired(state, current, expired, context);
    return state;
  }
  if (current.deviceKey !== null && lacksDeviceProof(current, info, context)) {
    endElsewhere(state);
    return state;
  }
  // Awaited only when the device changed: the common request takes no extra turn.
  const mismatch = context.options.binding.mismatch(current.device, info.ip, info.userAgent);
  let record: SessionRecord | null = current;
  if (mismatch) record = await onBindingMismatch(state, current, mismatch, context);
  else readRecordInto(state, current);
  if (!record) return state;
  // A superseded token's requests use its successor and never re-send a cookie (S21).
  if (superseded) return renew(state, context);
  state.cookieValue = cookie.value;
  if (isRotationDue(record, context)) return rotateNow(state, record, context);
  if (token.keyIndex > 0 && token.secret !== null) {
    // S61: verified with an older key; re-sign with the current one.
    state.cookieValue = resignToken(context.options.keyring, token.handle, token.secret);
    state.cookie = 'set';
  }
  return renew(state, context);
}

/** The record the token names, if its secret matches (S5: an unknown token is never adopted). */
async function findRecord(
  state: SessionState,
  token: OurToken,
  { options, call, events }: LoadContext,
): Promise<SessionRecord | null> {
  const found = await call('get', () => options.store.get(token.handle));
  if (found && secretHashMatches(token.secretHash, found.secretHash)) return found;
  const type = found ? 'session.tamper' : 'session.unknown_id';
  events.emit({ type, handle: token.handle, ...requestFacts(state.info) });
  state.cookie = 'clear';
  return null;
}

/** The session a token replaced on schedule now lives under (S21), or null once it is gone. */
async function followToSuccessor(
  state: SessionState,
  replaced: SessionRecord,
  context: LoadContext,
): Promise<SessionRecord | null> {
  const successor = await followSuccessor(replaced, context);
  if (successor) return successor;
  const facts = requestFacts(state.info);
  context.events.emit({
    type: 'session.unknown_id',
    handle: replaced.handle,
    reason: 'rotated out',
    ...facts,
  });
  state.cookie = 'clear';
  return null;
}

/** S22-S24: which timeout a session has passed at `at`, decided from the record alone, or null. */
function expiryOf(record: SessionRecord, at: number): 'absolute' | 'idle' | null {
  return at >= record.absoluteExpiresAt ? 'absolute' : at >= record.idleExpiresAt ? 'idle' : null;
}

/** Ends a session past its idle or absolute timeout. */
async function endExpired(
  state: SessionState,
  record: SessionRecord,
  expired: 'absolute' | 'idle',
  { options, call, events }: LoadContext,
): Promise<void> {
  const { handle, userId, rememberedDeviceId } = record;
  state.lapsed = { reason: expired, userId, rememberedDeviceId };
  events.emit({ type: `session.expired.${expired}`, handle, userId, ...requestFacts(state.info) });
  await destroySession(options.store, call, handle);
  state.cookie = 'clear';
}

/**
 * The device-binding policy (S41, S42) on a record whose device changed, which becomes the state's:
 * null when the policy revoked the session; under 'step-up' the session stops being fresh from this
 * request on.
 */
async function onBindingMismatch(
  state: SessionState,
  found: SessionRecord,
  mismatch: string,
  { options, call, events }: LoadContext,
): Promise<SessionRecord | null> {
  const { info } = state;
  const { policy } = options.binding;
  const { handle, userId, rememberedDeviceId } = found;
  const facts = requestFacts(info);
  events.emit({ type: 'session.binding_mismatch', handle, userId, reason: mismatch, ...facts });
  if (policy === 'revoke') {
    state.lapsed = { reason: 'revoked', userId, rememberedDeviceId };
    await destroySession(options.store, call, handle);
    events.emit({ type: 'session.revoked', handle, userId, by: 'binding', ...facts });
    state.cookie = 'clear';
    return null;
  }
  // Guards read the record, so the record read here already says the session is not fresh.
  const record = policy === 'step-up' ? { ...found, authAt: null, stepUpAt: null } : found;
  readRecordInto(state, record);
  // The new device becomes the reference, so one change is reported once.
  state.pendingMeta = {
    device: deviceOf(info),
    ...(policy === 'step-up' ? { authAt: null, stepUpAt: null } : {}),
  };
  return record;
}

/** Scheduled rotation (S21); when another request rotated first, this one joins its successor. */
async function rotateNow(
  state: SessionState,
  record: SessionRecord,
  context: LoadContext,
): Promise<SessionState> {
  const { options, call } = context;
  let again: SessionRecord | null = record;
  // A rotation fails when another request rotated first, or when the new handle is taken (a
  // `genid` handle): the record then still stands unrotated, and another handle is tried, as
  // express-session calls genid again on a clash.
  for (let attempt = 0; attempt < 3 && again?.successor === null; attempt++) {
    if (await rotateOnSchedule(state, record, context)) return state;
    again = await call('get', () => options.store.get(record.handle));
  }
  // Still unrotated after three handles: this request keeps the token, and the next tries again.
  if (again?.successor === null && again.secretHash === record.secretHash) return renew(state, context);
  const successor = again && (await followSuccessor(again, context));
  if (!successor) {
    state.record = null;
    state.data = Object.create(null) as Record<string, unknown>;
    state.cookie = 'clear';
    return state;
  }
  readRecordInto(state, successor);
  state.cookieValue = null;
  return state;
}

/** Pushes the idle expiry back, at most once per renewal interval (T4). */
function renew(state: SessionState, { options, events, renewals }: LoadContext): SessionState {
  const record = state.record;
  const at = options.now();
  if (!record || !renewals.claim(record.handle, record.lastSeenAt, at)) return state;
  state.pendingMeta = {
    ...state.pendingMeta,
    lastSeenAt: at,
    idleExpiresAt: Math.min(at + options.idleTimeoutMs, record.absoluteExpiresAt),
  };
  // A persistent cookie is re-sent with its new lifetime; a superseded token is never re-sent.
  const persistent = cookieLifetimeOf(record, options.cookie.defaultLifetimeMs) !== null;
  if (persistent && state.cookieValue) state.cookie = 'set';
  const { ip, userAgent, requestId } = state.info;
  events.emit({
    type: 'session.renewed',
    handle: record.handle,
    userId: record.userId,
    ip,
    userAgent,
    requestId,
  });
  return state;
}
