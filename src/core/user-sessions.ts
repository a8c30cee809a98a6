import { destroySession } from './destroy.js';
import type { SessionEngine } from './engine.js';
import type { EventBus } from './events.js';
import type { ResolvedOptions } from './options.js';
import { isLiveSession } from './record.js';
import { toSessionInfo } from './state.js';
import type { StoreCall } from './store-calls.js';
import { isHandle } from './token.js';

/** A user's sessions as a whole: the device list, per-device sign-out and sign-out everywhere. */
export function createUserSessions(context: {
  options: ResolvedOptions;
  call: StoreCall;
  events: EventBus;
}): Pick<SessionEngine, 'revoke' | 'listUserSessions' | 'revokeUserSessions'> {
  const { options, call, events } = context;
  const { store, now } = options;
  return {
    async revoke(handle, { userId, by } = {}) {
      if (!isHandle(handle)) return false;
      if (userId !== undefined) {
        const record = await call('get', () => store.get(handle));
        if (!record || record.userId !== userId) return false;
      }
      const removed = await destroySession(store, call, handle);
      if (removed)
        events.emit({ type: 'session.revoked', handle, ...(userId ? { userId } : {}), by: by ?? 'system' });
      return removed;
    },

    async listUserSessions(userId, { currentHandle = null } = {}) {
      const records = await call('listByUser', () => store.listByUser(userId));
      const at = now();
      return records
        .filter((record) => isLiveSession(record, at))
        .sort((a, b) => b.lastSeenAt - a.lastSeenAt)
        .map((record) => toSessionInfo(record, currentHandle));
    },

    async revokeUserSessions(userId, { exceptHandle, by } = {}) {
      const removed = await call('destroyByUser', () =>
        store.destroyByUser(userId, exceptHandle === undefined ? {} : { exceptHandle }),
      );
      events.emit({
        type: 'session.logout_all',
        userId,
        count: removed.length,
        handles: removed,
        by: by ?? userId,
      });
      return removed.length;
    },
  };
}
