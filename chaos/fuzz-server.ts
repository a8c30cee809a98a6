/**
 * The fuzz target, run as its own process so a crash is seen as an exit: the test app of
 * test/support/app.ts on a MemoryStore, and a second Express app with csrf() whose JSON API route
 * needs a signed-in session and its CSRF token. Prints `{"app":N,"csrf":M}` once both listen.
 */
import express from 'express';
import { csrf } from '../packages/coatcheck/src/express/csrf.js';
import { requireAuth, session } from '../packages/coatcheck/src/express/index.js';
import { MemoryStore } from '../packages/coatcheck/src/stores/memory.js';
import { SECRET, startTestApp } from '../test/support/app.js';
import { listen } from '../test/support/http.js';
import { FUZZ_ORIGIN } from './fuzz-inputs.js';

const app = await startTestApp(new MemoryStore({ maxSessions: 100_000 }), { now: Date.now });

const csrfApp = express();
csrfApp.use(
  session({
    secret: SECRET,
    store: new MemoryStore({ maxSessions: 100_000 }),
    warn: () => {},
    guessLimit: false,
  }),
);
csrfApp.use(express.json());
csrfApp.use(csrf({ origins: [FUZZ_ORIGIN] }));
csrfApp.get('/csrf', (req, res) => void res.json({ token: req.csrfToken() }));
csrfApp.post('/login', async (req, res) => {
  await req.session.login(String((req.body as { userId: unknown }).userId));
  res.json({ token: req.csrfToken() });
});
csrfApp.post('/api/transfer', requireAuth(), (_req, res) => void res.json({ ok: true }));
const csrfServer = await listen(csrfApp as never);

const port = (url: string) => Number(new URL(url).port);
process.stdout.write(`${JSON.stringify({ app: port(app.url), csrf: port(csrfServer.url) })}\n`);
process.once('SIGTERM', () => {
  void Promise.all([app.close(), csrfServer.close()]).finally(() => process.exit(0));
});
