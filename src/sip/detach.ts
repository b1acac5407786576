/**
 * Values cut from a received message are slices of its decoded text: V8 represents a substring
 * of 13 characters or more as a view that keeps the whole parent string alive. That is what
 * makes lazy parsing cheap, and what makes a long-lived value expensive: a transaction key or a
 * dialog's Call-ID kept for 32 s (or for a call's lifetime) would keep the entire message text
 * with it. Anything stored beyond the message's own life goes through {@link detach}.
 */

/**
 * A copy of `s` that shares no storage with the string it was sliced from. Concatenation gives a
 * cons string, and slicing that flattens it into new storage first, so the result's parent (if
 * it has one) is that copy, never the message text. About 100 ns for a typical key.
 */
export function detach(s: string): string {
  return (s + ' ').slice(0, -1);
}

/**
 * Bytes that own their memory. A serialized message is a slice of the serializer's 64 KiB slab
 * (src/sip/out-buffer.ts), and a slice keeps the whole slab alive: a 400-byte response kept for
 * 32 s would hold 64 KiB. Bytes already alone in their ArrayBuffer (a received datagram) are
 * returned as they are.
 */
export function detachBytes(b: Buffer): Buffer {
  if (b.byteOffset === 0 && b.buffer.byteLength === b.length) {
    return b;
  }
  const own = Buffer.allocUnsafeSlow(b.length);
  b.copy(own);
  return own;
}
