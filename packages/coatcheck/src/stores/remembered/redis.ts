import { createHash } from 'node:crypto';
import type { RememberedDevice, RememberedDeviceStore } from '../../core/remember/device.js';
import type { RedisCommands } from '../redis/client.js';
import { globLiteral } from '../redis/scan.js';
import { INDEX_ADD, INDEX_READ, type RedisScript } from '../redis/scripts.js';

function script(name: string, source: string): RedisScript {
  return { name, source, sha: createHash('sha1').update(source).digest('hex') };
}

// Each script touches one key (one Cluster slot); the user index is written by INDEX_ADD apart.
// A device has a handful of fields, so one HSET writes them all (Redis counts every command a
// script runs).

/** KEYS[1] device; ARGV[1] TTL ms; ARGV[2..] field, value pairs. 1, or 0 when the id is taken. */
const CREATE_DEVICE = script(
  'remembered-create',
  `if redis.call('EXISTS', KEYS[1]) == 1 then return 0 end
redis.call('HSET', KEYS[1], unpack(ARGV, 2))
redis.call('PEXPIRE', KEYS[1], ARGV[1])
return 1`,
);

/**
 * KEYS[1] device; ARGV[1] expected hash, ARGV[2] new hash, ARGV[3] time, ARGV[4] device JSON.
 * Compare-and-swap: 1 when rotated, 0 when the device is gone or its hash is no longer the expected one.
 */
const ROTATE_DEVICE = script(
  'remembered-rotate',
  `local current = redis.call('HGET', KEYS[1], 'secretHash')
if not current or current ~= ARGV[1] then return 0 end
redis.call('HSET', KEYS[1], 'previousSecretHash', current, 'secretHash', ARGV[2], 'rotatedAt', ARGV[3],
  'lastUsedAt', ARGV[3], 'device', ARGV[4])
return 1`,
);

/** KEYS[1] device. Deletes it and returns its hash in the same step; an empty reply when it was gone. */
const TAKE_DEVICE = script(
  'remembered-take',
  `local fields = redis.call('HGETALL', KEYS[1])
if #fields > 0 then redis.call('DEL', KEYS[1]) end
return fields`,
);

const FIELDS = [
  'userId',
  'secretHash',
  'previousSecretHash',
  'rotatedAt',
  'createdAt',
  'lastUsedAt',
  'expiresAt',
];

function decode(id: string, reply: unknown): RememberedDevice | null {
  const hash: Record<string, string> = Object.create(null) as Record<string, string>;
  if (Array.isArray(reply))
    for (let i = 0; i + 1 < reply.length; i += 2) hash[String(reply[i])] = String(reply[i + 1]);
  else if (reply instanceof Map) for (const [field, value] of reply) hash[String(field)] = String(value);
  else if (reply && typeof reply === 'object') Object.assign(hash, reply);
  if (hash.secretHash === undefined || hash.userId === undefined) return null;
  return {
    id,
    userId: hash.userId,
    secretHash: hash.secretHash,
    previousSecretHash: hash.previousSecretHash ?? null,
    rotatedAt: Number(hash.rotatedAt),
    createdAt: Number(hash.createdAt),
    lastUsedAt: Number(hash.lastUsedAt),
    expiresAt: Number(hash.expiresAt),
    device: JSON.parse(hash.device ?? '{}') as RememberedDevice['device'],
  };
}

/**
 * The RedisStore's remembered devices: one hash per device (`<prefix>r:{<id>}`) that expires with
 * the device, and one sorted set per user (`<prefix>ru:{<userId>}`, ids scored by expiry).
 */
export function redisRememberedDevices(
  redis: RedisCommands,
  prefix: string,
  now: () => number,
): RememberedDeviceStore {
  const key = (id: string) => `${prefix}r:{${id}}`;
  const userKey = (userId: string) => `${prefix}ru:{${userId}}`;
  const store: RememberedDeviceStore = {
    async get(id) {
      return decode(id, await redis.hgetall(key(id)));
    },
    async create(device) {
      const pairs: string[] = ['device', JSON.stringify(device.device)];
      for (const field of FIELDS) {
        const value = device[field as keyof RememberedDevice];
        if (value !== null) pairs.push(field, String(value));
      }
      const ttl = String(Math.ceil(device.expiresAt - now()));
      if (Number(await redis.run(CREATE_DEVICE, [key(device.id)], [ttl, ...pairs])) !== 1) return false;
      try {
        await redis.run(
          INDEX_ADD,
          [userKey(device.userId)],
          [String(device.expiresAt), device.id, String(now())],
        );
      } catch (error) {
        // An unindexed device would escape "sign out everywhere": remove it and fail the request.
        await redis.run(TAKE_DEVICE, [key(device.id)], []).catch(() => {});
        throw error;
      }
      return true;
    },
    async rotate(id, { expectedHash, secretHash, at, device }) {
      const args = [expectedHash, secretHash, String(at), JSON.stringify(device)];
      return Number(await redis.run(ROTATE_DEVICE, [key(id)], args)) === 1;
    },
    async destroy(id) {
      const device = decode(id, await redis.run(TAKE_DEVICE, [key(id)], []));
      if (device) await redis.zrem(userKey(device.userId), [id]);
      return device;
    },
    async listByUser(userId) {
      const reply = await redis.run(INDEX_READ, [userKey(userId)], [String(now())]);
      const ids = Array.isArray(reply) ? reply.map(String) : [];
      const devices = await Promise.all(ids.map((id) => store.get(id)));
      const stale = ids.filter((_, i) => devices[i]?.userId !== userId);
      await redis.zrem(userKey(userId), stale);
      return devices.filter((device): device is RememberedDevice => device?.userId === userId);
    },
    async destroyAll({ createdBefore }) {
      // The kill switch only: the one place devices are found by a walk of the keyspace (SCAN).
      const head = key('');
      let count = 0;
      for await (const keys of redis.scan(`${globLiteral(head.slice(0, -1))}*}`)) {
        for (const found of keys) {
          const id = found.slice(head.length - 1, -1);
          const device = await store.get(id);
          if (!device || (createdBefore !== undefined && device.createdAt >= createdBefore)) continue;
          if (await store.destroy(id)) count++;
        }
      }
      return count;
    },
  };
  return store;
}
