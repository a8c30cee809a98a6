import type { ExpressDeviceBoundSessions, SessionEvent, SessionMiddleware } from 'coatcheck/express';
import type { Accounts } from './auth.js';
import type { AppConfig } from './config.js';
import type { NotificationRepository } from './notifications/repository.js';
import type { ThrottleCounter } from './throttle/counter.js';
import type { UserRepository } from './users/repository.js';

/** What the route modules share. */
export interface AppContext {
  config: AppConfig;
  accounts: Accounts;
  users: UserRepository;
  notifications: NotificationRepository;
  /** The session middleware; its engine lists and revokes any user's sessions (admin). */
  sessions: SessionMiddleware;
  /** Device Bound Session Credentials, on when the app is served over HTTPS (browsers need a secure origin). */
  dbsc: ExpressDeviceBoundSessions | null;
  /** Fixed-window counters in the session store's backend (throttling, pre-session limits). */
  counter: ThrottleCounter;
  /** The clock the session engine uses: freshness, step-up windows and TOTP codes all read it. */
  now: () => number;
  /** Recent security events (refusals, alerts, revocations), newest first, for the admin page. */
  recentSecurityEvents: () => SessionEvent[];
}
