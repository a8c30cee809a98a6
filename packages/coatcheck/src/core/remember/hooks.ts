import type { SessionEngine } from '../engine.js';
import { SessionStateError } from '../errors.js';
import { eventContext, type SessionState } from '../lifecycle/state.js';
import { rememberCookieHeaders, setRememberCookie } from './cookie.js';
import { issueCredential, newDeviceId } from './credential.js';
import { toRememberedDeviceInfo } from './info.js';
import { presentedDevice, resumeRemembered } from './resume.js';
import { endDevice, type RememberContext } from './revoke.js';

/**
 * Adds remembered devices to an engine, in place (so the engine's own calls, such as a Passport
 * logout found at commit, go through them too): the load path resumes a lapsed session from the
 * device's credential, `login(userId, { remember: true })` creates a device, and logout,
 * revocation and sign-out everywhere end devices. Without the `remember` option none of this is
 * attached and a request costs nothing more.
 */
export function attachRememberedDevices(engine: SessionEngine, context: RememberContext): void {
  const { options, remember, call, events } = context;
  const { store, now } = options;
  const base = {
    load: engine.load,
    login: engine.login,
    logout: engine.logout,
    rotate: engine.rotate,
    revoke: engine.revoke,
    revokeUserSessions: engine.revokeUserSessions,
    cookieHeaders: engine.cookieHeaders,
  };

  /** Ends the device the request's own credential names (this browser's), and clears the cookie. */
  async function endPresented(state: SessionState, by: string, except?: string): Promise<void> {
    const presented = await presentedDevice(context, state);
    const device = presented?.device;
    if (device && device.id !== except)
      await endDevice(context, device.id, { userId: device.userId, by, state });
  }

  async function endLinked(state: SessionState, by: string): Promise<void> {
    const record = state.record;
    if (record?.rememberedDeviceId) {
      await endDevice(context, record.rememberedDeviceId, { userId: record.userId, by, state });
    }
  }

  Object.assign(engine, {
    async load(info) {
      const state = await base.load(info);
      // A live session, a throttled client or express-session data being moved: nothing to resume.
      if (state.record || state.throttled || state.forceSave) return state;
      const lapsed = state.lapsed;
      if (!lapsed || lapsed.reason === 'idle') {
        await resumeRemembered(context, state);
        return state;
      }
      // Ended by its absolute timeout or revoked for a change of device: only a full sign-in
      // starts again, so the device it came from (and this browser's credential) end as well.
      const by = lapsed.reason === 'absolute' ? 'expiry' : 'binding';
      if (lapsed.rememberedDeviceId) {
        await endDevice(context, lapsed.rememberedDeviceId, { userId: lapsed.userId, by, state });
      }
      await endPresented(state, by);
      return state;
    },

    async login(state, userId, loginOptions = {}) {
      await base.login(state, userId, loginOptions);
      // A credential left in this browser by an earlier sign-in must not outlive this one.
      await endPresented(state, 'login');
      const record = state.record;
      if (!loginOptions.remember || !record) return;
      const at = now();
      const id = newDeviceId();
      const credential = issueCredential(options.keyring, id);
      const expiresAt = at + remember.lifetimeMs;
      const device = {
        id,
        userId,
        secretHash: credential.secretHash,
        previousSecretHash: null,
        rotatedAt: at,
        createdAt: at,
        lastUsedAt: at,
        expiresAt,
        device: record.device,
      };
      if (!(await call('createRemembered', () => remember.devices.create(device)))) {
        throw new SessionStateError('could not store the remembered device');
      }
      const linked = await call('update', () =>
        store.update(record.handle, { meta: { rememberedDeviceId: id } }),
      );
      if (!linked || linked.successor !== null) {
        await endDevice(context, id, { userId, by: 'login', state });
        throw new SessionStateError('the session ended before the device could be remembered');
      }
      state.record = linked;
      setRememberCookie(state, { kind: 'set', value: credential.cookieValue, expiresAt });
      events.emit({
        type: 'remember.created',
        handle: record.handle,
        userId,
        rememberedDevice: id,
        ...eventContext(state),
      });
    },

    async logout(state) {
      const record = state.record;
      await base.logout(state);
      if (record?.rememberedDeviceId) {
        await endDevice(context, record.rememberedDeviceId, { userId: record.userId, by: 'logout', state });
      }
      await endPresented(state, 'logout', record?.rememberedDeviceId);
    },

    async rotate(state, rotateOptions) {
      // express-session's regenerate ends the session (a sign-out); a rotation keeping data does not.
      if (!rotateOptions?.keepData) await endLinked(state, 'logout');
      await base.rotate(state, rotateOptions);
    },

    async revoke(handle, revokeOptions = {}) {
      const record = await call('get', () => store.get(handle));
      const revoked = await base.revoke(handle, revokeOptions);
      if (revoked && record?.rememberedDeviceId) {
        await endDevice(context, record.rememberedDeviceId, {
          userId: record.userId,
          by: revokeOptions.by ?? 'system',
        });
      }
      return revoked;
    },

    async revokeUserSessions(userId, revokeOptions = {}) {
      const { exceptHandle, by = userId } = revokeOptions;
      const kept = exceptHandle === undefined ? null : await call('get', () => store.get(exceptHandle));
      const count = await base.revokeUserSessions(userId, revokeOptions);
      const devices = await call('listRemembered', () => remember.devices.listByUser(userId));
      for (const device of devices) {
        if (device.id !== kept?.rememberedDeviceId) await endDevice(context, device.id, { userId, by });
      }
      return count;
    },

    async listRememberedDevices(userId, { currentDeviceId = null } = {}) {
      const devices = await call('listRemembered', () => remember.devices.listByUser(userId));
      const at = now();
      return devices
        .filter((device) => device.expiresAt > at)
        .sort((a, b) => b.lastUsedAt - a.lastUsedAt)
        .map((device) => toRememberedDeviceInfo(device, currentDeviceId));
    },

    async revokeRememberedDevice(id, { userId, by } = {}) {
      if (typeof id !== 'string' || id.length === 0) return false;
      const device = await call('getRemembered', () => remember.devices.get(id));
      if (!device || (userId !== undefined && device.userId !== userId)) return false;
      return endDevice(context, id, { userId: device.userId, by: by ?? 'system' });
    },

    cookieHeaders(state) {
      const headers = base.cookieHeaders(state);
      const remembered = rememberCookieHeaders(state, state.info.cookie ?? options.cookie, now());
      return remembered.length ? [...headers, ...remembered] : headers;
    },
  } satisfies Partial<SessionEngine>);
}
