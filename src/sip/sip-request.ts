/** A SIP request (RFC 3261 §7.1). */
import { CoreError, SipParseError } from '../core/errors.js';
import type { HeaderField, RawSource } from './header-field.js';
import { checkLineText, EMPTY_BODY, SipMessage } from './message.js';
import type { SipResponse } from './sip-response.js';
import type { Uri } from './types.js';
import { parseUri, parseUriAt } from './uri.js';

/** A SIP request. `uri` is the Request-URI text; `requestUri()` parses it on demand. */
export class SipRequest extends SipMessage {
  readonly method: string;
  private uriText: string;
  private parsedUri: Uri | undefined;
  /** The received text the Request-URI was cut from, and where, so it is parsed from bytes. */
  private uriSource: RawSource | null = null;
  private uriFrom = 0;

  constructor(
    method: string,
    uri: string,
    headers: HeaderField[],
    body: Buffer = EMPTY_BODY,
    source: Buffer | null = null,
    startLineRaw: string | null = null,
    version = 'SIP/2.0',
  ) {
    super(headers, body, source, startLineRaw, version);
    this.method = method;
    this.uriText = uri;
  }

  isRequest(): this is SipRequest {
    return true;
  }

  isResponse(): this is SipResponse {
    return false;
  }

  get uri(): string {
    return this.uriText;
  }

  /**
   * Internal to the message layer: the parser records that `uri` lies at `from` in `source`
   * (decoded from byte 0), so that requestUri() reads the received bytes.
   */
  receivedUriAt(source: RawSource, from: number): void {
    if (source.base === 0) {
      this.uriSource = source;
      this.uriFrom = from;
    }
  }

  /** The parsed Request-URI. Throws SipParseError('SIP_ERR_REQUEST_URI') when malformed. */
  requestUri(): Uri {
    if (this.parsedUri === undefined) {
      try {
        const src = this.uriSource;
        const from = this.uriFrom;
        this.parsedUri =
          src !== null
            ? parseUriAt(src.text, src.buf, from, from + this.uriText.length)
            : parseUri(this.uriText);
      } catch (err) {
        if (err instanceof SipParseError) {
          throw new SipParseError('SIP_ERR_REQUEST_URI', `Malformed Request-URI (${err.reason})`);
        }
        throw err;
      }
    }
    return this.parsedUri;
  }

  /** Rewrite the Request-URI (RFC 3261 §16.6 item 2). */
  setUri(uri: string): void {
    checkLineText('Request-URI', uri);
    if (uri.length === 0 || uri.includes(' ')) {
      throw new CoreError('TANDEM_ERR_INVALID_ARGUMENT', `Request-URI ${JSON.stringify(uri)}`);
    }
    this.uriText = uri;
    this.parsedUri = undefined;
    this.uriSource = null;
    this.startLineChanged();
  }

  startLine(): string {
    return this.startLineRaw ?? `${this.method} ${this.uriText} ${this.version}`;
  }
}
