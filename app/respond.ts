import { pathMatcher } from 'coatcheck';
import type { Request, Response } from 'express';

/** The error body of every JSON API failure. */
export interface ApiErrorBody {
  error: string;
  message: string;
}

const isUnderApi = pathMatcher(['/api']);

/** Whether the request belongs to the JSON API, matched as Express routes it (`/API/x` too). */
export function isApi(req: Pick<Request, 'url'> & Partial<Pick<Request, 'originalUrl'>>): boolean {
  return isUnderApi(req.originalUrl ?? req.url ?? '/');
}

/** Answers a JSON API request with `{ error, message }`, plus `extra` facts (e.g. a required `level`). */
export function apiError(
  res: Response,
  status: number,
  error: string,
  message: string,
  extra: Record<string, unknown> = {},
): void {
  res
    .status(status)
    .type('json')
    .send(JSON.stringify({ ...extra, error, message } satisfies ApiErrorBody));
}

/** Seconds for a Retry-After header, rounded up. */
export function retryAfterSeconds(ms: number): number {
  return Math.max(1, Math.ceil(ms / 1000));
}

/** "3 minutes", "1 hour": how long until the throttle lifts, for people. */
export function describeWait(ms: number): string {
  const minutes = Math.ceil(ms / 60_000);
  if (minutes <= 1) return 'a minute';
  if (minutes < 60) return `${minutes} minutes`;
  const hours = Math.ceil(minutes / 60);
  return hours === 1 ? 'an hour' : `${hours} hours`;
}
