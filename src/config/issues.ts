/**
 * Config errors that an operator can act on: each names the file, the key path
 * (`listen[1].port`), the line (or the `--set` that introduced the value), what was expected
 * and what was found, e.g. `cfg/tandem.yaml: timers.t1 (line 12): expected a positive integer,
 * got "fast"`.
 */
import {
  isAlias,
  isMap,
  isNode,
  isPair,
  isScalar,
  isSeq,
  type Document,
  type LineCounter,
} from 'yaml';
import type { z } from 'zod';
import { CoreError } from '../core/errors.js';

/** A key path as zod reports it: object keys and list indices. */
export type KeyPath = readonly PropertyKey[];

/** One problem found in a config file. */
export interface ConfigIssue {
  /** The key path, written `listen[1].port`; empty for the file as a whole. */
  readonly path: string;
  /** 1-based line of the value (or of its nearest enclosing key) in the file, when known. */
  readonly line?: number;
  /** The `--set key=value` argument the value came from, when it did not come from the file. */
  readonly set?: string;
  /** What is wrong: `expected …, got …`, `unknown key`, or a YAML syntax message. */
  readonly message: string;
}

/** How many issues one error message lists before summarising the rest. */
const MAX_LISTED = 20;

/** A TANDEM_ERR_CONFIG error carrying the individual problems for callers that want them. */
export class ConfigError extends CoreError {
  /** The config file as the caller named it. */
  readonly file: string;
  readonly issues: readonly ConfigIssue[];

  constructor(file: string, issues: readonly ConfigIssue[], options?: ErrorOptions) {
    super('TANDEM_ERR_CONFIG', describeIssues(file, issues), options);
    this.name = 'ConfigError';
    this.file = file;
    this.issues = issues;
  }
}

/** One line per issue: `file: path (line N): message`. */
export function describeIssues(file: string, issues: readonly ConfigIssue[]): string {
  const lines = issues.slice(0, MAX_LISTED).map((issue) => {
    if (issue.path === '') {
      // Nothing more precise than the file, or the --set argument itself.
      const where =
        issue.set !== undefined
          ? ` --set ${issue.set}:`
          : issue.line !== undefined
            ? ` line ${issue.line}:`
            : '';
      return `${file}:${where} ${issue.message}`;
    }
    const where =
      issue.set !== undefined
        ? ` (--set ${issue.set})`
        : issue.line !== undefined
          ? ` (line ${issue.line})`
          : '';
    return `${file}: ${issue.path}${where}: ${issue.message}`;
  });
  if (issues.length > MAX_LISTED) {
    lines.push(`${file}: and ${issues.length - MAX_LISTED} more problems`);
  }
  return lines.join('\n');
}

/** `['listen', 1, 'port']` → `listen[1].port`. */
export function formatPath(path: KeyPath): string {
  let out = '';
  for (const seg of path) {
    if (typeof seg === 'number') {
      out += `[${seg}]`;
    } else {
      const key = String(seg);
      out += out === '' ? key : `.${key}`;
    }
  }
  return out;
}

/** What was found, for "got …": strings quoted, containers named, a missing value said so. */
export function describeValue(value: unknown): string {
  if (value === undefined) {
    return 'nothing';
  }
  if (value === null) {
    return 'an empty value';
  }
  if (typeof value === 'string') {
    return JSON.stringify(value.length > 60 ? `${value.slice(0, 57)}...` : value);
  }
  if (Array.isArray(value)) {
    return 'a list';
  }
  if (typeof value === 'object') {
    return 'a mapping';
  }
  if (typeof value === 'number' || typeof value === 'boolean' || typeof value === 'bigint') {
    return String(value);
  }
  return typeof value;
}

/**
 * The 1-based line of the key (or list item) at `path`, or of the deepest one on the way when
 * the path leaves the document (a missing key, or a part of a listen string such as
 * `listen[1].port`).
 */
export function lineOf(doc: Document, path: KeyPath, lines: LineCounter): number | undefined {
  let node: unknown = doc.contents;
  let offset = rangeStart(node);
  for (const seg of path) {
    if (isAlias(node)) {
      break;
    }
    if (isMap(node)) {
      const pair = node.items.find((p) => isPair(p) && isScalar(p.key) && p.key.value === seg);
      if (!pair) {
        break;
      }
      // The key's line, not the value's: a block mapping or list starts on the line below.
      offset = rangeStart(pair.key) ?? offset;
      node = pair.value;
    } else if (isSeq(node) && typeof seg === 'number') {
      node = node.items[seg];
      offset = rangeStart(node) ?? offset;
    } else {
      break;
    }
  }
  return offset === undefined ? undefined : lines.linePos(offset).line;
}

function rangeStart(node: unknown): number | undefined {
  // Nodes built by --set (and documents built in code) have no range.
  return isNode(node) && node.range ? node.range[0] : undefined;
}

/**
 * The "expected …" phrase for an issue whose schema carries no message of its own, so a schema
 * added later without one still reads well (zod's default text would say "Invalid input").
 */
export function fallbackExpected(issue: z.core.$ZodRawIssue): string | undefined {
  if (issue.code !== 'invalid_type') {
    return undefined;
  }
  const names: Record<string, string> = {
    object: 'a mapping',
    record: 'a mapping',
    array: 'a list',
    boolean: 'true or false',
    int: 'an integer',
  };
  return names[issue.expected] ?? `a ${issue.expected}`;
}

/** Where a value came from, to be told to the operator: a line of the file or a `--set`. */
export type Locate = (path: KeyPath) => { line?: number; set?: string };

/** Zod's issues as ConfigIssues; unknown keys become one issue each, with a suggestion. */
export function fromZodIssues(
  issues: readonly z.core.$ZodIssue[],
  schema: z.core.$ZodType,
  locate: Locate,
): ConfigIssue[] {
  const out: ConfigIssue[] = [];
  for (const issue of issues) {
    if (issue.code === 'unrecognized_keys') {
      for (const key of issue.keys) {
        const path = [...issue.path, key];
        const hint = closest(key, schemaKeysAt(schema, issue.path));
        const message = hint === undefined ? 'unknown key' : `unknown key (did you mean ${hint}?)`;
        out.push({ path: formatPath(path), ...locate(path), message });
      }
      continue;
    }
    const got =
      issue.code === 'custom' && typeof issue.params?.['got'] === 'string'
        ? issue.params['got']
        : describeValue(issue.input);
    out.push({
      path: formatPath(issue.path),
      ...locate(issue.path),
      message: `expected ${issue.message}, got ${got}`,
    });
  }
  return out.sort((a, b) => (a.line ?? Infinity) - (b.line ?? Infinity));
}

/**
 * The keys the object schema at `path` accepts, found by walking the schema through its
 * wrappers (default, optional, preprocess and transform pipes) into objects, lists and records.
 */
export function schemaKeysAt(schema: z.core.$ZodType, path: KeyPath): string[] {
  let node: z.core.$ZodType | undefined = objectWithin(schema);
  for (const seg of path) {
    if (node === undefined) {
      return [];
    }
    const def = node._zod.def as z.core.$ZodTypeDef & {
      shape?: Record<string, z.core.$ZodType>;
      element?: z.core.$ZodType;
      valueType?: z.core.$ZodType;
    };
    const next: z.core.$ZodType | undefined =
      def.type === 'object'
        ? def.shape?.[String(seg)]
        : def.type === 'array'
          ? def.element
          : def.type === 'record'
            ? def.valueType
            : undefined;
    node = next === undefined ? undefined : objectWithin(next);
  }
  const def = node?._zod.def as { type?: string; shape?: Record<string, unknown> } | undefined;
  return def?.type === 'object' && def.shape ? Object.keys(def.shape) : [];
}

/** Unwraps default/optional/prefault/nullable and pipes down to the object, list or record. */
function objectWithin(schema: z.core.$ZodType): z.core.$ZodType | undefined {
  const def = schema._zod.def as z.core.$ZodTypeDef & {
    innerType?: z.core.$ZodType;
    in?: z.core.$ZodType;
    out?: z.core.$ZodType;
  };
  if (def.type === 'object' || def.type === 'array' || def.type === 'record') {
    return schema;
  }
  if (def.type === 'pipe') {
    return (def.in && objectWithin(def.in)) ?? (def.out && objectWithin(def.out));
  }
  // default, prefault, optional, nullable: the wrapped schema.
  return def.innerType ? objectWithin(def.innerType) : undefined;
}

/**
 * The nearest candidate, if it is close enough to be a typo: one edit for short words, two for
 * longer ones, a swap of neighbours counting as one edit (`levle` → `level`).
 */
export function closest(word: string, candidates: readonly string[]): string | undefined {
  const limit = word.length <= 4 ? 1 : 2;
  let best: string | undefined;
  let bestDistance = limit + 1;
  for (const candidate of candidates) {
    const d = editDistance(word, candidate);
    if (d < bestDistance) {
      best = candidate;
      bestDistance = d;
    }
  }
  return best;
}

/** Optimal string alignment distance (Levenshtein plus adjacent transpositions). */
function editDistance(a: string, b: string): number {
  const rows: number[][] = [Array.from({ length: b.length + 1 }, (_, j) => j)];
  for (let i = 1; i <= a.length; i++) {
    const row = [i];
    const prev = rows[i - 1]!;
    for (let j = 1; j <= b.length; j++) {
      const cost = a[i - 1] === b[j - 1] ? 0 : 1;
      let d = Math.min(prev[j]! + 1, row[j - 1]! + 1, prev[j - 1]! + cost);
      if (i > 1 && j > 1 && a[i - 1] === b[j - 2] && a[i - 2] === b[j - 1]) {
        d = Math.min(d, rows[i - 2]![j - 2]! + 1);
      }
      row[j] = d;
    }
    rows.push(row);
  }
  return rows[a.length]![b.length]!;
}
