import type { SessionEngine } from '../engine.js';
import { SessionStateError } from '../errors.js';
import type { EventBus } from '../events.js';
import type { ResolvedOptions } from '../options.js';
import type { SessionLimiter } from '../policies/limits.js';
import { parseData, type SessionRecord } from '../store/record.js';
import type { StoreCall } from '../store/store-calls.js';
import { destroySession } from './destroy.js';
import { keepPassportUser } from './identity.js';
import type { IssuedRecord, RecordIssuer } from './issue.js';
import { adopt, endElsewhere, endLocally, eventContext, pickData, type SessionState } from './state.js';

function assertLevel(level: number, lowest: number): void {
  if (!Number.isInteger(level) || level < lowest || level > 9) {
    throw new SessionStateError(`the assurance level must be an integer from ${lowest} to 9`);
  }
}

/**
 * The calls that give a session a new token: rotation, login, re-authentication and step-up. Each
 * replaces the old record atomically, so the old token dies as the new one is stored (S19, S20).
 */
export function createRotations(context: {
  options: ResolvedOptions;
  call: StoreCall;
  events: EventBus;
  issuer: RecordIssuer;
  limiter: SessionLimiter;
}): Pick<SessionEngine, 'rotate' | 'login' | 'reauthenticate' | 'stepUp'> {
  const { options, call, events, issuer, limiter } = context;
  const { store, now } = options;

  /**
   * Replaces `handle` by `record`; when a scheduled rotation replaced it meanwhile, replaces the
   * session it became instead, so no live token of the old session survives a login or step-up.
   */
  async function replaceCurrent(handle: string, record: SessionRecord): Promise<string | null> {
    let current = handle;
    for (let step = 0; step < 4; step++) {
      const target = current;
      if (await call('replace', () => store.replace(target, record, options.newHandles))) return target;
      const found = await call('get', () => store.get(target));
      if (!found?.successor) return null;
      current = found.successor;
    }
    return null;
  }

  async function swap(state: SessionState, next: IssuedRecord): Promise<boolean> {
    const { cookieValue: _, ...record } = next;
    let previous: string | null = null;
    if (state.record) {
      previous = await replaceCurrent(state.record.handle, record);
      if (!previous) return false;
    } else if (!(await call('create', () => store.create(record, options.newHandles)))) {
      return false;
    }
    adopt(state, next);
    // Parsed now, not when first read: the commit's identity sync must see what the kept data
    // names (a kept login over data naming another user is settled in this request, as before).
    state.data = parseData(next.data);
    if (previous) {
      events.emit({
        type: 'session.regenerated',
        handle: next.handle,
        previousHandle: previous,
        userId: next.userId,
        ...eventContext(state),
      });
    }
    return true;
  }

  /** A new token for the stored session, keeping who it belongs to and how they authenticated. */
  async function reissue(
    state: SessionState,
    record: SessionRecord,
    fields: Partial<SessionRecord>,
    what: string,
  ) {
    const {
      createdAt,
      absoluteExpiresAt,
      userId,
      authAt,
      aal,
      stepUpAt,
      deviceKey,
      deviceChallenge,
      rememberedDeviceId,
    } = record;
    const next = issuer.issue(state, {
      createdAt,
      absoluteExpiresAt,
      userId,
      authAt,
      aal,
      stepUpAt,
      // The same browser, the same device key (DBSC): a step-up never unbinds the session.
      deviceKey,
      deviceChallenge,
      ...(rememberedDeviceId === undefined ? {} : { rememberedDeviceId }),
      idleExpiresAt: Math.min(now() + options.idleTimeoutMs, absoluteExpiresAt),
      data: JSON.stringify(state.data),
      ...fields,
    });
    if (!(await swap(state, next))) {
      // Ended or rotated by another request: its new token, if any, must survive this response.
      endElsewhere(state);
      // 409 to HTTP frameworks: the session changed under this request (another tab, a logout).
      throw Object.assign(new SessionStateError(`the session ended before it could be ${what}`), {
        status: 409,
        expose: true,
      });
    }
    return next;
  }

  function signedIn(state: SessionState, what: string): SessionRecord {
    if (!state.record?.userId) {
      // 401 to HTTP frameworks: mostly a stale cookie whose session ended before this request.
      throw Object.assign(new SessionStateError(`only a signed-in session can be ${what}`), {
        status: 401,
        expose: true,
      });
    }
    return state.record;
  }

  return {
    async rotate(state, { keepData = false } = {}) {
      // Always a new ID, even for a session not stored yet whose handle the application has read.
      state.provisionalHandle = null;
      const record = state.record;
      if (keepData) {
        // Nothing stored yet: the token minted at commit is new anyway.
        if (record) {
          try {
            await reissue(state, record, {}, 'rotated');
          } catch (error) {
            // Another tab rotated or ended it first: like a plain regenerate, this never fails; the
            // request goes on empty and leaves the browser's cookie to the request that won.
            if (!state.endedElsewhere) throw error;
          }
        } else state.forceSave = true;
        return;
      }
      if (!record) {
        // express-session: the new session is stored only once it holds something.
        state.data = Object.create(null) as Record<string, unknown>;
        state.pendingMeta = null;
        state.forceSave = false;
        return;
      }
      // express-session's regenerate: store.destroy, then a new empty session, stored when it holds
      // data; until then the response expires the old cookie.
      endLocally(state);
      await destroySession(store, call, record.handle);
      events.emit({
        type: 'session.regenerated',
        previousHandle: record.handle,
        userId: record.userId,
        reason: 'empty',
        ...eventContext(state),
      });
    },

    async login(state, userId, { keep = options.keepOnLogin, aal = 1, remember } = {}) {
      if (typeof userId !== 'string' || userId.length === 0) {
        throw new SessionStateError('login needs a non-empty user id');
      }
      if (remember && !options.remember) throw new SessionStateError('remember needs the remember option');
      assertLevel(aal, 1);
      await limiter.checkBeforeLogin(userId);
      const at = now();
      const fields = { userId, authAt: at, aal, stepUpAt: aal > 1 ? at : null };
      const kept = keepPassportUser(options.userIdOf, state.data, userId, keep);
      const next = issuer.issue(state, { ...fields, data: pickData(state.data, kept) });
      // CVE-2022-25896 class: the pre-login token dies with the login; if it is already gone, the
      // login still stands as a new session.
      if (!(await swap(state, next))) {
        state.record = null;
        if (!(await swap(state, issuer.issue(state, { ...fields, data: next.data })))) {
          throw new SessionStateError('could not create the session');
        }
      }
      events.emit({
        type: 'auth.login.success',
        handle: state.record?.handle,
        userId,
        ...eventContext(state),
      });
      await limiter.enforce(state, userId);
    },

    async reauthenticate(state) {
      const record = signedIn(state, 're-authenticated');
      const next = await reissue(state, record, { authAt: now() }, 're-authenticated');
      events.emit({
        type: 'auth.reauthenticated',
        handle: next.handle,
        userId: next.userId,
        ...eventContext(state),
      });
    },

    async stepUp(state, level) {
      assertLevel(level, 2);
      const record = signedIn(state, 'stepped up');
      const next = await reissue(state, record, { aal: level, stepUpAt: now() }, 'stepped up');
      events.emit({
        type: 'auth.step_up',
        handle: next.handle,
        userId: next.userId,
        reason: `aal${level}`,
        ...eventContext(state),
      });
    },
  };
}
