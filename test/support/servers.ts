/**
 * Whether a system binary is here. Outside CI a missing binary is announced loudly and the caller
 * skips; in CI (CI=true) it throws, because CI installs every server the suite needs.
 */
import { execFileSync } from 'node:child_process';
import { existsSync } from 'node:fs';

export function findBinary(name: string, candidates: string[] = []): string | null {
  for (const path of candidates) if (existsSync(path)) return path;
  try {
    return execFileSync('which', [name], { encoding: 'utf8' }).trim() || null;
  } catch {
    return null;
  }
}

export function requireBinary(name: string, candidates: string[] = []): string | null {
  const found = findBinary(name, candidates);
  if (found) return found;
  const message = `${name} is not installed: the tests that need it cannot run`;
  if (process.env.CI === 'true') throw new Error(message);
  console.warn(`\n*** SKIPPING: ${message} (install it, see README) ***\n`);
  return null;
}
