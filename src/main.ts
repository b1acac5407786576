/**
 * The `tandem` command. Until the proxy lands it prints `tandem <version>` and exits 0.
 *
 *   node dist/src/main.js [--version] [--help]      (built)
 *   node --import tsx src/main.ts [...]             (npm start)
 */
import { existsSync, readFileSync } from 'node:fs';
import { parseArgs } from 'node:util';
import { CoreError } from './core/errors.js';

const USAGE = `usage: tandem [--version] [--help]

Until the proxy lands, tandem prints its version and exits.
`;

/**
 * The version from Tandem's own package.json, found by walking up from this file: one level
 * from src/main.ts, two from dist/src/main.js.
 */
function ownVersion(): string {
  for (let dir = new URL('./', import.meta.url); ; dir = new URL('../', dir)) {
    const file = new URL('package.json', dir);
    if (existsSync(file)) {
      const pkg = JSON.parse(readFileSync(file, 'utf8')) as { name?: unknown; version?: unknown };
      if (pkg.name === 'tandem' && typeof pkg.version === 'string') {
        return pkg.version;
      }
    }
    if (dir.pathname === '/') {
      throw new CoreError('TANDEM_ERR_INVALID_STATE', `no package.json above ${import.meta.url}`);
    }
  }
}

function main(argv: string[]): number {
  let help: boolean;
  try {
    const { values } = parseArgs({
      args: argv,
      options: { version: { type: 'boolean', short: 'v' }, help: { type: 'boolean', short: 'h' } },
    });
    help = values.help === true;
  } catch (err) {
    process.stderr.write(`tandem: ${(err as Error).message}\n${USAGE}`);
    return 2;
  }
  if (help) {
    process.stdout.write(USAGE);
    return 0;
  }
  process.stdout.write(`tandem ${ownVersion()}\n`);
  return 0;
}

process.exitCode = main(process.argv.slice(2));
