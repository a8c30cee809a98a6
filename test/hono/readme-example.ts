import { csrf, csrfToken, type Env, requireAuth, type SessionStore, session } from 'coatcheck/hono';
import { Hono } from 'hono';

type Data = { email: string; cart: string[] };

export function createApp(options: { store: SessionStore; secret: string; origin: string }) {
  const app = new Hono<Env<Data>>();
  // was: sessionMiddleware({ store: new CookieStore(), encryptionKey, expireAfterSeconds: 900 })
  app.use(session<Data>({ store: options.store, secret: options.secret, idleTimeoutMs: 900_000 }));
  app.use(csrf({ origins: [options.origin] }));

  app.get('/csrf', (c) => c.json({ token: csrfToken(c) }));
  app.post('/cart', async (c) => {
    const { item } = await c.req.json<{ item: string }>();
    const session = c.get('session');
    session.set('cart', [...(session.get('cart') ?? []), item]); // unchanged: get / set
    return c.json({ cart: session.get('cart') });
  });
  app.post('/login', async (c) => {
    const { email } = await c.req.json<{ email: string }>();
    const session = c.get('session');
    // was: c.set('session_key_rotation', true); session.set('email', email)
    await session.login(email, { keep: ['cart'] }); // new token, user index, authAt
    session.set('email', email);
    return c.json({ ok: true });
  });
  app.get('/me', requireAuth(), (c) => c.json({ email: c.get('session').get('email') }));
  app.post('/logout', async (c) => {
    await c.get('session').logout(); // was: session.deleteSession(); now the token is dead server-side
    return c.json({ ok: true });
  });
  return app;
}
