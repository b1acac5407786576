/**
 * Buffers for serialized messages, cut from a 64 KiB slab of our own. `Buffer.allocUnsafe` (and
 * `Buffer.from(string)`) cut small buffers from Node's process-wide 8 KiB pool, which a 1 KB SIP
 * message empties every eighth call, and the new pool's ArrayBuffer costs several microseconds.
 * Measured here: ~450 ns per 1.1 KB buffer from the pool, ~130 ns from this slab; the difference
 * was about a fifth of a forwarded INVITE's serialization. See docs/adr/0012-outgoing-slab.md.
 *
 * A slab lives as long as any buffer cut from it. Serialized messages are held by the
 * transaction that sends them (at most 64*T1 after its end) or by a connection's write queue,
 * and the buffers of one slab were all made within a short interval, so slabs are freed about
 * together. Large messages get their own allocation, so that one of them pins nothing.
 */

/** Slab size: about sixty 1 KB messages per ArrayBuffer allocation. */
const SLAB_BYTES = 64 * 1024;
/** Messages above this get a buffer of their own. */
const MAX_SLAB_CUT = 8 * 1024;

let slab = Buffer.allocUnsafeSlow(SLAB_BYTES);
let offset = 0;

/**
 * An uninitialised buffer of `n` bytes for a message about to be written into it whole; the
 * caller must fill every byte.
 */
export function outBuffer(n: number): Buffer {
  if (n > MAX_SLAB_CUT) {
    return Buffer.allocUnsafeSlow(n);
  }
  if (offset + n > SLAB_BYTES) {
    slab = Buffer.allocUnsafeSlow(SLAB_BYTES);
    offset = 0;
  }
  const out = slab.subarray(offset, offset + n);
  // Keep cuts 8-byte aligned, as Node's pool does.
  offset = (offset + n + 7) & ~7;
  return out;
}
