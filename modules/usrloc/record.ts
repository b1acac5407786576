/**
 * Contact records as they travel to and from the stores (the append-only file, Redis, later the
 * cluster): checking a decoded record, and building it with one fixed property order and shared
 * strings, so a million loaded records share one hidden class and do not each carry their own
 * copy of `"udp"`, the socket id or a common User-Agent.
 */
import { CONTACT_RECORD_VERSION, type ContactInput, type ContactRecord } from './api.js';

const EMPTY: readonly string[] = Object.freeze([]);

/**
 * Strings that repeat across many contacts (transport, socket, owner tag, User-Agent, methods).
 * Bounded: past `limit` distinct values new ones are not kept (the record then holds its own
 * copy), so a flood of unique User-Agents cannot grow the table without end.
 */
export class Interner {
  private readonly strings = new Map<string, string>();
  private readonly lists = new Map<string, readonly string[]>();

  constructor(private readonly limit = 10_000) {}

  str(s: string): string;
  str(s: string | null): string | null;
  str(s: string | null): string | null {
    if (s === null) {
      return null;
    }
    const known = this.strings.get(s);
    if (known !== undefined) {
      return known;
    }
    if (this.strings.size < this.limit) {
      this.strings.set(s, s);
    }
    return s;
  }

  list(l: readonly string[]): readonly string[];
  list(l: readonly string[] | null): readonly string[] | null;
  list(l: readonly string[] | null): readonly string[] | null {
    if (l === null) {
      return null;
    }
    if (l.length === 0) {
      return EMPTY;
    }
    const id = l.join('\n');
    const known = this.lists.get(id);
    if (known !== undefined) {
      return known;
    }
    const frozen = Object.freeze([...l]);
    if (this.lists.size < this.limit) {
      this.lists.set(id, frozen);
    }
    return frozen;
  }
}

/**
 * Build a record in the canonical property order, sharing repeated strings, with its
 * modification time and revision. `aor` is passed apart so the store can hand the string it
 * already holds as the AoR's map key, `owner` so a local save can take the default owner tag
 * without copying the input.
 */
export function buildRecord(
  r: ContactInput,
  aor: string,
  owner: string | null,
  lastModified: number,
  rev: number,
  intern: Interner,
): ContactRecord {
  return {
    v: CONTACT_RECORD_VERSION,
    aor,
    uri: r.uri,
    received: r.received,
    sourceAddress: r.sourceAddress,
    sourcePort: r.sourcePort,
    protocol: intern.str(r.protocol),
    socket: intern.str(r.socket),
    path: r.path.length === 0 ? EMPTY : intern.list(r.path),
    expires: r.expires,
    q: r.q,
    callId: r.callId,
    cseq: r.cseq,
    userAgent: intern.str(r.userAgent),
    instance: r.instance,
    regId: r.regId,
    flags: r.flags,
    methods: intern.list(r.methods),
    lastModified,
    owner: intern.str(owner),
    rev,
  };
}

type Check = (v: unknown) => boolean;
const str: Check = (v) => typeof v === 'string';
const strOrNull: Check = (v) => v === null || typeof v === 'string';
const num: Check = (v) => typeof v === 'number' && Number.isFinite(v);
const intOrNull: Check = (v) => v === null || Number.isInteger(v);
const strList: Check = (v) => Array.isArray(v) && v.every((s) => typeof s === 'string');
const strListOrNull: Check = (v) => v === null || strList(v);

const FIELDS: Readonly<Record<Exclude<keyof ContactRecord, 'v'>, Check>> = {
  aor: str,
  uri: str,
  received: strOrNull,
  sourceAddress: str,
  sourcePort: num,
  protocol: str,
  socket: strOrNull,
  path: strList,
  expires: num,
  q: num,
  callId: str,
  cseq: num,
  userAgent: strOrNull,
  instance: strOrNull,
  regId: intOrNull,
  flags: num,
  methods: strListOrNull,
  lastModified: num,
  owner: strOrNull,
  rev: num,
};

/** Built once: `Object.entries` per record was a tenth of a million-record load. */
const FIELD_CHECKS = Object.entries(FIELDS);

/**
 * A decoded value as a contact record, or a reason it is not one. Records of a newer format
 * version are refused rather than guessed at.
 */
export function checkRecord(v: unknown): ContactRecord | string {
  if (typeof v !== 'object' || v === null || Array.isArray(v)) {
    return 'not an object';
  }
  const o = v as Record<string, unknown>;
  if (o['v'] !== CONTACT_RECORD_VERSION) {
    return `record version ${String(o['v'])} (this build reads ${CONTACT_RECORD_VERSION})`;
  }
  for (const [field, ok] of FIELD_CHECKS) {
    if (!ok(o[field])) {
      return `bad field ${field}`;
    }
  }
  return o as unknown as ContactRecord;
}

/** Parse one JSON-encoded record; a string says why it was refused. */
export function decodeRecord(json: string): ContactRecord | string {
  let v: unknown;
  try {
    v = JSON.parse(json);
  } catch {
    return 'not JSON';
  }
  return checkRecord(v);
}
