/** express-session with its own MemoryStore. */
import { serveExpressSession } from './express-session-app.js';

serveExpressSession(undefined, async () => {});
