import { stringifySetCookie } from 'cookie';
import type { CookiePolicy } from '../cookies/cookie-policy.js';
import type { SessionState } from '../lifecycle/state.js';

/** What a response does with the remembered-device cookie; absent means leave it alone. */
export type RememberCookie =
  | { kind: 'set'; value: string; expiresAt: number }
  | { kind: 'clear' }
  | { kind: 'keep' };

const decisions = new WeakMap<SessionState, RememberCookie>();

/** The cookie's name: `__Host-` whenever it is Secure (it always has Path=/ and no Domain). */
export function rememberCookieName(policy: CookiePolicy, secure: boolean): string {
  return policy.isSecure(secure) ? '__Host-remember' : 'remember';
}

export function setRememberCookie(state: SessionState, decision: RememberCookie): void {
  decisions.set(state, decision);
}

/**
 * The Set-Cookie value for this response's remembered-device cookie, or none. HttpOnly, Secure by
 * the session cookie's rule, SameSite=Lax (a top-level visit from a link still signs in), Path=/;
 * Max-Age is what is left of the device's absolute lifetime, so the browser forgets it on time.
 */
export function rememberCookieHeaders(state: SessionState, policy: CookiePolicy, now: number): string[] {
  const decision = decisions.get(state);
  const { secure } = state.info;
  if (!decision || decision.kind === 'keep' || !policy.canSet(secure)) return [];
  const maxAge = decision.kind === 'set' ? Math.max(0, Math.floor((decision.expiresAt - now) / 1000)) : 0;
  return [
    stringifySetCookie(
      {
        name: rememberCookieName(policy, secure),
        value: decision.kind === 'set' ? decision.value : '',
        path: '/',
        httpOnly: true,
        secure: policy.isSecure(secure),
        sameSite: 'lax',
        maxAge,
      },
      { encode: (value: string) => value },
    ),
  ];
}
