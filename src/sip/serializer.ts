/**
 * Message to bytes. Untouched header lines are copied from the received buffer, and runs of
 * consecutive untouched lines are copied in one `copy` (a memcpy), so forwarding a request whose
 * proxy changed three headers costs a few copies, not a string rebuild of every line.
 *
 * Exactly one Content-Length is written, with the body's real length (RFC 3261 §18.3 makes it
 * mandatory on streams, and the next hop's transport is not known here).
 */
import type { HeaderField, RawSource } from './header-field.js';
import { displayName } from './header-names.js';

const CRLF = 0x0a0d; // "\r\n" as a little-endian uint16

/** Write `startLine`, `headers` and `body` as one SIP message. */
export function serialize(
  startLine: string,
  headers: readonly HeaderField[],
  body: Buffer,
): Buffer {
  const bodyLength = body.length;
  const lengthLine = `Content-Length: ${bodyLength}`;
  const n = headers.length;

  // Pass 1: size, and which Content-Length line (if any) can be kept as received.
  let size = startLine.length + 2;
  let sawLength = false;
  for (let i = 0; i < n; i++) {
    const h = headers[i]!;
    if (h.name === 'content-length') {
      if (sawLength) {
        continue;
      }
      sawLength = true;
      if (!keepsLength(h, bodyLength)) {
        size += lengthLine.length + 2;
        continue;
      }
    }
    size += lineLength(h) + 2;
  }
  if (!sawLength) {
    size += lengthLine.length + 2;
  }
  size += 2 + bodyLength;

  // Pass 2: write. A run of received lines that are adjacent in the source, separated by CRLF,
  // is copied at once.
  const out = Buffer.allocUnsafe(size);
  let at = out.write(startLine, 0, 'latin1');
  at = crlf(out, at);
  sawLength = false;
  let runSrc: RawSource | null = null;
  let runStart = 0;
  let runEnd = 0;
  for (let i = 0; i < n; i++) {
    const h = headers[i]!;
    let literal: string | null = null;
    if (h.name === 'content-length') {
      if (sawLength) {
        continue;
      }
      sawLength = true;
      if (!keepsLength(h, bodyLength)) {
        literal = lengthLine;
      }
    }
    const src = literal === null ? h.source : null;
    if (src !== null && src === runSrc && h.start === runEnd + 2 && isCrlfAt(src, runEnd)) {
      runEnd = h.end;
      continue;
    }
    if (runSrc !== null) {
      at = copyRun(out, at, runSrc, runStart, runEnd);
      runSrc = null;
    }
    if (src !== null) {
      runSrc = src;
      runStart = h.start;
      runEnd = h.end;
    } else {
      at += out.write(literal ?? `${displayName(h.name)}: ${h.value}`, at, 'latin1');
      at = crlf(out, at);
    }
  }
  if (runSrc !== null) {
    at = copyRun(out, at, runSrc, runStart, runEnd);
  }
  if (!sawLength) {
    at += out.write(lengthLine, at, 'latin1');
    at = crlf(out, at);
  }
  at = crlf(out, at);
  body.copy(out, at);
  return out;
}

/** A received Content-Length line is kept when it already states the body's length. */
function keepsLength(h: HeaderField, bodyLength: number): boolean {
  return h.source !== null && h.value.length <= 10 && Number(h.value) === bodyLength;
}

function lineLength(h: HeaderField): number {
  return h.source !== null ? h.end - h.start : displayName(h.name).length + 2 + h.value.length;
}

function isCrlfAt(src: RawSource, end: number): boolean {
  return src.text.charCodeAt(end) === 0x0d && src.text.charCodeAt(end + 1) === 0x0a;
}

function copyRun(out: Buffer, at: number, src: RawSource, start: number, end: number): number {
  at += src.buf.copy(out, at, src.base + start, src.base + end);
  return crlf(out, at);
}

function crlf(out: Buffer, at: number): number {
  out.writeUInt16LE(CRLF, at);
  return at + 2;
}
