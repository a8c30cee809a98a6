import { createDummyHash, hashPassword, verifyPassword } from './passwords.js';
import type { LoginThrottle } from './throttle/login-throttle.js';
import { matchTotpStep } from './totp.js';
import type { User, UserRepository } from './users/repository.js';

/** The outcome of a sign-in: one generic failure whatever was wrong (email or password). */
export type SignInResult =
  | { ok: true; user: User }
  | { ok: false; reason: 'invalid' }
  | { ok: false; reason: 'throttled'; retryAfterMs: number };

/** The outcome of a registration: the same whether or not the email was already registered. */
export type RegisterResult = { ok: true } | { ok: false; reason: 'throttled'; retryAfterMs: number };

/** Registration, sign-in, re-authentication and password change over the user store. */
export interface Accounts {
  signIn(input: { email: string; password: string; ip: string }): Promise<SignInResult>;
  register(input: { email: string; password: string; ip: string }): Promise<RegisterResult>;
  /** Re-authentication of a signed-in user: same throttle and same generic failure as sign-in. */
  confirmPassword(input: { user: User; password: string; ip: string }): Promise<SignInResult>;
  changePassword(user: User, password: string): Promise<void>;
  /**
   * Checks an authenticator code of a user with TOTP (sign-in, step-up): throttled like passwords
   * but on the user's own code counter, which a right password never clears; a code whose time-step
   * was already accepted is refused like a wrong one (S41).
   */
  confirmTotp(input: { user: User; code: string; ip: string; now: number }): Promise<SignInResult>;
}

/**
 * Builds the account operations. Every path does one argon2 hash or verify, known email or not,
 * so neither the answer nor its timing says whether an account exists.
 */
export async function createAccounts(users: UserRepository, throttle: LoginThrottle): Promise<Accounts> {
  const dummyHash = await createDummyHash();

  async function check(
    email: string,
    password: string,
    ip: string,
    user: User | null,
  ): Promise<SignInResult> {
    const decision = await throttle.beginPassword({ email, ip });
    if (decision.limited) return { ok: false, reason: 'throttled', retryAfterMs: decision.retryAfterMs };
    const matches = await verifyPassword(user?.passwordHash ?? dummyHash, password);
    // A disabled account gets the same answer as a wrong password: nothing to probe.
    if (!user || !matches || user.disabledAt !== null) return { ok: false, reason: 'invalid' };
    await decision.attempt.succeeded();
    return { ok: true, user };
  }

  return {
    async signIn({ email, password, ip }) {
      return check(email, password, ip, await users.findByEmail(email));
    },

    confirmPassword({ user, password, ip }) {
      return check(user.email, password, ip, user);
    },

    async register({ email, password, ip }) {
      const decision = await throttle.hitRegistration(ip);
      if (decision.limited) return { ok: false, reason: 'throttled', retryAfterMs: decision.retryAfterMs };
      // Hashed before looking the email up: a taken address costs the same as a free one.
      const passwordHash = await hashPassword(password);
      await users.create({ email, passwordHash, role: 'user' });
      return { ok: true };
    },

    async confirmTotp({ user, code, ip, now }) {
      const decision = await throttle.beginCode({ userId: user.id, ip });
      if (decision.limited) return { ok: false, reason: 'throttled', retryAfterMs: decision.retryAfterMs };
      const step = user.totpSecret ? matchTotpStep(user.totpSecret, code, now) : null;
      // The conditional UPDATE decides: of two requests carrying one code, exactly one passes.
      if (step === null || !(await users.acceptTotpStep(user.id, step)))
        return { ok: false, reason: 'invalid' };
      await decision.attempt.succeeded();
      return { ok: true, user };
    },

    async changePassword(user, password) {
      await users.setPasswordHash(user.id, await hashPassword(password));
    },
  };
}
