import { SessionConfigError } from '../errors.js';
import type { SessionStore } from '../store/store.js';
import type { RememberedDeviceStore } from './device.js';

/** "Keep me signed in on this device": how long a remembered device lasts, and its grace period. */
export interface RememberOptions {
  /**
   * Absolute lifetime of a remembered device from the sign-in that created it, never extended by
   * use; sessions it starts end by then too. @default 2_592_000_000 (30 days)
   */
  lifetimeMs?: number;
  /**
   * How long after a rotation the credential it replaced still starts a session without counting
   * as theft: parallel requests of one browser (two tabs, a page and its assets) carry the old one.
   * @default 10_000
   */
  graceMs?: number;
}

export interface ResolvedRemember {
  lifetimeMs: number;
  graceMs: number;
  devices: RememberedDeviceStore;
}

function positive(option: string, value: number | undefined, fallback: number): number {
  if (value === undefined) return fallback;
  if (typeof value !== 'number' || !Number.isFinite(value) || value <= 0) {
    throw new SessionConfigError(option, 'must be a positive number of milliseconds');
  }
  return value;
}

/**
 * Validates the `remember` option once, at start-up. Unset or false: remembered devices are off and
 * cost nothing per request.
 * @throws SessionConfigError naming `remember` when the store cannot keep remembered devices (a
 * wrapped connect store), or a duration is not a positive number.
 */
export function resolveRemember(
  option: RememberOptions | boolean | undefined,
  store: SessionStore,
): ResolvedRemember | null {
  if (option === undefined || option === false) return null;
  if (option !== true && (typeof option !== 'object' || option === null)) {
    throw new SessionConfigError('remember', 'must be true, false or { lifetimeMs, graceMs }');
  }
  if (!store.capabilities.rememberedDevices || !store.rememberedDevices) {
    throw new SessionConfigError('remember', 'needs a store that keeps remembered devices');
  }
  if (!store.capabilities.userIndex) {
    throw new SessionConfigError('remember', 'needs a store with a per-user index');
  }
  const settings = option === true ? {} : option;
  const lifetimeMs = positive('remember.lifetimeMs', settings.lifetimeMs, 30 * 86_400_000);
  const graceMs = positive('remember.graceMs', settings.graceMs, 10_000);
  if (graceMs >= lifetimeMs) throw new SessionConfigError('remember.graceMs', 'must be below lifetimeMs');
  return { lifetimeMs, graceMs, devices: store.rememberedDevices };
}
