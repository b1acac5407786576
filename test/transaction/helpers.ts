/** Fakes and message builders shared by the transaction tests. */
import { CoreError } from '../../src/core/errors.js';
import { parseMessage, type SipRequest, type SipResponse } from '../../src/sip/index.js';
import { TransactionLayer } from '../../src/transaction/layer.js';
import type {
  ClientTransaction,
  ClientTransactionUser,
  ServerTransaction,
  TimerConfig,
  TransactionUser,
} from '../../src/transaction/types.js';
import type {
  Protocol,
  ReceiveInfo,
  SendCallback,
  SendTarget,
  SentDatagram,
  SocketInfo,
  TransportPort,
} from '../../src/transport/types.js';
import { FakeClock } from '../helpers/fake-clock.js';

export const SOCKET: SocketInfo = {
  id: 'udp:127.0.0.1:5060',
  protocol: 'udp',
  host: '127.0.0.1',
  port: 5060,
  family: 4,
  sentByHost: '127.0.0.1',
  sentByPort: 5060,
};

export function rxInfo(protocol: Protocol = 'udp', at = 0): ReceiveInfo {
  return {
    socket: { ...SOCKET, protocol, id: `${protocol}:127.0.0.1:5060` },
    protocol,
    sourceAddress: '192.0.2.10',
    sourcePort: 5062,
    connectionId: protocol === 'udp' ? null : 7,
    receivedAt: at,
  };
}

export function target(protocol: Protocol = 'udp'): SendTarget {
  return { protocol, address: '198.51.100.20', port: 5060 };
}

/** One thing the fake transport was asked to send, with the clock time it was asked. */
export interface Sent {
  at: number;
  target: SendTarget;
  data: Buffer;
  /** The first line, e.g. `INVITE sip:bob@example.com SIP/2.0`. */
  line: string;
}

export interface SentResponse {
  at: number;
  res: SipResponse;
  rx: ReceiveInfo;
}

/**
 * Records every send. `failWith` makes the following sends report that error through their
 * callback, asynchronously (a microtask) as the real transport does, or synchronously when
 * `syncErrors` is set.
 */
export class FakeTransport implements TransportPort {
  readonly sent: Sent[] = [];
  readonly responses: SentResponse[] = [];
  failWith: Error | null = null;
  syncErrors = false;
  /** The targets handed back for responses, so a resend is recognised as one. */
  private readonly responseTargets = new WeakMap<SendTarget, ReceiveInfo>();

  constructor(private readonly clock: FakeClock) {}

  socketFor(): SocketInfo {
    return SOCKET;
  }

  send(t: SendTarget, data: Buffer, cb?: SendCallback): void {
    const text = data.toString('latin1');
    const rx = this.responseTargets.get(t);
    if (rx !== undefined) {
      // A response resent from the bytes a transaction kept: recorded with the others.
      this.responses.push({ at: this.clock.now(), res: parseMessage(data) as SipResponse, rx });
      this.complete(cb);
      return;
    }
    this.sent.push({
      at: this.clock.now(),
      target: t,
      data,
      line: text.slice(0, text.indexOf('\r\n')),
    });
    this.complete(cb);
  }

  sendResponse(res: SipResponse, rx: ReceiveInfo, cb?: SendCallback): SentDatagram | null {
    this.responses.push({ at: this.clock.now(), res, rx });
    this.complete(cb);
    if (rx.protocol !== 'udp') {
      return null;
    }
    // As the real transport does for a datagram: where it went and the bytes.
    const target: SendTarget = { protocol: 'udp', address: rx.sourceAddress, port: rx.sourcePort };
    this.responseTargets.set(target, rx);
    return { target, data: res.toBuffer() };
  }

  /** Sends whose first line starts with `prefix`. */
  lines(prefix: string): Sent[] {
    return this.sent.filter((s) => s.line.startsWith(prefix));
  }

  private complete(cb: SendCallback | undefined): void {
    const err = this.failWith;
    if (cb === undefined) {
      return;
    }
    if (this.syncErrors) {
      cb(err);
    } else {
      queueMicrotask(() => {
        cb(err);
      });
    }
  }
}

/** What a client transaction told its user, in order. */
export class RecordingClientUser implements ClientTransactionUser {
  readonly events: string[] = [];
  readonly responses: SipResponse[] = [];
  readonly states: string[] = [];
  errors: Error[] = [];

  constructor(private readonly clock: FakeClock) {}

  onResponse(res: SipResponse, tx: ClientTransaction): void {
    this.events.push(`${res.status}@${this.clock.now()}`);
    this.responses.push(res);
    this.states.push(tx.state);
  }

  onTimeout(tx: ClientTransaction): void {
    this.events.push(`timeout@${this.clock.now()}`);
    this.states.push(tx.state);
  }

  onTransportError(err: Error, tx: ClientTransaction): void {
    this.events.push(`error@${this.clock.now()}`);
    this.errors.push(err);
    this.states.push(tx.state);
  }
}

/** What the layer handed its TU. */
export class RecordingTU implements TransactionUser {
  readonly requests: { req: SipRequest; rx: ReceiveInfo; inviteTx: ServerTransaction | null }[] =
    [];
  readonly strays: SipResponse[] = [];

  onRequest(req: SipRequest, rx: ReceiveInfo, inviteTx: ServerTransaction | null): void {
    this.requests.push({ req, rx, inviteTx });
  }

  onStrayResponse(res: SipResponse): void {
    this.strays.push(res);
  }
}

/** A layer on a fake clock and a fake transport, with a recording TU. */
export function makeLayer(timers: Partial<TimerConfig> = {}) {
  const clock = new FakeClock(0);
  const transport = new FakeTransport(clock);
  const tu = new RecordingTU();
  const layer = new TransactionLayer({ transport, user: tu, clock, timers });
  return { clock, transport, tu, layer };
}

export function sendError(): CoreError {
  return new CoreError('TANDEM_ERR_SEND', 'connection refused');
}

/** Let queued send callbacks run. */
export async function flush(): Promise<void> {
  await new Promise<void>((resolve) => {
    setImmediate(resolve);
  });
}

export interface RequestSpec {
  method?: string;
  uri?: string;
  /** The whole top Via value. */
  via?: string;
  /** Further Via lines. */
  moreVias?: string[];
  branch?: string;
  transport?: string;
  sentBy?: string;
  fromTag?: string;
  toTag?: string | null;
  callId?: string;
  cseq?: number;
  cseqMethod?: string;
  routes?: string[];
  extra?: string[];
}

/** A request as literal SIP text, parsed. */
export function request(spec: RequestSpec = {}): SipRequest {
  const method = spec.method ?? 'INVITE';
  const branch = spec.branch ?? 'z9hG4bKclient1';
  const via =
    spec.via ??
    `SIP/2.0/${spec.transport ?? 'UDP'} ${spec.sentBy ?? 'client.example.com:5060'};branch=${branch}`;
  const toTag = spec.toTag ?? null;
  const lines = [
    `${method} ${spec.uri ?? 'sip:bob@example.com'} SIP/2.0`,
    `Via: ${via}`,
    ...(spec.moreVias ?? []).map((v) => `Via: ${v}`),
    ...(spec.routes ?? []).map((r) => `Route: ${r}`),
    'Max-Forwards: 69',
    `From: "Alice" <sip:alice@example.com>;tag=${spec.fromTag ?? 'fromtag1'}`,
    `To: <sip:bob@example.com>${toTag === null ? '' : `;tag=${toTag}`}`,
    `Call-ID: ${spec.callId ?? 'call-1@client.example.com'}`,
    `CSeq: ${spec.cseq ?? 1} ${spec.cseqMethod ?? method}`,
    'Contact: <sip:alice@192.0.2.10:5062>',
    ...(spec.extra ?? []),
    'Content-Length: 0',
    '',
    '',
  ];
  return parseMessage(Buffer.from(lines.join('\r\n'), 'latin1')) as SipRequest;
}

export interface ResponseSpec {
  status: number;
  reason?: string;
  branch?: string;
  method?: string;
  cseq?: number;
  toTag?: string | null;
  noVia?: boolean;
}

/** A response to a request sent with `branch`, as literal SIP text, parsed. */
export function response(spec: ResponseSpec): SipResponse {
  const toTag = spec.toTag === undefined ? 'totag9' : spec.toTag;
  const lines = [
    `SIP/2.0 ${spec.status} ${spec.reason ?? 'Whatever'}`,
    ...(spec.noVia === true
      ? []
      : [`Via: SIP/2.0/UDP proxy.example.net:5060;branch=${spec.branch ?? 'z9hG4bKproxy1'}`]),
    `From: "Alice" <sip:alice@example.com>;tag=fromtag1`,
    `To: <sip:bob@example.com>${toTag === null ? '' : `;tag=${toTag}`}`,
    'Call-ID: call-1@client.example.com',
    `CSeq: ${spec.cseq ?? 1} ${spec.method ?? 'INVITE'}`,
    'Content-Length: 0',
    '',
    '',
  ];
  return parseMessage(Buffer.from(lines.join('\r\n'), 'latin1')) as SipResponse;
}

/** A request as the proxy forwards it: our Via on top with `branch`. */
export function outgoing(spec: RequestSpec & { ourBranch?: string } = {}): SipRequest {
  const req = request(spec);
  req.pushVia(`SIP/2.0/UDP proxy.example.net:5060;branch=${spec.ourBranch ?? 'z9hG4bKproxy1'}`);
  return req;
}

/** Clock times of the sends whose first line starts with `prefix`. */
export function times(transport: FakeTransport, prefix: string): number[] {
  return transport.lines(prefix).map((s) => s.at);
}
