import type { IncomingMessage, ServerResponse } from 'node:http';
import type { TLSSocket } from 'node:tls';
import type { DbscResponse, DeviceBoundSessions } from './index.js';
import type { DbscRequest } from './protocol.js';

/** How an adapter on node:http reads what the proxy in front of it may change. */
export interface NodeDbscOptions {
  /** Whether the request came over HTTPS. @default whether the socket is TLS */
  secure?: boolean;
  /** The client's address. @default the socket's remote address */
  ip?: string | undefined;
  /** The path as the client asked for it (before a mount point stripped it). @default req.url's path */
  path?: string;
}

/** A node:http request as the DBSC protocol reads it. */
export function dbscRequestOf(req: IncomingMessage, options: NodeDbscOptions = {}): DbscRequest {
  return {
    method: req.method ?? 'GET',
    path: options.path ?? (req.url ?? '/').split('?', 1)[0] ?? '/',
    header: (name) => {
      const value = req.headers[name];
      return Array.isArray(value) ? value.join(', ') : value;
    },
    secure: options.secure ?? Boolean((req.socket as TLSSocket).encrypted),
    ip: 'ip' in options ? options.ip : req.socket.remoteAddress,
    request: req,
  };
}

/** Writes a DBSC answer on a node:http response. */
export function sendDbscResponse(res: ServerResponse, answer: DbscResponse): void {
  const cookies = answer.headers.filter(([name]) => name === 'set-cookie').map(([, value]) => value);
  for (const [name, value] of answer.headers) if (name !== 'set-cookie') res.setHeader(name, value);
  if (cookies.length > 0) res.setHeader('set-cookie', cookies);
  res.statusCode = answer.status;
  res.end(answer.body ?? undefined);
}

/**
 * Serves the DBSC registration and refresh routes on bare node:http: true when it answered the
 * request, false when the request is for something else.
 *
 * @example
 * createServer(async (req, res) => {
 *   if (await serveDbsc(dbsc, req, res)) return;
 *   // ... the application
 * });
 */
export async function serveDbsc(
  dbsc: DeviceBoundSessions,
  req: IncomingMessage,
  res: ServerResponse,
  options: NodeDbscOptions = {},
): Promise<boolean> {
  const answer = await dbsc.handle(dbscRequestOf(req, options));
  if (!answer) return false;
  sendDbscResponse(res, answer);
  return true;
}
