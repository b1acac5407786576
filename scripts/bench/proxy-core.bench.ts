/**
 * `npm run bench:proxy-core`: the JavaScript cost of one record-routed call through the proxy,
 * without sockets. A fake transport hands every message the proxy sends to an in-process caller
 * or callee, which answers as sipp does (INVITE/100/180/200/ACK, BYE/200); everything from
 * parsing to forwarding runs as in production (transaction layer, proxy core, cfg/routes.ts).
 *
 * Prints `{"bench":"proxy-core-call","calls_per_sec":N,"us_per_call":M,"cpu_us_per_call":C,
 * "heap_bytes_per_lingering_call":H,"external_bytes_per_lingering_call":E,"samples":K}`. Kernel
 * time is not in it: `npm run bench:proxy` measures the whole thing with sipp.
 */
import { fileURLToPath } from 'node:url';
import { silentLogger } from '../../src/core/logger.js';
import { TimerWheel } from '../../src/core/timer-wheel.js';
import { ProxyCore } from '../../src/proxy/proxy-core.js';
import { SelfAddresses } from '../../src/proxy/self.js';
import { ScriptRunner } from '../../src/script/runner.js';
import {
  parseMessage,
  validateRequest,
  validateResponse,
  type SipResponse,
} from '../../src/sip/index.js';
import { TransactionLayer } from '../../src/transaction/layer.js';
import { Resolver } from '../../src/transport/resolver.js';
import type {
  ReceiveInfo,
  SendTarget,
  SentDatagram,
  SocketInfo,
  TransportPort,
} from '../../src/transport/types.js';

const PROXY: SocketInfo = {
  id: 'udp:127.0.0.1:5060',
  protocol: 'udp',
  host: '127.0.0.1',
  port: 5060,
  family: 4,
  sentByHost: '127.0.0.1',
  sentByPort: 5060,
};
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

const clock = new TimerWheel();
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
await runner.load(fileURLToPath(new URL('../../cfg/routes.ts', import.meta.url)));

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

function request(method: string, n: number, cseq: number, branch: string, routed: boolean): string {
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
    lines.push('Route: <sip:127.0.0.1:5060;lr>');
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

const SAMPLE_MS = Number(process.env['BENCH_SAMPLE_MS'] ?? 1000);
const SAMPLES = Number(process.env['BENCH_SAMPLES'] ?? 7);
let n = 0;
for (let i = 0; i < 500; i++) {
  await call(n++); // warm-up
}
/**
 * Heap kept per finished call while its transactions linger for retransmissions (Timers J, K, L,
 * M: up to 64*T1 = 32 s after the call): at 1,500 calls/s that is 48,000 calls' worth, which the
 * garbage collector marks over and over. Measured right after the warm-up, before any of them expires (Timer K, the first, is 5 s), with a
 * forced collection before and after (needs --expose-gc; the npm script passes it).
 */
async function lingeringBytesPerCall(): Promise<{ heap: number; external: number } | null> {
  const gc = (globalThis as { gc?: () => void }).gc;
  if (gc === undefined) {
    return null;
  }
  const calls = 3000;
  gc();
  const before = process.memoryUsage();
  for (let i = 0; i < calls; i++) {
    await call(n++);
  }
  gc();
  const after = process.memoryUsage();
  return {
    heap: Math.round((after.heapUsed - before.heapUsed) / calls),
    external: Math.round((after.external - before.external) / calls),
  };
}
const lingering = await lingeringBytesPerCall();
const rates: number[] = [];
// CPU time per call too: on the shared machine wall time also counts other processes' turns.
const cpuPerCall: number[] = [];
for (let s = 0; s < SAMPLES; s++) {
  const t0 = performance.now();
  const c0 = process.cpuUsage();
  let calls = 0;
  while (performance.now() - t0 < SAMPLE_MS) {
    await call(n++);
    calls++;
  }
  const cpu = process.cpuUsage(c0);
  rates.push((calls * 1000) / (performance.now() - t0));
  cpuPerCall.push((cpu.user + cpu.system) / calls);
}
rates.sort((a, b) => a - b);
cpuPerCall.sort((a, b) => a - b);
const median = rates[Math.floor(rates.length / 2)]!;

process.stdout.write(
  JSON.stringify({
    bench: 'proxy-core-call',
    calls_per_sec: Math.round(median),
    us_per_call: Math.round(1e6 / median),
    cpu_us_per_call: Math.round(cpuPerCall[Math.floor(cpuPerCall.length / 2)]!),
    ...(lingering !== null
      ? {
          heap_bytes_per_lingering_call: lingering.heap,
          external_bytes_per_lingering_call: lingering.external,
        }
      : {}),
    samples: SAMPLES,
  }) + '\n',
);
runner.stop();
layer.stop();
resolver.close();
process.exit(0);
