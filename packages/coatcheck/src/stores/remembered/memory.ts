import {
  applyRotation,
  type RememberedDevice,
  type RememberedDeviceStore,
  type RememberedRotation,
} from '../../core/remember/device.js';

const copy = (device: RememberedDevice): RememberedDevice => ({ ...device, device: { ...device.device } });

/** Remembered devices in process memory, indexed by user: the MemoryStore's half for "keep me signed in". */
export class MemoryRememberedDevices implements RememberedDeviceStore {
  readonly #devices = new Map<string, RememberedDevice>();
  readonly #byUser = new Map<string, Set<string>>();

  async get(id: string): Promise<RememberedDevice | null> {
    const device = this.#devices.get(id);
    return device ? copy(device) : null;
  }

  async create(device: RememberedDevice): Promise<boolean> {
    if (this.#devices.has(device.id)) return false;
    this.#devices.set(device.id, copy(device));
    const ids = this.#byUser.get(device.userId) ?? new Set<string>();
    ids.add(device.id);
    this.#byUser.set(device.userId, ids);
    return true;
  }

  async rotate(id: string, rotation: RememberedRotation): Promise<boolean> {
    const device = this.#devices.get(id);
    const next = device && applyRotation(device, rotation);
    if (!next) return false;
    this.#devices.set(id, next);
    return true;
  }

  async destroy(id: string): Promise<RememberedDevice | null> {
    const device = this.#devices.get(id);
    if (!device) return null;
    this.#devices.delete(id);
    const ids = this.#byUser.get(device.userId);
    ids?.delete(id);
    if (ids?.size === 0) this.#byUser.delete(device.userId);
    return device;
  }

  async listByUser(userId: string): Promise<RememberedDevice[]> {
    return [...(this.#byUser.get(userId) ?? [])].flatMap((id) => {
      const device = this.#devices.get(id);
      return device ? [copy(device)] : [];
    });
  }

  /** Removes devices past their absolute end; returns how many. */
  async destroyAll({ createdBefore }: { createdBefore?: number }): Promise<number> {
    let count = 0;
    for (const device of [...this.#devices.values()]) {
      if (createdBefore !== undefined && device.createdAt >= createdBefore) continue;
      await this.destroy(device.id);
      count++;
    }
    return count;
  }

  prune(now: number): number {
    let count = 0;
    for (const device of [...this.#devices.values()]) {
      if (device.expiresAt <= now) {
        void this.destroy(device.id);
        count++;
      }
    }
    return count;
  }

  clear(): void {
    this.#devices.clear();
    this.#byUser.clear();
  }
}
