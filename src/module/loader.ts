/**
 * Finding modules by name, as OpenSIPS's `loadmodule` finds `<mpath>/<name>.so`: the manifest
 * of module `x` is the default export of `<module_path>/x/index.js` (or `index.ts` when running
 * from the sources). The path is a setting, not an import, so nothing in src/ depends on
 * modules/ and an operator can add a module folder of their own.
 */
import { existsSync } from 'node:fs';
import { join } from 'node:path';
import { fileURLToPath, pathToFileURL } from 'node:url';
import { CoreError } from '../core/errors.js';
import type { ModuleManifest } from './define-module.js';

/** The `modules/` folder shipped beside `src/` (in the sources and in the built `dist/`). */
export const DEFAULT_MODULE_PATH = fileURLToPath(new URL('../../modules/', import.meta.url));

const NAME = /^[a-z][a-z0-9_]*$/;

/** Load the manifests of `names` (in that order) from `dir`. */
export async function loadModules(
  names: readonly string[],
  dir: string = DEFAULT_MODULE_PATH,
): Promise<ModuleManifest[]> {
  const out: ModuleManifest[] = [];
  for (const name of names) {
    out.push(await loadModule(name, dir));
  }
  return out;
}

async function loadModule(name: string, dir: string): Promise<ModuleManifest> {
  if (!NAME.test(name)) {
    throw new CoreError('TANDEM_ERR_CONFIG', `modules.${name}: not a module name`);
  }
  const file = ['index.js', 'index.ts'].map((f) => join(dir, name, f)).find((f) => existsSync(f));
  if (file === undefined) {
    throw new CoreError('TANDEM_ERR_CONFIG', `modules.${name}: no module ${name} in ${dir}`);
  }
  let mod: { default?: unknown };
  try {
    mod = (await import(pathToFileURL(file).href)) as { default?: unknown };
  } catch (err) {
    throw new CoreError('TANDEM_ERR_MODULE', `${file}: cannot load: ${(err as Error).message}`, {
      cause: err,
    });
  }
  const factory = mod.default;
  if (typeof factory !== 'function') {
    throw new CoreError(
      'TANDEM_ERR_MODULE',
      `${file}: the default export must be a function returning the module's manifest`,
    );
  }
  const manifest = (factory as () => unknown)() as ModuleManifest | null;
  if (typeof manifest !== 'object' || manifest === null || manifest.name !== name) {
    throw new CoreError(
      'TANDEM_ERR_MODULE',
      `${file}: the factory must return a manifest named ${name}`,
    );
  }
  return manifest;
}
