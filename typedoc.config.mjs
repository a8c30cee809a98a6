// TypeDoc over the public entry points, read from package.json "exports" so a new entry point is
// documented without editing this file. `npm run docs` writes docs/api (generated, not committed).
import { readFileSync } from 'node:fs';

const { exports } = JSON.parse(readFileSync(new URL('./package.json', import.meta.url), 'utf8'));

// "./express" -> its ESM target "./dist/esm/express/index.js" -> the source "./src/express/index.ts".
const entryPoints = Object.values(exports)
  .map((target) => (typeof target === 'string' ? target : (target.import?.default ?? target.import)))
  .filter((target) => typeof target === 'string' && target.startsWith('./dist/esm/'))
  .map((target) => target.replace('./dist/esm/', './src/').replace(/\.js$/, '.ts'));

/** @type {Partial<import('typedoc').TypeDocOptions>} */
export default {
  name: 'coatcheck',
  entryPoints,
  tsconfig: './tsconfig.build.json',
  out: './docs/api',
  readme: 'none',
  excludePrivate: true,
  excludeInternal: true,
  // The repository has no public remote to link sources to.
  disableSources: true,
  // Inherited from node's EventEmitter by the express-session-compatible store classes.
  externalSymbolLinkMappings: {
    '@types/node': {
      'EventEmitter.defaultMaxListeners': 'https://nodejs.org/api/events.html#eventsdefaultmaxlisteners',
    },
  },
  validation: { notExported: true, invalidLink: true, invalidPath: true, notDocumented: true },
};
