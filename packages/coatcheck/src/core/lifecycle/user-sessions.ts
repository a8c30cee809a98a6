import type { SessionEngine } from '../engine.js';
import { CoatcheckError, SessionCapabilityError, SessionStoreError } from '../errors.js';
import type { EventBus } from '../events.js';
import type { ResolvedOptions } from '../options.js';
import { isLiveSession } from '../store/record.js';
import type { RemovedSession } from '../store/store.js';
import type { StoreCall } from '../store/store-calls.js';
import { isHandle } from '../tokens/token.js';
import { destroySession } from './destroy.js';
import { toSessionInfo } from './state.js';

/** A user's sessions as a whole: the device list, per-device sign-out and sign-out everywhere. */
export function createUserSessions(context: {
  options: ResolvedOptions;
  call: StoreCall;
  events: EventBus;
}): Pick<SessionEngine, 'revoke' | 'listUserSessions' | 'revokeUserSessions' | 'revokeAllSessions'> {
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
      // The store removes everything it holds for the user, rotation pointers (S21) and expired
      // records not yet swept included; the count is of the sessions that were live, so "signed
      // out of 1 other device" is what the user has. Listed first: a session created between the
      // two calls is ended but not counted.
      const listed = await call('listByUser', () => store.listByUser(userId));
      const at = now();
      const live = new Set(
        listed.filter((record) => isLiveSession(record, at)).map((record) => record.handle),
      );
      const removed = await call('destroyByUser', () =>
        store.destroyByUser(userId, exceptHandle === undefined ? {} : { exceptHandle }),
      );
      const count = removed.filter((handle) => live.has(handle)).length;
      events.emit({ type: 'session.logout_all', userId, count, handles: removed, by: by ?? userId });
      return count;
    },

    async revokeAllSessions({ createdBefore, by = 'system' } = {}) {
      if (typeof store.destroyAll !== 'function') {
        throw new SessionCapabilityError('destroyAll', 'the session store cannot end every session');
      }
      let removed: RemovedSession[];
      let devicesEnded = 0;
      try {
        // No per-call timeout: walking a whole store may outlast one, and giving up waiting would
        // not stop the deletion, only hide how far it got.
        const range = createdBefore === undefined ? {} : { createdBefore };
        // Remembered devices first: left alive, any of them would start a new session at once.
        // Whether or not this engine has `remember` on, the store's devices end with its sessions.
        if (store.rememberedDevices) devicesEnded = await store.rememberedDevices.destroyAll(range);
        removed = await store.destroyAll(range);
      } catch (error) {
        if (error instanceof CoatcheckError) throw error;
        throw new SessionStoreError('destroyAll', { cause: error });
      }
      const byUser = new Map<string | null, string[]>();
      for (const { handle, userId } of removed) byUser.set(userId, [...(byUser.get(userId) ?? []), handle]);
      // One sign-out-everywhere event per user, as if each had been revoked: audit sinks and live
      // connection closers (endedSessionsOf) need nothing new.
      for (const [userId, handles] of byUser) {
        events.emit({
          type: 'session.logout_all',
          userId,
          count: handles.length,
          handles,
          by,
          reason: createdBefore === undefined ? 'end_all' : 'end_all_before',
        });
      }
      const users = [...byUser.keys()].filter((id) => id !== null).length;
      return { sessionsEnded: removed.length, users, rememberedDevicesEnded: devicesEnded };
    },
  };
}
