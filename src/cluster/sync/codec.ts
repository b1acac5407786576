/**
 * The bytes of the sync engine: the header it puts in front of every live packet of a
 * capability (after the data version), and the packets of the reserved capability
 * `clusterer:sync` (docs/cluster-protocol.md has the byte tables). Everything is big-endian;
 * each `clusterer:sync` payload starts with its format version, and a payload of another
 * version or a malformed one decodes to null (the caller counts and drops it).
 */

/** The reserved capability the engine's own packets travel on. */
export const SYNC_CAPABILITY = 'clusterer:sync';
/** Format version of every `clusterer:sync` payload. */
export const SYNC_VERSION = 1;

/** Packet types of `clusterer:sync`. */
export const SyncType = {
  STATUS: 1,
  SYNC_REQ: 2,
  REFUSE: 3,
  CHUNK: 4,
  END: 5,
  ABORT: 6,
} as const;

/** Bytes of the live header: data version u16, boot id u32, sequence number u32. */
export const LIVE_HEADER = 10;
/** SHA-256 */
export const DIGEST_BYTES = 32;

/** One capability's line of a STATUS. */
export interface CapStatus {
  readonly name: string;
  readonly synced: boolean;
  /** Transfers this node is serving as a donor right now. */
  readonly serving: number;
  /** The last live sequence number this node took for the receiver of the STATUS. */
  readonly lastSeq: number;
}

export interface StatusMsg {
  readonly boot: number;
  readonly caps: readonly CapStatus[];
}

export interface SyncReqMsg {
  readonly syncId: number;
  readonly capability: string;
  readonly scope: string | null;
}

export interface RefuseMsg {
  readonly syncId: number;
  readonly reason: string;
}

export interface EndMsg {
  readonly syncId: number;
  readonly count: number;
  readonly digest: Buffer;
}

export interface AbortMsg {
  readonly syncId: number;
  /** True when the donor aborts (the transfer is the receiver's), false from the receiver. */
  readonly fromDonor: boolean;
  readonly reason: string;
}

/** A live packet's header in front of `payload`. */
export function encodeLive(
  dataVersion: number,
  boot: number,
  seq: number,
  payload: Buffer,
): Buffer {
  const buf = Buffer.allocUnsafe(LIVE_HEADER + payload.length);
  buf.writeUInt16BE(dataVersion, 0);
  buf.writeUInt32BE(boot, 2);
  buf.writeUInt32BE(seq, 6);
  payload.copy(buf, LIVE_HEADER);
  return buf;
}

/** A small cursor over a payload; every read checks the bounds and throws RangeError past them. */
class Reader {
  private at = 0;

  constructor(private readonly buf: Buffer) {}

  u8(): number {
    return this.buf.readUInt8(this.take(1));
  }

  u16(): number {
    return this.buf.readUInt16BE(this.take(2));
  }

  u32(): number {
    return this.buf.readUInt32BE(this.take(4));
  }

  bytes(n: number): Buffer {
    const start = this.take(n);
    return this.buf.subarray(start, start + n);
  }

  str8(): string {
    return this.bytes(this.u8()).toString('utf8');
  }

  str16(): string {
    return this.bytes(this.u16()).toString('utf8');
  }

  done(): boolean {
    return this.at === this.buf.length;
  }

  private take(n: number): number {
    if (this.at + n > this.buf.length) {
      throw new RangeError('short payload');
    }
    const at = this.at;
    this.at += n;
    return at;
  }
}

class Writer {
  private readonly parts: Buffer[] = [];

  u8(v: number): this {
    this.parts.push(Buffer.from([v]));
    return this;
  }

  u16(v: number): this {
    const b = Buffer.allocUnsafe(2);
    b.writeUInt16BE(v, 0);
    this.parts.push(b);
    return this;
  }

  u32(v: number): this {
    const b = Buffer.allocUnsafe(4);
    b.writeUInt32BE(v >>> 0, 0);
    this.parts.push(b);
    return this;
  }

  raw(b: Buffer): this {
    this.parts.push(b);
    return this;
  }

  str8(s: string): this {
    const b = Buffer.from(s, 'utf8').subarray(0, 255);
    return this.u8(b.length).raw(b);
  }

  str16(s: string): this {
    const b = Buffer.from(s, 'utf8').subarray(0, 0xffff);
    return this.u16(b.length).raw(b);
  }

  done(): Buffer {
    return Buffer.concat(this.parts);
  }
}

function head(): Writer {
  return new Writer().u8(SYNC_VERSION);
}

export function encodeStatus(m: StatusMsg): Buffer {
  const w = head().u32(m.boot).u16(m.caps.length);
  for (const c of m.caps) {
    w.str8(c.name)
      .u8(c.synced ? 1 : 0)
      .u16(Math.min(c.serving, 0xffff))
      .u32(c.lastSeq);
  }
  return w.done();
}

export function encodeSyncReq(m: SyncReqMsg): Buffer {
  const w = head().u32(m.syncId).str8(m.capability);
  return (m.scope === null ? w.u8(0) : w.u8(1).str16(m.scope)).done();
}

export function encodeRefuse(m: RefuseMsg): Buffer {
  return head().u32(m.syncId).str16(m.reason).done();
}

/** A CHUNK's header; the records (u32 length + bytes each) follow it in the same payload. */
export const CHUNK_HEADER = 9;

export function writeChunkHeader(buf: Buffer, syncId: number, index: number): void {
  buf.writeUInt8(SYNC_VERSION, 0);
  buf.writeUInt32BE(syncId, 1);
  buf.writeUInt32BE(index, 5);
}

export function encodeEnd(m: EndMsg): Buffer {
  return head().u32(m.syncId).u32(m.count).raw(m.digest).done();
}

export function encodeAbort(m: AbortMsg): Buffer {
  return head()
    .u32(m.syncId)
    .u8(m.fromDonor ? 1 : 0)
    .str16(m.reason)
    .done();
}

/** Decoded `clusterer:sync` packets, by type. */
export type SyncMsg =
  | { readonly type: typeof SyncType.STATUS; readonly msg: StatusMsg }
  | { readonly type: typeof SyncType.SYNC_REQ; readonly msg: SyncReqMsg }
  | { readonly type: typeof SyncType.REFUSE; readonly msg: RefuseMsg }
  | {
      readonly type: typeof SyncType.CHUNK;
      readonly syncId: number;
      readonly index: number;
      /** The records part: u32 length + bytes, repeated. */
      readonly records: Buffer;
    }
  | { readonly type: typeof SyncType.END; readonly msg: EndMsg }
  | { readonly type: typeof SyncType.ABORT; readonly msg: AbortMsg };

/** Decode a `clusterer:sync` payload; null for another version, an unknown type or bad bytes. */
export function decodeSync(type: number, payload: Buffer): SyncMsg | null {
  try {
    const r = new Reader(payload);
    if (r.u8() !== SYNC_VERSION) {
      return null;
    }
    const out = decodeBody(type, r, payload);
    return out !== null && (out.type === SyncType.CHUNK || r.done()) ? out : null;
  } catch {
    return null;
  }
}

function decodeBody(type: number, r: Reader, payload: Buffer): SyncMsg | null {
  switch (type) {
    case SyncType.STATUS: {
      const boot = r.u32();
      const n = r.u16();
      const caps: CapStatus[] = [];
      for (let i = 0; i < n; i++) {
        caps.push({ name: r.str8(), synced: r.u8() === 1, serving: r.u16(), lastSeq: r.u32() });
      }
      return { type, msg: { boot, caps } };
    }
    case SyncType.SYNC_REQ: {
      const syncId = r.u32();
      const capability = r.str8();
      const scope = r.u8() === 1 ? r.str16() : null;
      return { type, msg: { syncId, capability, scope } };
    }
    case SyncType.REFUSE:
      return { type, msg: { syncId: r.u32(), reason: r.str16() } };
    case SyncType.CHUNK: {
      const syncId = r.u32();
      const index = r.u32();
      return { type, syncId, index, records: payload.subarray(CHUNK_HEADER) };
    }
    case SyncType.END:
      return { type, msg: { syncId: r.u32(), count: r.u32(), digest: r.bytes(DIGEST_BYTES) } };
    case SyncType.ABORT:
      return { type, msg: { syncId: r.u32(), fromDonor: r.u8() === 1, reason: r.str16() } };
    default:
      return null;
  }
}

/**
 * Walk the records of a CHUNK: `each` gets every record with its length prefix (what the digest
 * covers) and the record itself. Returns false when a length runs past the chunk.
 */
export function forEachRecord(
  records: Buffer,
  each: (framed: Buffer, record: Buffer) => void,
): boolean {
  let at = 0;
  while (at < records.length) {
    if (at + 4 > records.length) {
      return false;
    }
    const len = records.readUInt32BE(at);
    const end = at + 4 + len;
    if (end > records.length) {
      return false;
    }
    each(records.subarray(at, end), records.subarray(at + 4, end));
    at = end;
  }
  return true;
}
