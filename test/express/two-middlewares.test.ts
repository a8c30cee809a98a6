/**
 * Two session middlewares on one request, each with its own cookie: an application-wide session,
 * and under /admin a router that unsets `req.session` and mounts a second one. Each middleware
 * stores only the session it handed out, and each response keeps the cookies of both. The same
 * journey runs on express-session as the control: it keeps the admin sign-in too, but stores the
 * admin session under the application's cookie as well, which coatcheck must not do.
 */
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import express, { type RequestHandler } from 'express';
import expressSession from 'express-session';
import { session } from '../../packages/coatcheck/src/express/index.js';
import { MemoryStore } from '../../packages/coatcheck/src/stores/memory.js';
import { SECRET } from '../support/app.js';
import { Client, listen } from '../support/http.js';

type Kind = 'coatcheck' | 'express-session';
type Data = Record<string, unknown> & {
  login?: (user: string) => Promise<void>;
  regenerate?: (done: (error?: unknown) => void) => void;
};

type Unset = 'keep' | 'destroy';

function layer(kind: Kind, name: string, unset: Unset = 'keep'): RequestHandler {
  if (kind === 'coatcheck')
    return session({ name, unset, secret: SECRET, store: new MemoryStore(), warn: () => {} }) as never;
  return expressSession({ name, unset, secret: SECRET, resave: false, saveUninitialized: false }) as never;
}

/** Signs `user` in the way each library does it: coatcheck's login, express-session's regenerate. */
async function signIn(kind: Kind, req: express.Request, user: string, note: string): Promise<void> {
  const data = req.session as unknown as Data;
  if (kind === 'coatcheck') await data.login!(user);
  else await new Promise<void>((done, fail) => data.regenerate!((error) => (error ? fail(error) : done())));
  const fresh = req.session as unknown as Data;
  fresh.user = user;
  fresh.note = note;
}

async function start(kind: Kind, unset: Unset = 'keep') {
  const app = express();
  app.use(layer(kind, 'app', unset));
  const read = (req: express.Request) => {
    const data = req.session as unknown as Data;
    return { user: data.user ?? null, note: data.note ?? null };
  };
  app.post('/login', async (req, res) => {
    await signIn(kind, req, 'alice', 'app');
    res.json({ ok: true });
  });
  app.get('/me', (req, res) => void res.json(read(req)));
  const admin = express.Router();
  admin.use((req, _res, next) => {
    // Hands the request to the admin session, keeping a reference to the application's.
    (req as { appSession?: unknown }).appSession = req.session;
    delete (req as { session?: unknown }).session;
    next();
  });
  admin.use(layer(kind, 'admin'));
  admin.post('/login', async (req, res) => {
    await signIn(kind, req, 'root', 'admin');
    res.json({ ok: true });
  });
  admin.get('/me', (req, res) => void res.json(read(req)));
  admin.post('/visit', (req, res) => {
    // A change to the application's session through the kept reference.
    ((req as { appSession?: Data }).appSession as Data).visitedAdmin = true;
    res.json({ ok: true });
  });
  app.get(
    '/visited',
    (req, res) => void res.json({ visitedAdmin: (req.session as unknown as Data).visitedAdmin ?? null }),
  );
  app.use('/admin', admin);
  return listen(app);
}

const cookieNames = (setCookies: string[]) => setCookies.map((line) => line.split('=')[0]).sort();

/** Signs root in to the admin session; its cookie is set and its next request reads root. */
async function adminLogin(client: Client) {
  const login = await client.post('/admin/login');
  assert.equal(login.status, 200);
  assert.ok(cookieNames(login.setCookies).includes('admin'), `Set-Cookie: ${login.setCookies.join(' | ')}`);
  assert.deepEqual((await client.get('/admin/me')).json(), { user: 'root', note: 'admin' });
  return login;
}

for (const kind of ['coatcheck', 'express-session'] as const) {
  describe(`two session middlewares with their own cookies on one request (${kind})`, () => {
    it('a sign-in to the second session is kept (and, on coatcheck, the first session keeps its own user)', async () => {
      const server = await start(kind);
      try {
        const client = new Client(server.url);
        assert.equal((await client.post('/login')).status, 200);
        const appCookie = client.jar.get('app');
        assert.ok(appCookie, 'the application session cookie is set');
        const login = await adminLogin(client);
        if (kind === 'coatcheck') {
          // express-session saves the admin session under the application's cookie as well, which
          // signs the application session out.
          assert.deepEqual((await client.get('/me')).json(), { user: 'alice', note: 'app' });
          assert.deepEqual(cookieNames(login.setCookies), ['admin'], 'the application cookie is left alone');
          assert.equal(client.jar.get('app'), appCookie);
        }
      } finally {
        await server.close();
      }
    });

    it("unset: 'destroy' on the first session: a request handed to the second leaves the first alone", async () => {
      const server = await start(kind, 'destroy');
      try {
        const client = new Client(server.url);
        await client.post('/login');
        const login = await adminLogin(client);
        assert.equal(login.headers.get('clear-site-data'), null);
        if (kind === 'coatcheck') {
          // express-session stores the admin session under the application's cookie (see above).
          assert.deepEqual((await client.get('/me')).json(), { user: 'alice', note: 'app' });
          assert.deepEqual(cookieNames(login.setCookies), ['admin']);
        }
      } finally {
        await server.close();
      }
    });

    if (kind === 'coatcheck') {
      // express-session stores the admin session under the application's cookie, which loses it.
      it('a change to the first session through a reference the application kept is stored', async () => {
        const server = await start(kind);
        try {
          const client = new Client(server.url);
          await client.post('/login');
          await client.post('/admin/visit');
          assert.deepEqual((await client.get('/visited')).json(), { visitedAdmin: true });
          assert.deepEqual((await client.get('/me')).json(), { user: 'alice', note: 'app' });
        } finally {
          await server.close();
        }
      });
    }

    it('a sign-in to the second session without a first session', async () => {
      const server = await start(kind);
      try {
        const client = new Client(server.url);
        const login = await adminLogin(client);
        if (kind === 'coatcheck') {
          // express-session saves the admin session into the application's store too, so its
          // application session reads as root here.
          assert.deepEqual(cookieNames(login.setCookies), ['admin']);
          assert.deepEqual((await client.get('/me')).json(), { user: null, note: null });
        }
      } finally {
        await server.close();
      }
    });
  });
}
