import { findCookie } from '../cookies/find-cookie.js';
import { SessionLimitError } from '../errors.js';
import { startingDataFor } from '../lifecycle/identity.js';
import { adopt, deviceOf, eventContext, type SessionState } from '../lifecycle/state.js';
import { parseData } from '../store/record.js';
import { safeEqual } from '../tokens/encoding.js';
import { hashSecret } from '../tokens/token.js';
import { rememberCookieName, setRememberCookie } from './cookie.js';
import { issueCredential, parseCredential } from './credential.js';
import type { RememberedDevice } from './device.js';
import { createRecord, endDevice, type RememberContext } from './revoke.js';

/** How a presented credential relates to its device. */
type Use = 'current' | 'grace' | 'replay';

function useOf(device: RememberedDevice, hash: string, at: number, graceMs: number): Use {
  if (safeEqual(hash, device.secretHash)) return 'current';
  const previous = device.previousSecretHash;
  if (previous !== null && safeEqual(hash, previous) && at - device.rotatedAt <= graceMs) return 'grace';
  // MAC-valid (this server issued it for this device) yet neither current nor in its grace period:
  // a credential rotated away, presented again. One of the two holders is not the user.
  return 'replay';
}

/**
 * The request's remembered-device credential, if it names a device: parsed and verified (a forged
 * value costs no store call; it is cleared and reported).
 */
export async function presentedDevice(
  context: RememberContext,
  state: SessionState,
): Promise<{ device: RememberedDevice | null; secret: string } | null> {
  const { options, remember, call, events } = context;
  const lookup = findCookie(state.info.cookieHeader, rememberCookieName(options.cookie, state.info.secure));
  if (lookup.kind === 'none') return null;
  setRememberCookie(state, { kind: 'clear' });
  if (lookup.kind === 'duplicate') {
    events.emit({ type: 'session.duplicate_cookie', reason: 'remembered device', ...eventContext(state) });
    return null;
  }
  const parsed = parseCredential(options.keyring, lookup.value);
  if (parsed.kind === 'invalid') {
    events.emit({ type: 'session.tamper', reason: 'remembered device', ...eventContext(state) });
    return null;
  }
  const device = await call('getRemembered', () => remember.devices.get(parsed.id));
  if (!device) {
    events.emit({ type: 'session.unknown_id', reason: 'remembered device', ...eventContext(state) });
  }
  return { device, secret: parsed.secret };
}

/**
 * Starts a new session from the request's remembered-device credential, when the session has
 * lapsed by idle timeout or its cookie is gone (and only then: the caller decides). Every use
 * rotates the credential; a rotated-away one within the grace period starts a session without
 * rotating again (parallel requests of one browser); any other is a replay, and the whole device
 * ends (credential and every session it started) with `security.remember_reuse`. The new session
 * is signed in at assurance level 1 and is not fresh: `requireFreshAuth` and step-up ask again.
 */
export async function resumeRemembered(context: RememberContext, state: SessionState): Promise<void> {
  const { options, remember, call, events, issuer, limiter } = context;
  const presented = await presentedDevice(context, state);
  const device = presented?.device;
  if (!presented || !device) return;
  const at = options.now();
  const ended = { userId: device.userId, state };
  if (at >= device.expiresAt) {
    await endDevice(context, device.id, { ...ended, by: 'expiry' });
    events.emit({ type: 'remember.expired', userId: device.userId, rememberedDevice: device.id });
    return;
  }
  const hash = hashSecret(presented.secret);
  let use = useOf(device, hash, at, remember.graceMs);
  if (use === 'replay') {
    await endDevice(context, device.id, { ...ended, by: 'theft' });
    events.emit({
      type: 'security.remember_reuse',
      userId: device.userId,
      rememberedDevice: device.id,
      ...eventContext(state),
    });
    return;
  }
  const mismatch = options.binding.mismatch(device.device, state.info.ip, state.info.userAgent);
  if (mismatch) {
    events.emit({
      type: 'session.binding_mismatch',
      userId: device.userId,
      rememberedDevice: device.id,
      reason: mismatch,
      ...eventContext(state),
    });
    if (options.binding.policy === 'revoke') {
      await endDevice(context, device.id, { ...ended, by: 'binding' });
      return;
    }
  }
  let credential = use === 'current' ? issueCredential(options.keyring, device.id) : null;
  if (credential) {
    const rotation = {
      expectedHash: hash,
      secretHash: credential.secretHash,
      at,
      device: deviceOf(state.info),
    };
    if (!(await call('rotateRemembered', () => remember.devices.rotate(device.id, rotation)))) {
      // A parallel request of this browser rotated it first: this credential is now the previous one.
      const again = await call('getRemembered', () => remember.devices.get(device.id));
      use = again ? useOf(again, hash, at, remember.graceMs) : 'replay';
      if (use !== 'grace') return;
      credential = null;
    }
  }
  const absoluteExpiresAt = Math.min(at + options.absoluteTimeoutMs, device.expiresAt);
  const next = await createRecord(context, () =>
    issuer.issue(state, {
      userId: device.userId,
      authAt: null,
      aal: 1,
      stepUpAt: null,
      rememberedDeviceId: device.id,
      cookieMaxAgeMs: null,
      data: startingDataFor(options.userIdOf, device.userId),
      absoluteExpiresAt,
      idleExpiresAt: Math.min(at + options.idleTimeoutMs, absoluteExpiresAt),
    }),
  );
  if (!next) return;
  adopt(state, next);
  // Parsed now, as after a login, so this request's identity sync sees what the data names.
  state.data = parseData(next.data);
  // The grace request leaves the cookie alone: the browser keeps the rotated one from the winner.
  if (credential)
    setRememberCookie(state, { kind: 'set', value: credential.cookieValue, expiresAt: device.expiresAt });
  else setRememberCookie(state, { kind: 'keep' });
  events.emit({
    type: 'auth.remembered',
    handle: next.handle,
    userId: device.userId,
    rememberedDevice: device.id,
    ...(credential ? {} : { reason: 'grace' }),
    ...eventContext(state),
  });
  try {
    await limiter.enforce(state, device.userId);
  } catch (error) {
    // S36 under 'refuse': the session it started is withdrawn and the request goes on anonymous; the
    // device stays (its rotated credential is still sent) for when a session slot is free again.
    if (!(error instanceof SessionLimitError)) throw error;
  }
}
