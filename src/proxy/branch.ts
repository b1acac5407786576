/**
 * Branch ids for the requests the proxy forwards, with the loop-detection hash of RFC 3261
 * §16.6 item 8 in them, and the loop check of §16.3 item 4.
 *
 * §16.6 item 8: "the proxy MAY ... compute the branch value from a hash of the request ... the
 * value placed in this part of the branch parameter SHOULD reflect all of those fields
 * (including any Route, Proxy-Require and Proxy-Authorization header fields)" that §16.3 item 4
 * lists: To tag, From tag, Call-ID, CSeq number, Request-URI as received, top Via.
 */
import { hash } from 'node:crypto';
import { MAGIC_COOKIE, randomToken, type SipRequest, type Via } from '../sip/index.js';

/** Our branches look like `z9hG4bK-t-<loophash 16 hex>-<random>`: the marker tells them apart. */
const MARKER = `${MAGIC_COOKIE}-t-`;

/**
 * The loop hash of a request as it arrived (before the proxy changes anything). Two requests
 * with the same hash carry the same routing-relevant fields: if one returns through us with an
 * unchanged hash, it loops; if any of these fields changed (a spiral: a new Request-URI, say), it
 * does not (§16.3 item 4).
 *
 * The fields are taken when the request arrives; the digest is made on first use, because most
 * requests never need it: one answered here (a REGISTER, an OPTIONS to the proxy) is neither
 * forwarded nor, unless a Via names us with one of our branches, checked for a loop. Measured in
 * process, the SHA-1 was ~6 % of the CPU of such a request.
 */
export class LoopKey {
  private text: string;
  private digest: string | null = null;

  constructor(req: SipRequest) {
    // One string and, later, one native call: incremental createHash().update() costs a call
    // per field.
    let text = `${req.uri}\0${req.toTag() ?? ''}\0${req.fromTag() ?? ''}\0${req.callId()}\0${req.cseq().seq}\0`;
    for (const name of ['route', 'proxy-require', 'proxy-authorization'] as const) {
      for (const v of req.getAll(name)) {
        text += v + '\n';
      }
      text += '\0';
    }
    this.text = text;
  }

  /** The hash: 16 hex digits of the SHA-1 of the fields. */
  get hash(): string {
    let d = this.digest;
    if (d === null) {
      d = hash('sha1', this.text, 'hex').slice(0, 16);
      this.digest = d;
      // The fields are no longer needed, nor the message text they may slice.
      this.text = '';
    }
    return d;
  }
}

/** A fresh branch carrying the loop hash. */
export function proxyBranch(hash: string): string {
  return `${MARKER}${hash}-${randomToken(12)}`;
}

/** The loop hash inside one of our branches, or null when the branch is not ours. */
export function hashOfBranch(branch: string): string | null {
  if (!branch.startsWith(MARKER)) {
    return null;
  }
  const end = branch.indexOf('-', MARKER.length);
  return end < 0 ? null : branch.slice(MARKER.length, end);
}

/**
 * §16.3 item 4: "If the request contains a Via header field with a sent-by value that equals a
 * value placed into previous requests by the proxy, the request has been forwarded by this
 * element before. The request has either looped or is legitimately spiraling through the element.
 * To determine if the request has looped, the element MAY perform the branch parameter
 * calculation described in Step 8 of Section 16.6 on this message and compare it to the
 * parameter received in that Via header field. If the parameters match, the request has looped.
 * If they differ, the request is spiraling."
 */
export function isLoop(
  vias: readonly Via[],
  key: LoopKey,
  isSelf: (host: string, port: number | null) => boolean,
): boolean {
  for (const via of vias) {
    const branch = via.params.get('branch');
    if (branch === undefined || branch === null) {
      continue;
    }
    // Only a branch of ours, in a Via naming us, needs this request's own hash.
    const ours = hashOfBranch(branch);
    if (ours !== null && isSelf(via.host, via.port) && ours === key.hash) {
      return true;
    }
  }
  return false;
}
