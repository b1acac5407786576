/**
 * The `tandem` command line. Short options follow OpenSIPS where one exists (`-f` config file,
 * `-c` check the config and exit), so operators' habits carry over.
 */
import { parseArgs } from 'node:util';
import { parseKeyPath } from './overrides.js';

/** The config file used when --config is not given, relative to the current directory. */
export const DEFAULT_CONFIG_FILE = 'cfg/tandem.yaml';

/** The help text, also appended to every command-line error. */
export const USAGE = `usage: tandem [options]

  -f, --config FILE    configuration file (default ${DEFAULT_CONFIG_FILE}, relative to the
                       current directory)
  -s, --set KEY=VALUE  override one config key; repeatable; the value is YAML, e.g.
                       --set timers.t1=250 --set 'listen[0]=udp:127.0.0.1:5070'
  -c, --check          load and validate the configuration, then exit
  -v, --version        print the version and exit
  -h, --help           print this help and exit
`;

/** What the command line asked for, or why it could not be understood. */
export type CliOptions =
  | {
      readonly ok: true;
      /** The config file as given (relative paths are taken from the current directory). */
      readonly config: string;
      /** `--set` arguments in order; a later one wins. */
      readonly sets: readonly string[];
      readonly check: boolean;
      readonly version: boolean;
      readonly help: boolean;
    }
  | {
      readonly ok: false;
      /** One line naming the problem, e.g. `Unknown option '--bogus'`. */
      readonly error: string;
      readonly usage: string;
    };

/** Parse `argv` (without the node and script paths). Never exits and never throws. */
export function parseCommandLine(argv: readonly string[]): CliOptions {
  let values;
  try {
    ({ values } = parseArgs({
      args: [...argv],
      strict: true,
      allowPositionals: false,
      options: {
        config: { type: 'string', short: 'f' },
        set: { type: 'string', short: 's', multiple: true },
        check: { type: 'boolean', short: 'c' },
        version: { type: 'boolean', short: 'v' },
        help: { type: 'boolean', short: 'h' },
      },
    }));
  } catch (err) {
    // parseArgs reports bad usage as a TypeError whose message names the option.
    return failure((err as Error).message);
  }
  const config = values.config ?? DEFAULT_CONFIG_FILE;
  if (config === '') {
    return failure('--config needs a file name');
  }
  const sets = values.set ?? [];
  for (const set of sets) {
    const eq = set.indexOf('=');
    if (eq <= 0 || parseKeyPath(set.slice(0, eq)) === null) {
      return failure(
        `--set '${set}': expected key.path=value, e.g. timers.t1=250 or listen[0]=udp:127.0.0.1:5070`,
      );
    }
  }
  return {
    ok: true,
    config,
    sets,
    check: values.check === true,
    version: values.version === true,
    help: values.help === true,
  };
}

function failure(error: string): CliOptions {
  return { ok: false, error, usage: USAGE };
}
