import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import pg from 'pg';
import { findPostgres, startPostgres } from '../support/postgres-server.js';

const dataDirectory = async (connectionString: string) => {
  const client = new pg.Client({ connectionString });
  await client.connect();
  try {
    return (await client.query<{ data_directory: string }>('SHOW data_directory')).rows[0]!.data_directory;
  } finally {
    await client.end();
  }
};

/**
 * The suite's PostgreSQL launcher: the port it picked may be taken by a parallel test process
 * before its server binds it. That server exits, and the launcher must neither hand out the other
 * process's server (trust authentication answers anyone) nor fail: it starts again on a free port.
 */
describe('test postgres launcher', { skip: !findPostgres() && 'postgres is not installed' }, () => {
  it('a port taken before the bind moves the server to a free port, and never hands out the other server', async () => {
    const first = await startPostgres();
    try {
      const second = await startPostgres({ port: first.port });
      try {
        assert.notEqual(second.port, first.port);
        const [mine, theirs] = await Promise.all([
          dataDirectory(second.connectionString),
          dataDirectory(first.connectionString),
        ]);
        assert.notEqual(mine, theirs);
      } finally {
        await second.stop();
      }
      assert.ok((await dataDirectory(first.connectionString)).length > 0, 'the first server is untouched');
    } finally {
      await first.stop();
    }
  });
});
