/**
 * Transaction matching keys. Fields are joined with single spaces: none of them (branch,
 * sent-by, method, Request-URI, tags, Call-ID, CSeq number) can contain a space, so two
 * different field lists never give the same key.
 */
import { SipParseError } from '../core/errors.js';
import { MAGIC_COOKIE, type SipRequest, type SipResponse, type Via } from '../sip/index.js';

function topViaOf(msg: SipRequest | SipResponse): Via {
  const via = msg.topVia();
  if (via === undefined) {
    throw new SipParseError('SIP_ERR_MISSING_HEADER', 'Missing Via Header');
  }
  return via;
}

function sentBy(via: Via): string {
  return via.port === null ? via.host : `${via.host}:${via.port}`;
}

/** The RFC 3261 branch of a top Via, or null for an RFC 2543 peer. */
function cookieBranch(via: Via): string | null {
  const branch = via.params.get('branch') ?? null;
  return branch !== null && branch.startsWith(MAGIC_COOKIE) ? branch : null;
}

/** True when `req` carries an RFC 3261 branch (matched by branch, sent-by and method). */
export function usesBranch(req: SipRequest): boolean {
  return cookieBranch(topViaOf(req)) !== null;
}

/**
 * The §17.2.3 key of `req` as if its method were `method` and its To tag `toTag` (ACK and
 * CANCEL look up the INVITE this way).
 *
 * RFC 3261 §17.2.3: with a branch starting with the magic cookie, "the request matches a
 * transaction if: 1. the branch parameter in the request is equal to the one in the top Via
 * header field of the request that created the transaction, and 2. the sent-by value in the top
 * Via of the request is equal to the one in the request that created the transaction, and 3.
 * the method of the request matches the one that created the transaction, except for ACK".
 *
 * Otherwise the RFC 2543 rule: "the Request-URI, To tag, From tag, Call-ID, CSeq, and top Via
 * header field match those of the INVITE request which created the transaction"; the top Via is
 * compared by transport, sent-by and any (pre-3261) branch.
 */
export function serverKey(req: SipRequest, method: string, toTag: string | null): string {
  const via = topViaOf(req);
  const branch = cookieBranch(via);
  if (branch !== null) {
    return `${branch} ${sentBy(via)} ${method}`;
  }
  const oldBranch = via.params.get('branch') ?? '';
  return (
    `2543 ${req.uri} ${toTag ?? ''} ${req.fromTag() ?? ''} ${req.callId()} ${req.cseq().seq} ` +
    `${method} ${via.transport} ${sentBy(via)} ${oldBranch}`
  );
}

/** The key a client transaction is filed under: its branch and method. */
export function clientKey(branch: string, method: string): string {
  return `${branch} ${method}`;
}

/**
 * RFC 3261 §17.1.3: a response matches a client transaction when "the response has the same
 * value of the branch parameter in the top Via header field as the branch parameter in the top
 * Via header field of the request that created the transaction" and "the method parameter in
 * the CSeq header field matches the method of the request that created the transaction".
 * Null when the top Via has no branch (nothing of ours).
 */
export function responseKey(res: SipResponse): string | null {
  const branch = topViaOf(res).params.get('branch') ?? null;
  return branch === null ? null : clientKey(branch, res.cseq().method);
}

/** The branch a client request was sent with, or null. */
export function requestBranch(req: SipRequest): string | null {
  return req.topVia()?.params.get('branch') ?? null;
}
