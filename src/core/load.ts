import { findCookie } from './cookie-policy.js';
import { lacksDeviceProof } from './dbsc/enforce.js';
import { destroySession } from './destroy.js';
import {
  followSuccessor,
  isRotationDue,
  type RotationContext,
  rotateOnSchedule,
} from './periodic-rotation.js';
import { parseData } from './record.js';
import type { RecentRenewals } from './renewals.js';
import {
  anonymousState,
  deviceOf,
  endElsewhere,
  type RequestInfo,
  readRecordInto,
  type SessionState,
} from './state.js';
import { parseToken, resignToken, secretMatches } from './token.js';

interface LoadContext extends RotationContext {
  renewals: RecentRenewals;
}

/**
 * cookie -> parse and verify (a missing, malformed or forged cookie costs no store call) -> store
 * lookup -> timeouts -> renewal decision. Anything wrong yields an anonymous session and an event.
 */
export async function loadSession(info: RequestInfo, loadContext: LoadContext): Promise<SessionState> {
  const { options, call, events } = loadContext;
  const state = anonymousState(info);
  const { cookie, keyring, now } = options;
  const context = { ip: info.ip, userAgent: info.userAgent, requestId: info.requestId };
  const name = cookie.nameFor(info.secure);

  let lookup = findCookie(info.cookieHeader, name);
  let fromLegacyName = false;
  if (lookup.kind === 'none' && options.legacyCookieName && options.legacyCookieName !== name) {
    lookup = findCookie(info.cookieHeader, options.legacyCookieName);
    fromLegacyName = lookup.kind !== 'none';
  }
  if (lookup.kind === 'none') return state;
  if (lookup.kind === 'duplicate') {
    events.emit({ type: 'session.duplicate_cookie', ...context });
    return state;
  }

  const token = parseToken(keyring, lookup.value);
  if (token.kind === 'invalid') {
    if (!fromLegacyName) state.cookie = 'clear';
    // S44: only a value this server did not sign is a guess. A MAC-valid token was issued here, so
    // an unknown or expired one is a returning user, whose cookie is cleared and who goes on as
    // anonymous (issue 14: a NAT of returning users was locked out of the sign-in page).
    const limiter = options.guessLimiter;
    if (limiter?.isBlocked(info.ip, now())) state.throttled = true;
    else if (limiter?.record(info.ip, now())) {
      events.emit({ type: 'security.session_bruteforce', ...context });
    }
    events.emit({ type: 'session.tamper', reason: token.reason, ...context });
    return state;
  }

  if (token.kind === 'legacy') {
    if (fromLegacyName) state.clearLegacyCookie = options.legacyCookieName;
    else state.cookie = 'clear';
    if (!options.legacy) {
      events.emit({ type: 'session.unknown_id', reason: 'legacy cookie without a legacy store', ...context });
      return state;
    }
    const legacy = await call('getLegacy', () => options.legacy!.getLegacy(token.id));
    if (!legacy) {
      events.emit({ type: 'session.unknown_id', reason: 'legacy', ...context });
      return state;
    }
    // Moved on first sight: the data becomes a new coatcheck session (created at commit), and the
    // express-session record is removed so the old cookie stops working.
    const { cookie: _cookie, ...data } = legacy;
    state.data = parseData(JSON.stringify(data));
    state.forceSave = true;
    await call('destroyLegacy', () => options.legacy!.destroyLegacy(token.id));
    events.emit({ type: 'session.migrated', ...context });
    return state;
  }

  if (fromLegacyName) {
    // Our own token under the old name: only ever a mistake or a planted cookie.
    events.emit({ type: 'session.tamper', reason: 'token under the legacy name', ...context });
    return state;
  }

  const found = await call('get', () => options.store.get(token.handle));
  // S5: a token the store does not know is never adopted; a new session gets a new token.
  if (!found || !secretMatches(token.secret, found.secretHash)) {
    events.emit({ type: found ? 'session.tamper' : 'session.unknown_id', handle: token.handle, ...context });
    state.cookie = 'clear';
    return state;
  }
  let record = found;
  // A token replaced on schedule: its requests use the successor and send no cookie (S21).
  const superseded = found.successor !== null;
  if (superseded) {
    const successor = await followSuccessor(found, loadContext);
    if (!successor) {
      events.emit({ type: 'session.unknown_id', handle: found.handle, reason: 'rotated out', ...context });
      state.cookie = 'clear';
      return state;
    }
    record = successor;
  }

  const at = now();
  // S22-S24: timeouts are decided here, from the record alone; nothing the client sends extends them.
  const expired = at >= record.absoluteExpiresAt ? 'absolute' : at >= record.idleExpiresAt ? 'idle' : null;
  if (expired) {
    state.lapsed = { reason: expired, userId: record.userId, rememberedDeviceId: record.rememberedDeviceId };
    events.emit({
      type: `session.expired.${expired}`,
      handle: record.handle,
      userId: record.userId,
      ...context,
    });
    await destroySession(options.store, call, record.handle);
    state.cookie = 'clear';
    return state;
  }

  if (record.deviceKey !== null && lacksDeviceProof(record, info, loadContext)) {
    endElsewhere(state);
    return state;
  }

  const mismatch = options.binding.mismatch(record.device, info.ip, info.userAgent);
  if (mismatch) {
    const { policy } = options.binding;
    events.emit({
      type: 'session.binding_mismatch',
      handle: record.handle,
      userId: record.userId,
      reason: mismatch,
      ...context,
    });
    if (policy === 'revoke') {
      state.lapsed = {
        reason: 'revoked',
        userId: record.userId,
        rememberedDeviceId: record.rememberedDeviceId,
      };
      await destroySession(options.store, call, record.handle);
      events.emit({
        type: 'session.revoked',
        handle: record.handle,
        userId: record.userId,
        by: 'binding',
        ...context,
      });
      state.cookie = 'clear';
      return state;
    }
  }

  if (mismatch && options.binding.policy === 'step-up') {
    // S42: under 'step-up' the session stops being fresh until the user re-authenticates, from
    // this very request on: guards read the record, so the record read here says so too.
    record = { ...record, authAt: null, stepUpAt: null };
  }
  readRecordInto(state, record);
  if (mismatch) {
    // The new device becomes the reference, so one change is reported once.
    state.pendingMeta = {
      device: deviceOf(info),
      ...(options.binding.policy === 'step-up' ? { authAt: null, stepUpAt: null } : {}),
    };
  }
  if (superseded) return renew(state, loadContext);
  state.cookieValue = lookup.value;
  if (isRotationDue(record, loadContext)) {
    if (await rotateOnSchedule(state, record, loadContext)) return state;
    // Another request rotated first: this one joins the session it rotated to.
    const again = await call('get', () => options.store.get(record.handle));
    const successor = again && (await followSuccessor(again, loadContext));
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
  if (token.keyIndex > 0) {
    // S61: verified with an older key; re-sign with the current one.
    state.cookieValue = resignToken(keyring, token.handle, token.secret);
    state.cookie = 'set';
  }
  return renew(state, loadContext);
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
  const persistent = (record.cookieMaxAgeMs ?? options.cookie.maxAgeMs) != null;
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
