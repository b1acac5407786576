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

/** A name the parser recognises: its canonical form and its bytes. */
interface KnownName {
  readonly name: string;
  /** The spelling's bytes: lower-case letters and "-" only. */
  readonly bytes: Uint8Array;
}

/**
 * The common names and the compact forms, listed under their first letter (lower case), most
 * frequent first. Matching a line against the few names that share its first letter finds the
 * name and its end in one pass over its bytes; measured here, that is ~16 % of a parse faster
 * than scanning the name as a token and then looking it up.
 */
const BY_FIRST: readonly (readonly KnownName[] | undefined)[] = (() => {
  const frequent = ['via', 'from', 'to', 'call-id', 'cseq', 'contact', 'max-forwards'];
  const rest = KNOWN_BY_LENGTH.flatMap((list) => list ?? []).filter((n) => !frequent.includes(n));
  const t: KnownName[][] = [];
  const add = (spelling: string, name: string): void => {
    (t[spelling.charCodeAt(0)] ??= []).push({ name, bytes: Buffer.from(spelling, 'latin1') });
  };
  for (const name of [...frequent, ...rest]) {
    add(name, name);
  }
  for (const [letter, name] of Object.entries(COMPACT)) {
    add(letter, name);
  }
  return t;
})();

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
  // An indexed loop: measured faster here than for-of over the list.
  for (let k = 0; k < list.length; k++) {
    const known = list[k]!;
    const bytes = known.bytes;
    const len = bytes.length;
    const stop = pos + len;
    if (stop >= end) {
      continue;
    }
    // The names hold lower-case letters and "-". Under | 0x20 a byte equals a letter only when
    // it is that letter in either case, and equals "-" when it is "-" or CR, so CR is refused.
    let q = 1;
    while (q < len) {
      const c = b[pos + q]!;
      if ((c | 0x20) !== bytes[q] || c === 0x0d) {
        break;
      }
      q++;
    }
    if (q === len) {
      const next = b[stop];
      if (next === 0x3a || next === 0x20 || next === 0x09) {
        knownNameEnd = stop;
        return known.name;
      }
    }
  }
  return undefined;
}
