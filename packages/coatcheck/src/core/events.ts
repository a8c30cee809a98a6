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
  /** What happened; the catalogue is {@link SessionEventType}. */
  type: SessionEventType;
  /** When, as UTC ISO-8601 from the engine's clock. */
  time: string;
  /** The session's public handle (never its token). */
  handle?: string | undefined;
  /** The user concerned, or null for an anonymous session. */
  userId?: string | null | undefined;
  /** Client address of the request that caused the event. */
  ip?: string | undefined;
  /** User-Agent of that request. */
  userAgent?: string | undefined;
  /** The application's request id, when the adapter was given one. */
  requestId?: string | undefined;
  /** Who caused a revocation: the user themselves, an admin's user id, or the system. */
  by?: string | undefined;
  /** Why, for rejections and revocations (`malformed`, `bad-mac`, `cross-site`, `schedule`, ...): a fixed word, never a value from the request. */
  reason?: string | undefined;
  /** For `store.error`: the store operation that failed (`get`, `update`, …). */
  operation?: string | undefined;
  /** For `store.error`: whether the store answered with an error or did not answer in time. */
  failure?: 'error' | 'timeout' | undefined;
  /** For regenerated sessions: the handle that ended. */
  previousHandle?: string | undefined;
  /**
   * How many: live sessions ended by a sign-out everywhere (a rotation's pointer or an expired
   * record it removed is in `handles`, not in the count), failed guesses in a brute-force alert.
   */
  count?: number | undefined;
  /** For sign-out everywhere: every handle it removed from the store (to close their live connections). */
  handles?: readonly string[] | undefined;
  /** The remembered device concerned (its public id, never its credential). */
  rememberedDevice?: string | undefined;
}

/** Receives each event synchronously; a listener that throws is reported and never fails the request. */
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
