/** @fastify/session with its default memory store. */
import { serveFastifySession } from './fastify-session-app.js';

await serveFastifySession(undefined, async () => {});
