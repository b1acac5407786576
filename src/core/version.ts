/**
 * Tandem's own version, from its package.json, found by walking up from this file: two levels
 * from src/core/version.ts, three from dist/src/core/version.js.
 */
import { existsSync, readFileSync } from 'node:fs';
import { CoreError } from './errors.js';

let cached: string | undefined;

export function ownVersion(): string {
  if (cached !== undefined) {
    return cached;
  }
  for (let dir = new URL('./', import.meta.url); ; dir = new URL('../', dir)) {
    const file = new URL('package.json', dir);
    if (existsSync(file)) {
      const pkg = JSON.parse(readFileSync(file, 'utf8')) as { name?: unknown; version?: unknown };
      if (pkg.name === 'tandem' && typeof pkg.version === 'string') {
        cached = pkg.version;
        return cached;
      }
    }
    if (dir.pathname === '/') {
      throw new CoreError('TANDEM_ERR_INVALID_STATE', `no package.json above ${import.meta.url}`);
    }
  }
}
