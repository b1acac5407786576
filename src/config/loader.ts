/**
 * Load cfg/tandem.yaml (or the file given with --config): read, parse with line positions,
 * apply --set overrides, validate against the schema, and resolve relative paths against the
 * file's directory. Every failure is a {@link ConfigError} (TANDEM_ERR_CONFIG) that names the
 * file, the key, the line and what was expected, so Tandem stops at start-up with something an
 * operator can fix.
 */
import { readFileSync } from 'node:fs';
import { dirname, isAbsolute, resolve } from 'node:path';
import { isMap, LineCounter, parseDocument, type Document } from 'yaml';
import {
  ConfigError,
  describeValue,
  fallbackExpected,
  fromZodIssues,
  lineOf,
  type ConfigIssue,
  type KeyPath,
  type Locate,
} from './issues.js';
import { applyOverrides, type Override } from './overrides.js';
import { configSchema, type TandemConfig } from './schema.js';

/** A validated configuration and the absolute path of the file it came from. */
export interface LoadedConfig {
  readonly config: TandemConfig;
  readonly file: string;
}

/** Aliases expand on conversion; a small cap stops a "billion laughs" file from eating memory. */
const MAX_ALIAS_COUNT = 100;

/**
 * Read and validate `file` (relative paths are taken from the current directory), applying
 * `sets` (`key.path=value`, see overrides.ts) on top. Throws {@link ConfigError}.
 */
export function loadConfig(file: string, sets: readonly string[] = []): LoadedConfig {
  const absolute = resolve(file);
  let text: string;
  try {
    text = readFileSync(absolute, 'utf8');
  } catch (err) {
    throw new ConfigError(file, [{ path: '', message: `cannot read the file: ${message(err)}` }], {
      cause: err,
    });
  }
  return { config: parseConfig(text, file, sets, dirname(absolute)), file: absolute };
}

/**
 * Validate config `text` as if read from `file`; relative paths are resolved against `baseDir`.
 * Exposed for callers holding the text already (tests, a future MI `reload` with a new file).
 */
export function parseConfig(
  text: string,
  file: string,
  sets: readonly string[],
  baseDir: string,
): TandemConfig {
  const lines = new LineCounter();
  const doc = parseDocument(text, { lineCounter: lines, merge: true, prettyErrors: false });
  if (doc.errors.length > 0) {
    throw new ConfigError(
      file,
      doc.errors.map((err) => {
        const line = lines.linePos(err.pos[0]).line;
        const text = `YAML syntax error: ${firstLine(err.message)}`;
        return { path: '', line, message: text };
      }),
    );
  }
  if (doc.contents !== null && !isMap(doc.contents)) {
    throw new ConfigError(file, [
      {
        path: '',
        ...lineAt(doc, [], lines),
        message: `expected a mapping of keys at the top level, got ${describeValue(doc.toJS())}`,
      },
    ]);
  }
  const overrides = applyOverrides(doc, sets, file);
  let input: unknown;
  try {
    input = doc.toJS({ maxAliasCount: MAX_ALIAS_COUNT }) ?? {};
  } catch (err) {
    throw new ConfigError(file, [{ path: '', message: `cannot expand YAML: ${message(err)}` }], {
      cause: err,
    });
  }
  const result = configSchema.safeParse(input, { reportInput: true, error: fallbackExpected });
  if (!result.success) {
    throw new ConfigError(
      file,
      fromZodIssues(result.error.issues, configSchema, locator(doc, lines, overrides)),
    );
  }
  return resolvePaths(result.data, baseDir);
}

/**
 * Values set on the command line have no line: name the --set instead (the last one wins).
 * That holds for anything inside an overridden value and for a key an override created
 * (`--set x[0]=1` makes an unknown key `x` that the file never had).
 */
function locator(doc: Document, lines: LineCounter, overrides: readonly Override[]): Locate {
  return (path) => {
    for (let i = overrides.length - 1; i >= 0; i--) {
      const o = overrides[i]!;
      if (isPrefix(o.path, path) || (path.length > 0 && isPrefix(path, o.path))) {
        return { set: o.text };
      }
    }
    return lineAt(doc, path, lines);
  };
}

function isPrefix(prefix: KeyPath, path: KeyPath): boolean {
  return prefix.length <= path.length && prefix.every((seg, j) => seg === path[j]);
}

function lineAt(doc: Document, path: KeyPath, lines: LineCounter): Pick<ConfigIssue, 'line'> {
  const line = lineOf(doc, path, lines);
  return line === undefined ? {} : { line };
}

/**
 * The routing script, data directory, module path, TLS files and MI token file are named
 * relative to the config file.
 */
function resolvePaths(config: TandemConfig, baseDir: string): TandemConfig {
  const at = (p: string): string => (isAbsolute(p) ? p : resolve(baseDir, p));
  const resolved: TandemConfig = {
    ...config,
    script: at(config.script),
    data_dir: at(config.data_dir),
  };
  if (config.module_path !== undefined) {
    resolved.module_path = at(config.module_path);
  }
  if (config.tls) {
    const tls = { ...config.tls };
    if (tls.cert !== undefined) {
      tls.cert = at(tls.cert);
    }
    if (tls.key !== undefined) {
      tls.key = at(tls.key);
    }
    if (tls.ca !== undefined) {
      tls.ca = at(tls.ca);
    }
    resolved.tls = tls;
  }
  if (config.mi.token_file !== undefined) {
    resolved.mi = { ...config.mi, token_file: at(config.mi.token_file) };
  }
  const ctls = config.clusterer?.tls;
  if (config.clusterer !== undefined && ctls !== undefined) {
    // The cluster's certificates, like the SIP ones, are relative to the config file.
    resolved.clusterer = {
      ...config.clusterer,
      tls: { ...ctls, cert: at(ctls.cert), key: at(ctls.key), ca: at(ctls.ca) },
    };
  }
  return resolved;
}

/** File system and YAML errors are always Error instances. */
function message(err: unknown): string {
  return (err as Error).message;
}

function firstLine(text: string): string {
  return text.split('\n', 1)[0]!;
}
