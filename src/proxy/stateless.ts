/**
 * Stateless forwarding (RFC 3261 §16.11): requests sent on without a transaction (ACK for a 2xx,
 * CANCEL with no matching INVITE, or when the script asks for `forward()`), and responses that
 * match no transaction (2xx retransmissions to a forked INVITE, §16.7).
 */
import { hash } from 'node:crypto';
import {
  MAGIC_COOKIE,
  viaBranch,
  viaReceived,
  viaRport,
  type SipRequest,
  type SipResponse,
  type Via,
} from '../sip/index.js';
import type { Protocol, SendTarget } from '../transport/types.js';
import { copyRequest } from './copy.js';
import { recordRouteValues } from './record-route.js';
import type { ForwardingHost, RequestTask } from './request-task.js';
import { applyStrictRoute, nextHopUri } from './route.js';
import { viaValue } from './via.js';
import { isIP } from 'node:net';

/**
 * §16.11: "the branch parameter ... MUST be the same for retransmissions of the same request":
 * a stateless proxy cannot remember a random one, so it is a hash of the received top Via branch
 * (or of the loop hash for RFC 2543 peers) and the next hop.
 */
function statelessBranch(task: RequestTask, hop: string): string {
  const top = task.req.topVia();
  const seed = (top !== undefined ? viaBranch(top) : null) ?? task.hash;
  return `${MAGIC_COOKIE}-s-${hash('sha1', `${seed}\0${hop}`, 'hex').slice(0, 20)}`;
}

/**
 * Forward the task's request to its next hop without a transaction; false if it cannot be sent.
 * At once when the next hop is an address, as a promise when it needs DNS.
 */
export function forwardRequestStateless(
  host: ForwardingHost,
  task: RequestTask,
): boolean | Promise<boolean> {
  const copy = copyRequest(task.req);
  copy.decrementMaxForwards(host.maxForwards);
  const strict = applyStrictRoute(copy);
  const hop = nextHopUri(copy, task.dst, strict);
  if (hop === null) {
    return false;
  }
  let now: SendTarget[] | null;
  try {
    now = host.resolver.resolveNumeric?.(hop) ?? null;
  } catch (err) {
    return unresolved(host, task, err);
  }
  if (now !== null) {
    return sendStateless(host, task, copy, now);
  }
  return host.resolver.resolve(hop).then(
    (addresses) => sendStateless(host, task, copy, addresses),
    (err: unknown) => unresolved(host, task, err),
  );
}

function unresolved(host: ForwardingHost, task: RequestTask, err: unknown): false {
  host.logger.debug({ err, callId: task.req.callId() }, 'stateless forward: no address');
  return false;
}

function sendStateless(
  host: ForwardingHost,
  task: RequestTask,
  copy: SipRequest,
  addresses: readonly SendTarget[],
): boolean {
  for (const target of addresses) {
    let socket;
    try {
      socket = host.transport.socketFor(target);
    } catch {
      continue;
    }
    if (task.recordRouted) {
      for (const rr of recordRouteValues(task.rx.socket, socket, task.rrParams)) {
        copy.addRecordRoute(rr);
      }
    }
    copy.pushVia(viaValue(socket, statelessBranch(task, `${target.address}:${target.port}`)));
    host.transport.send({ ...target, socketId: socket.id }, copy.toBuffer(), (err) => {
      if (err !== null) {
        host.logger.debug({ err, callId: task.req.callId() }, 'stateless forward failed');
      }
    });
    return true;
  }
  return false;
}

const TRANSPORTS: Record<string, Protocol> = {
  UDP: 'udp',
  TCP: 'tcp',
  TLS: 'tls',
  WS: 'ws',
  WSS: 'wss',
};

/**
 * Where a response goes after our Via is removed, from the next Via (RFC 3261 §18.2.2 with
 * RFC 3581 §4): `received` (else sent-by host) and `rport` (else sent-by port, else the default).
 * Null when the sent-by is a name with no `received` (stateless forwarding does not resolve).
 */
export function responseTargetOf(via: Via): SendTarget | null {
  const protocol = TRANSPORTS[via.transport];
  if (protocol === undefined) {
    return null;
  }
  const received = viaReceived(via);
  const host = (received ?? via.host).replace(/^\[|\]$/g, '');
  if (isIP(host) === 0) {
    return null;
  }
  const rport = viaRport(via);
  const port =
    typeof rport === 'number'
      ? rport
      : (via.port ?? (protocol === 'tls' || protocol === 'wss' ? 5061 : 5060));
  return { protocol, address: host, port };
}

/**
 * §16.7 / §16.11: a response that matches no transaction is forwarded statelessly when its top
 * Via is ours; anything else is dropped. Returns true when it was sent on.
 */
export function forwardResponseStateless(host: ForwardingHost, res: SipResponse): boolean {
  const top = res.topVia();
  if (top === undefined || !host.self.isSelf(top.host, top.port)) {
    return false;
  }
  res.popVia();
  const next = res.topVia();
  if (next === undefined) {
    return false;
  }
  const target = responseTargetOf(next);
  if (target === null) {
    return false;
  }
  host.transport.send(target, res.toBuffer(), (err) => {
    if (err !== null) {
      host.logger.debug({ err, callId: res.callId() }, 'stateless response forward failed');
    }
  });
  return true;
}
