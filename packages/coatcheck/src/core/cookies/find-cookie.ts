/** Upper bound on the Cookie header bytes we scan; larger headers are read as carrying no session. */
export const MAX_COOKIE_HEADER_LENGTH = 8192;

/** What {@link findCookie} found: no cookie, exactly one value, or a duplicated name (S18, read as none). */
export type CookieLookup =
  | {
      /** No cookie of that name (or a header too long to scan). */
      kind: 'none';
    }
  | {
      /** Exactly one cookie of that name. */
      kind: 'one';
      /** Its raw value, not decoded. */
      value: string;
    }
  | {
      /** The name occurs twice or more: read as no session (S18). */
      kind: 'duplicate';
    };

/**
 * Finds the cookie with exactly this name. RFC 6265bis §4.2.2: order must not decide between two
 * cookies of one name (cookie tossing), so two exact-name occurrences mean no session (S18).
 * Look-alike names (`__host-id`, `%5F%5FHost-id`, `=__Host-id`, `__Host-id `) never match.
 */
export function findCookie(header: string | undefined, name: string): CookieLookup {
  if (!header || header.length > MAX_COOKIE_HEADER_LENGTH) return { kind: 'none' };
  let found: string | undefined;
  let start = 0;
  while (start < header.length) {
    let end = header.indexOf(';', start);
    if (end === -1) end = header.length;
    const eq = header.indexOf('=', start);
    if (eq !== -1 && eq < end) {
      let nameStart = start;
      while (header.charCodeAt(nameStart) === 32 || header.charCodeAt(nameStart) === 9) nameStart++;
      if (eq - nameStart === name.length && header.startsWith(name, nameStart)) {
        if (found !== undefined) return { kind: 'duplicate' };
        let value = header.slice(eq + 1, end).trim();
        if (value.length >= 2 && value.startsWith('"') && value.endsWith('"')) value = value.slice(1, -1);
        found = value;
      }
    }
    start = end + 1;
  }
  return found === undefined ? { kind: 'none' } : { kind: 'one', value: found };
}
