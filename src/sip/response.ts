/**
 * Building a response to a request, RFC 3261 §8.2.6.2: "The From field of the response MUST
 * equal the From header field of the request. The Call-ID header field of the response MUST
 * equal the Call-ID header field of the request. The CSeq header field of the response MUST
 * equal the CSeq field of the request. The Via header field values in the response MUST equal
 * the Via header field values in the request and MUST maintain the same ordering." Copied lines
 * keep their original bytes.
 */
import type { HeaderField } from './header-field.js';
import type { SipRequest } from './sip-request.js';
import { SipResponse } from './sip-response.js';
import { newTag } from './ids.js';
import { reasonPhrase } from './status.js';

export interface ResponseOptions {
  /** Reason phrase; defaults to the RFC 3261 §21 phrase for the code. */
  reason?: string;
  /**
   * To tag to add when the request's To has none. RFC 3261 §8.2.6.2: "if the request did not
   * contain a tag in the To header field, the UAS MUST add one" (100 Trying excepted). Defaults
   * to a fresh random tag; pass the same tag for every response of one transaction.
   */
  toTag?: string;
  /** Extra header lines to add after the copied ones, as [name, value] pairs. */
  headers?: readonly (readonly [string, string])[];
  /** A body and its type. */
  body?: Buffer;
  contentType?: string;
}

const COPIED = new Set(['via', 'from', 'call-id', 'cseq']);

/** Build the response `status` to `req`. */
export function createResponse(
  req: SipRequest,
  status: number,
  options: ResponseOptions = {},
): SipResponse {
  const headers: HeaderField[] = [];
  let toDone = false;
  for (const h of req.headers) {
    if (COPIED.has(h.name)) {
      headers.push(h);
    } else if (h.name === 'to' && !toDone) {
      toDone = true;
      headers.push(toField(req, h, status, options.toTag));
    }
  }
  const res = new SipResponse(status, options.reason ?? reasonPhrase(status), headers);
  for (const [name, value] of options.headers ?? []) {
    res.addHeader(name, value);
  }
  if (options.body !== undefined) {
    res.setBody(options.body, options.contentType);
  }
  return res;
}

function toField(
  req: SipRequest,
  field: HeaderField,
  status: number,
  toTag: string | undefined,
): HeaderField {
  // RFC 3261 §8.2.6.2: a 100 Trying "MAY" carry a tag; we leave it untouched, as most stacks do.
  if (status === 100 || hasToTag(req, field)) {
    return field;
  }
  return field.withValue(`${field.value};tag=${toTag ?? newTag()}`);
}

/**
 * Whether the request's To already carries a tag. A To that does not parse (an unquoted display
 * name with separators, RFC 4475 §3.1.2.15) must still get its 400 with a tag, so the check
 * falls back to the text: a `;tag=` parameter after the address.
 */
function hasToTag(req: SipRequest, field: HeaderField): boolean {
  try {
    return req.toTag() !== null;
  } catch {
    const v = field.value;
    const close = v.lastIndexOf('>');
    return /;\s*tag\s*=/i.test(close < 0 ? v : v.slice(close));
  }
}
