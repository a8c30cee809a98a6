import type { EventBus } from '../events.js';
import { destroySession } from '../lifecycle/destroy.js';
import type { IssuedRecord, RecordIssuer } from '../lifecycle/issue.js';
import type { SessionState } from '../lifecycle/state.js';
import { eventContext } from '../lifecycle/state.js';
import type { ResolvedOptions } from '../options.js';
import type { SessionLimiter } from '../policies/limits.js';
import type { StoreCall } from '../store/store-calls.js';
import type { ResolvedRemember } from './options.js';

/** What every remembered-device step needs from the engine. */
export interface RememberContext {
  options: ResolvedOptions;
  remember: ResolvedRemember;
  call: StoreCall;
  events: EventBus;
  issuer: RecordIssuer;
  limiter: SessionLimiter;
}

/**
 * Ends a remembered device and every session it started (found through the user's index, so the
 * cost is O(that user's sessions)): a logout on the device, a revocation, theft, binding or
 * expiry. `userId` finds the sessions when the device record is already gone. Returns whether the
 * device existed.
 */
export async function endDevice(
  context: RememberContext,
  id: string,
  end: { userId?: string | null | undefined; by: string; state?: SessionState },
): Promise<boolean> {
  const { options, remember, call, events } = context;
  const { store } = options;
  const removed = await call('destroyRemembered', () => remember.devices.destroy(id));
  const userId = removed?.userId ?? end.userId;
  const handles: string[] = [];
  if (userId) {
    const records = await call('listByUser', () => store.listByUser(userId));
    for (const record of records) {
      if (record.rememberedDeviceId !== id) continue;
      if (await destroySession(store, call, record.handle)) handles.push(record.handle);
    }
  }
  if (removed || handles.length) {
    events.emit({
      type: 'remember.revoked',
      userId,
      rememberedDevice: id,
      by: end.by,
      count: handles.length,
      handles,
      ...(end.state ? eventContext(end.state) : {}),
    });
  }
  return removed !== null;
}

/** Stores a new record made by `issue`, retrying on a handle collision (only a custom genid collides). */
export async function createRecord(
  context: RememberContext,
  issue: () => IssuedRecord,
): Promise<IssuedRecord | null> {
  const { options, call } = context;
  for (let attempt = 0; attempt < 3; attempt++) {
    const next = issue();
    const { cookieValue: _, ...record } = next;
    if (await call('create', () => options.store.create(record, options.newHandles))) return next;
  }
  return null;
}
