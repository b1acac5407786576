/**
 * Memory per dialog with many concurrent calls, printed as a JSON line:
 *
 *     node --expose-gc --import tsx modules/dialog/bench/memory.bench.ts [dialogs=100000]
 *
 * Each dialog is made the way a call makes it: create_dialog() on a parsed INVITE (40-char
 * Call-ID, a Record-Route from an upstream proxy, a Contact), then the callee's 200 (its own
 * Record-Route and Contact) confirms it, with two profiles set (`calls`, `caller/<user>`). The
 * messages and contexts are dropped, as the proxy drops them when the transaction ends, so
 * the heap delta after a full GC is what the dialogs themselves keep: the record, its legs and
 * strings, and the store, profile and timeout entries.
 */
import {
  parseMessage,
  type ModuleHost,
  type ScriptContext,
  type SipRequest,
  type SipResponse,
} from '../../../src/module/index.js';
import { dialogParams, type DialogParams } from '../params.js';
import { DialogService } from '../service.js';

/** What create_dialog() registers on the transaction (the part this bench drives). */
interface TransactionWatcherLike {
  response(res: SipResponse, branch: unknown): void;
}

const count = Number(process.argv[2] ?? 100_000);
const gc = (globalThis as { gc?: () => void }).gc;
if (gc === undefined) {
  throw new Error('run with --expose-gc');
}

const noop = (): undefined => undefined;
const quiet = {
  fatal: noop,
  error: noop,
  warn: noop,
  info: noop,
  debug: noop,
  trace: noop,
} as unknown as ModuleHost['logger'];

const host = {
  name: 'dialog',
  params: dialogParams.parse({ profiles_no_value: 'calls', profiles_with_value: 'caller' }),
  clock: { now: () => 0, setTimer: () => ({ cancel: () => undefined }) },
  wallTime: () => 1_800_000_000_000,
  sharingTags: { isActive: () => true },
  dataDir: '/nonexistent',
  every: () => undefined,
  sip: { request: () => Promise.reject(new Error('unused')), sendRaw: () => undefined },
  api: () => {
    throw new Error('unused');
  },
  logger: quiet,
  stat: () => {
    throw new Error('unused');
  },
  raise: () => undefined,
  events: { subscribe: () => () => undefined, has: () => true, hasSubscribers: () => false },
  readiness: () => () => undefined,
} as unknown as ModuleHost<DialogParams>;

const svc = new DialogService(host, {
  processed_dialogs: 0,
  expired_dialogs: 0,
  failed_dialogs: 0,
  unmatched: 0,
});

const hex = (n: number, width: number) => n.toString(16).padStart(width, '0');

function invite(i: number): SipRequest {
  const callId = `${hex(i * 2654435761, 16)}${hex(i, 16)}@192.0.2.${String(i % 250)}`;
  const text =
    `INVITE sip:+4930${String(1_000_000 + i)}@carrier.example.net SIP/2.0\r\n` +
    `Via: SIP/2.0/UDP 192.0.2.10:5060;branch=z9hG4bK${hex(i, 12)}\r\n` +
    `Record-Route: <sip:198.51.100.1;lr;ftag=${hex(i, 8)}>\r\n` +
    `Max-Forwards: 69\r\n` +
    `From: "Customer ${String(i % 977)}" <sip:cust${String(i % 977)}@pbx.example.com>;tag=${hex(i * 7, 10)}\r\n` +
    `To: <sip:+4930${String(1_000_000 + i)}@carrier.example.net>\r\n` +
    `Call-ID: ${callId}\r\nCSeq: 101 INVITE\r\n` +
    `Contact: <sip:cust${String(i % 977)}@192.0.2.${String(i % 250)}:5060;transport=udp>\r\n` +
    `Content-Length: 0\r\n\r\n`;
  return parseMessage(Buffer.from(text, 'latin1')) as SipRequest;
}

function ok(req: SipRequest, did: string, i: number): SipResponse {
  const text =
    `SIP/2.0 200 OK\r\n` +
    `Via: SIP/2.0/UDP 192.0.2.10:5060;branch=z9hG4bK${hex(i, 12)}\r\n` +
    `Record-Route: <sip:203.0.113.9;lr>, <sip:10.0.0.1:5060;lr;did=${did}>, ` +
    `<sip:198.51.100.1;lr;ftag=${hex(i, 8)}>\r\n` +
    `From: ${req.get('from')!}\r\nTo: ${req.get('to')!};tag=${hex(i * 13, 12)}\r\n` +
    `Call-ID: ${req.callId()}\r\nCSeq: 101 INVITE\r\n` +
    `Contact: <sip:gw@203.0.113.${String(i % 200)}:5060>\r\nContent-Length: 0\r\n\r\n`;
  return parseMessage(Buffer.from(text, 'latin1')) as SipResponse;
}

/** The parts of a routing context create_dialog() and the profile functions use. */
function context(req: SipRequest): { ctx: ScriptContext; watcher: () => TransactionWatcherLike } {
  const vars = new Map<string, unknown>();
  let w: TransactionWatcherLike | null = null;
  const ctx = {
    msg: req,
    vars,
    rx: {
      socket: { id: 'udp:10.0.0.1:5060' },
      protocol: 'udp',
      sourceAddress: '192.0.2.10',
      sourcePort: 5060,
    },
    record_route: () => undefined,
    add_rr_param: () => undefined,
    watch_transaction: (x: TransactionWatcherLike) => {
      w = x;
      return { cancel: () => false };
    },
  } as unknown as ScriptContext;
  return { ctx, watcher: () => w! };
}

function build(n: number): void {
  for (let i = 0; i < n; i++) {
    const req = invite(i);
    const { ctx, watcher } = context(req);
    svc.tracker.create(ctx, 'B');
    const d = svc.current(ctx)!;
    svc.profiles.add(d, 'calls');
    svc.profiles.add(d, 'caller', `cust${String(i % 977)}`);
    const branch = {
      socketId: 'udp:10.0.0.1:5060',
      attempt: 1,
      addresses: [{ protocol: 'udp', address: '203.0.113.9', port: 5060 }],
    };
    watcher().response(ok(req, d.id, i), branch);
  }
}

gc();
gc();
const heap0 = process.memoryUsage().heapUsed;
const rss0 = process.memoryUsage().rss;
const t0 = performance.now();
build(count);
const ms = performance.now() - t0;
gc();
gc();
const heap1 = process.memoryUsage().heapUsed;
const rss1 = process.memoryUsage().rss;
process.stdout.write(
  JSON.stringify({
    bench: 'dialog-memory',
    dialogs: svc.store.size,
    confirmed: svc.store.counts().active,
    heap_bytes_per_dialog: Math.round((heap1 - heap0) / count),
    rss_bytes_per_dialog: Math.round((rss1 - rss0) / count),
    build_us_per_dialog: Math.round((ms * 1_000_000) / count) / 1000,
  }) + '\n',
);
