import type { EventBus } from '../events.js';
import type { ResolvedOptions } from '../options.js';
import { expiresAt, type SessionRecord } from '../store/record.js';
import type { StoreCall } from '../store/store-calls.js';
import type { RecordIssuer } from './issue.js';
import { adopt, type SessionState } from './state.js';

export interface RotationContext {
  options: ResolvedOptions;
  call: StoreCall;
  events: EventBus;
  issuer: RecordIssuer;
}

/**
 * S21: the session a token replaced on schedule leads to, while its grace period lasts; null once
 * it is over or the successor is gone (logout, revocation). Requests that raced the rotation reach
 * the same session instead of being signed out, and none of them mints another token.
 */
export async function followSuccessor(
  record: SessionRecord,
  { options, call }: RotationContext,
): Promise<SessionRecord | null> {
  if (record.successor === null || options.now() >= expiresAt(record)) return null;
  const successor = record.successor;
  const next = await call('get', () => options.store.get(successor));
  if (!next || next.successor !== null) return null;
  // The grace period counts from the successor's issue, whatever the pointer's own expiry says: a
  // write that raced the rotation, or an older release's rotation script, cannot stretch it.
  if (options.rotation && options.now() >= next.rotatedAt + options.rotation.graceMs) return null;
  return next;
}

/** Whether this session's token is due to be replaced on schedule. */
export function isRotationDue(record: SessionRecord, { options }: Pick<RotationContext, 'options'>): boolean {
  return options.rotation !== null && options.now() - record.rotatedAt >= options.rotation.intervalMs;
}

/**
 * Replaces the token of `record` and keeps the old one alive for the grace period. Everything but
 * the token carries over: user, authentication and step-up times, the absolute deadline, the data
 * and the CSRF secret (forms open in other tabs keep working; rotations at login and step-up still
 * replace it). Returns false when another request rotated first: the caller follows the successor.
 */
export async function rotateOnSchedule(
  state: SessionState,
  record: SessionRecord,
  context: RotationContext,
): Promise<boolean> {
  const { options, call, events, issuer } = context;
  const at = options.now();
  const { handle: _handle, secretHash: _secret, version: _version, ...kept } = record;
  const next = issuer.issue(state, {
    ...kept,
    ...state.pendingMeta,
    lastSeenAt: at,
    idleExpiresAt: Math.min(at + options.idleTimeoutMs, record.absoluteExpiresAt),
    rotatedAt: at,
    version: 1,
  });
  const graceUntil = at + (options.rotation?.graceMs ?? 0);
  const { cookieValue: _cookie, ...stored } = next;
  if (
    !(await call('replace', () =>
      options.store.replace(record.handle, stored, { ...options.newHandles, graceUntil }),
    ))
  )
    return false;
  const data = state.data;
  adopt(state, next);
  state.data = data;
  events.emit({
    type: 'session.regenerated',
    handle: next.handle,
    previousHandle: record.handle,
    userId: next.userId,
    reason: 'schedule',
    ip: state.info.ip,
    userAgent: state.info.userAgent,
    requestId: state.info.requestId,
  });
  return true;
}
