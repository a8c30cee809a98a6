import { createServer, type IncomingMessage, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import {
  csrf,
  requireAuth,
  requireFreshAuth,
  requireRole,
  requireStepUp,
  type Session,
  session,
} from '../../packages/coatcheck/src/express/index.js';
import type {
  AdapterSetup,
  AdapterUnderTest,
  RunningAdapter,
} from '../../packages/coatcheck/src/testing/index.js';

type Request = IncomingMessage & {
  session: Session & Record<string, unknown>;
  body?: unknown;
  csrfToken(): string;
};
type Next = (error?: unknown) => void;
type Handler = (req: Request, res: ServerResponse, next: Next) => void | Promise<void>;
type Route = [method: string, pattern: RegExp, ...handlers: Handler[]];

const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));

function send(res: ServerResponse, status: number, body: unknown): void {
  res.statusCode = status;
  res.setHeader('Content-Type', 'application/json; charset=utf-8');
  res.end(JSON.stringify(body));
}

function dataOf(value: object): Record<string, unknown> {
  const { cookie: _cookie, ...data } = value as Record<string, unknown>;
  return data;
}

async function readJson(req: IncomingMessage): Promise<unknown> {
  const chunks: Buffer[] = [];
  for await (const chunk of req) chunks.push(chunk as Buffer);
  const text = Buffer.concat(chunks).toString('utf8');
  return text ? (JSON.parse(text) as unknown) : {};
}

/** Runs connect-style handlers in order; an error or a throw answers 500. */
function run(handlers: Handler[], req: Request, res: ServerResponse): void {
  const fail = (error: unknown) => {
    if (!res.headersSent) send(res, (error as { status?: number }).status ?? 500, { error: 'error' });
  };
  const step =
    (index: number): Next =>
    (error) => {
      if (error) return fail(error);
      const handler = handlers[index];
      if (!handler) return send(res, 404, { error: 'not found' });
      Promise.resolve()
        .then(() => handler(req, res, step(index + 1)))
        .catch(fail);
    };
  step(0)();
}

/** The adapter behaviour contract on bare `node:http`: the session middleware plus a tiny router. */
export const nodeHttpAdapter: AdapterUnderTest = { start: startNodeHttp };

async function startNodeHttp({ store, options }: AdapterSetup): Promise<RunningAdapter> {
  const { csrfOrigins, ...sessionOptions } = options;
  const middleware = session({ ...sessionOptions, store }) as unknown as Handler;
  const csrfCheck = csrf({ origins: csrfOrigins }) as unknown as Handler;
  const json: Handler = async (req, _res, next) => {
    req.body = req.method === 'GET' || req.method === 'DELETE' ? {} : await readJson(req);
    next();
  };
  const write = (req: Request) => {
    for (const [key, value] of Object.entries(req.body as Record<string, unknown>)) req.session[key] = value;
  };
  const query = (req: Request, name: string) => new URL(req.url ?? '/', 'http://x').searchParams.get(name);
  const auth = requireAuth() as unknown as Handler;
  const routes: Route[] = [
    [
      'GET',
      /^\/me$/,
      auth,
      (req, res) => send(res, 200, { userId: req.session.meta?.userId, data: dataOf(req.session) }),
    ],
    [
      'GET',
      /^\/peek$/,
      (req, res) => {
        const meta = req.session.meta;
        send(res, 200, {
          userId: meta?.userId ?? null,
          handle: meta?.handle ?? null,
          data: dataOf(req.session),
        });
      },
    ],
    [
      'POST',
      /^\/set$/,
      (req, res) => {
        write(req);
        send(res, 200, { data: dataOf(req.session) });
      },
    ],
    [
      'POST',
      /^\/slow$/,
      async (req, res) => {
        await sleep(Number(query(req, 'ms') ?? 0));
        write(req);
        send(res, 200, { data: dataOf(req.session) });
      },
    ],
    [
      'POST',
      /^\/login$/,
      async (req, res) => {
        const { userId } = req.body as { userId: string };
        await req.session.login(userId);
        send(res, 200, { userId });
      },
    ],
    [
      'POST',
      /^\/logout$/,
      async (req, res) => {
        await req.session.logout();
        send(res, 200, {});
      },
    ],
    [
      'POST',
      /^\/logout-all$/,
      auth,
      async (req, res) => send(res, 200, { count: await req.session.logoutEverywhere() }),
    ],
    ['GET', /^\/sessions$/, auth, async (req, res) => send(res, 200, await req.session.listSessions())],
    [
      'DELETE',
      /^\/sessions\/([^/]+)$/,
      auth,
      async (req, res) => {
        const handle = decodeURIComponent(/^\/sessions\/([^/?]+)/.exec(req.url ?? '')?.[1] ?? '');
        send(res, 200, { revoked: await req.session.revokeSession(handle) });
      },
    ],
    [
      'POST',
      /^\/regenerate$/,
      async (req, res) => {
        await req.session.regenerate({ keep: true });
        send(res, 200, {});
      },
    ],
    [
      'POST',
      /^\/step-up$/,
      auth,
      async (req, res) => {
        await req.session.stepUp(2);
        send(res, 200, {});
      },
    ],
    [
      'GET',
      /^\/fresh$/,
      requireFreshAuth({ maxAgeMs: 60_000 }) as unknown as Handler,
      (_req, res) => send(res, 200, {}),
    ],
    [
      'GET',
      /^\/stepped-up$/,
      requireStepUp({ level: 2, maxAgeMs: 60_000 }) as unknown as Handler,
      (_req, res) => send(res, 200, {}),
    ],
    ['GET', /^\/admin$/, requireRole('admin') as unknown as Handler, (_req, res) => send(res, 200, {})],
    ['GET', /^\/csrf$/, csrfCheck, (req, res) => send(res, 200, { token: req.csrfToken() })],
    ['POST', /^\/csrf-protected$/, csrfCheck, (_req, res) => send(res, 200, {})],
  ];

  const server = createServer((incoming, res) => {
    const req = incoming as Request;
    const path = (req.url ?? '/').split('?')[0]!;
    const route = routes.find(([method, pattern]) => method === req.method && pattern.test(path));
    if (!route) return send(res, 404, { error: 'not found' });
    const [, , ...handlers] = route;
    run([json, middleware, ...handlers], req, res);
    return undefined;
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  return {
    url: `http://127.0.0.1:${(server.address() as AddressInfo).port}`,
    close: () =>
      new Promise<void>((resolve) => {
        server.closeAllConnections();
        server.close(() => resolve());
      }),
  };
}
