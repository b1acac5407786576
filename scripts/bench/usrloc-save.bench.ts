/**
 * usrloc's save path in-process, without the SIP stack: `UsrlocStore.save` of a binding for a
 * new AoR (`insert`) or of one of 5,000 held AoRs again (`refresh`), with a listener that queues
 * the write as usrloc does (`WriteQueue`, taken every 4,000 saves as a flush would). CPU time per
 * save, median of interleaved slices:
 *
 *     node --import tsx scripts/bench/usrloc-save.bench.ts
 */
import type { ContactInput } from '../../modules/usrloc/api.js';
import { newStats, WriteQueue } from '../../modules/usrloc/persistence/types.js';
import { UsrlocStore } from '../../modules/usrloc/store.js';

const SAMPLE_MS = Number(process.env['BENCH_SAMPLE_MS'] ?? 200);
const ROUNDS = Number(process.env['BENCH_ROUNDS'] ?? 15);
const now = Date.now();

function input(user: string, n: number): ContactInput {
  return {
    aor: `${user}@127.0.0.1:5060`,
    uri: `sip:${user}@127.0.0.1:5090`,
    received: null,
    sourceAddress: '127.0.0.1',
    sourcePort: 5090,
    protocol: 'udp',
    socket: 'udp:127.0.0.1:5060',
    path: [],
    expires: now + 3_600_000,
    q: 1,
    callId: `${String(n)}-5515@127.0.0.1`,
    cseq: 1,
    userAgent: 'sipp',
    instance: null,
    regId: null,
    flags: 0,
    methods: null,
    owner: null,
  };
}

const queue = new WriteQueue(1_000_000, newStats());
let puts = 0;
const store = new UsrlocStore({
  wallTime: Date.now,
  tombstoneTtlMs: 3_600_000,
  listener: {
    aorInserted: () => undefined,
    aorDeleted: (aor) => {
      queue.push({ op: 'aor-del', aor });
    },
    contactInserted: (rec) => {
      queue.push({ op: 'put', rec });
    },
    contactUpdated: (rec) => {
      queue.push({ op: 'put', rec });
    },
    contactDeleted: (rec, _r, rev) => {
      queue.push({ op: 'del', aor: rec.aor, key: rec.uri, rev });
    },
  },
});

let seq = 0;
const workloads: Record<string, () => void> = {
  insert: () => {
    seq++;
    store.save(input(`u${String(seq)}`, seq));
  },
  refresh: () => {
    seq++;
    store.save(input(`f${String(seq % 5000)}`, seq));
  },
};

function slice(fn: () => void): number {
  const c0 = process.cpuUsage();
  const t0 = performance.now();
  let ops = 0;
  while (performance.now() - t0 < SAMPLE_MS) {
    for (let i = 0; i < 1000; i++) {
      fn();
    }
    ops += 1000;
    if (++puts % 4 === 0) {
      queue.take();
    }
  }
  const c = process.cpuUsage(c0);
  return (c.user + c.system) / ops;
}

const names = Object.keys(workloads);
for (const n of names) {
  slice(workloads[n]!);
}
const samples = new Map<string, number[]>(names.map((n) => [n, []]));
for (let r = 0; r < ROUNDS; r++) {
  for (const n of names) {
    samples.get(n)!.push(slice(workloads[n]!));
  }
}
for (const [n, s] of samples) {
  s.sort((a, b) => a - b);
  const us = s[Math.floor(s.length / 2)]!;
  process.stdout.write(
    `${JSON.stringify({ bench: `usrloc-save-${n}`, ns_per_op: Math.round(us * 1000) })}\n`,
  );
}
