/**
 * The stream framer: cuts the bytes of a TCP or TLS connection into whole SIP messages and the
 * CRLF keep-alives between them. It reads only what framing needs, the end of the head and
 * Content-Length; the parser judges the rest of each message it emits.
 *
 * RFC 3261 §7.5: "The Content-Length header field value is used to locate the end of each SIP
 * message in a stream. It will always be present when SIP messages are sent over
 * stream-oriented transports."
 *
 * Cost: each byte is looked at once. The head is scanned by a state machine that survives chunk
 * boundaries, so nothing is searched twice; lines that cannot be Content-Length are skipped with
 * a native `indexOf`. A message inside one chunk (the common case) is emitted as a zero-copy view
 * of it; one spread over several chunks is copied once, when its last byte arrives. Memory held
 * is the bytes received, never a declared Content-Length allocated ahead of them.
 */
import { CoreError, SipParseError, type SipErrorCode } from '../core/errors.js';
import { DIGIT, WSP } from './chars.js';

/** Limits of one connection's framer. */
export interface FramerLimits {
  /** Largest head (start line through the empty line) accepted, in bytes. Default 16384. */
  maxHeadBytes: number;
  /** Largest Content-Length accepted, in bytes. Default 65536. */
  maxBodyBytes: number;
  /**
   * CR and LF bytes tolerated in one run between messages before the peer counts as flooding.
   * Default 1024. The count restarts whenever a push() ends exactly on a whole keep-alive, so an
   * idle flow that sends one ping per write (as RFC 5626 clients do) never trips it.
   */
  maxKeepaliveBytes: number;
}

export const DEFAULT_FRAMER_LIMITS: Readonly<FramerLimits> = Object.freeze({
  maxHeadBytes: 16384,
  maxBodyBytes: 65536,
  maxKeepaliveBytes: 1024,
});

/**
 * What the framer reports: synchronously, from inside push(), in stream order. If a handler
 * throws, the framer still finishes the chunk (its state stays consistent and no later message
 * is lost), then push() rethrows the first exception.
 */
export interface FramerHandler {
  /**
   * One complete message: start line through the end of the body, CRLFs before it excluded.
   * It may be a view of the chunk given to push(), so a pushed chunk must not be reused.
   */
  onMessage(message: Buffer): void;
  /** A double-CRLF ping arrived; RFC 5626 §5.4 wants a single CRLF pong sent back at once. */
  onPing(): void;
  /** A single-CRLF pong arrived (the answer to our own ping, RFC 5626 §4.4.1). */
  onPong(): void;
  /** Framing broke: close the connection. The framer ignores all later input. */
  onError(err: SipParseError): void;
}

const CR = 0x0d;
const LF = 0x0a;
const COLON = 0x3a;
const PING = 0;
const PONG = 1;

// Phases: between messages (CRLFs only), in a head, waiting for a body, failed.
const IDLE = 0;
const HEAD = 1;
const BODY = 2;
const DEAD = 3;

// Where the head scanner stands.
const H_LINE = 0; // in a line that cannot matter: skip to its LF
const H_BOL = 1; // at the beginning of a line
const H_BOL_CR = 2; // after a CR at the beginning of a line
const H_NAME = 3; // matching a name against Content-Length or l, then *WSP ":"
const H_VALUE = 4; // in a Content-Length value

// Where a Content-Length value stands: no digit yet, in the digits, after them.
const V_NONE = 0;
const V_DIGITS = 1;
const V_AFTER = 2;

// A lone CRLF between messages: none, one not reported yet, one already reported as a pong.
const NONE = 0;
const LONE = 1;
const REPORTED = 2;

const LONG_NAME = 'content-length';
const SHORT_NAME = 'l';

/**
 * Cuts one connection's byte stream into SIP messages and keep-alives.
 *
 * Keep-alives between messages (RFC 5626 §3.5.1: "The client periodically sends a double-CRLF
 * (the "ping") then waits to receive a single CRLF (the "pong")"): each CRLF pair is a ping, and
 * a CRLF left unpaired is a pong, reported as soon as the run of CRLFs or the chunk ends. A lone
 * CRLF at the end of a chunk is not held back for the next byte, which may never come: §4.4.1
 * "If a pong is not received within 10 seconds after sending a ping ... then the client MUST
 * treat the flow as failed". A ping split across two chunks (CRLF | CRLF) therefore gives onPong
 * then onPing: a spare pong is harmless, a lost ping or a late pong is not.
 */
export class StreamFramer {
  private readonly handler: FramerHandler;
  private readonly limits: FramerLimits;
  private phase = IDLE;
  private epoch = 0; // bumped by reset(), so a push() whose handler called reset() stops
  private busy = false;
  private thrown: { error: unknown } | null = null; // the first handler exception of a push()

  // Between messages.
  private cr = false; // the last byte was a CR
  private lone = NONE;
  private aligned = false; // the last byte ended a CRLF
  private run = 0; // CR/LF bytes in the current run

  // The message being framed.
  private parts: Buffer[] = []; // its bytes from earlier chunks
  private held = 0; // their total length
  private seg = 0; // where its bytes start in the current chunk
  private hs = H_LINE;
  private name = LONG_NAME;
  private nameIdx = 0;
  private clOpen = false; // a Content-Length value is being read (a fold may continue it)
  private vstate = V_NONE;
  private value = 0;
  private cl = -1; // the Content-Length found so far, -1 for none
  private total = 0; // the length of the whole message, once its head is complete

  /** `limits` override {@link DEFAULT_FRAMER_LIMITS} one by one; a bad value throws CoreError. */
  constructor(handler: FramerHandler, limits: Partial<FramerLimits> = {}) {
    this.handler = handler;
    this.limits = { ...DEFAULT_FRAMER_LIMITS, ...limits };
    for (const key of ['maxHeadBytes', 'maxBodyBytes', 'maxKeepaliveBytes'] as const) {
      const value = this.limits[key];
      if (!Number.isSafeInteger(value) || value < (key === 'maxHeadBytes' ? 1 : 0)) {
        throw new CoreError('TANDEM_ERR_INVALID_ARGUMENT', `${key} must be a whole byte count`);
      }
    }
  }

  /** Bytes of an unfinished message held between push() calls. */
  get buffered(): number {
    return this.phase === HEAD || this.phase === BODY ? this.held : 0;
  }

  /**
   * Feed the next bytes of the stream; does nothing once the framer has failed. Throws the first
   * exception a handler threw, after the whole chunk was processed. A handler must not call
   * push() (that throws CoreError); it may call reset(), which drops the rest of the chunk.
   */
  push(chunk: Buffer): void {
    if (this.phase === DEAD || chunk.length === 0) {
      return;
    }
    if (this.busy) {
      throw new CoreError('TANDEM_ERR_INVALID_STATE', 'StreamFramer.push() called by its handler');
    }
    this.busy = true;
    try {
      this.consume(chunk);
    } finally {
      this.busy = false;
    }
    const thrown = this.thrown;
    if (thrown !== null) {
      this.thrown = null;
      throw thrown.error;
    }
  }

  /** Drop any partial message and return to the initial state, also after an error. */
  reset(): void {
    this.epoch++;
    this.phase = IDLE;
    this.clear();
    this.parts = [];
    this.held = 0;
  }

  private consume(chunk: Buffer): void {
    const epoch = this.epoch;
    const len = chunk.length;
    this.seg = 0;
    let p = 0;
    while (p < len) {
      if (this.phase === IDLE) {
        p = this.between(chunk, p);
      } else if (this.phase === HEAD) {
        p = this.head(chunk, p);
      } else {
        p = this.body(chunk);
      }
      if (this.epoch !== epoch || this.phase === DEAD) {
        return;
      }
    }
    if (this.phase !== IDLE) {
      this.parts.push(this.seg === 0 ? chunk : chunk.subarray(this.seg));
      this.held += len - this.seg;
      return;
    }
    if (this.aligned) {
      this.run = 0; // the peer's write ended on a whole keep-alive
    }
    if (this.lone === LONE) {
      this.lone = REPORTED; // a pong now; the next chunk's CRLF may still make it a ping
      this.report(PONG);
    }
  }

  /** Between messages: keep-alives, CRLFs before a start line, and the start of a message. */
  private between(chunk: Buffer, p: number): number {
    const len = chunk.length;
    while (p < len) {
      const c = chunk[p]!;
      if (c !== CR && c !== LF) {
        if (this.lone === LONE) {
          this.lone = NONE;
          this.report(PONG);
        } else {
          this.clear();
          this.phase = HEAD;
          this.seg = p;
          this.hs = H_LINE; // the start line
          this.clOpen = false;
          this.cl = -1;
        }
        return p;
      }
      p++;
      // RFC 3261 §7.5: "Implementations processing SIP messages over stream-oriented transports
      // MUST ignore any CRLF appearing before the start-line" - but not without end.
      if (++this.run > this.limits.maxKeepaliveBytes) {
        this.fail('SIP_ERR_FLOOD', `More than ${this.limits.maxKeepaliveBytes} CRLF bytes`);
        return p;
      }
      const crlf = c === LF && this.cr;
      this.cr = c === CR;
      this.aligned = crlf;
      if (c === LF) {
        const lone = this.lone;
        this.lone = crlf && lone === NONE ? LONE : NONE;
        if (crlf && lone !== NONE) {
          this.report(PING);
          return p;
        }
        if (!crlf && lone === LONE) {
          this.report(PONG); // a bare LF is no keep-alive, but ends the lone CRLF before it
          return p;
        }
      }
    }
    return p;
  }

  private clear(): void {
    this.cr = this.aligned = false;
    this.lone = NONE;
    this.run = 0;
  }

  /**
   * Scan head bytes from `p`. RFC 3261 §7: "one or more header fields, an empty line indicating
   * the end of the header fields, and an optional message-body". The empty line is CRLF; a bare
   * LF is accepted too, from lenient peers.
   */
  private head(chunk: Buffer, p: number): number {
    const max = this.limits.maxHeadBytes;
    const stop = Math.min(chunk.length, this.seg + max - this.held); // never hold past the cap
    while (p < stop) {
      if (this.hs === H_LINE) {
        const lf = chunk.indexOf(LF, p);
        if (lf < 0 || lf >= stop) {
          p = stop;
          break;
        }
        p = lf + 1;
        this.hs = H_BOL;
        continue;
      }
      const c = chunk[p++]!;
      if (c === LF) {
        if (this.hs === H_BOL || this.hs === H_BOL_CR) {
          return this.headEnd(chunk, p);
        }
        this.hs = H_BOL; // a Content-Length value stays open: the next line may fold it
        continue;
      }
      switch (this.hs) {
        case H_BOL:
          if (c === CR) {
            this.hs = H_BOL_CR;
          } else if (WSP[c] === 1) {
            // RFC 3261 §7.3.1: "Header fields can be extended over multiple lines by preceding
            // each extra line with at least one SP or horizontal tab (HT)."
            this.hs = this.clOpen ? H_VALUE : H_LINE;
            if (this.clOpen) {
              this.valueByte(c); // the fold is whitespace: "1\n 2" is not 12
            }
          } else if (!this.clOpen || this.closeValue()) {
            // RFC 3261 §20.14: `Content-Length = ( "Content-Length" / "l" ) HCOLON 1*DIGIT`,
            // `HCOLON = *( SP / HTAB ) ":" SWS`; §7.3.1: "field names are always
            // case-insensitive".
            const lc = c | 0x20;
            this.name = lc === 0x63 ? LONG_NAME : SHORT_NAME;
            this.nameIdx = 1;
            this.hs = lc === 0x63 || lc === 0x6c ? H_NAME : H_LINE;
          }
          break;
        case H_BOL_CR:
          // A CR that does not end an empty line: a malformed line, for the parser to judge.
          if (!this.clOpen || this.closeValue()) {
            this.hs = H_LINE;
          }
          break;
        case H_NAME:
          this.nameByte(c);
          break;
        default:
          this.valueByte(c);
      }
      if (this.phase !== HEAD) {
        return p; // failed (and maybe reset() by onError)
      }
    }
    if (this.held + (p - this.seg) >= max) {
      this.fail('SIP_ERR_HEAD_TOO_LARGE', `No end of headers within ${max} bytes`);
    }
    return p;
  }

  /** A byte after the first of a name; once the name is whole, only WSP or ':' may follow. */
  private nameByte(c: number): void {
    const whole = this.nameIdx === this.name.length;
    if (whole && c === COLON) {
      this.clOpen = true;
      this.vstate = V_NONE;
      this.value = 0;
      this.hs = H_VALUE;
      return;
    }
    if (whole) {
      this.hs = WSP[c] === 1 ? H_NAME : H_LINE;
      return;
    }
    const t = this.name.charCodeAt(this.nameIdx++);
    // Only a letter may differ in case: folding 0x20 into '-' would also match a CR.
    if (t === 0x2d ? c !== t : (c | 0x20) !== t) {
      this.hs = H_LINE;
    }
  }

  /** A byte of a Content-Length value: 1*DIGIT with whitespace (SWS, LWS) around it. */
  private valueByte(c: number): void {
    if (DIGIT[c] === 1) {
      if (this.vstate === V_AFTER) {
        this.fail('SIP_ERR_CONTENT_LENGTH', 'Whitespace inside Content-Length');
        return;
      }
      this.vstate = V_DIGITS;
      this.value = this.value * 10 + (c - 0x30);
      // Refused as soon as it is known, before any byte of the body arrives.
      if (this.value > this.limits.maxBodyBytes) {
        this.fail('SIP_ERR_BODY_TOO_LARGE', `Content-Length over ${this.limits.maxBodyBytes}`);
      }
    } else if (WSP[c] === 1 || c === CR) {
      this.vstate = this.vstate === V_NONE ? V_NONE : V_AFTER;
    } else {
      this.fail('SIP_ERR_CONTENT_LENGTH', 'Content-Length is not 1*DIGIT');
    }
  }

  /** The value ended: check it, and against earlier ones. False when that failed the framer. */
  private closeValue(): boolean {
    this.clOpen = false;
    if (this.vstate === V_NONE) {
      this.fail('SIP_ERR_CONTENT_LENGTH', 'Empty Content-Length');
    } else if (this.cl >= 0 && this.cl !== this.value) {
      this.fail('SIP_ERR_CONTENT_LENGTH_MISMATCH', 'Conflicting Content-Length headers');
    } else {
      this.cl = this.value;
    }
    return this.phase === HEAD; // not failed (nor reset() by onError)
  }

  private headEnd(chunk: Buffer, p: number): number {
    if (this.clOpen && !this.closeValue()) {
      return p;
    }
    // RFC 3261 §18.3: "In the case of stream-oriented transports such as TCP, the
    // Content-Length header field indicates the size of the body. The Content-Length header
    // field MUST be used with stream oriented transports."
    if (this.cl < 0) {
      this.fail('SIP_ERR_CONTENT_LENGTH', 'Missing Content-Length');
      return p;
    }
    this.total = this.held + (p - this.seg) + this.cl;
    this.phase = BODY;
    return this.body(chunk);
  }

  /** Wait for the body: the message ends exactly Content-Length bytes after its head. */
  private body(chunk: Buffer): number {
    const end = this.seg + this.total - this.held;
    if (end > chunk.length) {
      return chunk.length;
    }
    let message: Buffer;
    if (this.held === 0) {
      message = chunk.subarray(this.seg, end); // all in this chunk: no copy
    } else {
      this.parts.push(chunk.subarray(this.seg, end));
      message = Buffer.concat(this.parts, this.total);
      this.parts = [];
      this.held = 0;
    }
    this.phase = IDLE;
    this.report(message);
    return end;
  }

  private fail(code: SipErrorCode, reason: string): void {
    this.phase = DEAD;
    this.parts = [];
    this.held = 0;
    this.report(new SipParseError(code, reason));
  }

  /** Call the handler; an exception is kept for push() to rethrow once the chunk is done. */
  private report(event: typeof PING | typeof PONG | Buffer | SipParseError): void {
    try {
      if (event === PING) {
        this.handler.onPing();
      } else if (event === PONG) {
        this.handler.onPong();
      } else if (event instanceof SipParseError) {
        this.handler.onError(event);
      } else {
        this.handler.onMessage(event);
      }
    } catch (error) {
      this.thrown ??= { error };
    }
  }
}
