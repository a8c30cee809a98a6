import { SessionLimitError } from '../errors.js';
import type { EventBus } from '../events.js';
import { destroySession } from '../lifecycle/destroy.js';
import { endLocally, type SessionState } from '../lifecycle/state.js';
import type { ResolvedOptions } from '../options.js';
import { isLiveSession } from '../store/record.js';
import type { StoreCall } from '../store/store-calls.js';

export interface SessionLimiter {
  /** Under 'refuse', fails a login that would go over the limit before anything is written. */
  checkBeforeLogin(userId: string): Promise<void>;
  /**
   * S36, checked again after the new session is stored, so parallel logins settle at no more than
   * `max`: under 'refuse' a login that finds too many sessions withdraws its own; under
   * 'evict-oldest' it signs out the oldest others and keeps itself.
   */
  enforce(state: SessionState, userId: string): Promise<void>;
}

export function createSessionLimiter(context: {
  options: ResolvedOptions;
  call: StoreCall;
  events: EventBus;
}): SessionLimiter {
  const { options, call, events } = context;
  const { store, now } = options;
  const max = options.maxSessionsPerUser;

  async function liveSessionsOf(userId: string) {
    const records = await call('listByUser', () => store.listByUser(userId));
    const at = now();
    return records
      .filter((r) => isLiveSession(r, at))
      .sort((a, b) => a.createdAt - b.createdAt || (a.handle < b.handle ? -1 : 1));
  }

  return {
    async checkBeforeLogin(userId) {
      if (max === null || options.sessionLimitPolicy !== 'refuse') return;
      if ((await liveSessionsOf(userId)).length >= max) throw new SessionLimitError(max);
    },

    async enforce(state, userId) {
      const current = state.record;
      if (max === null || !current) return;
      const live = await liveSessionsOf(userId);
      if (live.length <= max) return;
      if (options.sessionLimitPolicy === 'refuse') {
        await destroySession(store, call, current.handle);
        endLocally(state);
        throw new SessionLimitError(max);
      }
      const others = live.filter((r) => r.handle !== current.handle);
      for (const record of others.slice(0, live.length - max)) {
        if (await destroySession(store, call, record.handle)) {
          events.emit({
            type: 'session.evicted',
            handle: record.handle,
            userId,
            by: 'limit',
            ip: state.info.ip,
            userAgent: state.info.userAgent,
            requestId: state.info.requestId,
          });
        }
      }
    },
  };
}
