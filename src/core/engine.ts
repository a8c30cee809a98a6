import { randomBase64url } from './encoding.js';
import { SessionStateError } from './errors.js';
import { createEventBus, type SessionEvent, type SessionEventListener } from './events.js';
import { createRecordIssuer, type IssuedRecord } from './issue.js';
import { createSessionLimiter } from './limits.js';
import { loadSession } from './load.js';
import { resolveOptions, type SessionEngineOptions } from './options.js';
import { diffData, isLiveSession, parseData, type SessionPatch, type SessionRecord } from './record.js';
import { createRecentRenewals } from './renewals.js';
import type { RequestInfo, SessionInfo, SessionState } from './state.js';
import { adopt, endLocally, pickData, readRecordInto, toSessionInfo } from './state.js';
import { createStoreCall } from './store-calls.js';
import { isHandle, newHandle as randomHandle } from './token.js';

export interface LoginOptions {
  /** Pre-login data to keep: `true` for all of it, or a list of keys. @default the engine's `keepOnLogin` */
  keep?: boolean | readonly string[];
  /**
   * Assurance level the login proved: 1 for a password, 2 or more when it included a further
   * factor (which also counts as a step-up now, S40). @default 1
   */
  aal?: number;
}

/** The framework-agnostic session engine. Adapters call `load` per request and `commit` before responding. */
export interface SessionEngine {
  load(info: RequestInfo): Promise<SessionState>;
  /** Writes what changed; creates the session if it holds data. Call before the response is sent. */
  commit(state: SessionState): Promise<void>;
  /** Set-Cookie header values for the response, after `commit`. */
  cookieHeaders(state: SessionState): string[];
  /** Rotation: a new token for the same session; the old token dies atomically. */
  rotate(state: SessionState, options?: { keepData?: boolean }): Promise<void>;
  /** Rotation plus user id and authentication time: a fresh session for a freshly authenticated user. */
  login(state: SessionState, userId: string, options?: LoginOptions): Promise<void>;
  /** Records a new full authentication (step-up) in the store, and rotates. Never creates a second session. */
  reauthenticate(state: SessionState): Promise<void>;
  /**
   * Records a completed step-up with a further factor at assurance level `level` (S40): `aal` and
   * `stepUpAt` in the store, a new token and CSRF secret. Never creates a second session.
   */
  stepUp(state: SessionState, level: number): Promise<void>;
  /** Destroys the session in the store and expires the cookie. */
  logout(state: SessionState): Promise<void>;
  /** Re-reads the session from the store, dropping unsaved changes. */
  reload(state: SessionState): Promise<void>;
  /** The handle the session has, or will have once stored (express-session's `req.sessionID`). */
  handleOf(state: SessionState): string;
  /**
   * The secret behind this session's CSRF tokens. On an anonymous session this makes it a
   * pre-session: it is stored at commit (login forms, S55). Rotation always replaces it (S54).
   */
  csrfSecretOf(state: SessionState): string;
  /** The CSRF secret if the session has one, without creating a pre-session. */
  peekCsrfSecret(state: SessionState): string | null;
  /** Revokes one session by handle. With `userId`, only a session of that user (no IDOR). */
  revoke(handle: string, options?: { userId?: string; by?: string }): Promise<boolean>;
  /** A user's live sessions, most recently active first. */
  listUserSessions(userId: string, options?: { currentHandle?: string | null }): Promise<SessionInfo[]>;
  /** Revokes every session of a user, or every one but `exceptHandle`; returns how many. */
  revokeUserSessions(userId: string, options?: { exceptHandle?: string; by?: string }): Promise<number>;
  /** Subscribes to lifecycle events; returns the unsubscribe function. */
  on(listener: SessionEventListener): () => void;
  /** Emits an event through the engine's bus (for adapters and layers above the engine). */
  emit(event: Omit<SessionEvent, 'time'>): void;
  readonly options: ReturnType<typeof resolveOptions>;
}

function assertLevel(level: number, lowest: number): void {
  if (!Number.isInteger(level) || level < lowest || level > 9) {
    throw new SessionStateError(`the assurance level must be an integer from ${lowest} to 9`);
  }
}

/**
 * Creates the session engine. Options are validated here; a bad one throws SessionConfigError.
 *
 * @example
 * const engine = createSessionEngine({ store: new SqliteStore({ path: 'sessions.db' }), secret });
 * const state = await engine.load({ cookieHeader: req.headers.cookie, secure: false });
 */
export function createSessionEngine(engineOptions: SessionEngineOptions): SessionEngine {
  const options = resolveOptions(engineOptions);
  const { store, cookie, now } = options;
  const events = createEventBus(now, (error) =>
    options.warn(`coatcheck: event listener threw: ${String(error)}`),
  );
  const call = createStoreCall(options.storeTimeoutMs, events);
  const limiter = createSessionLimiter({ options, call, events });
  const renewals = createRecentRenewals(options.renewalIntervalMs);

  const context = (state: SessionState) => ({
    ip: state.info.ip,
    userAgent: state.info.userAgent,
    requestId: state.info.requestId,
  });

  const issuer = createRecordIssuer(options);
  const { customHandle } = issuer;
  const freshRecord = (state: SessionState, fields: Partial<SessionRecord>, handle?: string) =>
    issuer.issue(state, fields, handle);

  /** Inserts a new record, retrying once on a handle collision (only a custom genid can collide). */
  async function insert(state: SessionState, fields: Partial<SessionRecord>) {
    for (let attempt = 0; attempt < 3; attempt++) {
      const provisional = attempt === 0 ? (state.provisionalHandle ?? undefined) : undefined;
      const next = freshRecord(state, fields, provisional ?? customHandle(state));
      const { cookieValue: _, ...record } = next;
      if (await call('create', () => store.create(record))) return next;
    }
    throw new SessionStateError('could not find a free session handle');
  }

  async function swap(state: SessionState, next: IssuedRecord): Promise<boolean> {
    const previous = state.record;
    const { cookieValue: _, ...record } = next;
    if (previous) {
      const replaced = await call('replace', () => store.replace(previous.handle, record));
      if (!replaced) return false;
    } else if (!(await call('create', () => store.create(record)))) {
      return false;
    }
    adopt(state, next);
    state.data = parseData(next.data);
    if (previous) {
      events.emit({
        type: 'session.regenerated',
        handle: next.handle,
        previousHandle: previous.handle,
        userId: next.userId,
        ...context(state),
      });
    }
    return true;
  }

  /** Rotation of a signed-in session with new authentication facts (re-authentication, step-up). */
  async function reissue(state: SessionState, fields: Partial<SessionRecord>, what: string) {
    if (!state.record?.userId) throw new SessionStateError(`only a signed-in session can be ${what}`);
    const { createdAt, absoluteExpiresAt, userId, authAt, aal, stepUpAt } = state.record;
    const next = freshRecord(state, {
      createdAt,
      absoluteExpiresAt,
      userId,
      authAt,
      aal,
      stepUpAt,
      ...fields,
      idleExpiresAt: Math.min(now() + options.idleTimeoutMs, absoluteExpiresAt),
      data: JSON.stringify(state.data),
    });
    if (!(await swap(state, next))) {
      endLocally(state);
      throw new SessionStateError(`the session ended before it could be ${what}`);
    }
    return next;
  }

  const engine: SessionEngine = {
    options,
    on: events.on,
    emit: events.emit,

    load: (info) => loadSession(info, { options, call, events, renewals, issuer }),

    csrfSecretOf(state) {
      const existing = state.pendingMeta?.csrfSecret ?? state.record?.csrfSecret;
      if (existing) return existing;
      const secret = randomBase64url(32);
      state.pendingMeta = { ...state.pendingMeta, csrfSecret: secret };
      if (!state.record) state.forceSave = true;
      return secret;
    },

    peekCsrfSecret(state) {
      return state.pendingMeta?.csrfSecret ?? state.record?.csrfSecret ?? null;
    },

    handleOf(state) {
      if (state.record) return state.record.handle;
      state.provisionalHandle ??= customHandle(state) ?? randomHandle();
      return state.provisionalHandle;
    },

    async commit(state) {
      if (state.ended) {
        // After a logout in this request, new data or a CSRF token starts a fresh anonymous session.
        if (Object.keys(state.data).length === 0 && !state.forceSave) return;
        state.ended = false;
      }
      if (!state.record) {
        const empty = Object.keys(state.data).length === 0;
        if (empty && !state.forceSave) return;
        state.forceSave = false;
        const csrfSecret = state.pendingMeta?.csrfSecret;
        const next = await insert(state, {
          data: JSON.stringify(state.data),
          ...(csrfSecret ? { csrfSecret } : {}),
        });
        adopt(state, next);
        events.emit({ type: 'session.created', handle: next.handle, userId: null, ...context(state) });
        return;
      }
      const text = JSON.stringify(state.data);
      let patch: SessionPatch | null = text === state.dataText ? null : diffData(state.dataText, state.data);
      if (state.pendingMeta) patch = { ...patch, meta: state.pendingMeta };
      if (!patch) return;
      const handle = state.record.handle;
      const next = await call('update', () => store.update(handle, patch));
      if (!next) {
        // Destroyed meanwhile (logout, revocation): the write is dropped, never resurrected (S29).
        events.emit({
          type: 'session.write_dropped',
          handle,
          userId: state.record.userId,
          ...context(state),
        });
        endLocally(state);
        return;
      }
      state.record = next;
      state.dataText = text;
      state.pendingMeta = null;
    },

    cookieHeaders(state) {
      const headers: string[] = [];
      const { secure } = state.info;
      if (state.clearLegacyCookie && state.clearLegacyCookie !== cookie.nameFor(secure)) {
        headers.push(cookie.serializeClear(secure, state.clearLegacyCookie));
      }
      if (!cookie.canSet(secure)) return headers;
      if (state.cookie === 'clear') headers.push(cookie.serializeClear(secure));
      if (state.cookie === 'set' && state.cookieValue && state.record) {
        const lifetime = state.record.cookieMaxAgeMs ?? cookie.maxAgeMs;
        if (lifetime === undefined || lifetime === null) {
          headers.push(cookie.serialize(state.cookieValue, { secure }));
        } else {
          // S13: a persistent cookie never outlives the session's absolute lifetime.
          const remaining = Math.min(lifetime, state.record.absoluteExpiresAt - now());
          headers.push(
            cookie.serialize(state.cookieValue, {
              secure,
              maxAgeSeconds: Math.max(0, Math.floor(remaining / 1000)),
            }),
          );
        }
      }
      return headers;
    },

    async rotate(state, { keepData = true } = {}) {
      if (!state.record) {
        // Nothing stored yet: the token minted at commit is new anyway.
        if (!keepData) state.data = Object.create(null) as Record<string, unknown>;
        state.forceSave = true;
        return;
      }
      const { createdAt, absoluteExpiresAt, userId, authAt, aal, stepUpAt } = state.record;
      const next = freshRecord(state, {
        createdAt,
        absoluteExpiresAt,
        userId,
        authAt,
        aal,
        stepUpAt,
        idleExpiresAt: Math.min(now() + options.idleTimeoutMs, absoluteExpiresAt),
        data: keepData ? JSON.stringify(state.data) : '{}',
      });
      if (!(await swap(state, next))) {
        endLocally(state);
        throw new SessionStateError('the session ended before it could be rotated');
      }
    },

    async login(state, userId, { keep = options.keepOnLogin, aal = 1 } = {}) {
      if (typeof userId !== 'string' || userId.length === 0) {
        throw new SessionStateError('login needs a non-empty user id');
      }
      assertLevel(aal, 1);
      await limiter.checkBeforeLogin(userId);
      const at = now();
      const fields = { userId, authAt: at, aal, stepUpAt: aal > 1 ? at : null };
      const next = freshRecord(state, { ...fields, data: pickData(state.data, keep) });
      // CVE-2022-25896 class: the pre-login token dies with the login; if it is already gone, the
      // login still stands as a new session.
      if (!(await swap(state, next))) {
        state.record = null;
        if (!(await swap(state, freshRecord(state, { ...fields, data: next.data })))) {
          throw new SessionStateError('could not create the session');
        }
      }
      events.emit({ type: 'auth.login.success', handle: state.record?.handle, userId, ...context(state) });
      await limiter.enforce(state, userId);
    },

    async reauthenticate(state) {
      const next = await reissue(state, { authAt: now() }, 're-authenticated');
      events.emit({
        type: 'auth.reauthenticated',
        handle: next.handle,
        userId: next.userId,
        ...context(state),
      });
    },

    async stepUp(state, level) {
      assertLevel(level, 2);
      const next = await reissue(state, { aal: level, stepUpAt: now() }, 'stepped up');
      events.emit({
        type: 'auth.step_up',
        handle: next.handle,
        userId: next.userId,
        reason: `aal${level}`,
        ...context(state),
      });
    },

    async logout(state) {
      const record = state.record;
      endLocally(state);
      state.loggedOut = true;
      if (!record) return;
      await call('destroy', () => store.destroy(record.handle));
      events.emit({
        type: 'session.logout',
        handle: record.handle,
        userId: record.userId,
        ...context(state),
      });
    },

    async reload(state) {
      const record = state.record;
      if (!record) {
        state.data = Object.create(null) as Record<string, unknown>;
        return;
      }
      const fresh = await call('get', () => store.get(record.handle));
      if (!fresh || fresh.secretHash !== record.secretHash) {
        endLocally(state);
        throw new SessionStateError('the session no longer exists');
      }
      readRecordInto(state, fresh);
    },

    async revoke(handle, { userId, by } = {}) {
      if (!isHandle(handle)) return false;
      if (userId !== undefined) {
        const record = await call('get', () => store.get(handle));
        if (!record || record.userId !== userId) return false;
      }
      const removed = await call('destroy', () => store.destroy(handle));
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
      events.emit({ type: 'session.logout_all', userId, count: removed.length, by: by ?? userId });
      return removed.length;
    },
  };
  return engine;
}
