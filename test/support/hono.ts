/** Serves a Hono app with @hono/node-server on a free loopback port, as the Hono tests run it. */
import type { AddressInfo } from 'node:net';
import { serve } from '@hono/node-server';

export async function serveHono(app: { fetch: (request: Request) => Response | Promise<Response> }) {
  const server = serve({ fetch: app.fetch, port: 0, hostname: '127.0.0.1' });
  await new Promise<void>((resolve) => server.once('listening', () => resolve()));
  return {
    url: `http://127.0.0.1:${(server.address() as AddressInfo).port}`,
    close: () => void server.close(),
  };
}
