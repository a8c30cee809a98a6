/**
 * A streaming Express handler on Redis while a scheduled rotation falls due on that very request:
 * the rotated cookie goes out with the head, changes made between chunks and before `res.end` are
 * stored in the rotated session, and parallel requests with the replaced cookie during the grace
 * period see that data. Also with a `genid` that hands out a handle already in use.
 */
import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import express from 'express';
import { session } from '../../packages/coatcheck/src/express/index.js';
import { RedisStore } from '../../packages/coatcheck/src/stores/redis.js';
import { SECRET } from '../support/app.js';
import { Client, listen, type Running } from '../support/http.js';
import { hasRedis, redisForSuite } from '../support/redis-server.js';

const ROTATION_MS = 60_000;
const GRACE_MS = 10_000;
const later = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));

for (const renewal of ['write', 'script'] as const) {
  describe(`Express streaming as rotation falls due on Redis (renewal: '${renewal}')`, {
    skip: !hasRedis && 'redis-server is not installed',
  }, () => {
    const redis = redisForSuite();
    const clock = { now: Date.now() };
    let app: Running;
    /** Handles genid hands out next, before falling back to unique ones. */
    const queued: string[] = [];
    let unique = 0;
    before(async () => {
      const now = () => clock.now;
      const server = express();
      server.use(express.json());
      server.use(
        session({
          secret: SECRET,
          store: new RedisStore({ client: redis.client, now, renewal, prefix: `sr-${renewal}:` }),
          now,
          warn: () => {},
          guessLimit: false,
          renewalIntervalMs: 1,
          rotationIntervalMs: ROTATION_MS,
          rotationGraceMs: GRACE_MS,
          genid: () => queued.shift() ?? `handle-${renewal}-${unique++}`,
        }),
      );
      server.post('/login', async (req, res) => {
        await req.session.login(String((req.body as { user: string }).user));
        req.session.notes = [];
        res.json({ ok: true });
      });
      server.get('/me', (req, res) => {
        res.json({
          user: req.session.meta?.userId ?? null,
          notes: req.session.notes ?? [],
          id: req.sessionID,
        });
      });
      server.get('/stream', async (req, res) => {
        const tag = String(req.query.tag);
        res.type('text/plain');
        for (let step = 0; step < 3; step++) {
          res.write(`${step}\n`);
          const notes = (req.session.notes as string[] | undefined) ?? [];
          notes.push(`${tag}${step}`);
          req.session.notes = notes;
          await later(5);
        }
        req.session.notes = [...(req.session.notes as string[]), `${tag}-end`];
        res.end('done\n');
      });
      app = await listen(server as never);
    });
    after(async () => app?.close());

    const me = async (client: Client) =>
      (await client.get('/me')).json() as { user: string | null; notes: string[]; id: string };

    it('changes between chunks of a rotating response land in the rotated session', async () => {
      const client = new Client(app.url);
      await client.post('/login', { user: 'ada' });
      for (let round = 0; round < 3; round++) {
        clock.now += ROTATION_MS + 1;
        const replaced = client.cookieHeader;
        const streamed = await client.get(`/stream?tag=r${round}-`);
        assert.equal(streamed.text, '0\n1\n2\ndone\n');
        assert.notEqual(
          client.cookieHeader,
          replaced,
          `round ${round}: the streamed response rotated the cookie`,
        );
        const expected = Array.from({ length: round + 1 }, (_, r) =>
          [0, 1, 2].map((s) => `r${r}-${s}`).concat(`r${r}--end`),
        ).flat();
        const seen = await me(client);
        assert.equal(seen.user, 'ada');
        assert.deepEqual(seen.notes, expected, `round ${round}: every change of the stream is stored`);
        const viaReplaced = (await new Client(app.url).get('/me', { cookie: replaced })).json() as {
          user: string | null;
          notes: string[];
        };
        assert.equal(
          viaReplaced.user,
          'ada',
          `round ${round}: the replaced cookie works in the grace period`,
        );
        assert.deepEqual(viaReplaced.notes, expected, 'and reads the same data');
        clock.now += GRACE_MS + 1;
        assert.equal((await me(client)).user, 'ada', `round ${round}: signed in after the grace period`);
      }
    });

    it("a rotation whose genid handle is taken keeps the user and never serves the other user's session", async () => {
      const ada = new Client(app.url);
      const bob = new Client(app.url);
      await ada.post('/login', { user: 'ada2' });
      await bob.post('/login', { user: 'bob2' });
      const bobHandle = (await me(bob)).id;
      clock.now += ROTATION_MS + 1;
      await bob.get('/me');
      const bobNow = (await me(bob)).id;
      assert.notEqual(bobNow, bobHandle);
      // Ada's next rotation is offered Bob's live handle first, during a streamed response.
      queued.push(bobNow);
      const streamed = await ada.get('/stream?tag=a');
      assert.equal(streamed.text, '0\n1\n2\ndone\n');
      const seenAda = await me(ada);
      assert.equal(seenAda.user, 'ada2');
      assert.notEqual(seenAda.id, bobNow);
      assert.deepEqual(seenAda.notes, ['a0', 'a1', 'a2', 'a-end']);
      const seenBob = await me(bob);
      assert.equal(seenBob.user, 'bob2');
      assert.deepEqual(seenBob.notes, [], "Ada's notes never land in Bob's session");
    });
  });
}
