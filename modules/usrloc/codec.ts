/**
 * The binary form of a contact record on the cluster wire (live packets and sync records):
 * JSON cost 3 µs to write and 2.5 µs to read per record, most of a million-record sync, so the
 * record travels as fixed fields in big-endian order instead, in {@link ContactRecord}'s field
 * order. Strings are `u16 byte length + UTF-8` (0xFFFF: null); lists are `u16 count` (0xFFFF:
 * null) then their strings; numbers are `f64` (revisions and times are safe integers, exact as
 * doubles) except `sourcePort` (u16) and `flags` (u32). The first byte is the record format
 * version ({@link CONTACT_RECORD_VERSION}), refused when it is not this build's.
 */
import { CONTACT_RECORD_VERSION, type ContactRecord } from './api.js';

const NULL16 = 0xffff;
const MAX_STRING = 0xfffe;

/** Grown as needed, copied out per record: one allocation per encoded record. */
let scratch = Buffer.allocUnsafe(4096);
let at = 0;

function room(n: number): void {
  if (at + n > scratch.length) {
    const next = Buffer.allocUnsafe(Math.max(scratch.length * 2, at + n));
    scratch.copy(next, 0, 0, at);
    scratch = next;
  }
}

function str(s: string | null): void {
  if (s === null) {
    room(2);
    scratch.writeUInt16BE(NULL16, at);
    at += 2;
    return;
  }
  room(2 + s.length * 3);
  const n = scratch.write(s, at + 2, 'utf8');
  if (n > MAX_STRING) {
    throw new RangeError(`record string of ${String(n)} bytes`);
  }
  scratch.writeUInt16BE(n, at);
  at += 2 + n;
}

function list(l: readonly string[] | null): void {
  room(2);
  scratch.writeUInt16BE(l === null ? NULL16 : l.length, at);
  at += 2;
  if (l !== null) {
    for (const s of l) {
      str(s);
    }
  }
}

function f64(v: number): void {
  room(8);
  scratch.writeDoubleBE(v, at);
  at += 8;
}

/**
 * A record as bytes (throws on a string over 65534 bytes, which no SIP input has). `lead`, when
 * given, is written as one byte before the record (a sync record's kind) in the same allocation.
 */
export function encodeContact(r: ContactRecord, lead?: number): Buffer {
  at = 0;
  room(2);
  if (lead !== undefined) {
    scratch.writeUInt8(lead, at++);
  }
  scratch.writeUInt8(CONTACT_RECORD_VERSION, at++);
  str(r.aor);
  str(r.uri);
  str(r.received);
  str(r.sourceAddress);
  room(2);
  scratch.writeUInt16BE(r.sourcePort, at);
  at += 2;
  str(r.protocol);
  str(r.socket);
  list(r.path);
  f64(r.expires);
  f64(r.q);
  str(r.callId);
  f64(r.cseq);
  str(r.userAgent);
  str(r.instance);
  f64(r.regId ?? Number.NaN);
  room(4);
  scratch.writeUInt32BE(r.flags >>> 0, at);
  at += 4;
  list(r.methods);
  f64(r.lastModified);
  str(r.owner);
  f64(r.rev);
  return Buffer.from(scratch.subarray(0, at));
}

/** Reads one record; every read is bounds-checked by Buffer (a short one throws RangeError). */
class Reader {
  constructor(
    private readonly b: Buffer,
    private i: number,
  ) {}

  u8(): number {
    return this.b.readUInt8(this.i++);
  }

  u16(): number {
    const v = this.b.readUInt16BE(this.i);
    this.i += 2;
    return v;
  }

  u32(): number {
    const v = this.b.readUInt32BE(this.i);
    this.i += 4;
    return v;
  }

  f64(): number {
    const v = this.b.readDoubleBE(this.i);
    this.i += 8;
    return v;
  }

  strOrNull(): string | null {
    const n = this.u16();
    if (n === NULL16) {
      return null;
    }
    if (this.i + n > this.b.length) {
      throw new RangeError('string past the end');
    }
    const s = this.b.toString('utf8', this.i, this.i + n);
    this.i += n;
    return s;
  }

  str(): string {
    const s = this.strOrNull();
    if (s === null) {
      throw new RangeError('null where a string is required');
    }
    return s;
  }

  listOrNull(): string[] | null {
    const n = this.u16();
    if (n === NULL16) {
      return null;
    }
    const l: string[] = [];
    for (let k = 0; k < n; k++) {
      l.push(this.str());
    }
    return l;
  }

  end(): boolean {
    return this.i === this.b.length;
  }
}

/** A record from its bytes (from byte `start` to the end), or why it is not one. */
export function decodeContact(b: Buffer, start = 0): ContactRecord | string {
  try {
    const r = new Reader(b, start);
    const v = r.u8();
    if (v !== CONTACT_RECORD_VERSION) {
      return `record version ${String(v)} (this build reads ${String(CONTACT_RECORD_VERSION)})`;
    }
    // Property order as buildRecord's: the store rebuilds it anyway, but one shape reads faster.
    const aor = r.str();
    const uri = r.str();
    const received = r.strOrNull();
    const sourceAddress = r.str();
    const sourcePort = r.u16();
    const protocol = r.str();
    const socket = r.strOrNull();
    const path = r.listOrNull();
    const expires = r.f64();
    const q = r.f64();
    const callId = r.str();
    const cseq = r.f64();
    const userAgent = r.strOrNull();
    const instance = r.strOrNull();
    const regId = r.f64();
    const flags = r.u32();
    const methods = r.listOrNull();
    const lastModified = r.f64();
    const owner = r.strOrNull();
    const rev = r.f64();
    if (!r.end() || path === null) {
      return 'bad record length or path';
    }
    if (![expires, q, cseq, lastModified, rev].every(Number.isFinite)) {
      return 'bad number';
    }
    return {
      v,
      aor,
      uri,
      received,
      sourceAddress,
      sourcePort,
      protocol,
      socket,
      path,
      expires,
      q,
      callId,
      cseq,
      userAgent,
      instance,
      regId: Number.isNaN(regId) ? null : regId,
      flags,
      methods,
      lastModified,
      owner,
      rev,
    };
  } catch (err) {
    return (err as Error).message;
  }
}
