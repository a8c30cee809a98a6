import { createHash } from 'node:crypto';
import { isIPv4, isIPv6 } from 'node:net';
import type { SessionEventListener } from 'coatcheck';
import type { Request } from 'express';
import type { AppContext } from './context.js';
import { describeDevice } from './devices.js';
import type { NotificationKind, NotificationRepository } from './notifications/repository.js';

/**
 * The network a sign-in came from, as shown to people: the /24 of an IPv4 address or the /48 of an
 * IPv6 one (a home or office network keeps its prefix while the last part changes).
 */
export function maskIp(ip: string): string {
  const address = ip.startsWith('::ffff:') && isIPv4(ip.slice(7)) ? ip.slice(7) : ip;
  if (isIPv4(address)) return `${address.split('.').slice(0, 3).join('.')}.0/24`;
  if (isIPv6(address)) {
    const [head = '', tail = ''] = address.split('::');
    const left = head ? head.split(':') : [];
    const right = tail ? tail.split(':') : [];
    const groups = address.includes('::')
      ? [...left, ...Array<string>(8 - left.length - right.length).fill('0'), ...right]
      : left;
    return `${groups
      .slice(0, 3)
      .map((group) => group.replace(/^0+(?=.)/, ''))
      .join(':')}::/48`;
  }
  return 'an unknown network';
}

/** Browser family (no version), OS and network: what makes a device "not seen before". */
export function deviceOf(userAgent: string | null, ip: string): { label: string; fingerprint: string } {
  const device = describeDevice(userAgent);
  const browser = device.browser.replace(/ \d+$/, '');
  const network = maskIp(ip);
  // Hashed: the known-devices table holds neither IPs nor user agents.
  const fingerprint = createHash('sha256').update(`${browser}\n${device.os}\n${network}`).digest('base64url');
  return { label: `${browser} on ${device.os}, network ${network}`, fingerprint };
}

const TEXTS: Record<Exclude<NotificationKind, 'new_device'>, string> = {
  password_changed: 'Your password was changed, and your other devices were signed out.',
  totp_enabled: 'Two-step sign-in with an authenticator app was turned on.',
  totp_disabled: 'Two-step sign-in with an authenticator app was turned off.',
  security_alert: 'Unusual activity on your account. If it was not you, change your password.',
  remembered_device_reused:
    'A "keep me signed in" credential of one of your devices was used twice, which happens when it has been copied. That device was signed out; sign in there again, and change your password if you did not expect this.',
};

/**
 * Listens for `security.remember_reuse` (a rotated remembered-device credential presented again):
 * the engine has already ended that device and its sessions; the user is told (S38).
 */
export function noticeRememberedDeviceReuse(
  notifications: NotificationRepository,
  now: () => number,
  logError: (error: unknown) => void,
): SessionEventListener {
  return (event) => {
    if (event.type !== 'security.remember_reuse' || !event.userId) return;
    const kind = 'remembered_device_reused';
    notifications.add({ userId: event.userId, kind, text: TEXTS[kind], createdAt: now() }).catch(logError);
  };
}

/**
 * Stores an in-app notification for the user (S38) and reports it on the audit stream as
 * `user.notified` with its kind: never a secret, code or token.
 */
export async function notifyUser(
  ctx: AppContext,
  req: Request,
  userId: string,
  kind: NotificationKind,
  text = kind === 'new_device' ? '' : TEXTS[kind],
): Promise<void> {
  await ctx.notifications.add({ userId, kind, text, createdAt: ctx.now() });
  ctx.sessions.engine.emit({
    type: 'user.notified',
    userId,
    reason: kind,
    ip: req.ip,
    userAgent: req.get('user-agent'),
  });
}

/**
 * After a successful sign-in: a device (browser family, OS, network) not seen before for this user
 * gets a notification. The first device of an account is remembered silently.
 */
export async function noticeSignIn(ctx: AppContext, req: Request, userId: string): Promise<void> {
  const { label, fingerprint } = deviceOf(req.get('user-agent') ?? null, req.ip ?? '');
  const sighting = await ctx.notifications.rememberDevice(userId, fingerprint, ctx.now());
  if (sighting !== 'new') return;
  await notifyUser(ctx, req, userId, 'new_device', `New sign-in from ${label}.`);
}
