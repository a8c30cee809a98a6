import type { RememberedDevice } from './device.js';

/** What a device list shows of a remembered device: no secret, no hash. */
export interface RememberedDeviceInfo {
  id: string;
  createdAt: number;
  lastUsedAt: number;
  /** Absolute end of the device (ms since the epoch); never extended by use. */
  expiresAt: number;
  userAgent: string | null;
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
