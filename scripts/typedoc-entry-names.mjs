// TypeDoc plugin: each module page is titled with the specifier an application imports
// (`coatcheck/stores/memory`), not the source path (`stores/memory`).
import { Converter, ReflectionKind } from 'typedoc';
import { entryNames } from '../typedoc.config.mjs';

/** @param {import('typedoc').Application} app */
export function load(app) {
  app.converter.on(Converter.EVENT_RESOLVE_BEGIN, (context) => {
    for (const module of context.project.getReflectionsByKind(ReflectionKind.Module)) {
      module.name = entryNames.get(module.name) ?? module.name;
    }
  });
}
