/**
 * The SIP message model. A message keeps the bytes it was parsed from and an ordered list of
 * header fields, each with its original text; a header's value is parsed only when asked for
 * and the result cached. Serialising writes untouched header lines byte for byte, so a proxy
 * changes only what it means to change. See docs/adr/0002-message-model.md.
 */
import { CoreError, SipParseError } from '../core/errors.js';
import { isToken } from './chars.js';
import { HeaderField, type RawSource } from './header-field.js';
import { canonicalName, displayName } from './header-names.js';
import {
  callIdOf,
  contactOf,
  cseqOf,
  maxForwardsOf,
  nameAddrListOf,
  nameAddrOf,
  tagOf,
  viaListOf,
} from './fields.js';
import { serialize } from './serializer.js';
import { splitList } from './split.js';
import type { SipRequest } from './sip-request.js';
import type { SipResponse } from './sip-response.js';
import type { ContactValue, CSeq, NameAddr, Via } from './types.js';

/** The body of a message without one. */
export const EMPTY_BODY = Buffer.alloc(0);

/**
 * Parsed-value caches, cleared per header name when that header changes. A class with every
 * field initialised gives all messages one hidden class, so accessor call sites stay
 * monomorphic.
 */
class Cache {
  topVias: Via[] | undefined = undefined;
  vias: Via[] | undefined = undefined;
  cseq: CSeq | undefined = undefined;
  callId: string | undefined = undefined;
  from: NameAddr | undefined = undefined;
  to: NameAddr | undefined = undefined;
  fromTag: string | null | undefined = undefined;
  toTag: string | null | undefined = undefined;
  maxForwards: number | null | undefined = undefined;
  contact: ContactValue | null | undefined = undefined;
  routes: NameAddr[] | undefined = undefined;
  recordRoutes: NameAddr[] | undefined = undefined;
}

/**
 * The canonical name for a header a caller adds, after checking that name and value cannot
 * break the message: a name that is not a token, or a CR or LF in the value (header injection
 * from script input), is a programming error.
 */
function fieldName(name: string, value: string): string {
  if (!isToken(name)) {
    throw new CoreError('TANDEM_ERR_INVALID_ARGUMENT', `header name ${JSON.stringify(name)}`);
  }
  checkLineText('header value', value);
  return canonicalName(name);
}

/** Text written into a single line (a header value, a Request-URI, a reason phrase). */
export function checkLineText(what: string, text: string): void {
  if (text.includes('\n') || text.includes('\r')) {
    throw new CoreError('TANDEM_ERR_INVALID_ARGUMENT', `${what} contains CR or LF`);
  }
}

/**
 * Insert `x` at `i`, moving the rest up: a header list is a few dozen entries, and unlike
 * `splice` this allocates no array of removed elements.
 */
function insertAt<T>(list: T[], i: number, x: T): void {
  let k = list.length;
  list.push(x);
  for (; k > i; k--) {
    list[k] = list[k - 1]!;
  }
  list[i] = x;
}

/** Remove the entry at `i`, moving the rest down (see {@link insertAt}). */
function removeAt(list: unknown[], i: number): void {
  const n = list.length - 1;
  for (let k = i; k < n; k++) {
    list[k] = list[k + 1]!;
  }
  list.pop();
}

/** Behaviour shared by requests and responses. */
export abstract class SipMessage {
  /** Header fields in wire order. Mutate through the methods below, which keep caches right. */
  readonly headers: HeaderField[];
  /** The body once set or cut out; null while it is still a range of the received bytes. */
  private bodyBuf: Buffer | null;
  /** The received message the body lies in (while `bodyBuf` is null), and where. */
  private bodySource: RawSource | null = null;
  private bodyFrom = 0;
  private bodyTo = 0;
  /** The exact bytes this message was parsed from (start line through body), or null. */
  protected source: Buffer | null;
  /** The start line as received, or null once rewritten. */
  protected startLineRaw: string | null;
  /** True once anything was changed: `toBuffer()` can no longer return `source`. */
  protected dirty: boolean;
  /** SIP-Version of the start line; parsed messages are always `SIP/2.0`. */
  readonly version: string;
  private readonly cache = new Cache();

  protected constructor(
    headers: HeaderField[],
    body: Buffer,
    source: Buffer | null,
    startLineRaw: string | null,
    version: string,
  ) {
    this.headers = headers;
    this.bodyBuf = body;
    this.source = source;
    this.startLineRaw = startLineRaw;
    this.dirty = source === null;
    this.version = version;
  }

  /** The start line changed: it is written afresh from its parts from now on. */
  protected startLineChanged(): void {
    this.startLineRaw = null;
    this.dirty = true;
  }

  abstract isRequest(): this is SipRequest;
  abstract isResponse(): this is SipResponse;
  /** The start line without CRLF, as it will be written. */
  abstract startLine(): string;

  // ---- generic header access -------------------------------------------------------------

  /** First value of a header, by any spelling of its name (`Via`, `v`, `VIA`). */
  get(name: string): string | undefined {
    const key = canonicalName(name);
    for (const h of this.headers) {
      if (h.name === key) {
        return h.value;
      }
    }
    return undefined;
  }

  /** Every field value of a header in order (one entry per line, not split at commas). */
  getAll(name: string): string[] {
    const key = canonicalName(name);
    const out: string[] = [];
    for (const h of this.headers) {
      if (h.name === key) {
        out.push(h.value);
      }
    }
    return out;
  }

  /** Every element of a list header, split at top-level commas across all its lines. */
  getList(name: string): string[] {
    const out: string[] = [];
    for (const v of this.getAll(name)) {
      for (const item of splitList(v)) {
        out.push(item);
      }
    }
    return out;
  }

  has(name: string): boolean {
    return this.get(name) !== undefined;
  }

  /** Number of lines carrying this header. */
  count(name: string): number {
    const key = canonicalName(name);
    let n = 0;
    for (const h of this.headers) {
      if (h.name === key) {
        n++;
      }
    }
    return n;
  }

  // ---- typed, lazily parsed accessors ------------------------------------------------------

  /** All Via values, top first. Throws SipParseError on a malformed Via. */
  vias(): Via[] {
    let v = this.cache.vias;
    if (v === undefined) {
      v = [];
      let first = true;
      for (const h of this.headers) {
        if (h.name === 'via') {
          // The top line may already be parsed by topVia().
          const line = first ? (this.cache.topVias ??= viaListOf(h)) : viaListOf(h);
          first = false;
          for (const via of line) {
            v.push(via);
          }
        }
      }
      this.cache.vias = v;
    }
    return v;
  }

  /** The top Via; parses only the first Via line. */
  topVia(): Via | undefined {
    let v = this.cache.topVias;
    if (v === undefined) {
      const line = this.field('via');
      v = line === undefined ? [] : viaListOf(line);
      this.cache.topVias = v;
    }
    return v[0];
  }

  callId(): string {
    let id = this.cache.callId;
    if (id === undefined) {
      id = callIdOf(this.required('call-id'));
      this.cache.callId = id;
    }
    return id;
  }

  cseq(): CSeq {
    let c = this.cache.cseq;
    if (c === undefined) {
      c = cseqOf(this.required('cseq'));
      this.cache.cseq = c;
    }
    return c;
  }

  from(): NameAddr {
    let f = this.cache.from;
    if (f === undefined) {
      f = nameAddrOf(this.required('from'));
      this.cache.from = f;
    }
    return f;
  }

  to(): NameAddr {
    let t = this.cache.to;
    if (t === undefined) {
      t = nameAddrOf(this.required('to'));
      this.cache.to = t;
    }
    return t;
  }

  /** The From tag. Reads only the header's parameters unless From is already parsed. */
  fromTag(): string | null {
    let tag = this.cache.fromTag;
    if (tag === undefined) {
      const from = this.cache.from;
      tag = from !== undefined ? (from.params.get('tag') ?? null) : tagOf(this.required('from'));
      this.cache.fromTag = tag;
    }
    return tag;
  }

  /** The To tag. Reads only the header's parameters unless To is already parsed. */
  toTag(): string | null {
    let tag = this.cache.toTag;
    if (tag === undefined) {
      const to = this.cache.to;
      tag = to !== undefined ? (to.params.get('tag') ?? null) : tagOf(this.required('to'));
      this.cache.toTag = tag;
    }
    return tag;
  }

  /** Max-Forwards, or null when absent (RFC 3261 §16.3 item 2 lets a proxy pass it then). */
  maxForwards(): number | null {
    let m = this.cache.maxForwards;
    if (m === undefined) {
      const line = this.field('max-forwards');
      m = line === undefined ? null : maxForwardsOf(line);
      this.cache.maxForwards = m;
    }
    return m;
  }

  /** Contact header(s), or null when absent. */
  contact(): ContactValue | null {
    let c = this.cache.contact;
    if (c === undefined) {
      c = this.parseContacts();
      this.cache.contact = c;
    }
    return c;
  }

  routes(): NameAddr[] {
    let r = this.cache.routes;
    if (r === undefined) {
      r = this.nameAddrs('route');
      this.cache.routes = r;
    }
    return r;
  }

  recordRoutes(): NameAddr[] {
    let r = this.cache.recordRoutes;
    if (r === undefined) {
      r = this.nameAddrs('record-route');
      this.cache.recordRoutes = r;
    }
    return r;
  }

  /**
   * The body: a view into the received bytes (never copied) or a buffer set by `setBody` or
   * assigned. The view of a received body is made on first read.
   */
  get body(): Buffer {
    let b = this.bodyBuf;
    if (b === null) {
      b = this.bodySource!.buf.subarray(this.bodyFrom, this.bodyTo);
      this.bodyBuf = b;
    }
    return b;
  }

  /** A new body; Content-Length follows when the message is written (see `setBody`). */
  set body(body: Buffer) {
    this.bodyBuf = body;
    this.bodySource = null;
    // The received bytes no longer describe the message.
    this.dirty = true;
  }

  /**
   * Internal to the message layer: the parser records that the body is `source.buf[from, to)`
   * (decoded from byte 0), so that neither parsing nor forwarding has to make a view of it.
   */
  receivedBody(source: RawSource, from: number, to: number): void {
    if (source.base === 0) {
      this.bodyBuf = null;
      this.bodySource = source;
      this.bodyFrom = from;
      this.bodyTo = to;
    } else {
      this.bodyBuf = source.buf.subarray(from, to);
    }
  }

  /** Body length; the serializer writes Content-Length from this. */
  contentLength(): number {
    const b = this.bodyBuf;
    return b !== null ? b.length : this.bodyTo - this.bodyFrom;
  }

  // ---- mutation ----------------------------------------------------------------------------

  /** Add a header line, after the last line of the same name (or at the end) or on top. */
  addHeader(name: string, value: string, where: 'top' | 'bottom' = 'bottom'): void {
    this.insertField(fieldName(name, value), value, where);
  }

  /** Remove every line of a header; returns how many were removed. */
  removeHeader(name: string): number {
    const key = canonicalName(name);
    let n = 0;
    for (let i = this.headers.length - 1; i >= 0; i--) {
      if (this.headers[i]!.name === key) {
        this.headers.splice(i, 1);
        n++;
      }
    }
    if (n > 0) {
      this.touched(key);
    }
    return n;
  }

  /** Replace every line of a header by one line holding `value` (at the first line's place). */
  setHeader(name: string, value: string): void {
    this.replaceField(fieldName(name, value), value);
  }

  /** Add a Via on top (RFC 3261 §16.6 item 8). `value` is a formatted Via value. */
  pushVia(value: string): void {
    checkLineText('Via value', value);
    this.insertField('via', value, 'top');
  }

  /** Remove and return the top Via value (RFC 3261 §16.7 item 3); null when there is none. */
  popVia(): Via | null {
    const c = this.cache;
    const top = this.topVia();
    if (top === undefined) {
      return null;
    }
    const vias = c.vias;
    const line = c.topVias!;
    const rest = line.slice(1);
    this.popFirstValue('via', line.length);
    // Keep what is already parsed: the rest of the top line and the remaining list.
    c.topVias = rest.length > 0 ? rest : undefined;
    c.vias = vias?.slice(1);
    return top;
  }

  /** Add a Record-Route value on top (RFC 3261 §16.6 item 4). */
  addRecordRoute(value: string): void {
    checkLineText('Record-Route value', value);
    this.insertField('record-route', value, 'top');
  }

  /** Add a Route value on top, or at the bottom of the route set. */
  addRoute(value: string, where: 'top' | 'bottom' = 'top'): void {
    checkLineText('Route value', value);
    this.insertField('route', value, where);
  }

  /** Remove and return the first Route value (RFC 3261 §16.4 loose-route removal). */
  popRoute(): NameAddr | null {
    const c = this.cache;
    const routes = c.routes;
    const line = this.field('route');
    if (line === undefined) {
      return null;
    }
    // With the route set already parsed, the first line's own count is not known.
    const list = routes === undefined ? nameAddrListOf(line) : null;
    const first = routes?.[0] ?? list![0]!;
    this.popFirstValue('route', list?.length);
    c.routes = routes?.slice(1);
    return first;
  }

  /**
   * Decrement Max-Forwards (RFC 3261 §16.6 item 3), adding `Max-Forwards: 70` minus one when the
   * request has none (RFC 3261 §16.6: "If the copy does not contain a Max-Forwards header field,
   * the proxy MUST add one with a field value, which SHOULD be 70"). Returns the new value.
   */
  decrementMaxForwards(initial = 70): number {
    const current = this.maxForwards();
    const next = current === null ? initial - 1 : Math.max(0, current - 1);
    this.replaceField('max-forwards', String(next));
    this.cache.maxForwards = next;
    return next;
  }

  /** Replace the body; Content-Length follows, and Content-Type when given. */
  setBody(body: Buffer | string, contentType?: string): void {
    this.body = typeof body === 'string' ? Buffer.from(body, 'utf8') : body;
    if (contentType !== undefined) {
      checkLineText('Content-Type value', contentType);
      this.replaceField('content-type', contentType);
    } else if (this.body.length === 0) {
      this.removeHeader('content-type');
    }
    this.replaceField('content-length', String(this.body.length));
  }

  /**
   * The message as bytes. An untouched message returns the bytes it was parsed from; otherwise
   * untouched header lines are copied verbatim and a Content-Length is always written (RFC 3261
   * §18.3 makes it mandatory on streams, and the next hop's transport is not known here).
   */
  toBuffer(): Buffer {
    if (!this.dirty && this.source !== null) {
      return this.source;
    }
    const src = this.bodySource;
    if (this.bodyBuf === null && src !== null) {
      return serialize(this.startLine(), this.headers, src.text.slice(this.bodyFrom, this.bodyTo));
    }
    return serialize(this.startLine(), this.headers, this.body);
  }

  /** The message as a binary string, for tests and debug logs. */
  toString(): string {
    return this.toBuffer().toString('latin1');
  }

  // ---- internals ---------------------------------------------------------------------------

  protected field(key: string): HeaderField | undefined {
    const i = this.indexOfField(key);
    return i < 0 ? undefined : this.headers[i];
  }

  private required(key: string): HeaderField {
    const h = this.field(key);
    if (h === undefined) {
      throw new SipParseError('SIP_ERR_MISSING_HEADER', `Missing ${displayName(key)} Header`);
    }
    return h;
  }

  private nameAddrs(key: string): NameAddr[] {
    const out: NameAddr[] = [];
    for (const h of this.headers) {
      if (h.name === key) {
        for (const na of nameAddrListOf(h)) {
          out.push(na);
        }
      }
    }
    return out;
  }

  private parseContacts(): ContactValue | null {
    let result: ContactValue | null = null;
    for (const h of this.headers) {
      if (h.name !== 'contact') {
        continue;
      }
      const c = contactOf(h);
      // RFC 3261 §10.3 item 6: "*" is only valid alone; mixing it with addresses is an error.
      if (c.star || result?.star === true) {
        if (result !== null) {
          throw new SipParseError('SIP_ERR_NAME_ADDR', 'Contact * Mixed With Addresses');
        }
        result = c;
      } else if (result === null) {
        result = { star: false, contacts: [...c.contacts] };
      } else {
        result.contacts.push(...c.contacts);
      }
    }
    return result;
  }

  /** Index of the first line of `key`, or -1. */
  private indexOfField(key: string): number {
    const headers = this.headers;
    for (let i = 0; i < headers.length; i++) {
      if (headers[i]!.name === key) {
        return i;
      }
    }
    return -1;
  }

  /** Insert a line for the canonical `key` (already checked) on top of or after its lines. */
  private insertField(key: string, value: string, where: 'top' | 'bottom'): void {
    const field = new HeaderField(key, value);
    if (where === 'top') {
      const i = this.indexOfField(key);
      insertAt(this.headers, i < 0 ? 0 : i, field);
    } else {
      let last = -1;
      for (let i = 0; i < this.headers.length; i++) {
        if (this.headers[i]!.name === key) {
          last = i;
        }
      }
      if (last < 0) {
        this.headers.push(field);
      } else {
        insertAt(this.headers, last + 1, field);
      }
    }
    this.touched(key);
  }

  /** Replace every line of the canonical `key` (already checked) by one line. */
  private replaceField(key: string, value: string): void {
    const i = this.indexOfField(key);
    if (i < 0) {
      this.headers.push(new HeaderField(key, value));
    } else {
      this.headers[i] = new HeaderField(key, value);
      for (let j = this.headers.length - 1; j > i; j--) {
        if (this.headers[j]!.name === key) {
          this.headers.splice(j, 1);
        }
      }
    }
    this.touched(key);
  }

  /**
   * Remove the first comma-separated value of the first line of `key`. A caller that parsed that
   * line passes how many values it holds: a line of one value goes whole, its value never cut
   * out to be split.
   */
  private popFirstValue(key: string, valuesOnLine?: number): void {
    const i = this.indexOfField(key);
    if (i < 0) {
      return;
    }
    const line = this.headers[i]!;
    // No comma at all means one value; only a line with commas needs the quote-aware split.
    const items = valuesOnLine !== 1 && line.value.includes(',') ? splitList(line.value) : null;
    if (items === null || items.length <= 1) {
      removeAt(this.headers, i);
    } else {
      this.headers[i] = line.withValue(items.slice(1).join(', '));
    }
    this.touched(key);
  }

  /** Record that header `key` changed: drop its cached parse and mark the message dirty. */
  protected touched(key: string): void {
    this.dirty = true;
    const c = this.cache;
    switch (key) {
      case 'via':
        c.vias = undefined;
        c.topVias = undefined;
        break;
      case 'cseq':
        c.cseq = undefined;
        break;
      case 'call-id':
        c.callId = undefined;
        break;
      case 'from':
        c.from = undefined;
        c.fromTag = undefined;
        break;
      case 'to':
        c.to = undefined;
        c.toTag = undefined;
        break;
      case 'max-forwards':
        c.maxForwards = undefined;
        break;
      case 'contact':
        c.contact = undefined;
        break;
      case 'route':
        c.routes = undefined;
        break;
      case 'record-route':
        c.recordRoutes = undefined;
        break;
      default:
        break;
    }
  }
}
