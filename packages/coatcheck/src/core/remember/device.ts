import type { SessionDevice } from '../store/record.js';

/**
 * A remembered device ("keep me signed in on this device"): a credential of its own, separate from
 * any session, that can start a new session for its user once the previous one has lapsed. Times
 * are milliseconds since the epoch.
 */
export interface RememberedDevice {
  /** Public, non-secret name of the device: shown in device lists, used to revoke it; never authenticates. */
  id: string;
  /** The user it signs in. */
  userId: string;
  /** SHA-256 of the current credential's secret (base64url); a store dump holds nothing usable. */
  secretHash: string;
  /**
   * SHA-256 of the credential this one replaced, or null: within the grace period it is a parallel
   * request of the same browser, after it a replay of a rotated credential (theft).
   */
  previousSecretHash: string | null;
  /** When the current credential was issued; the previous one's grace period counts from here. */
  rotatedAt: number;
  /** When the device was remembered (the sign-in with `remember: true`). */
  createdAt: number;
  /** When the credential last started a session. */
  lastUsedAt: number;
  /** Absolute end of the device, fixed at sign-in and never extended. */
  expiresAt: number;
  /** Device facts at sign-in or last use: the binding policy (S42) compares requests with them. */
  device: SessionDevice;
}

/** A credential rotation: applied only while the device's current hash is still `expectedHash`. */
export interface RememberedRotation {
  /** The hash the device must still have: the compare half of the compare-and-swap (S18). */
  expectedHash: string;
  /** The new credential's secret hash. */
  secretHash: string;
  /** The time of the rotation (ms since the epoch): its `rotatedAt` and `lastUsedAt`. */
  at: number;
  /** Device facts of the request that used it. */
  device: SessionDevice;
}

/**
 * What a store implements to keep remembered devices, beside sessions and with the same per-user
 * index rules: listing a user's devices costs O(that user's devices), never a scan.
 */
export interface RememberedDeviceStore {
  /** The device under this id, or null. May return an expired device; the engine decides. */
  get(id: string): Promise<RememberedDevice | null>;
  /** Inserts a new device; false (and nothing written) when the id is taken. */
  create(device: RememberedDevice): Promise<boolean>;
  /**
   * Compare-and-swap rotation in one atomic step: when the current hash is `expectedHash`, the
   * current becomes the previous, `secretHash` the current, `rotatedAt` and `lastUsedAt` become
   * `at`, and the device facts are replaced. Returns false, writing nothing, when the device is gone
   * or another request rotated it first: of parallel uses of one credential exactly one rotates.
   */
  rotate(id: string, rotation: RememberedRotation): Promise<boolean>;
  /** Removes a device; returns it, or null when there was none. */
  destroy(id: string): Promise<RememberedDevice | null>;
  /** Every stored device of a user (expired ones may be included; the engine filters). */
  listByUser(userId: string): Promise<RememberedDevice[]>;
  /**
   * Removes every device, or those created before `createdBefore` (ms since the epoch); returns how
   * many. The kill switch ends remembered devices with the sessions, or they would start new ones.
   */
  destroyAll(options: { createdBefore?: number }): Promise<number>;
}

/** The reference rotation every store implements, on a device read in the same atomic step. */
export function applyRotation(
  device: RememberedDevice,
  rotation: RememberedRotation,
): RememberedDevice | null {
  if (device.secretHash !== rotation.expectedHash) return null;
  return {
    ...device,
    previousSecretHash: device.secretHash,
    secretHash: rotation.secretHash,
    rotatedAt: rotation.at,
    lastUsedAt: rotation.at,
    device: { ...rotation.device },
  };
}
