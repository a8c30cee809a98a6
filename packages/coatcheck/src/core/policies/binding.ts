import { isIP } from 'node:net';
import { SessionConfigError } from '../errors.js';
import type { SessionDevice } from '../store/record.js';

/** What a change of device does (S42): binding is a detection and step-up trigger, never an authenticator. */
export type BindingPolicy = 'off' | 'log' | 'step-up' | 'revoke';

/** Options of session binding to the device it was created on (S42). */
export interface BindingOptions {
  /** What a device change does: ignore, emit `session.binding_mismatch`, require a step-up, or end the session. @default 'log' */
  policy?: BindingPolicy;
  /** IPv4 addresses inside one prefix of this length count as the same place. @default 24 */
  ipv4PrefixBits?: number;
  /** IPv6 addresses inside one prefix of this length count as the same place (a /48 site). @default 48 */
  ipv6PrefixBits?: number;
}

export interface BindingCheck {
  readonly policy: BindingPolicy;
  /** Why the request's device differs from the one the session was created on, or null. */
  mismatch(stored: SessionDevice, ip: string | undefined, userAgent: string | undefined): string | null;
}

const FAMILIES: [RegExp, string][] = [
  [/\bEdg(?:e|A|iOS)?\//, 'edge'],
  [/\b(?:OPR|Opera)\//, 'opera'],
  [/\b(?:Firefox|FxiOS)\//, 'firefox'],
  [/\b(?:Chrome|CriOS|Chromium)\//, 'chrome'],
  [/\bVersion\/[\d.]+.*\bSafari\//, 'safari'],
];

/** The browser family, ignoring versions: a browser update must never look like a stolen cookie. */
export function browserFamily(userAgent: string | undefined): string {
  if (!userAgent) return 'unknown';
  for (const [pattern, family] of FAMILIES) if (pattern.test(userAgent)) return family;
  return /^[^\s/]+/.exec(userAgent)?.[0]?.toLowerCase() ?? 'unknown';
}

function ipv6Bits(address: string): bigint | null {
  const [head = '', tail] = address.split('::');
  const parts = (value: string) => (value ? value.split(':') : []);
  const left = parts(head);
  const right = tail === undefined ? [] : parts(tail);
  const groups =
    tail === undefined ? left : [...left, ...Array(8 - left.length - right.length).fill('0'), ...right];
  if (groups.length !== 8) return null;
  return groups.reduce((bits, group) => (bits << 16n) | BigInt(Number.parseInt(group || '0', 16)), 0n);
}

/** The network prefix an address belongs to, as a comparable string. */
export function ipPrefix(address: string | undefined, v4Bits: number, v6Bits: number): string | null {
  if (!address) return null;
  const mapped = /^::ffff:(\d+\.\d+\.\d+\.\d+)$/i.exec(address)?.[1];
  const ip = mapped ?? address;
  if (isIP(ip) === 4) {
    const value = ip.split('.').reduce((bits, octet) => (bits << 8n) | BigInt(Number(octet)), 0n);
    return `4/${value >> BigInt(32 - v4Bits)}`;
  }
  if (isIP(ip) === 6) {
    const value = ipv6Bits(ip.toLowerCase());
    return value === null ? null : `6/${value >> BigInt(128 - v6Bits)}`;
  }
  return null;
}

export function createBindingCheck(options: BindingOptions = {}): BindingCheck {
  const policy = options.policy ?? 'log';
  if (!['off', 'log', 'step-up', 'revoke'].includes(policy)) {
    throw new SessionConfigError('binding.policy', "must be 'off', 'log', 'step-up' or 'revoke'");
  }
  const v4 = options.ipv4PrefixBits ?? 24;
  const v6 = options.ipv6PrefixBits ?? 48;
  if (!Number.isInteger(v4) || v4 < 8 || v4 > 32)
    throw new SessionConfigError('binding.ipv4PrefixBits', 'must be 8–32');
  if (!Number.isInteger(v6) || v6 < 16 || v6 > 128)
    throw new SessionConfigError('binding.ipv6PrefixBits', 'must be 16–128');
  return {
    policy,
    mismatch(stored, ip, userAgent) {
      if (policy === 'off') return null;
      // The same strings as at sign-in (the common case) need no parsing.
      if (
        stored.userAgent !== undefined &&
        stored.userAgent !== userAgent?.slice(0, 512) &&
        browserFamily(stored.userAgent) !== browserFamily(userAgent)
      ) {
        return 'browser';
      }
      if (stored.ip === undefined || stored.ip === ip) return null;
      const before = ipPrefix(stored.ip, v4, v6);
      if (before !== null && before !== ipPrefix(ip, v4, v6)) return 'network';
      return null;
    },
  };
}
