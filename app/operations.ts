import type { Request } from 'express';
import type { AppContext } from './context.js';
import { describeDevice } from './devices.js';
import { notifyUser } from './notify.js';
import { sessionOf } from './session-data.js';
import type { Role, User } from './users/repository.js';

/** One row of the devices list: never the token, only the public handle. */
export interface DeviceView {
  handle: string;
  browser: string;
  os: string;
  platform: string;
  ip: string | null;
  signedInAt: number;
  lastSeenAt: number;
  current: boolean;
  /** The session is bound to a key the browser holds (DBSC): its cookie alone signs nobody in. */
  keyBound: boolean;
  /** Signed in again by a remembered device ("keep me signed in"), not by a password. */
  remembered: boolean;
}

/** One remembered device ("keep me signed in"): its public id, never its credential. */
export interface RememberedDeviceView {
  id: string;
  browser: string;
  os: string;
  platform: string;
  ip: string | null;
  createdAt: number;
  lastUsedAt: number;
  expiresAt: number;
  current: boolean;
}

/** The signed-in user's remembered devices, most recently used first. */
export async function listRememberedDevices(req: Request): Promise<RememberedDeviceView[]> {
  const devices = await sessionOf(req).listRememberedDevices();
  return devices.map((device) => ({
    id: device.id,
    ...describeDevice(device.userAgent),
    ip: device.ip,
    createdAt: device.createdAt,
    lastUsedAt: device.lastUsedAt,
    expiresAt: device.expiresAt,
    current: device.current,
  }));
}

/** The signed-in user's sessions, most recently active first. */
export async function listDevices(req: Request): Promise<DeviceView[]> {
  const sessions = await sessionOf(req).listSessions();
  return sessions.map((info) => ({
    handle: info.handle,
    ...describeDevice(info.userAgent),
    ip: info.ip,
    signedInAt: info.authAt ?? info.createdAt,
    lastSeenAt: info.lastSeenAt,
    current: info.current,
    keyBound: info.deviceKey !== null,
    remembered: info.authMethod === 'remembered',
  }));
}

/**
 * Sets a new password, signs out every other session of the user and rotates this one (ASVS 7.4.3,
 * S31): a stolen cookie or a session opened with the old password stops working. The user gets a
 * notification (S38).
 */
export async function changePassword(
  ctx: AppContext,
  req: Request,
  user: User,
  password: string,
): Promise<number> {
  await ctx.accounts.changePassword(user, password);
  const signedOut = await sessionOf(req).logoutEverywhere();
  await sessionOf(req).regenerate({ keep: true });
  await notifyUser(ctx, req, user.id, 'password_changed');
  return signedOut;
}

/** A user with the number of their live sessions, for the admin page. */
export interface UserSummary {
  id: string;
  email: string;
  role: Role;
  createdAt: number;
  activeSessions: number;
  /** Whether the user signs in with an authenticator app. */
  twoStep: boolean;
  /** Whether an administrator disabled the account. */
  disabled: boolean;
}

/** One page of users with their live session counts (one per-user index read each). */
export async function listUsers(
  ctx: AppContext,
  page: number,
  pageSize: number,
): Promise<{ users: UserSummary[]; total: number }> {
  const [users, total] = await Promise.all([
    ctx.users.list({ limit: pageSize, offset: (page - 1) * pageSize }),
    ctx.users.count(),
  ]);
  const counts = await Promise.all(users.map((user) => ctx.sessions.engine.listUserSessions(user.id)));
  return {
    total,
    users: users.map((user, i) => ({
      id: user.id,
      email: user.email,
      role: user.role,
      createdAt: user.createdAt,
      activeSessions: counts[i]?.length ?? 0,
      twoStep: user.totpSecret !== null,
      disabled: user.disabledAt !== null,
    })),
  };
}

/** What an admin action on a user came to. */
export type AdminOutcome =
  | { ok: true; user: User; sessionsEnded: number }
  | { ok: false; reason: 'not_found' | 'self' | 'no_two_step' };

/** Signs out every session of a user, the admin's own included when they pick themselves. */
export async function revokeUserSessions(
  ctx: AppContext,
  admin: User,
  targetId: string,
): Promise<AdminOutcome> {
  const user = await ctx.users.findById(targetId);
  if (!user) return { ok: false, reason: 'not_found' };
  const sessionsEnded = await ctx.sessions.engine.revokeUserSessions(user.id, { by: admin.id });
  return { ok: true, user, sessionsEnded };
}

/**
 * Changes a user's role and ends all their sessions, so their next request is anonymous and the new
 * role applies from their next sign-in (S20). An admin cannot change their own role, so the last
 * admin cannot lock everyone out.
 */
export async function changeRole(
  ctx: AppContext,
  admin: User,
  targetId: string,
  role: Role,
): Promise<AdminOutcome> {
  if (targetId === admin.id) return { ok: false, reason: 'self' };
  if (!(await ctx.users.setRole(targetId, role))) return { ok: false, reason: 'not_found' };
  const user = (await ctx.users.findById(targetId))!;
  const sessionsEnded = await ctx.sessions.engine.revokeUserSessions(user.id, { by: admin.id });
  return { ok: true, user, sessionsEnded };
}

/**
 * Turns off another user's two-step sign-in (a lost authenticator app) and ends their sessions, so
 * they sign in again with the password and can set up a new one. Admins use their own account page.
 */
export async function resetTwoStep(ctx: AppContext, admin: User, targetId: string): Promise<AdminOutcome> {
  if (targetId === admin.id) return { ok: false, reason: 'self' };
  const user = await ctx.users.findById(targetId);
  if (!user) return { ok: false, reason: 'not_found' };
  if (user.totpSecret === null) return { ok: false, reason: 'no_two_step' };
  await ctx.users.disableTotp(user.id);
  const sessionsEnded = await ctx.sessions.engine.revokeUserSessions(user.id, { by: admin.id });
  return { ok: true, user, sessionsEnded };
}

/**
 * Disables an account and ends every one of its sessions (ASVS 7.4): a disabled user is signed out
 * at once, not at their next timeout, and cannot sign in again until enabled. Enabling ends
 * nothing. An admin cannot disable themselves, so the last admin cannot lock everyone out.
 */
export async function setAccountDisabled(
  ctx: AppContext,
  admin: User,
  targetId: string,
  disabled: boolean,
): Promise<AdminOutcome> {
  if (targetId === admin.id) return { ok: false, reason: 'self' };
  if (!(await ctx.users.setDisabled(targetId, disabled ? ctx.now() : null))) {
    return { ok: false, reason: 'not_found' };
  }
  const user = (await ctx.users.findById(targetId))!;
  const sessionsEnded = disabled
    ? await ctx.sessions.engine.revokeUserSessions(user.id, { by: admin.id })
    : 0;
  return { ok: true, user, sessionsEnded };
}
