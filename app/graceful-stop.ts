import type { Server as HttpServer, IncomingMessage, ServerResponse } from 'node:http';
import type { Server as HttpsServer } from 'node:https';
import { Server as NetServer } from 'node:net';

/** Options of {@link gracefulStop}. */
export interface GracefulStopOptions {
  /** How long connections with no request in progress stay open after the stop, for requests already sent on them. @default 500 */
  idleGraceMs?: number;
  /** When every connection still open is closed, requests in progress or not. @default 10_000 */
  cutOffMs?: number;
}

/**
 * A request handler whose server stops gently: `handle` marks every response given after `stop()`
 * with `Connection: close`, so a client sends nothing more on that connection. A request sent just
 * before the stop on a kept-alive connection is answered if the server reads it within
 * `idleGraceMs`; a server too busy to read it by then still drops it.
 */
export function gracefulStop(server: HttpServer | HttpsServer, options: GracefulStopOptions = {}) {
  let stopping: Promise<void> | null = null;
  let stopped = false;
  const inProgress = new Set<ServerResponse>();
  return {
    /** Wraps a request handler: after `stop()`, each response closes its connection. */
    handle(handler: (req: IncomingMessage, res: ServerResponse) => void) {
      return (req: IncomingMessage, res: ServerResponse) => {
        if (stopped) res.setHeader('Connection', 'close');
        else {
          inProgress.add(res);
          res.once('close', () => inProgress.delete(res));
        }
        handler(req, res);
      };
    },
    /**
     * Stops accepting connections, answers the requests in progress and those that arrive on open
     * connections within `idleGraceMs`, and resolves once every connection has ended (or at
     * `cutOffMs`). `http.Server#close` would close idle-looking connections at once, among them
     * those whose request is sent but not yet read: their clients would see ECONNRESET.
     */
    stop(): Promise<void> {
      stopped = true;
      stopping ??= new Promise<void>((done) => {
        for (const res of inProgress) if (!res.headersSent) res.setHeader('Connection', 'close');
        // A response whose headers were sent before the stop keeps its connection: closed once idle.
        let sweep: NodeJS.Timeout | undefined;
        const idle = setTimeout(() => {
          server.closeIdleConnections();
          sweep = setInterval(() => server.closeIdleConnections(), 100);
        }, options.idleGraceMs ?? 500);
        const cutOff = setTimeout(() => server.closeAllConnections(), options.cutOffMs ?? 10_000);
        NetServer.prototype.close.call(server, () => {
          clearTimeout(idle);
          clearInterval(sweep);
          clearTimeout(cutOff);
          done();
        });
      });
      return stopping;
    },
  };
}
