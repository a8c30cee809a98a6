/**
 * A Socket.IO 4 app sharing one coatcheck session with Express, set up as socket.io's
 * "use with express-session" and "use with Passport" guides do: `io.engine.use(session)`, then
 * `passport.session()` on the handshake only, then an `io.use` auth check.
 */
import { randomUUID } from 'node:crypto';
import { createServer, type IncomingMessage } from 'node:http';
import type { AddressInfo } from 'node:net';
import express from 'express';
import passport from 'passport';
import { Strategy as LocalStrategy } from 'passport-local';
import { Server } from 'socket.io';
import { io as connect, type Socket } from 'socket.io-client';
import type { SessionEvent } from '../../packages/coatcheck/src/core/events.js';
import type { SessionStore } from '../../packages/coatcheck/src/core/store/store.js';
import { endedSessionsOf, session, type TypedSession } from '../../packages/coatcheck/src/express/index.js';

export const SECRET = 'test-secret-that-is-long-enough-0123456789';

interface User {
  id: string;
  username: string;
}
const USERS: Record<string, User & { password: string }> = {
  alice: { id: 'u-alice', username: 'alice', password: 'alice-password' },
  bob: { id: 'u-bob', username: 'bob', password: 'bob-password' },
};
const userById = (id: string): User | undefined => {
  const found = Object.values(USERS).find((user) => user.id === id);
  return found && { id: found.id, username: found.username };
};

/** The handshake request as the session middleware and Passport leave it. */
export type SessionRequest = IncomingMessage & {
  session: TypedSession;
  sessionID: string;
  user?: User;
  _query: Record<string, string | undefined>;
};
type Next = (error?: unknown) => void;
type Middleware = (req: SessionRequest, res: unknown, next: Next) => void;

/** The application's data in a session: its own keys, without express-session's enumerable `cookie`. */
function dataOf(current: TypedSession): Record<string, unknown> {
  const { cookie: _cookie, ...data } = current as unknown as Record<string, unknown>;
  return data;
}

/** socket.io's Passport guide: Passport runs on the handshake request only, not on every poll. */
const onlyForHandshake =
  (middleware: Middleware): Middleware =>
  (req, res, next) =>
    req._query.sid === undefined ? middleware(req, res, next) : next();

export interface SocketApp {
  url: string;
  io: Server;
  events: SessionEvent[];
  store: SessionStore;
  close(): Promise<void>;
}

export interface SocketAppOptions {
  /** An engine middleware that gives each new visitor an id in the session on its handshake. */
  visitorId?: boolean;
  storeTimeoutMs?: number;
  /** The session clock (idle and absolute timeouts). */
  now?: () => number;
}

export async function startSocketApp(
  store: SessionStore,
  options: SocketAppOptions = {},
): Promise<SocketApp> {
  const middleware = session({
    secret: SECRET,
    store,
    warn: () => {},
    guessLimit: false,
    ...(options.storeTimeoutMs === undefined ? {} : { storeTimeoutMs: options.storeTimeoutMs }),
    ...(options.now ? { now: options.now } : {}),
  });
  const events: SessionEvent[] = [];
  middleware.on((event) => events.push(event));

  const auth = new passport.Passport();
  auth.use(
    new LocalStrategy((username, password, done) => {
      const found = USERS[username];
      if (found?.password !== password) return done(null, false);
      done(null, { id: found.id, username: found.username });
    }),
  );
  auth.serializeUser((user, done) => done(null, (user as User).id));
  auth.deserializeUser((id: string, done) => done(null, userById(id) ?? false));

  const app = express();
  app.use(express.json());
  app.use(middleware);
  app.use(auth.session());
  // Passport's login: coatcheck reads `session.passport.user` as the signed-in user (userIdOf), so
  // device lists and sign-out everywhere work with no call of its own.
  app.post('/login', auth.authenticate('local'), (req, res) => {
    res.json({ handle: req.sessionID });
  });
  app.get('/me', (req, res) => {
    res.json({ user: req.user ?? null, handle: req.session.meta?.handle ?? null, data: dataOf(req.session) });
  });
  app.post('/logout', async (req, res) => {
    await req.session.logout();
    res.json({ ok: true });
  });
  app.delete('/sessions/:handle', async (req, res) => {
    res.status((await req.session.revokeSession(String(req.params.handle))) ? 204 : 404).end();
  });
  app.post('/logout-all', async (req, res) => {
    res.json({ count: await req.session.logoutEverywhere() });
  });

  const server = createServer(app);
  const io = new Server(server);
  io.engine.use(middleware);
  io.engine.use(onlyForHandshake(auth.session() as Middleware));
  if (options.visitorId) {
    io.engine.use(
      onlyForHandshake((req, _res, next) => {
        req.session.visitorId ??= randomUUID();
        next();
      }),
    );
  }
  io.use((socket, next) => {
    const req = socket.request as SessionRequest;
    if (req.user && req.session.meta?.userId) next();
    else next(new Error('not signed in'));
  });

  // Every socket lives in its session's room and its user's room; a session that ends anywhere
  // closes its sockets, and the user's other sockets hear about it.
  middleware.on((event) => {
    const ended = endedSessionsOf(event);
    if (!ended) return;
    io.in(ended.handles.map((handle) => `session:${handle}`)).disconnectSockets(true);
    if (ended.userId) io.to(`user:${ended.userId}`).emit('sessions-changed', { reason: ended.reason });
  });

  io.on('connection', (socket) => {
    const req = socket.request as SessionRequest;
    const meta = req.session.meta!;
    void socket.join([`session:${meta.handle}`, `user:${meta.userId}`]);
    socket.on('whoami', (ack: (answer: unknown) => void) => {
      ack({ user: req.user ?? null, handle: meta.handle, data: dataOf(req.session) });
    });
    // After a reload or logout the request holds a new Session object: always read req.session anew.
    const settle = (ack: (answer: unknown) => void, work: Promise<void> | undefined) => {
      Promise.resolve(work).then(
        () => ack({ ok: true, data: dataOf(req.session) }),
        (error: { code?: string; message?: string }) =>
          ack({ ok: false, error: error.code ?? error.message, data: dataOf(req.session) }),
      );
    };
    socket.on('reload', (ack: (answer: unknown) => void) => settle(ack, req.session.reload()));
    socket.on('save', (patch: Record<string, unknown>, ack: (answer: unknown) => void) => {
      Object.assign(req.session, patch);
      settle(ack, req.session.save());
    });
  });

  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.address() as AddressInfo;
  return {
    url: `http://127.0.0.1:${port}`,
    io,
    events,
    store,
    close: async () => {
      io.disconnectSockets(true);
      server.closeAllConnections();
      await new Promise<void>((resolve) => io.close(() => resolve()));
    },
  };
}

export type Transports = ('polling' | 'websocket')[];

/** The browser's user agent: the same on its page requests and its socket (device binding, S42). */
export const USER_AGENT = 'Mozilla/5.0 (X11; Linux x86_64; rv:140.0) Gecko/20100101 Firefox/140.0';

/** A Socket.IO client sending the given cookie header, as a browser would, on every request. */
export function openSocket(
  url: string,
  cookie: string,
  transports: Transports,
  userAgent: string = USER_AGENT,
): Socket {
  return connect(url, {
    forceNew: true,
    reconnection: false,
    timeout: 3_000,
    transports,
    extraHeaders: { 'user-agent': userAgent, ...(cookie ? { cookie } : {}) },
  });
}

/** Resolves on `connect`; rejects with the connect_error. */
export function connected(socket: Socket): Promise<Socket> {
  return new Promise((resolve, reject) => {
    socket.once('connect', () => resolve(socket));
    socket.once('connect_error', reject);
  });
}

/**
 * Resolves once connected and on its final transport: a polling client that has not finished its
 * upgrade yet leaves engine.io holding its closed polling transport for 30 s.
 */
export async function settled(socket: Socket): Promise<Socket> {
  await connected(socket);
  if (socket.io.engine.transport.name !== 'websocket') {
    await new Promise((resolve) => socket.io.engine.once('upgrade', resolve));
  }
  return socket;
}

/** Resolves with the disconnect reason; rejects if none comes within `ms`. */
export function disconnected(socket: Socket, ms = 2_000): Promise<string> {
  return new Promise((resolve, reject) => {
    if (socket.disconnected) return resolve('already disconnected');
    const timer = setTimeout(() => reject(new Error('the socket was not disconnected')), ms);
    socket.once('disconnect', (reason) => {
      clearTimeout(timer);
      resolve(reason);
    });
  });
}

/** Emits with an acknowledgement and resolves with its answer. */
export function ask<T>(socket: Socket, event: string, ...args: unknown[]): Promise<T> {
  return socket.timeout(2_000).emitWithAck(event, ...args) as Promise<T>;
}
