// TypeDoc over the library's public entry points, read from packages/coatcheck/package.json "exports"
// so a new entry point is documented without editing this file. `npm run docs` writes docs/api
// (generated, not committed).
import { readFileSync } from 'node:fs';

const LIBRARY = './packages/coatcheck';
const { name, exports } = JSON.parse(
  readFileSync(new URL('./packages/coatcheck/package.json', import.meta.url), 'utf8'),
);

// "./express" -> its ESM target "./dist/esm/express/index.js" -> the source
// "./packages/coatcheck/src/express/index.ts".
const entries = Object.entries(exports).flatMap(([subpath, target]) => {
  const esm = typeof target === 'string' ? target : (target.import?.default ?? target.import);
  if (typeof esm !== 'string' || !esm.startsWith('./dist/esm/')) return [];
  const source = esm.replace('./dist/esm/', `${LIBRARY}/src/`).replace(/\.js$/, '.ts');
  return [{ source, specifier: name + subpath.slice(1) }];
});

/**
 * TypeDoc's own module name (the source path under src/, without `/index`) -> the specifier an
 * application imports, used by scripts/typedoc-entry-names.mjs to title each module page.
 */
export const entryNames = new Map(
  entries.map(({ source, specifier }) => [
    source.slice(`${LIBRARY}/src/`.length).replace(/(\/index)?\.ts$/, ''),
    specifier,
  ]),
);

/** @type {Partial<import('typedoc').TypeDocOptions>} */
export default {
  name,
  entryPoints: entries.map(({ source }) => source),
  tsconfig: `${LIBRARY}/tsconfig.build.json`,
  out: './docs/api',
  readme: 'none',
  plugin: ['./scripts/typedoc-entry-names.mjs'],
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
