/**
 * One header field line of a message. A parsed field remembers where its original text lies in
 * the received bytes instead of slicing it out: most lines are never looked at again, the
 * serializer copies untouched lines straight from the received text, and the typed accessors
 * run their grammars over the received bytes. Even the value string is cut out only when
 * someone reads `value` (measured: one slice per line was ~8 % of a parse).
 */

/** The received bytes a parsed message's fields point into. */
export class RawSource {
  constructor(
    /** The received datagram or framed stream message. */
    readonly buf: Buffer,
    /**
     * Offset in `buf` of the first byte of `text`. The parser decodes from the start of `buf`,
     * so for a parsed message this is 0 and an offset into `text` is an offset into `buf`.
     */
    readonly base: number,
    /**
     * `buf` from `base` decoded as latin1, one character per byte: the header block at least (a
     * parsed message's text runs on through its body).
     */
    readonly text: string,
  ) {}
}

const SP = 0x20;
const HTAB = 0x09;

export class HeaderField {
  /** Canonical name: lower-case, compact form expanded (`v` becomes `via`). */
  readonly name: string;
  /** Where the original line lives, or null for a field Tandem created or rewrote. */
  readonly source: RawSource | null;
  /** Offsets of the original line (name through end of value, folding kept) in `source.text`. */
  readonly start: number;
  readonly end: number;
  /**
   * Offset in `source.text` just after the colon when the value can be read straight from the
   * received bytes (an unfolded received line), else -1. Internal to the message layer.
   */
  readonly valueFrom: number;
  /** The value, or null until first read for a received line. */
  private text: string | null;

  constructor(
    name: string,
    /** The field value: continuation lines joined by one SP, surrounding SP/HTAB removed. */
    value: string,
    source: RawSource | null = null,
    start = 0,
    end = 0,
    /** Internal to the message layer: see {@link HeaderField.received}. */
    valueFrom = -1,
  ) {
    this.name = name;
    this.source = source;
    this.start = start;
    this.end = end;
    // Every field is written once, in the constructor: the parser makes one of these per line.
    this.valueFrom = valueFrom;
    this.text = valueFrom >= 0 ? null : value;
  }

  /**
   * A received, unfolded line whose value (after the colon at `colon`) is cut out of the text
   * on first read. Internal to the message layer (the parser makes these).
   */
  static received(
    name: string,
    source: RawSource,
    start: number,
    end: number,
    colon: number,
  ): HeaderField {
    if (source.base === 0) {
      return new HeaderField(name, '', source, start, end, colon + 1);
    }
    // Text offsets are byte offsets only when the text starts at byte 0; otherwise the value is
    // cut out now and read as a string.
    const f = new HeaderField(name, '', source, start, end);
    f.text = f.valueAt(colon + 1);
    return f;
  }

  /** The field value: continuation lines joined by one SP, surrounding SP/HTAB removed. */
  get value(): string {
    let v = this.text;
    if (v === null) {
      v = this.valueAt(this.valueFrom);
      this.text = v;
    }
    return v;
  }

  /** The received text from `from` to the end of the line, SP/HTAB trimmed. */
  private valueAt(from: number): string {
    // Only received fields get here, and they always have a source.
    const src = this.source!;
    const t = src.text;
    let a = from;
    let e = this.end;
    while (a < e && (t.charCodeAt(a) === SP || t.charCodeAt(a) === HTAB)) {
      a++;
    }
    while (e > a && (t.charCodeAt(e - 1) === SP || t.charCodeAt(e - 1) === HTAB)) {
      e--;
    }
    return t.slice(a, e);
  }

  /** The line exactly as received, or null for a field Tandem created (written `Name: value`). */
  get raw(): string | null {
    return this.source === null ? null : this.source.text.slice(this.start, this.end);
  }

  /** A new field with another value and no original text. */
  withValue(value: string): HeaderField {
    return new HeaderField(this.name, value);
  }
}
