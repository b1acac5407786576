/**
 * The command line of `tandem-cli`: options, the sub-command and how parameters become JSON-RPC
 * params.
 *
 * Parameters are positional unless written `name=value` (then they are named; the two cannot be
 * mixed in one call, as JSON-RPC params are either an array or an object). A value that starts
 * with `[` or `{` and parses as JSON is sent as that array or object; everything else is sent as
 * a string, and the node converts it to the type the command declares (`"5"` for an integer,
 * `"true"` for a boolean), so a SIP user `1234` is never turned into a number by accident.
 */

export const USAGE = `usage: tandem-cli [--url URL] [--token-file FILE] <command>

commands:
  mi <command> [param ...]   run an MI command (OpenSIPS names: uptime, get_statistics,
                             log_level, clusterer:shtag_set_active ...); name=value for named
                             params; prints the result as indented JSON
  stats [group ...]          print statistics as "name = value" lines (all, or the groups
                             given: core tm transport shmem ...)

options:
  --url URL          the node's MI (default $TANDEM_MI_URL or http://127.0.0.1:8888/mi)
  --token-file FILE  send the bearer token in FILE (default: $TANDEM_MI_TOKEN if set)
  -h, --help         this text

exit codes: 0 success, 1 the command failed (error printed), 2 bad command line
`;

export const DEFAULT_URL = 'http://127.0.0.1:8888/mi';

export type JsonValue =
  string | number | boolean | null | JsonValue[] | { [key: string]: JsonValue };

export type CliCommand =
  | { readonly kind: 'help' }
  | {
      readonly kind: 'mi';
      readonly method: string;
      readonly params: JsonValue[] | Record<string, JsonValue> | undefined;
    }
  | { readonly kind: 'stats'; readonly groups: string[] };

export interface CliArgs {
  readonly url: string | undefined;
  readonly tokenFile: string | undefined;
  readonly command: CliCommand;
}

export type ParseResult =
  { readonly ok: true; readonly args: CliArgs } | { readonly ok: false; readonly error: string };

const NAMED = /^([A-Za-z_][A-Za-z0-9_]*)=(.*)$/s;

/** Parse `argv` (without node and the script). */
export function parseArgs(argv: readonly string[]): ParseResult {
  let url: string | undefined;
  let tokenFile: string | undefined;
  const rest: string[] = [];
  let help = false;
  for (let i = 0; i < argv.length; i++) {
    const a = argv[i]!;
    if (a === '--') {
      rest.push(...argv.slice(i + 1));
      break;
    }
    const eq = a.indexOf('=');
    const flag = a.startsWith('--') && eq > 0 ? a.slice(0, eq) : a;
    if (flag === '--url' || flag === '--token-file') {
      const value = eq > 0 && a.startsWith('--') ? a.slice(eq + 1) : argv[++i];
      if (value === undefined || value === '') {
        return { ok: false, error: `${flag} needs a value` };
      }
      if (flag === '--url') {
        url = value;
      } else {
        tokenFile = value;
      }
    } else if (a === '-h' || a === '--help') {
      help = true;
    } else if (a.startsWith('-') && rest.length < 2) {
      // Options come before the MI command's parameters; after them a dash is a value.
      return { ok: false, error: `unknown option ${a}` };
    } else {
      rest.push(a);
    }
  }
  if (help) {
    return { ok: true, args: { url, tokenFile, command: { kind: 'help' } } };
  }
  const [sub, ...more] = rest;
  if (sub === 'mi') {
    const [method, ...params] = more;
    if (method === undefined) {
      return { ok: false, error: 'mi needs a command name (try: tandem-cli mi which)' };
    }
    const converted = toParams(params);
    if (typeof converted === 'string') {
      return { ok: false, error: converted };
    }
    return {
      ok: true,
      args: { url, tokenFile, command: { kind: 'mi', method, params: converted } },
    };
  }
  if (sub === 'stats') {
    return { ok: true, args: { url, tokenFile, command: { kind: 'stats', groups: more } } };
  }
  return { ok: false, error: sub === undefined ? 'no command given' : `unknown command ${sub}` };
}

/** Positional or named params; a string is the error. */
function toParams(
  params: readonly string[],
): JsonValue[] | Record<string, JsonValue> | undefined | string {
  if (params.length === 0) {
    return undefined;
  }
  const named = params.map((p) => NAMED.exec(p));
  if (named.every((m) => m !== null)) {
    const out: Record<string, JsonValue> = {};
    for (const m of named) {
      out[m[1]!] = value(m[2]!);
    }
    return out;
  }
  if (named.some((m) => m !== null)) {
    return 'parameters are either all positional or all name=value';
  }
  return params.map(value);
}

function value(text: string): JsonValue {
  if (text.startsWith('[') || text.startsWith('{')) {
    try {
      return JSON.parse(text) as JsonValue;
    } catch {
      // Not JSON after all: sent as the string it is.
    }
  }
  return text;
}
