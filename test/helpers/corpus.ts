/**
 * Access to the RFC 4475 torture-test corpus, which the `sip` package ships byte-exact as one
 * `<name>.dat` file a message. Names here are file names without the `.dat` extension.
 */
import { readdirSync, readFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import { dirname, join } from 'node:path';

/** Absolute path of the corpus directory, found wherever the package manager put `sip`. */
export const CORPUS_DIR = join(
  dirname(createRequire(import.meta.url).resolve('sip/package.json')),
  'test',
  'messages',
);

/** The names of every corpus message (its `.dat` files, extension dropped), in directory order. */
export function corpusFiles(): string[] {
  return readdirSync(CORPUS_DIR)
    .filter((f) => f.endsWith('.dat'))
    .map((f) => f.slice(0, -'.dat'.length));
}

/** The exact bytes of the named corpus message (`name` without `.dat`). */
export function readCorpus(name: string): Buffer {
  return readFileSync(join(CORPUS_DIR, `${name}.dat`));
}

/**
 * Values of the named headers in a corpus message, in order, folded lines joined by one SP.
 * `names` are matched against the lower-cased header name, so pass them in lower case and list
 * a compact form (`'v'`, `'m'`, …) alongside the long one where it should count too.
 */
export function headerValues(file: string, ...names: string[]): string[] {
  const text = readCorpus(file).toString('latin1');
  const end = text.indexOf('\r\n\r\n');
  const head = (end < 0 ? text : text.slice(0, end)).replace(/\r\n[ \t]+/g, ' ');
  const out: string[] = [];
  for (const line of head.split('\r\n').slice(1)) {
    const colon = line.indexOf(':');
    if (names.includes(line.slice(0, colon).trim().toLowerCase())) {
      out.push(line.slice(colon + 1).trim());
    }
  }
  return out;
}

/**
 * The first value of the named header in a corpus message (see {@link headerValues}).
 *
 * @throws Error when the message has no such header.
 */
export function header(file: string, ...names: string[]): string {
  const [v] = headerValues(file, ...names);
  if (v === undefined) {
    throw new Error(`${file} has no ${names.join('/')}`);
  }
  return v;
}
