/**
 * Requests the proxy sends inside a dialog on its own: the BYEs that end a call that timed out,
 * failed its pings or was ended over MI, and the OPTIONS pings. Each is built as the other side
 * would send it (RFC 3261 §12.2.1.1): that side's tag in From, the target's in To, the target's
 * Contact as Request-URI, the route set towards it, and the next CSeq of the sender's space.
 */
import type { SipOriginator, UacRequest, UacResult } from '../../src/module/index.js';
import type { Dialog, Leg } from './dialog.js';

/**
 * The request to `target`, as if from `peer`. RFC 3261 §12.2.1.1: "the local sequence number
 * MUST be incremented by one": the peer's last CSeq plus what we already sent towards the
 * target (see DialogLeg.sent), plus one.
 */
export function inDialogRequest(
  dlg: Dialog,
  method: string,
  target: Leg,
  peer: Leg,
  headers: readonly (readonly [string, string])[] = [],
): UacRequest {
  target.sent++;
  const r: UacRequest = {
    method,
    uri: target.contact,
    routes: target.routeSet,
    socketId: target.socket,
    from: withTag(peer.uri, peer.tag),
    to: withTag(target.uri, target.tag),
    callId: dlg.callId,
    cseq: peer.cseq + target.sent,
    headers,
  };
  // With no proxy between us and the side, send where its messages came from: the Contact of
  // a phone behind NAT names an address nobody can reach (what fix_nated_contact works around).
  if (target.routeSet.length === 0 && target.source !== null) {
    r.dst = sourceUri(target.source);
  }
  return r;
}

/** BYE both sides of a confirmed dialog; resolves with each side's final status. */
export async function byeBoth(
  sip: SipOriginator,
  dlg: Dialog,
  reason: string,
): Promise<{ caller: number; callee: number }> {
  const headers: [string, string][] = [['Reason', `SIP;text="${reason}"`]];
  const results = await Promise.all([
    send(sip, inDialogRequest(dlg, 'BYE', dlg.caller, dlg.callee, headers)),
    send(sip, inDialogRequest(dlg, 'BYE', dlg.callee, dlg.caller, headers)),
  ]);
  return { caller: results[0], callee: results[1] };
}

async function send(sip: SipOriginator, r: UacRequest): Promise<number> {
  const out: UacResult = await sip.request(r);
  return out.status;
}

function withTag(uri: string, tag: string | null): string {
  return tag === null ? `<${uri}>` : `<${uri}>;tag=${tag}`;
}

/** `udp:10.0.0.1:5060` (DialogLeg.source) as a SIP URI to send to. */
export function sourceUri(source: string): string {
  const colon = source.indexOf(':');
  const proto = source.slice(0, colon);
  const hostPort = source.slice(colon + 1);
  if (proto === 'udp') {
    return `sip:${hostPort}`;
  }
  // RFC 7118 §5.2: WebSocket is `transport=ws` whether secured or not; sips marks TLS.
  switch (proto) {
    case 'tls':
      return `sips:${hostPort}`;
    case 'wss':
      return `sips:${hostPort};transport=ws`;
    default:
      return `sip:${hostPort};transport=${proto}`;
  }
}
