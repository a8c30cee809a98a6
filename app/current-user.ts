import type { IncomingMessage } from 'node:http';
import type { User } from './users/repository.js';

const users = new WeakMap<IncomingMessage, User>();

/** Remembers the signed-in user for the rest of this request (set by the user loader). */
export function setCurrentUser(req: IncomingMessage, user: User): void {
  users.set(req, user);
}

/** The signed-in user of this request, or null. */
export function currentUser(req: IncomingMessage): User | null {
  return users.get(req) ?? null;
}

/** The signed-in user, for handlers behind a sign-in guard. */
export function signedInUser(req: IncomingMessage): User {
  const user = users.get(req);
  if (!user) throw new Error('signedInUser() used on a route without a sign-in guard');
  return user;
}

const unread = new WeakMap<IncomingMessage, number>();

/** Remembers the signed-in user's unread notification count for the header (set by the user loader). */
export function setUnreadCount(req: IncomingMessage, count: number): void {
  unread.set(req, count);
}

/** Unread security notifications of the signed-in user; 0 when signed out. */
export function unreadCountOf(req: IncomingMessage): number {
  return unread.get(req) ?? 0;
}
