import type { SessionEvent } from '../events.js';

/** Why a session ended, as far as its live connections are concerned. */
export type SessionEndReason = 'logout' | 'revoked' | 'logout_all' | 'expired' | 'evicted' | 'rotated';

/** The sessions one event ended: what a WebSocket server needs to close their connections. */
export interface SessionEnd {
  /** Handles of the ended sessions: one, or every one a sign-out everywhere removed. */
  handles: readonly string[];
  /** Their user, or null for an anonymous session. */
  userId: string | null;
  /** Why they ended. */
  reason: SessionEndReason;
}

/**
 * Which sessions an event ended, or null when it ended none. A connection opened under a session
 * (a Socket.IO socket, an SSE stream) outlives the request that checked the cookie; OWASP's Session
 * Management Cheat Sheet asks that logout and revocation end it too.
 *
 * A rotation ends the old handle: its token stops working, so a connection opened under it reconnects
 * and is checked again with the new cookie. Expiry is only noticed when the cookie is next presented.
 *
 * @example
 * middleware.on((event) => {
 *   const ended = endedSessionsOf(event);
 *   if (ended) io.in(ended.handles.map((handle) => `session:${handle}`)).disconnectSockets(true);
 * });
 */
export function endedSessionsOf(event: SessionEvent): SessionEnd | null {
  const userId = event.userId ?? null;
  const one = (handle: string | undefined, reason: SessionEndReason): SessionEnd | null =>
    handle ? { handles: [handle], userId, reason } : null;
  switch (event.type) {
    case 'session.logout':
      return one(event.handle, 'logout');
    case 'session.revoked':
      return one(event.handle, 'revoked');
    case 'session.evicted':
      return one(event.handle, 'evicted');
    case 'session.expired.idle':
    case 'session.expired.absolute':
      return one(event.handle, 'expired');
    case 'session.regenerated':
      return one(event.previousHandle, 'rotated');
    case 'session.logout_all':
      return event.handles && event.handles.length > 0
        ? { handles: [...event.handles], userId, reason: 'logout_all' }
        : null;
    default:
      return null;
  }
}
