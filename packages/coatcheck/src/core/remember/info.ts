import type { RememberedDevice } from './device.js';

/** What a device list shows of a remembered device: no secret, no hash. */
export interface RememberedDeviceInfo {
  /** Public id of the device: used to revoke it, never authenticates. */
  id: string;
  /** When the device was remembered (ms since the epoch). */
  createdAt: number;
  /** When its credential last started a session (ms since the epoch). */
  lastUsedAt: number;
  /** Absolute end of the device (ms since the epoch); never extended by use. */
  expiresAt: number;
  /** The User-Agent at sign-in or last use, as sent, or null. */
  userAgent: string | null;
  /** The client address at sign-in or last use, or null. */
  ip: string | null;
  /** Whether the session asking is one this device started or signed in with it. */
  current: boolean;
}

export function toRememberedDeviceInfo(
  device: RememberedDevice,
  currentDeviceId: string | null,
): RememberedDeviceInfo {
  return {
    id: device.id,
    createdAt: device.createdAt,
    lastUsedAt: device.lastUsedAt,
    expiresAt: device.expiresAt,
    userAgent: device.device.userAgent ?? null,
    ip: device.device.ip ?? null,
    current: device.id === currentDeviceId,
  };
}
