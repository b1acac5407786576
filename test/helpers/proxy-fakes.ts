/**
 * Fakes of the layers below the proxy core (transport, transaction layer, resolver) that record
 * what the core does and let a test play the network's part.
 */
import { silentLogger } from '../../src/core/logger.js';
import { ProxyCore } from '../../src/proxy/proxy-core.js';
import { SelfAddresses } from '../../src/proxy/self.js';
import type { ResolverPort, TransactionPort } from '../../src/proxy/types.js';
import {
  parseMessage,
  type SipRequest,
  type SipResponse,
  type SipUri,
} from '../../src/sip/index.js';
import type {
  ClientTransaction,
  ClientTransactionUser,
  ServerTransaction,
  TransactionState,
} from '../../src/transaction/types.js';
import type {
  ReceiveInfo,
  SendCallback,
  SendTarget,
  SentDatagram,
  SocketInfo,
  TransportPort,
} from '../../src/transport/types.js';
import { FakeClock } from './fake-clock.js';

export const UDP_SOCKET: SocketInfo = {
  id: 'udp:10.0.0.1:5060',
  protocol: 'udp',
  host: '10.0.0.1',
  port: 5060,
  family: 4,
  sentByHost: '10.0.0.1',
  sentByPort: 5060,
};

export const TCP_SOCKET: SocketInfo = { ...UDP_SOCKET, id: 'tcp:10.0.0.1:5060', protocol: 'tcp' };

export class FakeTransport implements TransportPort {
  readonly sent: { target: SendTarget; data: Buffer }[] = [];
  readonly responses: { res: SipResponse; rx: ReceiveInfo }[] = [];
  sockets: SocketInfo[] = [UDP_SOCKET, TCP_SOCKET];

  socketFor(target: SendTarget): SocketInfo {
    const s = this.sockets.find((x) => x.protocol === target.protocol);
    if (s === undefined) {
      throw new Error('no socket');
    }
    return s;
  }

  send(target: SendTarget, data: Buffer, cb?: SendCallback): void {
    this.sent.push({ target, data });
    cb?.(null);
  }

  sendResponse(res: SipResponse, rx: ReceiveInfo): SentDatagram | null {
    this.responses.push({ res, rx });
    return null;
  }

  /** Statuses of the responses sent upstream, in order. */
  statuses(): number[] {
    return this.responses.map((r) => r.res.status);
  }
}

export class FakeServerTx implements ServerTransaction {
  readonly id: string;
  state: TransactionState = 'proceeding';
  lastResponse: SipResponse | null = null;
  readonly sent: SipResponse[] = [];
  onTerminated: (() => void) | null = null;

  constructor(
    readonly request: SipRequest,
    readonly rx: ReceiveInfo,
    private readonly transport: FakeTransport,
  ) {
    this.id = `s${Math.random()}`;
  }

  get lastToTag(): string | null {
    return this.lastResponse?.toTag() ?? null;
  }

  respond(res: SipResponse): boolean {
    const final = this.lastResponse !== null && this.lastResponse.status >= 200;
    if (final) {
      return false;
    }
    this.lastResponse = res;
    this.sent.push(res);
    this.transport.sendResponse(res, this.rx);
    if (res.status >= 200) {
      this.state = 'completed';
    }
    return true;
  }
}

export class FakeClientTx implements ClientTransaction {
  readonly id: string;
  state: TransactionState = 'calling';
  lastStatus = 0;
  cancelled = false;

  constructor(
    readonly request: SipRequest,
    readonly target: SendTarget,
    readonly user: ClientTransactionUser,
  ) {
    this.id = `c${Math.random()}`;
  }

  /** Deliver a response as the network would: the request's Via set, then `status`. */
  respond(status: number, extra = '', toTag = 'callee'): SipResponse {
    const req = this.request;
    const vias = req
      .getAll('via')
      .map((v) => `Via: ${v}\r\n`)
      .join('');
    const to = req.get('to')!;
    const text =
      `SIP/2.0 ${status} Reason\r\n${vias}From: ${req.get('from')!}\r\n` +
      `To: ${status > 100 && !to.includes('tag=') ? `${to};tag=${toTag}` : to}\r\n` +
      `Call-ID: ${req.callId()}\r\nCSeq: ${req.get('cseq')!}\r\n${extra}Content-Length: 0\r\n\r\n`;
    const res = parseMessage(Buffer.from(text, 'latin1')) as SipResponse;
    this.lastStatus = status;
    this.user.onResponse(res, this);
    return res;
  }
}

export class FakeTransactions implements TransactionPort {
  readonly servers: FakeServerTx[] = [];
  readonly clients: FakeClientTx[] = [];
  readonly cancelled: FakeClientTx[] = [];

  constructor(private readonly transport: FakeTransport) {}

  createServerTransaction(req: SipRequest, rx: ReceiveInfo): ServerTransaction {
    const tx = new FakeServerTx(req, rx, this.transport);
    this.servers.push(tx);
    return tx;
  }

  createClientTransaction(
    req: SipRequest,
    target: SendTarget,
    user: ClientTransactionUser,
  ): ClientTransaction {
    const tx = new FakeClientTx(req, target, user);
    this.clients.push(tx);
    return tx;
  }

  cancel(tx: ClientTransaction): null {
    const c = this.clients.find((x) => x === tx);
    if (c === undefined) {
      throw new Error('cancel of an unknown transaction');
    }
    c.cancelled = true;
    this.cancelled.push(c);
    return null;
  }
}

/** Resolves `host` to 127.0.0.x addresses given per host; unknown names fail. */
export class FakeResolver implements ResolverPort {
  readonly table = new Map<string, SendTarget[]>();
  readonly asked: string[] = [];

  resolve(uri: SipUri): Promise<SendTarget[]> {
    this.asked.push(uri.host);
    const t = this.table.get(uri.host);
    if (t !== undefined) {
      return Promise.resolve(t);
    }
    if (/^\d+\.\d+\.\d+\.\d+$/.test(uri.host)) {
      const protocol = uri.params.get('transport') === 'tcp' ? 'tcp' : 'udp';
      return Promise.resolve([{ protocol, address: uri.host, port: uri.port ?? 5060 }]);
    }
    return Promise.reject(new Error(`cannot resolve ${uri.host}`));
  }

  /** Addresses not in the table answer at once, as the real resolver does for IP literals. */
  resolveNumeric(uri: SipUri): SendTarget[] | null {
    if (this.table.has(uri.host) || !/^\d+\.\d+\.\d+\.\d+$/.test(uri.host)) {
      return null;
    }
    this.asked.push(uri.host);
    if (uri.params.get('transport') === 'sctp') {
      throw new Error(`${uri.host}: transport sctp not supported`);
    }
    const protocol = uri.params.get('transport') === 'tcp' ? 'tcp' : 'udp';
    return [{ protocol, address: uri.host, port: uri.port ?? 5060 }];
  }
}

export interface Harness {
  core: ProxyCore;
  transport: FakeTransport;
  tx: FakeTransactions;
  resolver: FakeResolver;
  clock: FakeClock;
  self: SelfAddresses;
}

export function harness(aliases: string[] = ['proxy.example.com']): Harness {
  const transport = new FakeTransport();
  const tx = new FakeTransactions(transport);
  const resolver = new FakeResolver();
  const clock = new FakeClock();
  const self = new SelfAddresses(transport.sockets, aliases);
  const core = new ProxyCore(
    { transport, transactions: tx, resolver, clock, logger: silentLogger, timerC: 180_000 },
    self,
  );
  return { core, transport, tx, resolver, clock, self };
}

export const RX: ReceiveInfo = {
  socket: UDP_SOCKET,
  protocol: 'udp',
  sourceAddress: '192.0.2.10',
  sourcePort: 5062,
  connectionId: null,
  receivedAt: 0,
};

/** A request from alice's phone at 192.0.2.10; `headers` are extra lines. */
export function request(
  method: string,
  uri: string,
  headers: string[] = [],
  options: { toTag?: string; branch?: string; cseq?: number; maxForwards?: number } = {},
): SipRequest {
  const to = `<sip:bob@example.com>${options.toTag !== undefined ? `;tag=${options.toTag}` : ''}`;
  const text =
    `${method} ${uri} SIP/2.0\r\n` +
    `Via: SIP/2.0/UDP 192.0.2.10:5062;branch=${options.branch ?? 'z9hG4bKalice1'}\r\n` +
    `Max-Forwards: ${options.maxForwards ?? 70}\r\nFrom: <sip:alice@example.com>;tag=a1\r\nTo: ${to}\r\n` +
    `Call-ID: call-1@192.0.2.10\r\nCSeq: ${options.cseq ?? 1} ${method}\r\n` +
    `Contact: <sip:alice@192.0.2.10:5062>\r\n${headers.map((h) => h + '\r\n').join('')}Content-Length: 0\r\n\r\n`;
  return parseMessage(Buffer.from(text, 'latin1')) as SipRequest;
}

/** Let pending promise callbacks (script awaits, resolver) run. */
export async function settle(): Promise<void> {
  for (let i = 0; i < 10; i++) {
    await new Promise<void>((r) => setImmediate(r));
  }
}
