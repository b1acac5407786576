/**
 * The bin/bins wire format (docs/cluster-protocol.md has the byte map): big-endian, one frame per
 * packet, an 8-byte preamble (magic, version, flags, body length) that every version keeps, so a
 * reader skips a frame of a version it does not know by its length, then the version 1 body.
 * {@link FrameDecoder} turns a byte stream into frames and says when the stream broke framing.
 */
import { CoreError } from '../../core/errors.js';
import type { Lane } from '../types.js';

/** `TN`: the first two bytes of every frame. */
export const MAGIC = 0x544e;
/** The one version this code writes and reads. */
export const PROTOCOL_VERSION = 1;
/** magic u16, version u8, flags u8, body length u32. */
export const PREAMBLE_BYTES = 8;
/** cluster u16, source u16, destination u16, ttl u8, capability length u8, type u16, length u32. */
const FIXED_BODY_BYTES = 14;
/** 16 MiB: a frame larger than this breaks framing unless configured otherwise. */
export const DEFAULT_MAX_FRAME_BYTES = 16 * 1024 * 1024;

const LANE_CODES: Record<Lane, number> = { control: 0, data: 1, bulk: 2 };
const LANES: readonly Lane[] = ['control', 'data', 'bulk'];

/** One decoded version 1 frame. `payload` is a view into the received bytes. */
export interface Frame {
  readonly lane: Lane;
  readonly clusterId: number;
  readonly source: number;
  readonly destination: number;
  readonly ttl: number;
  readonly capability: string;
  readonly type: number;
  readonly payload: Buffer;
}

/** Why a stream was given up: it cannot be resynchronised after any of these. */
export type MalformedReason = 'magic' | 'too_large' | 'capability' | 'length' | 'lane';

function u16(name: string, v: number): void {
  if (!Number.isInteger(v) || v < 0 || v > 0xffff) {
    throw new CoreError('TANDEM_ERR_INVALID_ARGUMENT', `${name} ${v} is not in 0..65535`);
  }
}

/** Printable ASCII only: capability names go into logs and MI output as they are. */
function isCapabilityText(s: string): boolean {
  for (let i = 0; i < s.length; i++) {
    const c = s.charCodeAt(i);
    if (c < 0x20 || c > 0x7e) {
      return false;
    }
  }
  return true;
}

/** Bytes a frame with this capability and payload takes on the wire. */
export function frameSize(capability: string, payloadBytes: number): number {
  return PREAMBLE_BYTES + FIXED_BODY_BYTES + capability.length + payloadBytes;
}

/** Encode one frame; throws on arguments no peer could decode (a programming error). */
export function encodeFrame(f: Frame, maxFrameBytes = DEFAULT_MAX_FRAME_BYTES): Buffer {
  u16('cluster id', f.clusterId);
  u16('source', f.source);
  u16('destination', f.destination);
  u16('type', f.type);
  if (!Number.isInteger(f.ttl) || f.ttl < 0 || f.ttl > 255) {
    throw new CoreError('TANDEM_ERR_INVALID_ARGUMENT', `ttl ${f.ttl} is not in 0..255`);
  }
  if (f.capability.length > 255 || !isCapabilityText(f.capability)) {
    throw new CoreError(
      'TANDEM_ERR_INVALID_ARGUMENT',
      'a capability is 0..255 printable ASCII characters',
    );
  }
  const size = frameSize(f.capability, f.payload.length);
  if (size > maxFrameBytes) {
    throw new CoreError(
      'TANDEM_ERR_INVALID_ARGUMENT',
      `a ${size}-byte frame exceeds maxFrameBytes ${maxFrameBytes}`,
    );
  }
  const buf = Buffer.allocUnsafe(size);
  buf.writeUInt16BE(MAGIC, 0);
  buf.writeUInt8(PROTOCOL_VERSION, 2);
  buf.writeUInt8(LANE_CODES[f.lane], 3);
  buf.writeUInt32BE(size - PREAMBLE_BYTES, 4);
  buf.writeUInt16BE(f.clusterId, 8);
  buf.writeUInt16BE(f.source, 10);
  buf.writeUInt16BE(f.destination, 12);
  buf.writeUInt8(f.ttl, 14);
  const capLen = f.capability.length;
  buf.writeUInt8(capLen, 15);
  buf.write(f.capability, 16, 'latin1');
  buf.writeUInt16BE(f.type, 16 + capLen);
  buf.writeUInt32BE(f.payload.length, 18 + capLen);
  f.payload.copy(buf, 22 + capLen);
  return buf;
}

/** Parse a version 1 body (the bytes after the preamble); null when it is inconsistent. */
function parseBody(
  flags: number,
  body: Buffer,
): Frame | Exclude<MalformedReason, 'magic' | 'too_large'> {
  const lane = LANES[flags & 0x03];
  if (lane === undefined || (flags & 0xfc) !== 0) {
    return 'lane';
  }
  if (body.length < FIXED_BODY_BYTES) {
    return 'length';
  }
  const capLen = body.readUInt8(7);
  if (FIXED_BODY_BYTES + capLen > body.length) {
    return 'capability';
  }
  const capability = body.toString('latin1', 8, 8 + capLen);
  if (!isCapabilityText(capability)) {
    return 'capability';
  }
  const payloadLen = body.readUInt32BE(10 + capLen);
  if (FIXED_BODY_BYTES + capLen + payloadLen !== body.length) {
    return 'length';
  }
  return {
    lane,
    clusterId: body.readUInt16BE(0),
    source: body.readUInt16BE(2),
    destination: body.readUInt16BE(4),
    ttl: body.readUInt8(6),
    capability,
    type: body.readUInt16BE(8 + capLen),
    payload: body.subarray(14 + capLen),
  };
}

/** What {@link FrameDecoder.push} tells its owner, frame by frame. */
export interface DecoderSink {
  frame(f: Frame): void;
  /** A whole frame of another version was skipped by its length. */
  unknownVersion(version: number): void;
}

/**
 * Reassembles frames from stream chunks without copying a frame that lies inside one chunk.
 * After a malformed frame the decoder is dead: the owner closes the stream.
 */
export class FrameDecoder {
  private chunks: Buffer[] = [];
  private buffered = 0;
  private broken: MalformedReason | null = null;

  constructor(private maxFrameBytes = DEFAULT_MAX_FRAME_BYTES) {}

  /** Change the largest frame accepted (a connection raises it once its peer is known). */
  setLimit(maxFrameBytes: number): void {
    this.maxFrameBytes = maxFrameBytes;
  }

  /** Bytes held waiting for the rest of a frame. */
  get pending(): number {
    return this.buffered;
  }

  /**
   * Feed bytes; calls `sink` for each complete frame. Returns null, or the reason the stream
   * broke framing (then nothing more is decoded).
   */
  push(chunk: Buffer, sink: DecoderSink): MalformedReason | null {
    if (this.broken !== null) {
      return this.broken;
    }
    if (chunk.length > 0) {
      this.chunks.push(chunk);
      this.buffered += chunk.length;
    }
    while (this.buffered >= PREAMBLE_BYTES) {
      const head = this.peek(PREAMBLE_BYTES);
      if (head.readUInt16BE(0) !== MAGIC) {
        return this.fail('magic');
      }
      const total = PREAMBLE_BYTES + head.readUInt32BE(4);
      if (total > this.maxFrameBytes) {
        return this.fail('too_large');
      }
      if (this.buffered < total) {
        return null;
      }
      const bytes = this.take(total);
      const version = bytes.readUInt8(2);
      if (version !== PROTOCOL_VERSION) {
        sink.unknownVersion(version);
        continue;
      }
      const parsed = parseBody(bytes.readUInt8(3), bytes.subarray(PREAMBLE_BYTES));
      if (typeof parsed === 'string') {
        return this.fail(parsed);
      }
      sink.frame(parsed);
      if (this.isBroken()) {
        return this.broken;
      }
    }
    return null;
  }

  /** True once the stream broke framing or the owner gave it up. */
  isBroken(): boolean {
    return this.broken !== null;
  }

  /** Stop decoding (the owner closed the stream); later pushes report `reason`. */
  fail(reason: MalformedReason): MalformedReason {
    this.broken = reason;
    this.chunks = [];
    this.buffered = 0;
    return reason;
  }

  /** The first `n` buffered bytes (n <= buffered), copied only when they span chunks. */
  private peek(n: number): Buffer {
    const first = this.chunks[0]!;
    return first.length >= n ? first : this.gather(n, false);
  }

  /** Remove and return the first `n` buffered bytes (n <= buffered). */
  private take(n: number): Buffer {
    const first = this.chunks[0]!;
    if (first.length < n) {
      return this.gather(n, true);
    }
    if (first.length === n) {
      this.chunks.shift();
    } else {
      this.chunks[0] = first.subarray(n);
    }
    this.buffered -= n;
    return first.subarray(0, n);
  }

  /**
   * Copy the first `n` bytes out of the chunks they span (only those bytes: a small frame across
   * two 64 KiB reads must not copy 128 KiB), consuming them when `consume` is set.
   */
  private gather(n: number, consume: boolean): Buffer {
    const out = Buffer.allocUnsafe(n);
    let copied = 0;
    let i = 0;
    while (copied < n) {
      const c = this.chunks[i]!;
      const k = Math.min(c.length, n - copied);
      c.copy(out, copied, 0, k);
      copied += k;
      if (consume && k < c.length) {
        this.chunks[i] = c.subarray(k);
      } else {
        i++;
      }
    }
    if (consume) {
      this.chunks.splice(0, i);
      this.buffered -= n;
    }
    return out;
  }
}
