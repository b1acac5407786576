/**
 * Header field names: the canonical (lower-case, long-form) key the message model indexes by,
 * and the spelling used when Tandem writes a header it created.
 */

/** Compact forms, RFC 3261 §7.3.3 and the registrations that followed (RFC 3265, 3515, 3892,
 * 4028, 4474). */
const COMPACT: Readonly<Record<string, string>> = {
  i: 'call-id',
  m: 'contact',
  e: 'content-encoding',
  l: 'content-length',
  c: 'content-type',
  f: 'from',
  s: 'subject',
  k: 'supported',
  t: 'to',
  v: 'via',
  o: 'event',
  u: 'allow-events',
  r: 'refer-to',
  b: 'referred-by',
  x: 'session-expires',
  y: 'identity',
};

/** Spellings for headers whose canonical capitalisation is not plain Title-Case. */
const SPELLING: Readonly<Record<string, string>> = {
  'call-id': 'Call-ID',
  cseq: 'CSeq',
  'www-authenticate': 'WWW-Authenticate',
  'mime-version': 'MIME-Version',
  rseq: 'RSeq',
  rack: 'RAck',
  'p-asserted-identity': 'P-Asserted-Identity',
  'sip-etag': 'SIP-ETag',
  'sip-if-match': 'SIP-If-Match',
};

/**
 * Canonical key of a header name as written: lower-case, compact form expanded. Header names
 * are case-insensitive (RFC 3261 §7.3.1).
 */
export function canonicalName(name: string): string {
  const known = knownName(name, 0, name.length);
  if (known !== undefined) {
    return known;
  }
  if (name.length === 1) {
    const lower = name.toLowerCase();
    return COMPACT[lower] ?? lower;
  }
  return name.toLowerCase();
}

/** Spellings computed so far; bounded so that odd names from the network cannot grow it. */
const spelled = new Map<string, string>();
const SPELLED_MAX = 512;

/** How Tandem writes a header name it adds: `Via`, `Call-ID`, `Max-Forwards`, `CSeq`. */
export function displayName(canonical: string): string {
  const done = spelled.get(canonical);
  if (done !== undefined) {
    return done;
  }
  const out = spell(canonical);
  if (spelled.size < SPELLED_MAX) {
    spelled.set(canonical, out);
  }
  return out;
}

function spell(canonical: string): string {
  const special = SPELLING[canonical];
  if (special !== undefined) {
    return special;
  }
  let out = '';
  let upper = true;
  for (let i = 0; i < canonical.length; i++) {
    const ch = canonical[i]!;
    out += upper ? ch.toUpperCase() : ch;
    upper = ch === '-';
  }
  return out;
}

/**
 * Headers that may appear once only (RFC 3261 §7.3.1: only headers whose grammar is a
 * comma-separated list may repeat). A request carrying two of these is rejected (RFC 4475
 * §3.3.8, multi01).
 */
export const SINGLE_VALUE: ReadonlySet<string> = new Set([
  'call-id',
  'cseq',
  'from',
  'to',
  'max-forwards',
  'content-length',
  'content-type',
  'expires',
]);

/**
 * Canonical names of the headers nearly every message carries, grouped by length. The parser
 * matches a name against these in place, without slicing or lower-casing it, and the result is
 * an interned constant, so later comparisons such as `h.name === 'via'` compare pointers.
 */
const KNOWN_BY_LENGTH: readonly (readonly string[] | undefined)[] = (() => {
  const names = [
    'to',
    'via',
    'from',
    'cseq',
    'date',
    'path',
    'allow',
    'route',
    'accept',
    'reason',
    'server',
    'call-id',
    'contact',
    'expires',
    'subject',
    'require',
    'warning',
    'supported',
    'user-agent',
    'min-expires',
    'unsupported',
    'allow-events',
    'content-type',
    'max-forwards',
    'record-route',
    'authorization',
    'proxy-require',
    'content-length',
    'content-encoding',
    'www-authenticate',
    'proxy-authorization',
    'proxy-authenticate',
    'subscription-state',
    'event',
    'p-asserted-identity',
    'session-expires',
  ];
  const byLength: string[][] = [];
  for (const n of names) {
    (byLength[n.length] ??= []).push(n);
  }
  return byLength;
})();

/** Compact forms indexed by char code (upper and lower case). */
const COMPACT_BY_CODE: readonly (string | undefined)[] = (() => {
  const t: (string | undefined)[] = [];
  for (const [k, v] of Object.entries(COMPACT)) {
    t[k.charCodeAt(0)] = v;
    t[k.toUpperCase().charCodeAt(0)] = v;
  }
  return t;
})();

/**
 * Canonical names keyed by length and first character of the spellings seen on the wire (lower
 * case, and Title-Case as RFC 3261 writes them). A hit costs one slice and one string compare.
 * Measured here, that beats both hashing the name into a Map and comparing it character by
 * character: charCodeAt is slow in optimised code next to native string equality.
 */
const BY_SHAPE: ReadonlyMap<number, readonly (readonly [string, string])[]> = (() => {
  const m = new Map<number, [string, string][]>();
  const add = (spelling: string, canonical: string): void => {
    const key = spelling.length * 256 + spelling.charCodeAt(0);
    let list = m.get(key);
    if (list === undefined) {
      list = [];
      m.set(key, list);
    }
    list.push([spelling, canonical]);
  };
  for (const list of KNOWN_BY_LENGTH) {
    for (const name of list ?? []) {
      add(spell(name), name);
      add(name, name);
    }
  }
  return m;
})();

/**
 * The canonical name of the header name at `text[from, to)` when it is a compact form or one of
 * the common headers (in any case), else undefined. The result is an interned constant.
 */
export function knownName(text: string, from: number, to: number): string | undefined {
  const len = to - from;
  if (len === 1) {
    return COMPACT_BY_CODE[text.charCodeAt(from)];
  }
  const shaped = BY_SHAPE.get(len * 256 + text.charCodeAt(from));
  if (shaped !== undefined) {
    const name = text.slice(from, to);
    for (const [spelling, canonical] of shaped) {
      if (name === spelling) {
        return canonical;
      }
    }
  }
  return matchKnown(text, from, to);
}

/** Case-insensitive match against the common names, for spellings the map does not hold. */
function matchKnown(text: string, from: number, to: number): string | undefined {
  const candidates = KNOWN_BY_LENGTH[to - from];
  if (candidates === undefined) {
    return undefined;
  }
  const len = to - from;
  for (const cand of candidates) {
    let k = 0;
    for (; k < len; k++) {
      const e = cand.charCodeAt(k);
      const c = text.charCodeAt(from + k);
      // Letters match either case; '-' only itself (0x0d | 0x20 is '-' too, so no OR there).
      if (c !== e && (e < 0x61 || (c | 0x20) !== e)) {
        break;
      }
    }
    if (k === len) {
      return cand;
    }
  }
  return undefined;
}

/** A name the parser recognises: its canonical form and its spelling, as words to compare. */
interface KnownName {
  readonly name: string;
  readonly len: number;
  /** The spelling's bytes (lower-case letters and "-" only), for names shorter than a word. */
  readonly bytes: Uint8Array;
  /** The first four bytes of the spelling as a little-endian word (0 when shorter). */
  readonly word0: number;
  /** The bits `| mask0` sets to fold the case of the letters among those bytes. */
  readonly mask0: number;
  /**
   * Every further word: offset in the name, fold mask, expected word. The last one overlaps its
   * predecessor when the length is not a multiple of four.
   */
  readonly rest: Int32Array;
}

/**
 * The little-endian word of `spelling[o, o + 4)` and its fold mask: 0x20 under each letter, so
 * that `read | mask` turns an upper-case letter into its lower-case form. Only a letter ORed
 * with 0x20 gives a lower-case letter, and "-" is compared exactly (CR | 0x20 would be "-").
 */
function wordOf(spelling: string, o: number): [word: number, mask: number] {
  let word = 0;
  let mask = 0;
  for (let q = 3; q >= 0; q--) {
    const c = spelling.charCodeAt(o + q);
    word = (word << 8) | c;
    mask = (mask << 8) | (c >= 0x61 && c <= 0x7a ? 0x20 : 0);
  }
  return [word, mask];
}

function toKnown(spelling: string, name: string): KnownName {
  const len = spelling.length;
  const offsets: number[] = [];
  for (let o = 4; o + 4 <= len; o += 4) {
    offsets.push(o);
  }
  if (len > 4 && len % 4 !== 0) {
    offsets.push(len - 4);
  }
  const rest = new Int32Array(offsets.length * 3);
  offsets.forEach((o, k) => {
    const [word, mask] = wordOf(spelling, o);
    rest.set([o, mask, word], k * 3);
  });
  const [word0, mask0] = len >= 4 ? wordOf(spelling, 0) : [0, 0];
  return { name, len, bytes: Buffer.from(spelling, 'latin1'), word0, mask0, rest };
}

/**
 * The common names and the compact forms, listed under their first letter (lower case), most
 * frequent first. A line is matched against the few names that share its first letter, four
 * bytes at a time: the line's first word is read once and rejects a wrong candidate in one
 * compare. Measured under callgrind, a byte-by-byte compare cost ~24 instructions per byte
 * (each typed-array read is checked), and this cut a parse by 9 %.
 */
const BY_FIRST: readonly (readonly KnownName[] | undefined)[] = (() => {
  const frequent = ['via', 'from', 'to', 'call-id', 'cseq', 'contact', 'max-forwards'];
  const rest = KNOWN_BY_LENGTH.flatMap((list) => list ?? []).filter((n) => !frequent.includes(n));
  const t: KnownName[][] = [];
  const add = (spelling: string, name: string): void => {
    (t[spelling.charCodeAt(0)] ??= []).push(toKnown(spelling, name));
  };
  for (const name of [...frequent, ...rest]) {
    add(name, name);
  }
  for (const [letter, name] of Object.entries(COMPACT)) {
    add(letter, name);
  }
  return t;
})();

/** The little-endian word of `b[at, at + 4)`; the caller knows the bytes are there. */
function wordAt(b: Uint8Array, at: number): number {
  return b[at]! | (b[at + 1]! << 8) | (b[at + 2]! << 16) | (b[at + 3]! << 24);
}

/** Where the name {@link knownNameAt} recognised ends. */
export let knownNameEnd = 0;

/**
 * The canonical name when the header line at `b[pos, end)` starts with a compact form or one of
 * the common names (in any case) followed by SP, HTAB or ":", else undefined; its end is left in
 * {@link knownNameEnd}. The result is an interned constant, so later comparisons such as
 * `h.name === 'via'` compare pointers.
 */
export function knownNameAt(b: Uint8Array, pos: number, end: number): string | undefined {
  // Only a letter maps onto a lower-case letter under | 0x20, so the first byte matches its
  // list ignoring case and nothing else does.
  const list = BY_FIRST[b[pos]! | 0x20];
  if (list === undefined) {
    return undefined;
  }
  const first = pos + 4 <= end ? wordAt(b, pos) : 0;
  for (let k = 0; k < list.length; k++) {
    const known = list[k]!;
    const len = known.len;
    const stop = pos + len;
    if (stop >= end) {
      continue;
    }
    if (len >= 4) {
      if ((first | known.mask0) !== known.word0) {
        continue;
      }
      const rest = known.rest;
      let r = 0;
      while (r < rest.length && (wordAt(b, pos + rest[r]!) | rest[r + 1]!) === rest[r + 2]) {
        r += 3;
      }
      if (r < rest.length) {
        continue;
      }
    } else {
      // Names this short are letters only (to, via, the compact forms), and under | 0x20 a byte
      // equals a letter only when it is that letter in either case.
      const bytes = known.bytes;
      let q = 1;
      while (q < len && (b[pos + q]! | 0x20) === bytes[q]) {
        q++;
      }
      if (q < len) {
        continue;
      }
    }
    const next = b[stop];
    if (next === 0x3a || next === 0x20 || next === 0x09) {
      knownNameEnd = stop;
      return known.name;
    }
  }
  return undefined;
}
