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
  if (name.length === 1) {
    const lower = name.toLowerCase();
    return COMPACT[lower] ?? lower;
  }
  return name.toLowerCase();
}

/** How Tandem writes a header name it adds: `Via`, `Call-ID`, `Max-Forwards`, `CSeq`. */
export function displayName(canonical: string): string {
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
