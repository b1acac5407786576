/**
 * What the installer settles before any module runs: the load order (each module after those
 * it depends on) and each module's parameters, checked against its schema.
 */
import { CoreError } from '../core/errors.js';
import type { ModuleManifest } from './define-module.js';

/**
 * The manifests ordered so that dependencies come first, otherwise as given. A name loaded
 * twice, a dependency that is not loaded, or a cycle fails naming the modules.
 */
export function orderModules(manifests: readonly ModuleManifest[]): ModuleManifest[] {
  const byName = new Map<string, ModuleManifest>();
  for (const m of manifests) {
    if (byName.has(m.name)) {
      throw new CoreError('TANDEM_ERR_MODULE', `module ${m.name} is loaded twice`);
    }
    byName.set(m.name, m);
  }
  const out: ModuleManifest[] = [];
  const state = new Map<string, 'visiting' | 'done'>();
  const visit = (m: ModuleManifest, chain: readonly string[]): void => {
    const s = state.get(m.name);
    if (s === 'done') {
      return;
    }
    if (s === 'visiting') {
      throw new CoreError(
        'TANDEM_ERR_MODULE',
        `modules depend on each other in a cycle: ${[...chain, m.name].join(' -> ')}`,
      );
    }
    state.set(m.name, 'visiting');
    for (const dep of m.depends ?? []) {
      const d = byName.get(dep);
      if (d === undefined) {
        throw new CoreError(
          'TANDEM_ERR_MODULE',
          `module ${m.name} needs module ${dep}: add it under modules: in the configuration`,
        );
      }
      visit(d, [...chain, m.name]);
    }
    state.set(m.name, 'done');
    out.push(m);
  };
  for (const m of manifests) {
    visit(m, []);
  }
  return out;
}

/**
 * A module's parameters from the configuration, checked and defaulted by its schema. Errors
 * name each key as `modules.<module>.<key>` with what was wrong.
 */
export function parseModuleParams(m: ModuleManifest, raw: unknown): unknown {
  const value: unknown = raw ?? {};
  if (m.params === undefined) {
    if (typeof value === 'object' && value !== null && Object.keys(value).length > 0) {
      throw new CoreError(
        'TANDEM_ERR_CONFIG',
        `modules.${m.name}: this module takes no parameters (got ${Object.keys(value).join(', ')})`,
      );
    }
    return undefined;
  }
  const r = m.params.safeParse(value);
  if (r.success) {
    return r.data;
  }
  const lines = r.error.issues.map((issue) => {
    const path = [`modules.${m.name}`, ...issue.path.map(String)].join('.');
    return `${path}: ${issue.message}`;
  });
  throw new CoreError('TANDEM_ERR_CONFIG', lines.join('; '));
}
