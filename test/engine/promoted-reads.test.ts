import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import { describe, it } from 'node:test';
import { promisify } from 'node:util';

const run = promisify(execFile);

// With the store calls' bookkeeping in a Set, 64,000 reads grew the old generation by 5.4–6.1 MB
// (each read's call was promoted behind the one in flight); with none promoted, by 30–95 KB.
const LIMIT = 1_000_000;

async function oldGenerationGrowth(stored: number) {
  const { stdout } = await run(
    process.execPath,
    ['--expose-gc', '--import', 'tsx', 'test/support/promoted-reads.ts'],
    { timeout: 120_000, env: { ...process.env, STORED: String(stored) } },
  );
  return JSON.parse(stdout.trim().split('\n').at(-1)!) as { grownBytes: number; reads: number };
}

describe('garbage of authenticated reads', () => {
  it('dies young: with a store call in flight across collections, reads grow the old generation by under 1 MB', async (t) => {
    const { grownBytes, reads } = await oldGenerationGrowth(0);
    t.diagnostic(`old generation grew by ${grownBytes} bytes over ${reads} reads`);
    assert.ok(grownBytes < LIMIT, `${reads} reads grew the old generation by ${grownBytes} bytes`);
  });

  // When MemoryStore's kept copies and its reads' copies came from one object literal, storing
  // 20,000 sessions made V8 allocate every read's copy in the old generation: 64,000 reads grew it
  // by about 20 MB.
  it('dies young after the memory store has kept 20,000 sessions', async (t) => {
    const { grownBytes, reads } = await oldGenerationGrowth(20_000);
    t.diagnostic(`old generation grew by ${grownBytes} bytes over ${reads} reads`);
    assert.ok(grownBytes < LIMIT, `${reads} reads grew the old generation by ${grownBytes} bytes`);
  });
});
