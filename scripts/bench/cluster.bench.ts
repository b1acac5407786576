/**
 * `npx tsx scripts/bench/cluster.bench.ts` (`npm run bench:cluster`): what one node can send to
 * another through the bin/bins channel. The receiving node runs in a child process, so each side
 * has its own event loop as in production. Prints JSON lines:
 * `{"bench":"throughput","transport":"bin"|"bins","size":200|61440,"pkts_per_s":…,"mb_per_s":…}`
 * measured at the receiver (first to last packet of a timed run on the bulk lane, whose sends
 * wait for the socket to drain: the rate the channel sustains, not the rate a queue absorbs), then
 * `{"bench":"ping-under-load","worst_ping_ms":…,"mb_transferred":…}`: the worst heartbeat round
 * trip either node saw while 500 MB streamed on the bulk lane (ping every 100 ms).
 */
import { fork, type ChildProcess } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import { BinNetwork } from '../../src/cluster/net/index.js';
import type { NodeInfo } from '../../src/cluster/types.js';
import { clusterCerts } from '../../test/helpers/cluster-certs.js';
import { freePort } from '../../test/helpers/ports.js';

const SECONDS = Number(process.env['BENCH_SECONDS'] ?? 3);
const LOAD_BYTES = Number(process.env['BENCH_LOAD_MB'] ?? 500) * 1024 * 1024;
const TIMERS = { pingIntervalMs: 100, pingTimeoutMs: 1000, noPingRetries: 3, nodeTimeoutMs: 1000 };
const CAP = 'bench';

interface Setup {
  tls: boolean;
  ports: [number, number];
  /** PEM for nodes 1 and 2 and the CA: made once by the parent, so both sides share the CA. */
  pem?: { ca: string; cert: string[]; key: string[] };
}

function nodes(s: Setup): NodeInfo[] {
  return s.ports.map((port, i) => ({
    clusterId: 1,
    nodeId: i + 1,
    url: `${s.tls ? 'bins' : 'bin'}:127.0.0.1:${port}`,
    sipAddr: '',
    priority: 0,
    seed: false,
    description: '',
  }));
}

function makeNode(id: number, s: Setup): BinNetwork {
  return new BinNetwork({
    myNodeId: id,
    clusters: [{ clusterId: 1, nodes: nodes(s) }],
    timers: TIMERS,
    ...(s.pem === undefined
      ? {}
      : { tls: { ca: s.pem.ca, cert: s.pem.cert[id - 1]!, key: s.pem.key[id - 1]! } }),
  });
}

/** Child side: node 2 counts what arrives; type 2 ends a run and reports over IPC. */
async function receiver(s: Setup): Promise<void> {
  const net = makeNode(2, s);
  let count = 0;
  let bytes = 0;
  let first = 0;
  let last = 0;
  net.onPacket(CAP, (p) => {
    if (p.type === 2) {
      const peer = net.pingStats(1)[0];
      process.send?.({
        count,
        bytes,
        secs: (last - first) / 1000,
        maxRttMs: peer?.maxRttMs ?? null,
      });
      count = 0;
      bytes = 0;
      return;
    }
    const now = performance.now();
    if (count === 0) {
      first = now;
    }
    last = now;
    count++;
    bytes += p.payload.length;
  });
  process.on('message', (m) => {
    if (m === 'stop') {
      void net.stop().then(() => process.exit(0));
    }
  });
  await net.start();
  process.send?.('ready');
}

interface Report {
  count: number;
  bytes: number;
  secs: number;
  maxRttMs: number | null;
}

function nextMessage<T>(child: ChildProcess): Promise<T> {
  return new Promise((resolve) => {
    child.once('message', (m) => {
      resolve(m as T);
    });
  });
}

async function waitUp(net: BinNetwork): Promise<void> {
  while (net.peers(1)[0]?.link !== 'Up') {
    await new Promise((r) => setTimeout(r, 20));
  }
}

/** Send `payload` on the bulk lane until `stop()` says so, then the end marker. */
async function stream(
  net: BinNetwork,
  payload: Buffer,
  stop: (sent: number) => boolean,
): Promise<void> {
  let sent = 0;
  while (!stop(sent)) {
    const r = net.send({ clusterId: 1, destination: 2, capability: CAP, type: 1, payload }, 'bulk');
    if ((r instanceof Promise ? await r : r) !== 'queued') {
      throw new Error('the bench peer went away');
    }
    sent += payload.length;
  }
  net.send(
    { clusterId: 1, destination: 2, capability: CAP, type: 2, payload: Buffer.alloc(0) },
    'bulk',
  );
}

async function withPair(
  tls: boolean,
  run: (net: BinNetwork, child: ChildProcess) => Promise<void>,
): Promise<void> {
  const s: Setup = { tls, ports: [await freePort(), await freePort()] };
  if (tls) {
    const certs = clusterCerts();
    const [a, b] = [certs.node(1), certs.node(2)];
    s.pem = {
      ca: certs.ca.toString(),
      cert: [a.cert.toString(), b.cert.toString()],
      key: [a.key.toString(), b.key.toString()],
    };
  }
  const child = fork(fileURLToPath(import.meta.url), ['receiver', JSON.stringify(s)], {
    execArgv: process.execArgv,
  });
  await nextMessage(child);
  const net = makeNode(1, s);
  await net.start();
  await waitUp(net);
  try {
    await run(net, child);
  } finally {
    child.send('stop');
    await new Promise((r) => child.once('exit', r));
    await net.stop();
  }
}

async function main(): Promise<void> {
  for (const tls of [false, true]) {
    await withPair(tls, async (net, child) => {
      for (const size of [200, 61440]) {
        const payload = Buffer.alloc(size, 0x42);
        const end = performance.now() + SECONDS * 1000;
        const report = nextMessage<Report>(child);
        await stream(net, payload, () => performance.now() > end);
        const r = await report;
        console.log(
          JSON.stringify({
            bench: 'throughput',
            transport: tls ? 'bins' : 'bin',
            size,
            pkts_per_s: Math.round(r.count / r.secs),
            mb_per_s: Number((r.bytes / 1048576 / r.secs).toFixed(1)),
          }),
        );
      }
    });
  }
  await withPair(false, async (net, child) => {
    const payload = Buffer.alloc(61440, 0x42);
    const report = nextMessage<Report>(child);
    await stream(net, payload, (sent) => sent >= LOAD_BYTES);
    const r = await report;
    const mine = net.pingStats(1)[0]?.maxRttMs ?? null;
    console.log(
      JSON.stringify({
        bench: 'ping-under-load',
        worst_ping_ms: Number(Math.max(mine ?? Infinity, r.maxRttMs ?? Infinity).toFixed(1)),
        mb_transferred: Math.round(r.bytes / 1048576),
      }),
    );
  });
}

if (process.argv[2] === 'receiver') {
  await receiver(JSON.parse(process.argv[3] ?? '{}') as Setup);
} else {
  await main();
}
