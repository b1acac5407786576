/**
 * One header field line of a message. A parsed field remembers where its original text lies in
 * the received bytes instead of slicing it out: most lines are never looked at again, and the
 * serializer copies untouched lines straight from the received buffer.
 */

/** The received bytes a parsed message's fields point into. */
export class RawSource {
  constructor(
    /** The received datagram or framed stream message. */
    readonly buf: Buffer,
    /** Offset in `buf` of the first byte of `text`. */
    readonly base: number,
    /** The header block decoded as latin1: character offsets equal byte offsets. */
    readonly text: string,
  ) {}
}

export class HeaderField {
  constructor(
    /** Canonical name: lower-case, compact form expanded (`v` becomes `via`). */
    readonly name: string,
    /** The field value: continuation lines joined by one SP, surrounding SP/HTAB removed. */
    readonly value: string,
    /** Where the original line lives, or null for a field Tandem created or rewrote. */
    readonly source: RawSource | null = null,
    /** Offsets of the original line (name through end of value, folding kept) in `source.text`. */
    readonly start = 0,
    readonly end = 0,
  ) {}

  /** The line exactly as received, or null for a field Tandem created (written `Name: value`). */
  get raw(): string | null {
    return this.source === null ? null : this.source.text.slice(this.start, this.end);
  }

  /** A new field with another value and no original text. */
  withValue(value: string): HeaderField {
    return new HeaderField(this.name, value);
  }
}
