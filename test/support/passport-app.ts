import express from 'express';
import passport from 'passport';
import { Strategy as LocalStrategy } from 'passport-local';
import type { SessionEvent } from '../../packages/coatcheck/src/core/events.js';
import type { SessionStore } from '../../packages/coatcheck/src/core/store/store.js';
import {
  requireAuth,
  requireFreshAuth,
  type SessionOptions,
  session,
} from '../../packages/coatcheck/src/express/index.js';
import { dataOf, SECRET } from './app.js';
import { listen, type Running } from './http.js';

interface User {
  id: string;
  username: string;
  password: string;
}

/** Passport with passport-local: user `<name>` signs in with password `<name>-pw` as `u-<name>`. */
export function localPassport(): passport.Authenticator {
  const auth = new passport.Passport();
  auth.use(
    new LocalStrategy((username, password, done) =>
      password === `${username}-pw` ? done(null, { id: `u-${username}` }) : done(null, false),
    ),
  );
  auth.serializeUser((user, done) => done(null, (user as { id: string }).id));
  auth.deserializeUser((id: string, done) => done(null, { id }));
  return auth;
}

/** A Passport 0.7 + passport-local app written as its documentation shows, on coatcheck. */
export interface PassportApp extends Running {
  events: SessionEvent[];
  /** Callbacks the app's code received, in order: each Passport and session callback pushes once. */
  calls: string[];
  /** Errors that reached the error handler. */
  errors: unknown[];
  /** Users whose `deserializeUser` answers false (deleted accounts). */
  deleted: Set<string>;
  /** Runs inside login requests after the session is loaded, before Passport; for store outages. */
  beforeLogin: (() => Promise<void>) | null;
  addUser(username: string, password: string): void;
}

/**
 * Starts the app on coatcheck with `store`, or, for a control, on another session middleware
 * (express-session itself) given as `control`.
 */
export async function startPassportApp(
  store: SessionStore | null,
  options: Partial<SessionOptions> & { control?: express.RequestHandler } = {},
): Promise<PassportApp> {
  const { control, ...sessionOptions } = options;
  const users = new Map<string, User>();
  const deleted = new Set<string>();
  const events: SessionEvent[] = [];
  const calls: string[] = [];
  const errors: unknown[] = [];
  const state: { beforeLogin: PassportApp['beforeLogin'] } = { beforeLogin: null };

  // Its own Authenticator, not the package's singleton: each test app has its own users.
  const authenticator = new passport.Passport();
  authenticator.use(
    new LocalStrategy((username, password, done) => {
      const user = users.get(username);
      if (!user || user.password !== password)
        return done(null, false, { message: 'Wrong username or password.' });
      return done(null, user);
    }),
  );
  authenticator.serializeUser((user, done) => done(null, (user as User).id));
  authenticator.deserializeUser((id: string, done) => {
    const user = [...users.values()].find((candidate) => candidate.id === id);
    done(null, user && !deleted.has(user.username) ? user : false);
  });

  const app = express();
  app.use(express.json());
  if (control) app.use(control);
  else {
    const middleware = session({
      secret: SECRET,
      ...(store ? { store } : {}),
      warn: () => {},
      guessLimit: false,
      ...sessionOptions,
    });
    middleware.on((event) => events.push(event));
    app.use(middleware);
  }
  app.use(authenticator.session());

  const hold: express.RequestHandler = (_req, _res, next) => {
    if (!state.beforeLogin) return next();
    state.beforeLogin().then(() => next(), next);
  };
  const who = (req: express.Request) => (req.user as User | undefined)?.id ?? null;

  app.post('/cart', (req, res) => {
    req.session.cart = [
      ...((req.session.cart as string[] | undefined) ?? []),
      (req.body as { item: string }).item,
    ];
    res.json({ ok: true });
  });
  // connect-ensure-login's pattern: remember the page, send the browser to the login form.
  app.get('/orders', (req, res) => {
    if (req.isAuthenticated()) return void res.json({ orders: [], user: who(req) });
    req.session.returnTo = '/orders';
    res.redirect('/login');
  });
  const form = { successReturnToOrRedirect: '/', failureRedirect: '/login', failureMessage: true };
  app.post('/login', hold, authenticator.authenticate('local', form));
  app.post('/login-keep', hold, authenticator.authenticate('local', { ...form, keepSessionInfo: true }));
  app.post('/login-callback', hold, (req, res, next) => {
    authenticator.authenticate('local', (error: unknown, user: User | false) => {
      calls.push('authenticate');
      if (error) return next(error);
      if (!user) return void res.status(401).json({ error: 'wrong' });
      req.logIn(user, (loginError) => {
        calls.push('login');
        if (loginError) return next(loginError);
        res.json({ user: who(req) });
      });
    })(req, res, next);
  });
  // "Keep me signed in" on a Passport login, as the README's remembered device is made.
  const remember: express.RequestHandler = async (req, res) => {
    await req.session.login(String(who(req)), { remember: true });
    res.json({ user: who(req) });
  };
  app.post('/login-remember', authenticator.authenticate('local'), remember);
  app.post('/logout', (req, res, next) => {
    req.logout((error) => {
      calls.push('logout');
      if (error) return next(error);
      res.redirect('/');
    });
  });
  app.post('/logout-keep', (req, res, next) => {
    req.logout({ keepSessionInfo: true }, (error) => (error ? next(error) : res.redirect('/')));
  });
  app.get('/whoami', (req, res) => {
    res.json({ user: who(req), data: dataOf(req.session), meta: req.session.meta, id: req.sessionID });
  });
  app.get('/messages', (req, res) => res.json(req.session.messages ?? []));
  app.get('/private', requireAuth(), (req, res) => res.json({ user: who(req) }));
  app.get('/account', requireFreshAuth(), (req, res) => res.json({ user: who(req) }));
  app.get('/sessions', requireAuth(), async (req, res) => res.json(await req.session.listSessions()));
  app.delete('/sessions/:handle', requireAuth(), async (req, res) => {
    res.status((await req.session.revokeSession(String(req.params.handle))) ? 204 : 404).end();
  });
  app.post('/logout-everywhere', requireAuth(), async (req, res) => {
    res.json({ count: await req.session.logoutEverywhere() });
  });
  app.use(
    (error: { status?: number; code?: string }, _req: unknown, res: express.Response, _next: unknown) => {
      errors.push(error);
      res.status(error.status ?? 500).json({ error: error.code ?? 'error' });
    },
  );

  const running = await listen(app as never);
  return {
    ...running,
    events,
    calls,
    errors,
    deleted,
    get beforeLogin() {
      return state.beforeLogin;
    },
    set beforeLogin(value) {
      state.beforeLogin = value;
    },
    addUser(username, password) {
      users.set(username, { id: `user-${username}`, username, password });
    },
  };
}
