import assert from 'node:assert/strict';
import { mkdtempSync, rmSync } from 'node:fs';
import { Agent, get } from 'node:http';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { SECRET } from './harness.js';
import { startServer } from './processes.js';

/** GET on a given agent (so on its kept-alive connection), with the answer's status and Connection header. */
function getOn(agent: Agent, url: string): Promise<{ status: number; connection: string | undefined }> {
  return new Promise((done, fail) => {
    get(url, { agent }, (res) => {
      res.resume();
      res.once('end', () => done({ status: res.statusCode!, connection: res.headers.connection }));
    }).once('error', fail);
  });
}

describe('reference app stopping on SIGTERM', () => {
  let dir: string;
  before(() => {
    dir = mkdtempSync(join(tmpdir(), 'coatcheck-stop-'));
  });
  after(() => rmSync(dir, { recursive: true, force: true }));

  it('answers a request sent on an open connection after the signal with Connection: close, and refuses new connections', async () => {
    const server = startServer({ DATA_DIR: join(dir, 'keep-alive'), PORT: '0', SESSION_SECRET: SECRET });
    const agent = new Agent({ keepAlive: true, maxSockets: 1 });
    try {
      const [, url] = await server.waitFor(/coatcheck reference app on (http:\/\/127\.0\.0\.1:\d+)/, 30_000);
      assert.deepEqual(await getOn(agent, `${url}/login`), { status: 200, connection: 'keep-alive' });
      process.kill(server.process.pid!, 'SIGTERM');
      await new Promise((done) => setTimeout(done, 100));
      assert.deepEqual(await getOn(agent, `${url}/login`), { status: 200, connection: 'close' });
      await assert.rejects(getOn(new Agent(), `${url}/login`), { code: 'ECONNREFUSED' });
      const exitedAt = performance.now();
      assert.equal(await server.exited, 0);
      assert.ok(performance.now() - exitedAt < 5_000, 'exits once its connections are closed');
    } finally {
      agent.destroy();
      await server.stop();
    }
  });
});
