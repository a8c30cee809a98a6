import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describeMultiInstance } from '../support/app-cluster.js';

describeMultiInstance({
  name: 'SQLite (one file, three processes)',
  skip: false,
  start: async () => {
    const dir = mkdtempSync(join(tmpdir(), 'coatcheck-sqlite-instances-'));
    return {
      env: { SQLITE_PATH: join(dir, 'sessions.db') },
      stop: async () => rmSync(dir, { recursive: true, force: true }),
    };
  },
});
