import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import { mkdirSync, mkdtempSync, rmSync, symlinkSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { it } from 'node:test';
import { promisify } from 'node:util';

const root = resolve(import.meta.dirname, '../..');

const consumer = `
import express from 'express';
import session from 'coatcheck/express';

declare module 'coatcheck/express' {
  interface SessionData {
    cart: string[];
  }
}

const app = express();
app.use(session({ secret: 'x'.repeat(40) }));
app.get('/', async (req, res) => {
  req.session.cart = ['apple'];
  const first: string | undefined = req.session.cart?.[0];
  // @ts-expect-error: cart holds strings
  req.session.cart = [1];
  // @ts-expect-error: keys that were not declared are refused
  req.session.unknownKey = true;
  await req.session.save();
  res.json({ first, id: req.sessionID, user: req.session.meta?.userId });
});
`;

it('an application types its session data by declaration merging on coatcheck/express', async () => {
  const dir = mkdtempSync(join(tmpdir(), 'coatcheck-types-'));
  try {
    mkdirSync(join(dir, 'node_modules'));
    symlinkSync(join(root, 'packages', 'coatcheck'), join(dir, 'node_modules', 'coatcheck'));
    symlinkSync(join(root, 'node_modules', 'express'), join(dir, 'node_modules', 'express'));
    symlinkSync(join(root, 'node_modules', '@types'), join(dir, 'node_modules', '@types'));
    writeFileSync(join(dir, 'package.json'), '{ "type": "module" }');
    writeFileSync(join(dir, 'index.ts'), consumer);
    writeFileSync(
      join(dir, 'tsconfig.json'),
      JSON.stringify({
        compilerOptions: {
          strict: true,
          module: 'NodeNext',
          moduleResolution: 'NodeNext',
          target: 'ES2022',
          noEmit: true,
          skipLibCheck: true,
          types: ['node'],
        },
        files: ['index.ts'],
      }),
    );
    const tsc = join(root, 'node_modules', 'typescript', 'bin', 'tsc');
    const result = await promisify(execFile)(process.execPath, [tsc, '-p', dir]).catch(
      (error: { stdout: string }) => error,
    );
    assert.equal('stdout' in result ? result.stdout : '', '', 'the consumer type-checks');
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});
