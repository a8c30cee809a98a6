import type { EventBus } from '../events.js';
import type { RequestInfo } from '../lifecycle/state.js';
import type { ResolvedOptions } from '../options.js';
import type { SessionRecord } from '../store/record.js';
import { hasDeviceProof } from './device-state.js';

/**
 * DBSC enforcement for a session bound to a device key: true when the request lacks the
 * short-lived bound cookie (and is not a DBSC route, which proves the key itself). The caller then
 * treats the request as anonymous and writes nothing: a copied session cookie authenticates nobody,
 * and the real browser's cookie is left alone for its next refresh (`session.binding_mismatch`,
 * reason `device key`).
 */
export function lacksDeviceProof(
  record: SessionRecord,
  info: RequestInfo,
  { options, events }: { options: ResolvedOptions; events: EventBus },
): boolean {
  if (record.deviceKey === null || info.dbscRoute) return false;
  if (hasDeviceProof(record.deviceKey, info.cookieHeader, options.keyring, options.now())) return false;
  events.emit({
    type: 'session.binding_mismatch',
    handle: record.handle,
    userId: record.userId,
    reason: 'device key',
    ip: info.ip,
    userAgent: info.userAgent,
    requestId: info.requestId,
  });
  return true;
}
