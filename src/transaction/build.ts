/**
 * Requests the transaction layer writes itself: the hop-by-hop ACK for a non-2xx final response
 * (RFC 3261 §17.1.1.3) and the CANCEL of a pending INVITE (§9.1). Header lines copied from the
 * INVITE or the response are shared as they are (fields are immutable), so they keep their
 * original bytes.
 */
import { CoreError } from '../core/errors.js';
import { HeaderField, SipRequest, type SipResponse } from '../sip/index.js';

/** RFC 3261 §8.1.1.6: "a UAC MUST insert a Max-Forwards header field ... which SHOULD be 70". */
const MAX_FORWARDS = '70';

function first(msg: SipRequest | SipResponse, name: string): HeaderField {
  for (const h of msg.headers) {
    if (h.name === name) {
      return h;
    }
  }
  throw new CoreError('TANDEM_ERR_INVALID_ARGUMENT', `request has no ${name} header`);
}

/** The top Via value alone: the first element of the first Via line. */
function topViaField(invite: SipRequest): HeaderField {
  const line = first(invite, 'via');
  // A line holding one value is shared as is; otherwise only its first value is kept.
  return line.value.includes(',') ? new HeaderField('via', invite.getList('via')[0]!) : line;
}

/**
 * The headers a CANCEL and a non-2xx ACK share: the single top Via of the INVITE, its Route
 * lines, Max-Forwards, From, the given To, Call-ID and a CSeq with the INVITE's number.
 */
function hopByHop(invite: SipRequest, method: string, to: HeaderField): SipRequest {
  const headers: HeaderField[] = [topViaField(invite)];
  for (const h of invite.headers) {
    if (h.name === 'route') {
      headers.push(h);
    }
  }
  headers.push(
    new HeaderField('max-forwards', MAX_FORWARDS),
    first(invite, 'from'),
    to,
    first(invite, 'call-id'),
    new HeaderField('cseq', `${invite.cseq().seq} ${method}`),
  );
  return new SipRequest(method, invite.uri, headers);
}

/**
 * RFC 3261 §17.1.1.3: the ACK "MUST contain values for the Call-ID, From, and Request-URI that
 * are equal to the values of those header fields in the request passed to the transport by the
 * client transaction"; "The To header field in the ACK MUST equal the To header field in the
 * response being acknowledged"; "a single Via header field, and this MUST be equal to the top
 * Via header field of the original request"; the CSeq number of the original with method ACK;
 * and "If the INVITE request whose response is being acknowledged had Route header fields,
 * those header fields MUST appear in the ACK."
 */
export function buildAck(invite: SipRequest, response: SipResponse): SipRequest {
  return hopByHop(invite, 'ACK', first(response, 'to'));
}

/**
 * RFC 3261 §9.1: "The Request-URI, Call-ID, To, the numeric part of CSeq, and From header
 * fields in the CANCEL request MUST be identical to those in the request being cancelled,
 * including tags. A CANCEL constructed by a client MUST have only a single Via header field
 * value matching the top Via value in the request being cancelled." and "If the request being
 * cancelled contains a Route header field, the CANCEL request MUST include that Route header
 * field's values."
 */
export function buildCancel(invite: SipRequest): SipRequest {
  return hopByHop(invite, 'CANCEL', first(invite, 'to'));
}
