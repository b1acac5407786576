/**
 * `--set key.path=value` overrides, applied to the parsed YAML document before validation so
 * that an overridden value is checked exactly like one written in the file.
 *
 *   --set timers.t1=250                 a nested key (created when missing)
 *   --set listen[0]=udp:127.0.0.1:5070  a list element; one past the end appends
 *   --set aliases=[a.example,b.example] the value is YAML (a scalar or a flow collection)
 *
 * A path that runs through a scalar, an index into a mapping or a key into a list is refused.
 */
import {
  isAlias,
  isMap,
  isScalar,
  isSeq,
  parseDocument,
  YAMLMap,
  YAMLSeq,
  type Document,
  type Node,
} from 'yaml';
import { ConfigError, describeValue, formatPath, type KeyPath } from './issues.js';

/** One applied override: where it wrote, and the argument as given (for error messages). */
export interface Override {
  readonly path: KeyPath;
  readonly text: string;
}

const SET_SYNTAX = 'expected key.path=value, e.g. timers.t1=250 or listen[0]=udp:127.0.0.1:5070';
const KEY = /^[A-Za-z0-9_-]+/;
const INDEX = /^\[([0-9]{1,6})\]/;

/** `listen[0].advertise` → `['listen', 0, 'advertise']`, or null when malformed. */
export function parseKeyPath(text: string): (string | number)[] | null {
  const path: (string | number)[] = [];
  for (const segment of text.split('.')) {
    const key = KEY.exec(segment);
    if (!key) {
      return null;
    }
    path.push(key[0]);
    let rest = segment.slice(key[0].length);
    while (rest !== '') {
      const index = INDEX.exec(rest);
      if (!index) {
        return null;
      }
      path.push(Number(index[1]));
      rest = rest.slice(index[0].length);
    }
  }
  return path;
}

/**
 * Apply each `--set` to `doc` in order (a later one wins). Throws a {@link ConfigError} naming
 * `file` and the argument when one is malformed or its path cannot be followed.
 */
export function applyOverrides(doc: Document, sets: readonly string[], file: string): Override[] {
  const applied: Override[] = [];
  for (const text of sets) {
    const fail = (path: string, message: string): ConfigError =>
      new ConfigError(file, [{ path, set: text, message }]);
    const eq = text.indexOf('=');
    const path = eq > 0 ? parseKeyPath(text.slice(0, eq)) : null;
    if (path === null) {
      throw fail('', SET_SYNTAX);
    }
    const valueDoc = parseDocument(text.slice(eq + 1), { prettyErrors: false });
    const syntax = valueDoc.errors[0];
    if (syntax) {
      throw fail(formatPath(path), `the value is not valid YAML: ${firstLine(syntax.message)}`);
    }
    const problem = setIn(doc, path, doc.createNode(valueDoc.toJS()));
    if (problem !== null) {
      throw fail(formatPath(path), problem);
    }
    applied.push({ path, text });
  }
  return applied;
}

/** Write `value` at `path`, creating missing mappings and lists; returns a problem or null. */
function setIn(doc: Document, path: readonly (string | number)[], value: Node): string | null {
  if (doc.contents === null || isEmpty(doc.contents)) {
    doc.contents = new YAMLMap(doc.schema);
  }
  let container: unknown = doc.contents;
  for (let i = 0; i < path.length - 1; i++) {
    const slot = slotIn(container, path, i);
    if (typeof slot === 'string') {
      return slot;
    }
    let child = slot.get();
    if (child === undefined || isEmpty(child)) {
      child = typeof path[i + 1] === 'number' ? new YAMLSeq(doc.schema) : new YAMLMap(doc.schema);
      slot.put(child);
    }
    if (isAlias(child)) {
      return `cannot set inside ${formatPath(path.slice(0, i + 1))}: it is a YAML alias (*${child.source})`;
    }
    container = child;
  }
  const slot = slotIn(container, path, path.length - 1);
  if (typeof slot === 'string') {
    return slot;
  }
  slot.put(value);
  return null;
}

/** Read and write access to `path[i]` inside `container`, or why there is none. */
function slotIn(
  container: unknown,
  path: readonly (string | number)[],
  i: number,
): { get(): unknown; put(node: unknown): void } | string {
  const seg = path[i]!;
  const where = i === 0 ? 'the top level' : formatPath(path.slice(0, i));
  if (typeof seg === 'string') {
    if (!isMap(container)) {
      return `cannot set a key inside ${where}: expected a mapping, got ${found(container)}`;
    }
    return {
      get: () => container.get(seg, true),
      put: (node) => {
        container.set(seg, node);
      },
    };
  }
  if (!isSeq(container)) {
    return `cannot set an index inside ${where}: expected a list, got ${found(container)}`;
  }
  const length = container.items.length;
  if (seg > length) {
    const has = length === 1 ? '1 entry' : `${length} entries`;
    return `index ${seg} is past the end of ${where}: it has ${has} in the file, [${length}] appends`;
  }
  return {
    get: () => container.items[seg],
    put: (node) => {
      if (seg === length) {
        container.add(node);
      } else {
        container.set(seg, node);
      }
    },
  };
}

/** A key with no value (`tls:`) is null in YAML; setting inside it makes it a collection. */
function isEmpty(node: unknown): boolean {
  return node === null || (isScalar(node) && node.value === null);
}

function found(node: unknown): string {
  return isScalar(node) ? describeValue(node.value) : describeValue(isSeq(node) ? [] : {});
}

function firstLine(message: string): string {
  return message.split('\n', 1)[0]!;
}
