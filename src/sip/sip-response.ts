/** A SIP response (RFC 3261 §7.2). */
import { CoreError } from '../core/errors.js';
import type { HeaderField } from './header-field.js';
import { checkLineText, EMPTY_BODY, SipMessage } from './message.js';
import type { SipRequest } from './sip-request.js';

/** A SIP response. */
export class SipResponse extends SipMessage {
  status: number;
  reason: string;

  constructor(
    status: number,
    reason: string,
    headers: HeaderField[],
    body: Buffer = EMPTY_BODY,
    source: Buffer | null = null,
    startLineRaw: string | null = null,
    version = 'SIP/2.0',
  ) {
    super(headers, body, source, startLineRaw, version);
    this.status = status;
    this.reason = reason;
  }

  isRequest(): this is SipRequest {
    return false;
  }

  isResponse(): this is SipResponse {
    return true;
  }

  /** Change status and reason (a proxy rewriting a final response it forwards). */
  setStatus(status: number, reason: string): void {
    if (!Number.isInteger(status) || status < 100 || status > 699) {
      throw new CoreError('TANDEM_ERR_INVALID_ARGUMENT', `status ${status}`);
    }
    checkLineText('reason phrase', reason);
    this.status = status;
    this.reason = reason;
    this.startLineChanged();
  }

  startLine(): string {
    return this.startLineRaw ?? `${this.version} ${this.status} ${this.reason}`;
  }
}
