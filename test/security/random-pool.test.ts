/**
 * Handles, secrets and CSRF masks come from a pool of CSPRNG bytes refilled 1,024 bytes at a time
 * (encoding.ts). Whatever the draw sizes, every value must be fresh: full length, never repeated,
 * never overlapping another, and uniform over the bytes.
 */
import assert from 'node:assert/strict';
import test from 'node:test';
import { randomBase64url, randomBuffer } from '../../packages/coatcheck/src/core/tokens/encoding.js';

const SIZES = [16, 32, 32, 12, 1, 31, 7];

/** About 64 KiB of draws in the sizes the library takes, across some 60 refills of the pool. */
function drawMany(): Buffer[] {
  const draws: Buffer[] = [];
  for (let i = 0; i < 4_000; i++) {
    const size = SIZES[i % SIZES.length]!;
    draws.push(i % 2 === 0 ? Buffer.from(randomBase64url(size), 'base64url') : randomBuffer(size));
  }
  return draws;
}

test('random pool: every draw has the length asked for, as canonical base64url', () => {
  for (const size of [1, 2, 3, 16, 32, 1024]) {
    const text = randomBase64url(size);
    assert.match(text, /^[A-Za-z0-9_-]+$/);
    assert.equal(Buffer.from(text, 'base64url').length, size);
    assert.equal(Buffer.from(text, 'base64url').toString('base64url'), text);
    assert.equal(randomBuffer(size).length, size);
  }
});

test('random pool: no 16-byte or longer value repeats, and no draw shares 8 bytes with another', () => {
  const draws = drawMany().filter((draw) => draw.length >= 12);
  const seen = new Set<string>();
  for (const draw of draws) {
    // Every 8-byte window of every draw: a draw handed out twice, or overlapping the next one,
    // shows up here (a chance collision of 64 bits is about 1 in 10^12 for these counts).
    for (let at = 0; at + 8 <= draw.length; at++) {
      const window = draw.toString('hex', at, at + 8);
      assert.ok(!seen.has(window), `8 bytes seen twice: ${window}`);
      seen.add(window);
    }
  }
});

test('random pool: bytes are uniform (no zeroed or repeated stretch), chi-square over 256 values', () => {
  const bytes = Buffer.concat(drawMany());
  const counts = new Array<number>(256).fill(0);
  for (const byte of bytes) counts[byte]!++;
  const expected = bytes.length / 256;
  const chiSquare = counts.reduce((sum, count) => sum + (count - expected) ** 2 / expected, 0);
  // 255 degrees of freedom: the 99.99th percentile is about 348. Zeroed bytes handed out would put
  // tens of thousands on value 0.
  assert.ok(chiSquare < 348, `chi-square ${chiSquare.toFixed(1)} over ${bytes.length} bytes`);
  assert.ok(counts[0]! < expected * 1.2, `${counts[0]} zero bytes against ${expected.toFixed(0)} expected`);
});

test('random pool: a buffer drawn is the caller’s own (later draws do not change it)', () => {
  const first = randomBuffer(32);
  const copy = Buffer.from(first);
  for (let i = 0; i < 100; i++) randomBuffer(32);
  assert.deepEqual(first, copy);
});

test('random pool: sizes outside 1 to 1,024 bytes are refused', () => {
  for (const size of [0, -1, 1.5, 1025, Number.NaN]) {
    assert.throws(() => randomBase64url(size), RangeError);
    assert.throws(() => randomBuffer(size), RangeError);
  }
});

test('random pool: processes started from one V8 startup snapshot draw different bytes', async () => {
  const { execFileSync } = await import('node:child_process');
  const { mkdtempSync, rmSync, writeFileSync } = await import('node:fs');
  const { tmpdir } = await import('node:os');
  const { join } = await import('node:path');
  const { build } = await import('esbuild');
  const dir = mkdtempSync(join(tmpdir(), 'coatcheck-snapshot-'));
  try {
    const entry = join(dir, 'entry.ts');
    // Draws while the snapshot is built, as an application that makes its session middleware (and a
    // development secret) at startup would; each process started from it prints a fresh draw.
    writeFileSync(
      entry,
      `import { startupSnapshot } from 'node:v8';
import { randomBase64url } from ${JSON.stringify(new URL('../../packages/coatcheck/src/core/tokens/encoding.ts', import.meta.url).pathname)};
randomBase64url(32);
startupSnapshot.setDeserializeMainFunction(() => console.log(randomBase64url(16)));
`,
    );
    const bundle = join(dir, 'entry.cjs');
    await build({
      entryPoints: [entry],
      bundle: true,
      platform: 'node',
      format: 'cjs',
      outfile: bundle,
      logLevel: 'silent',
    });
    const blob = join(dir, 'snapshot.blob');
    execFileSync(process.execPath, ['--snapshot-blob', blob, '--build-snapshot', bundle], {
      cwd: dir,
      stdio: 'pipe',
    });
    const draws = [1, 2, 3].map(() =>
      execFileSync(process.execPath, ['--snapshot-blob', blob], { cwd: dir, encoding: 'utf8' }).trim(),
    );
    for (const draw of draws) assert.match(draw, /^[A-Za-z0-9_-]{22}$/);
    assert.equal(new Set(draws).size, 3, `draws: ${draws.join(', ')}`);
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});
