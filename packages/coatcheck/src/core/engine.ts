// Over ~250 lines on purpose: the SessionEngine interface every adapter calls, and the one factory that
// wires its steps together; each step (load, issue, rotate, destroy, device list) lives in its folder.
import { cookieHeadersFor } from './cookies/cookie-headers.js';
import { SessionStateError } from './errors.js';
import { createEventBus, type SessionEvent, type SessionEventListener } from './events.js';
import { destroySession } from './lifecycle/destroy.js';
import { createIdentitySync } from './lifecycle/identity.js';
import { createRecordIssuer } from './lifecycle/issue.js';
import { loadSession } from './lifecycle/load.js';
import { createRecentRenewals } from './lifecycle/renewals.js';
import { dataRead } from './lifecycle/request-state.js';
import { createRotations } from './lifecycle/rotations.js';
import type { RequestInfo, SessionInfo, SessionState } from './lifecycle/state.js';
import { adopt, endElsewhere, endLocally, eventContext, readRecordInto } from './lifecycle/state.js';
import { createUserSessions } from './lifecycle/user-sessions.js';
import { resolveOptions, type SessionEngineOptions } from './options.js';
import { createSessionLimiter } from './policies/limits.js';
import { attachRememberedDevices } from './remember/hooks.js';
import type { RememberedDeviceInfo } from './remember/info.js';
import { diffData, type SessionMetaPatch, type SessionPatch, type SessionRecord } from './store/record.js';
import { type Renewal, renewIn } from './store/store.js';
import { createStoreCall } from './store/store-calls.js';
import { randomBase64url } from './tokens/encoding.js';
import { newHandle as randomHandle } from './tokens/token.js';

/** Options of a login (`engine.login`, `req.session.login`): rotation always happens (S19). */
export interface LoginOptions {
  /** Pre-login data to keep: `true` for all of it, or a list of keys. @default the engine's `keepOnLogin` */
  keep?: boolean | readonly string[];
  /**
   * Assurance level the login proved: 1 for a password, 2 or more when it included a further
   * factor (which also counts as a step-up now, S40). @default 1
   */
  aal?: number;
  /**
   * "Keep me signed in on this device": also creates a remembered device with its own rotating
   * credential and cookie, which starts a new (not fresh) session once this one lapses by idle
   * timeout or the browser is closed. Needs the engine's `remember` option. @default false
   */
  remember?: boolean;
}

/** The framework-agnostic session engine. Adapters call `load` per request and `commit` before responding. */
export interface SessionEngine {
  /**
   * The request's session: its cookie checked (MAC, duplicates, length) before any store call (S6),
   * then read. A bad, expired or forged cookie gives an anonymous state, never an error.
   * @throws SessionStoreError when the store fails or times out.
   */
  load(info: RequestInfo): Promise<SessionState>;
  /** Writes what changed; creates the session if it holds data. Call before the response is sent. */
  commit(state: SessionState): Promise<void>;
  /**
   * Whether `commit` would write anything: when not, an adapter can respond without waiting. A
   * `commit` called right after, in the same turn, reuses the data's JSON text computed here.
   */
  needsCommit(state: SessionState): boolean;
  /** Set-Cookie header values for the response, after `commit`. */
  cookieHeaders(state: SessionState): string[];
  /**
   * express-session's `regenerate`: the session is destroyed in the store and a new, empty,
   * anonymous one takes its place. With `keepData`, a rotation instead: a new token for the same
   * session (data, user, authentication); the old token dies atomically. Never fails because another request rotated or ended
   * the session first.
   */
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
  /**
   * Revokes every session of a user, or every one but `exceptHandle`; returns how many live sessions
   * it ended (rotation pointers and expired records are removed too, not counted). One more store
   * call than the removal: the user's sessions are listed first.
   */
  revokeUserSessions(userId: string, options?: { exceptHandle?: string; by?: string }): Promise<number>;
  /** A user's live remembered devices, most recently used first; empty when `remember` is off. */
  listRememberedDevices(
    userId: string,
    options?: { currentDeviceId?: string | null },
  ): Promise<RememberedDeviceInfo[]>;
  /**
   * Ends a remembered device by id and every session it started. With `userId`, only a device of
   * that user (no IDOR). False when there is no such device.
   */
  revokeRememberedDevice(id: string, options?: { userId?: string; by?: string }): Promise<boolean>;
  /**
   * Ends every session of every user, or those created before `createdBefore` (ms since the
   * epoch): the kill switch after a breach or a key leak (ASVS 7.4). The store's remembered
   * devices in that range end first, or they would start new sessions. Emits `session.logout_all`
   * per user. Throws SessionCapabilityError when the store has no `destroyAll`.
   */
  revokeAllSessions(options?: { createdBefore?: number; by?: string }): Promise<{
    /** Sessions ended. */
    sessionsEnded: number;
    /** Distinct users those sessions belonged to (each got one `session.logout_all`). */
    users: number;
    /** Remembered devices ended. */
    rememberedDevicesEnded: number;
  }>;
  /** Subscribes to lifecycle events; returns the unsubscribe function. */
  on(listener: SessionEventListener): () => void;
  /** Emits an event through the engine's bus (for adapters and layers above the engine). */
  emit(event: Omit<SessionEvent, 'time'>): void;
  /** The options as resolved and validated at creation (defaults filled in, durations in ms). */
  readonly options: ReturnType<typeof resolveOptions>;
}

/** What `commit` answers when there is nothing to write: settled, and shared by every request. */
const NOTHING_TO_COMMIT: Promise<void> = Promise.resolve();

/** After a logout in this request, only new data or a CSRF token starts a fresh anonymous session. */
function startsAfterEnd(state: SessionState): boolean {
  return holdsData(state) || Boolean(state.pendingMeta?.csrfSecret);
}

/** Whether the session's data holds any key, without parsing data the request never read. */
function holdsData(state: SessionState): boolean {
  return dataRead(state) ? hasKeys(state.data) : state.dataText !== '{}';
}

/** The patch's metadata as a bare renewal (the last request's time and the idle expiry, nothing else), or null. */
function renewalOf(meta: SessionMetaPatch | undefined): Renewal | null {
  if (!meta || meta.lastSeenAt === undefined || meta.idleExpiresAt === undefined) return null;
  for (const field in meta) if (field !== 'lastSeenAt' && field !== 'idleExpiresAt') return null;
  return { lastSeenAt: meta.lastSeenAt, idleExpiresAt: meta.idleExpiresAt };
}

function hasKeys(object: Record<string, unknown>): boolean {
  for (const _ in object) return true;
  return false;
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
  const { store, now } = options;
  const events = createEventBus(now, (error) =>
    options.warn(`coatcheck: event listener threw: ${String(error)}`),
  );
  const call = createStoreCall(options.storeTimeoutMs, events);
  const limiter = createSessionLimiter({ options, call, events });
  const renewals = createRecentRenewals(options.renewalIntervalMs);
  // The data's JSON text from the last needsCommit that found it changed, for a commit that follows
  // in the same turn: a write then serialises its data once. One slot; a miss serialises again.
  let serialised: { state: SessionState; record: SessionRecord; data: unknown; text: string } | null = null;

  const issuer = createRecordIssuer(options);
  const { customHandle } = issuer;
  const rotations = createRotations({ options, call, events, issuer, limiter });
  const syncIdentity = createIdentitySync({
    options,
    login: rotations.login,
    logout: (state) => engine.logout(state),
  });

  /** Inserts a new record, retrying once on a handle collision (only a custom genid can collide). */
  async function insert(state: SessionState, fields: Partial<SessionRecord>) {
    for (let attempt = 0; attempt < 3; attempt++) {
      const provisional = attempt === 0 ? (state.provisionalHandle ?? undefined) : undefined;
      const next = issuer.issue(state, fields, provisional ?? customHandle(state));
      const { cookieValue: _, ...record } = next;
      if (await call('create', () => store.create(record, options.newHandles))) return next;
    }
    throw new SessionStateError('could not find a free session handle');
  }

  /** The commit's work when there may be something to write (see `commit`). */
  async function commitChanges(state: SessionState): Promise<void> {
    // Ended or rotated by another request: what this request still holds is never written (S29).
    if (state.endedElsewhere) return;
    // needsCommit's text, if it was this request's last call: adapters call the two back to back.
    const known = serialised?.state === state ? serialised : null;
    serialised = null;
    await syncIdentity(state);
    if (state.ended) {
      if (!startsAfterEnd(state)) {
        // A bare `save()` after logout stores nothing: the response still expires the cookie.
        state.forceSave = false;
        return;
      }
      state.ended = false;
    }
    if (!state.record) {
      if (!holdsData(state) && !state.forceSave) return;
      state.forceSave = false;
      const csrfSecret = state.pendingMeta?.csrfSecret;
      const next = await insert(state, {
        data: JSON.stringify(state.data),
        ...(csrfSecret ? { csrfSecret } : {}),
      });
      adopt(state, next);
      events.emit({ type: 'session.created', handle: next.handle, userId: null, ...eventContext(state) });
      return;
    }
    const text = !dataRead(state)
      ? state.dataText
      : known && known.data === state.data && known.record === state.record
        ? known.text
        : JSON.stringify(state.data);
    let patch: SessionPatch | null = text === state.dataText ? null : diffData(state.dataText, state.data);
    if (state.pendingMeta) patch = { ...patch, meta: state.pendingMeta };
    if (!patch) return;
    const record = state.record;
    const handle = record.handle;
    const renewal = patch.set || patch.unset ? null : renewalOf(patch.meta);
    let next = await (renewal
      ? call(store.renew ? 'renew' : 'update', () => renewIn(store, record, renewal))
      : call('update', () => store.update(handle, patch)));
    for (let step = 0; next?.successor && step < 3; step++) {
      // A scheduled rotation replaced this record while the request ran (S21): the write belongs
      // to the session it became, and this response must not send the replaced token again.
      const successor = next.successor;
      next = await call('update', () => store.update(successor, patch));
      state.cookieValue = null;
      if (state.cookie === 'set') state.cookie = 'keep';
    }
    if (!next || next.successor) {
      // Destroyed meanwhile (logout, revocation): the write is dropped, never resurrected (S29).
      events.emit({
        type: 'session.write_dropped',
        handle,
        userId: state.record.userId,
        ...eventContext(state),
      });
      endElsewhere(state);
      return;
    }
    state.record = next;
    state.dataText = text;
    state.pendingMeta = null;
  }

  // One context for every load: an object per request was garbage for the collector.
  const loadContext = { options, call, events, renewals, issuer };

  const engine: SessionEngine = {
    options,
    on: events.on,
    emit: events.emit,

    load: (info) => loadSession(info, loadContext),

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

    needsCommit(state) {
      if (state.endedElsewhere) return false;
      if (state.ended) return startsAfterEnd(state);
      if (!state.record) return state.forceSave || holdsData(state);
      if (state.pendingMeta !== null) return true;
      if (!dataRead(state)) return false;
      const text = JSON.stringify(state.data);
      if (text === state.dataText) return false;
      const known = { state, record: state.record, data: state.data, text };
      serialised = known;
      // Kept for a commit in this same turn only: code that runs later may change the data in place.
      queueMicrotask(() => {
        if (serialised === known) serialised = null;
      });
      return true;
    },

    commit(state) {
      // A stored session this request left as it was (no data read, nothing pending): the common
      // authenticated read settles here, without a turn of the event loop or a promise of its own.
      if (state.record && !state.ended && state.pendingMeta === null && !dataRead(state)) {
        serialised = null;
        return NOTHING_TO_COMMIT;
      }
      return commitChanges(state);
    },

    cookieHeaders: (state) => cookieHeadersFor(state, options),

    ...rotations,

    async logout(state) {
      const record = state.record;
      endLocally(state);
      state.loggedOut = true;
      if (!record) return;
      await destroySession(store, call, record.handle);
      events.emit({
        type: 'session.logout',
        handle: record.handle,
        userId: record.userId,
        ...eventContext(state),
      });
    },

    async reload(state) {
      // express-session: reloading a session the store does not hold fails ("failed to load
      // session"), every time; the request's data is emptied so nothing of it is written back.
      const record = state.record;
      if (!record || state.endedElsewhere) {
        const wasStored = state.ended || state.endedElsewhere || state.cookieValue !== null;
        state.data = Object.create(null) as Record<string, unknown>;
        if (wasStored) endElsewhere(state);
        throw new SessionStateError('the session no longer exists');
      }
      const fresh = await call('get', () => store.get(record.handle));
      if (!fresh || fresh.secretHash !== record.secretHash || fresh.successor !== null) {
        endElsewhere(state);
        throw new SessionStateError('the session no longer exists');
      }
      readRecordInto(state, fresh);
    },

    ...createUserSessions({ options, call, events }),
    listRememberedDevices: async () => [],
    revokeRememberedDevice: async () => false,
  };
  if (options.remember) {
    attachRememberedDevices(engine, { options, remember: options.remember, call, events, issuer, limiter });
  }
  return engine;
}
