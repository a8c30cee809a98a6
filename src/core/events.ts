/** Every lifecycle step the engine reports. Names follow the audit catalogue (S47). */
export type SessionEventType =
  | 'session.created'
  | 'session.regenerated'
  | 'session.renewed'
  | 'session.migrated'
  | 'auth.login.success'
  | 'auth.reauthenticated'
  | 'auth.step_up'
  | 'auth.remembered'
  | 'remember.created'
  | 'remember.revoked'
  | 'remember.expired'
  | 'security.remember_reuse'
  | 'session.logout'
  | 'session.logout_all'
  | 'session.revoked'
  | 'session.expired.idle'
  | 'session.expired.absolute'
  | 'session.evicted'
  | 'session.binding_mismatch'
  | 'session.device_bound'
  | 'session.write_dropped'
  | 'session.tamper'
  | 'session.unknown_id'
  | 'session.duplicate_cookie'
  | 'session.oversized_cookie'
  | 'csrf.reject'
  | 'csrf.report_only'
  | 'security.session_bruteforce'
  | 'security.session_harvesting'
  | 'security.anomaly'
  | 'auth.login.failure'
  | 'user.notified'
  | 'store.error'
  | 'store.recovered';

/** One event. Carries the session handle, never the token. Times are UTC ISO-8601. */
export interface SessionEvent {
  type: SessionEventType;
  time: string;
  handle?: string | undefined;
  userId?: string | null | undefined;
  ip?: string | undefined;
  userAgent?: string | undefined;
  requestId?: string | undefined;
  /** Who caused a revocation: the user themselves, an admin's user id, or the system. */
  by?: string | undefined;
  reason?: string | undefined;
  /** For `store.error`: the store operation that failed (`get`, `update`, …). */
  operation?: string | undefined;
  /** For `store.error`: whether the store answered with an error or did not answer in time. */
  failure?: 'error' | 'timeout' | undefined;
  /** For regenerated sessions: the handle that ended. */
  previousHandle?: string | undefined;
  count?: number | undefined;
  /** For sign-out everywhere: the handles of the sessions it ended (to close their live connections). */
  handles?: readonly string[] | undefined;
  /** The remembered device concerned (its public id, never its credential). */
  rememberedDevice?: string | undefined;
}

export type SessionEventListener = (event: SessionEvent) => void;

export interface EventBus {
  emit(event: Omit<SessionEvent, 'time'>): void;
  on(listener: SessionEventListener): () => void;
}

export function createEventBus(now: () => number, onError: (error: unknown) => void): EventBus {
  const listeners = new Set<SessionEventListener>();
  return {
    emit(partial) {
      if (listeners.size === 0) return;
      const event: SessionEvent = { ...partial, time: new Date(now()).toISOString() };
      for (const listener of listeners) {
        try {
          listener(event);
        } catch (error) {
          // A broken audit sink must not turn into a failed request.
          onError(error);
        }
      }
    },
    on(listener) {
      listeners.add(listener);
      return () => listeners.delete(listener);
    },
  };
}
