import type { SessionEngine } from '../engine.js';
import type { ResolvedOptions } from '../options.js';
import { parseData, type SessionRecord } from '../store/record.js';
import { dataRead } from './request-state.js';
import type { SessionState } from './state.js';

/**
 * Reads who the application's session data says is signed in: a user id, or null for nobody. It
 * must not change the data. Any result other than a non-empty string counts as nobody.
 */
export type UserIdOf = (data: Readonly<Record<string, unknown>>) => string | null;

/**
 * Passport's shape (`req.session.passport.user`, written by `req.login` through `serializeUser`):
 * the user when it is a non-empty string or a finite number, as a string. Passport itself treats
 * `''` as nobody (strategies/session.js: `if (su || su === 0)`).
 */
export function passportUserId(data: Readonly<Record<string, unknown>>): string | null {
  const passport = data.passport;
  if (passport === null || typeof passport !== 'object') return null;
  const user = (passport as Record<string, unknown>).user;
  if (typeof user === 'string') return user.length > 0 ? user : null;
  if (typeof user === 'number' && Number.isFinite(user)) return String(user);
  return null;
}

/**
 * `keep` for a `login()` of the user the data already names under the default `userIdOf`
 * (Passport's `req.login`, then `req.session.login(user.id, { remember: true })`): `passport` is
 * kept too, or the login would drop Passport's user and the next write would end the sign-in.
 */
export function keepPassportUser(
  userIdOf: UserIdOf,
  data: Readonly<Record<string, unknown>>,
  userId: string,
  keep: boolean | readonly string[],
): boolean | readonly string[] {
  if (keep === true || userIdOf !== passportUserId || passportUserId(data) !== userId) return keep;
  return [...(keep === false ? [] : keep), 'passport'];
}

/**
 * The data a session started for `userId` without the application (a remembered device) holds:
 * under the default `userIdOf`, Passport's `passport.user`, so `req.user` is that user as it is
 * after `req.login`; under another `userIdOf`, nothing.
 */
export function startingDataFor(userIdOf: UserIdOf, userId: string): string {
  return userIdOf === passportUserId ? JSON.stringify({ passport: { user: userId } }) : '{}';
}

/**
 * How the record must change for the data's user to hold: a login of that user, the end of the
 * sign-in the data stopped naming, or nothing.
 */
export type IdentityChange =
  | {
      /** The data now names `userId`: sign it in (with rotation, S19). */
      kind: 'login';
      /** The user the data names. */
      userId: string;
    }
  | {
      /** The data stopped naming `userId`: end that sign-in. */
      kind: 'logout';
      /** The user the record was signed in as. */
      userId: string;
    }
  | null;

function named(userIdOf: UserIdOf, data: Readonly<Record<string, unknown>>): string | null {
  const userId = userIdOf(data);
  return typeof userId === 'string' && userId.length > 0 ? userId : null;
}

// One entry: the stored text is re-read only when it changed since the last question.
let lastStored: { userIdOf: UserIdOf; text: string; userId: string | null } | null = null;

function namedInStored(userIdOf: UserIdOf, text: string): string | null {
  if (lastStored?.userIdOf !== userIdOf || lastStored.text !== text) {
    lastStored = { userIdOf, text, userId: named(userIdOf, parseData(text)) };
  }
  return lastStored.userId;
}

/**
 * Compares the user the data names with the record's:
 * - the data names a user other than the record's (or the record is anonymous or not stored):
 *   that user logs in, unless the record has a user and the data as last stored already named
 *   this one: `login(other, { keep: true })` moved the sign-in away from the data's user, and only a
 *   request that changes whom the data names moves it again;
 * - the data names nobody, the record has a user, and the data as last stored named that same
 *   user: the data stopped naming them (Passport's logout, a deserializer returning false), so the
 *   sign-in ends;
 * - otherwise nothing: a user signed in by `login()` whose data never named anyone stays signed in.
 */
export function identityChange(
  userIdOf: UserIdOf,
  record: Pick<SessionRecord, 'userId'> | null,
  data: Readonly<Record<string, unknown>>,
  storedText: string,
): IdentityChange {
  const current = record?.userId ?? null;
  const userId = named(userIdOf, data);
  if (userId !== null) {
    if (userId === current) return null;
    if (current !== null && namedInStored(userIdOf, storedText) === userId) return null;
    return { kind: 'login', userId };
  }
  if (current !== null && namedInStored(userIdOf, storedText) === current) {
    return { kind: 'logout', userId: current };
  }
  return null;
}

/**
 * The hook `commit` runs first: makes the record agree with the user the data names, so a login
 * done by another library (Passport) is a coatcheck login — user index, `authAt`, `aal` 1, the
 * session limit, device binding, `auth.login.success` — and its logout is a coatcheck logout.
 */
export function createIdentitySync(context: {
  options: Pick<ResolvedOptions, 'userIdOf'>;
  login: SessionEngine['login'];
  logout: SessionEngine['logout'];
}): (state: SessionState) => Promise<void> {
  const { options, login, logout } = context;
  return async (state) => {
    // Data the request never read is the stored text, which named the record's user when written.
    if (!dataRead(state)) return;
    const change = identityChange(options.userIdOf, state.record, state.data, state.dataText);
    if (!change) return;
    if (change.kind === 'login') {
      // The data is already what the application wants kept: Passport regenerated before writing it.
      await login(state, change.userId, { keep: true });
      return;
    }
    // The signed-in record ends (its token dies, S27); what the data still holds is the
    // application's, and the rest of the commit stores it as a new anonymous session.
    const data = state.data;
    await logout(state);
    state.data = data;
  };
}
