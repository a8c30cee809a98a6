import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { SessionStore } from '../../packages/coatcheck/src/core/store/store.js';
import { MemoryStore } from '../../packages/coatcheck/src/stores/memory.js';
import { SqliteStore } from '../../packages/coatcheck/src/stores/sqlite.js';

export interface StoreFactory {
  name: string;
  create(): SessionStore;
  cleanup(): void;
}

/** The embedded stores every behaviour test runs on. */
export function embeddedStores(): StoreFactory[] {
  const dir = mkdtempSync(join(tmpdir(), 'coatcheck-test-'));
  let count = 0;
  return [
    { name: 'memory', create: () => new MemoryStore(), cleanup: () => {} },
    {
      name: 'sqlite',
      create: () => new SqliteStore({ path: join(dir, `s${count++}.db`) }),
      cleanup: () => rmSync(dir, { recursive: true, force: true }),
    },
  ];
}
