import { Session, sessionMetaOf } from '../session-api/session.js';

/** The record's view of the request's session (a data key named `meta` cannot hide it); the Express and Fastify guards read it. */
export function metaOfRequest(req: { session?: Session | null }) {
  return req.session instanceof Session ? sessionMetaOf(req.session) : null;
}

/** Options of `requireAuth`. */
export interface RequireAuthOptions {
  /** Where browsers (Accept: text/html) are sent; other clients get 401 JSON. */
  redirectTo?: string;
}

/** Options of `requireFreshAuth` (S39: full re-authentication before sensitive changes). */
export interface RequireFreshAuthOptions {
  /** How long ago the last full authentication may be. @default 300_000 (5 min) */
  maxAgeMs?: number;
  /** Where browsers (Accept: text/html, GET) are sent to re-authenticate; others get 401 JSON. */
  redirectTo?: string;
}

/** Options of `requireStepUp` (S40). */
export interface RequireStepUpOptions {
  /** The assurance level required: 2 for one factor beyond the password. @default 2 */
  level?: number;
  /** How long ago the step-up may be. @default 300_000 (5 min) */
  maxAgeMs?: number;
  /** Where browsers (Accept: text/html, GET) are sent to step up; others get 401 JSON. */
  redirectTo?: string;
}
