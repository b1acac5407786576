/**
 * One record-routed call through the proxy without sockets, for the in-process benchmarks
 * (`bench:proxy-core`, `scripts/bench/instructions.sh`). A fake transport hands every message
 * the proxy sends to an in-process caller or callee, which answers as sipp does
 * (INVITE/100/180/200/ACK, BYE/200); everything from parsing to forwarding runs as in
 * production: transaction layer, proxy core and the routing script given.
 */
import type { BaseClock } from '../../src/core/clock.js';
import { silentLogger } from '../../src/core/logger.js';
import { TimerWheel } from '../../src/core/timer-wheel.js';
import { ProxyCore } from '../../src/proxy/proxy-core.js';
import { SelfAddresses } from '../../src/proxy/self.js';
import type { InstalledModules } from '../../src/module/index.js';
import { ScriptRunner } from '../../src/script/runner.js';
import type { Routes } from '../../src/script/routes.js';
import {
  parseMessage,
  validateRequest,
  validateResponse,
  type SipResponse,
} from '../../src/sip/index.js';
import { TransactionLayer } from '../../src/transaction/layer.js';
import { Resolver } from '../../src/transport/resolver.js';
import { makeSocketInfo } from '../../src/transport/sockets.js';
import type {
  ReceiveInfo,
  SendTarget,
  SentDatagram,
  SocketInfo,
  TransportPort,
} from '../../src/transport/types.js';

export interface CallHarness {
  /** Make call number `n`; rejects unless the caller got 100, 180, 200 and the BYE's 200. */
  readonly call: (n: number) => Promise<void>;
  /** Stop the timers, the transaction layer and the resolver. */
  readonly stop: () => void;
}

/**
 * A clock that stands still: no timer ever fires. Under valgrind the process runs ~50 times
 * slower, and real time would fire Timer A and friends, turning the same calls into different
 * work (and failing them); instruction counts want the same work every time.
 */
export const FROZEN_CLOCK: BaseClock = {
  now: () => 0,
  setTimer: () => ({ cancel: () => undefined }),
};

/**
 * A proxy (transaction layer, proxy core, `routes`) between an in-process caller and callee.
 * Timers run on `base` (real time by default).
 */
/** Modules' script functions and hooks for the runner (what `installModules` returns). */
export type HarnessModules = Pick<
  InstalledModules,
  'scriptFunctions' | 'names' | 'looseRouteHooks'
>;

export function createCallHarness(
  routes: Routes,
  base?: BaseClock,
  modules?: HarnessModules,
): CallHarness {
  const PROXY = makeSocketInfo({ protocol: 'udp', host: '127.0.0.1', port: 5060 }, 5060);
  const CALLER = 5080;
  const CALLEE = 5070;

  /** Messages in flight: the bytes and the port they are addressed to. */
  const wire: { port: number; data: Buffer }[] = [];

  class WireTransport implements TransportPort {
    socketFor(): SocketInfo {
      return PROXY;
    }
    send(target: SendTarget, data: Buffer, cb?: (err: Error | null) => void): void {
      wire.push({ port: target.port, data });
      cb?.(null);
    }
    sendResponse(res: SipResponse, rx: ReceiveInfo): SentDatagram | null {
      const data = res.toBuffer();
      wire.push({ port: rx.sourcePort, data });
      return { target: { protocol: 'udp', address: rx.sourceAddress, port: rx.sourcePort }, data };
    }
  }

  const clock = new TimerWheel(base === undefined ? {} : { base });
  const transport = new WireTransport();
  const self = new SelfAddresses([PROXY]);
  let core: ProxyCore | null = null;
  const layer = new TransactionLayer({
    transport,
    user: {
      onRequest: (req, rx, tx) => core?.onRequest(req, rx, tx),
      onStrayResponse: (res) => core?.onStrayResponse(res),
    },
    clock,
    logger: silentLogger,
  });
  const resolver = new Resolver({ clock, servers: ['127.0.0.1:9'] });
  core = new ProxyCore(
    { transport, transactions: layer, resolver, clock, logger: silentLogger },
    self,
  );
  const runner = new ScriptRunner(core, self, silentLogger);
  if (modules !== undefined) {
    runner.setFunctions(modules.scriptFunctions, modules.names, modules.looseRouteHooks);
  }
  runner.install(routes);

  function rx(port: number): ReceiveInfo {
    return {
      socket: PROXY,
      protocol: 'udp',
      sourceAddress: '127.0.0.1',
      sourcePort: port,
      connectionId: null,
      receivedAt: 0,
    };
  }

  /** What the network delivers to the proxy: parsed and validated as the transport does. */
  function toProxy(text: string, from: number): void {
    // A buffer of its own, as dgram delivers each datagram (a slice of Node's 8 KB pool would
    // keep the whole pool alive as long as the message is referenced).
    const buf = Buffer.allocUnsafeSlow(text.length);
    buf.write(text, 'latin1');
    const msg = parseMessage(buf);
    if (msg.isRequest()) {
      validateRequest(msg);
      layer.onRequest(msg, rx(from));
    } else {
      validateResponse(msg);
      layer.onResponse(msg, rx(from));
    }
  }

  /** The callee's answer to a request: copies Via, From, To (+tag), Call-ID, CSeq, Record-Route. */
  function answer(req: string, status: string): string {
    // One pass over the request's lines (the bench's own cost stays small beside the proxy's).
    let out = `SIP/2.0 ${status}\r\n`;
    const end = req.indexOf('\r\n\r\n');
    for (let i = req.indexOf('\r\n') + 2; i < end;) {
      let eol = req.indexOf('\r\n', i);
      if (eol < 0 || eol > end) {
        eol = end;
      }
      const line = req.slice(i, eol);
      if (line.startsWith('To:')) {
        out += line.includes('tag=') ? line : `${line};tag=callee1`;
        out += '\r\n';
      } else if (ANSWER_COPIES.some((h) => line.startsWith(h))) {
        out += line + '\r\n';
      }
      i = eol + 2;
    }
    return out + `Contact: <sip:callee@127.0.0.1:${CALLEE}>\r\nContent-Length: 0\r\n\r\n`;
  }

  const ANSWER_COPIES = ['Via:', 'From:', 'Call-ID:', 'CSeq:', 'Record-Route:'];

  /**
   * The caller's route set: the Record-Route of the last 200 to an INVITE, as sipp's [routes]
   * (one proxy, one value; with the dialog module it carries the dialog id).
   */
  let route = '<sip:127.0.0.1:5060;lr>';

  function request(
    method: string,
    n: number,
    cseq: number,
    branch: string,
    routed: boolean,
  ): string {
    const lines = [
      `${method} sip:callee@127.0.0.1:${CALLEE} SIP/2.0`,
      `Via: SIP/2.0/UDP 127.0.0.1:${CALLER};branch=z9hG4bK-${branch}-${n}`,
      'Max-Forwards: 70',
      `From: sipp <sip:sipp@127.0.0.1:${CALLER}>;tag=caller${n}`,
      `To: <sip:callee@127.0.0.1:${CALLEE}>${routed ? ';tag=callee1' : ''}`,
      `Call-ID: call-${n}@127.0.0.1`,
      `CSeq: ${cseq} ${method}`,
      `Contact: <sip:sipp@127.0.0.1:${CALLER}>`,
    ];
    if (routed) {
      lines.push(`Route: ${route}`);
    }
    lines.push('Content-Length: 0', '', '');
    return lines.join('\r\n');
  }

  /** Deliver what the proxy sent: to the callee (who answers) or to the caller (who listens). */
  async function drain(): Promise<number> {
    let toCaller = 0;
    for (;;) {
      // Resolution and the script run in promises: let them settle before reading the wire.
      await new Promise<void>((r) => setImmediate(r));
      const m = wire.shift();
      if (m === undefined) {
        return toCaller;
      }
      const text = m.data.toString('latin1');
      if (m.port === CALLER) {
        toCaller++;
        if (text.startsWith('SIP/2.0 200') && text.includes(' INVITE\r\n')) {
          const rr = /\r\nRecord-Route: ([^\r]+)/.exec(text);
          route = rr?.[1] ?? route;
        }
        continue;
      }
      if (text.startsWith('INVITE ')) {
        toProxy(answer(text, '180 Ringing'), CALLEE);
        toProxy(answer(text, '200 OK'), CALLEE);
      } else if (text.startsWith('BYE ')) {
        toProxy(answer(text, '200 OK'), CALLEE);
      }
    }
  }

  /** One call; the caller must have received 100, 180 and 200 to the INVITE and 200 to the BYE. */
  async function call(n: number): Promise<void> {
    toProxy(request('INVITE', n, 1, 'i', false), CALLER);
    let got = await drain();
    toProxy(request('ACK', n, 1, 'a', true), CALLER);
    got += await drain();
    toProxy(request('BYE', n, 2, 'b', true), CALLER);
    got += await drain();
    if (got !== 4) {
      throw new Error(`call ${n}: the caller received ${got} responses instead of 4`);
    }
  }

  return {
    call,
    stop: () => {
      runner.stop();
      layer.stop();
      resolver.close();
    },
  };
}
