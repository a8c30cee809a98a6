/**
 * Sessions for the timed runs, created through each server's own login route, and the cookie files
 * the wrk scripts read.
 */
import { writeFileSync } from 'node:fs';

/**
 * Every request of a run, from the harness and from wrk, carries this User-Agent, as one browser
 * would: coatcheck's device binding (S42) would otherwise see a new device on the first timed request
 * of each session and write the change.
 */
export const USER_AGENT =
  'Mozilla/5.0 (X11; Linux x86_64) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/120.0.0.0 Safari/537.36';

/** Sent where a server has no session, so every row carries a Cookie header of similar size. */
export const DUMMY_COOKIE = `bench=${'x'.repeat(120)}`;

/**
 * fetch, tried once more when the connection fails: a kept-alive socket the server closed after its
 * idle timeout can be picked for the next request.
 */
export async function send(url: string, init: RequestInit & { headers?: Record<string, string> }) {
  const withAgent = { ...init, headers: { 'user-agent': USER_AGENT, ...init.headers } };
  try {
    return await fetch(url, withAgent);
  } catch {
    return fetch(url, withAgent);
  }
}

/** `name=value` of the first Set-Cookie of a login, or null when the server sets none. */
export async function login(baseUrl: string, user: string): Promise<string | null> {
  const res = await send(`${baseUrl}/login?user=${user}`, { method: 'POST' });
  await res.arrayBuffer();
  if (res.status !== 200) throw new Error(`login answered ${res.status}`);
  const first = res.headers.getSetCookie()[0];
  return first ? first.split(';')[0]!.trim() : null;
}

/** `count` new sessions through the login route (the dummy cookie on servers without sessions). */
export async function createSessions(baseUrl: string, count: number, prefix: string): Promise<string[]> {
  const cookies: string[] = [];
  for (let start = 0; start < count; start += 16) {
    const batch = Array.from({ length: Math.min(16, count - start) }, (_, k) =>
      login(baseUrl, `${prefix}${start + k}`),
    );
    for (const cookie of await Promise.all(batch)) cookies.push(cookie ?? DUMMY_COOKIE);
  }
  return cookies;
}

/**
 * The same cookie with one signature character changed: well-formed, wrongly signed. Letters are
 * case-flipped (never a `%xx` escape), far enough from the end to change significant bits.
 */
export function forge(cookie: string): string {
  const chars = [...cookie];
  for (let i = chars.length - 3; i > cookie.indexOf('=') + 1; i--) {
    const char = chars[i]!;
    if (/[A-Za-z]/.test(char) && chars[i - 1] !== '%' && chars[i - 2] !== '%') {
      chars[i] = char === char.toLowerCase() ? char.toUpperCase() : char.toLowerCase();
      return chars.join('');
    }
  }
  return cookie;
}

export function writeCookieFile(path: string, cookies: readonly string[]): string {
  writeFileSync(path, cookies.length ? `${cookies.join('\n')}\n` : '');
  return path;
}
