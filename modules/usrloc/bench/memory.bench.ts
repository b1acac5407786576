/**
 * Memory per contact and load time of the location table, printed as JSON lines:
 *
 *     node --expose-gc --import tsx modules/usrloc/bench/memory.bench.ts [contacts=1000000]
 *
 * 1. `save`: that many AoRs with one binding each, made through the store's save path
 *    (realistic sizes: a 40-char Call-ID, a Contact with a transport parameter, one of a few
 *    User-Agents); RSS and heap delta after a full GC, divided by the count.
 * 2. `load`: the same bindings written to the append-only file, then a fresh store loads the
 *    file (the path a restart takes): load time, and RSS/heap per contact once loaded.
 */
import { mkdtemp, rm, stat } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { ContactInput } from '../api.js';
import { AofPersistence } from '../persistence/aof.js';
import { UsrlocStore, type StoreListener } from '../store.js';

import { count, gc, quiet } from './setup.js';

const AGENTS = [
  'Yealink SIP-T46S 66.86.0.15',
  'Linphone/5.2.0',
  'Zoiper rv2.10.20.3',
  'PolycomVVX-VVX_450-UA/6.4.3',
  'MicroSIP/3.21.3',
];

function contact(i: number, now: number): ContactInput {
  const ip = `10.${(i >> 16) & 255}.${(i >> 8) & 255}.${i & 255}`;
  return {
    aor: `sip:user${i}@example.com`,
    uri: `sip:user${i}@${ip}:5060;transport=udp`,
    received: null,
    sourceAddress: ip,
    sourcePort: 5060,
    protocol: 'udp',
    socket: 'udp:203.0.113.1:5060',
    path: [],
    expires: now + 3_600_000,
    q: 1,
    callId: `${(i * 2654435761).toString(16).padStart(12, '0')}-a3f9c1d2e4b5@${ip}`,
    cseq: 1 + (i % 100),
    userAgent: AGENTS[i % AGENTS.length]!,
    instance: null,
    regId: null,
    flags: 0,
    methods: null,
    owner: null,
  };
}

const noop: StoreListener = {
  aorInserted: () => undefined,
  aorDeleted: () => undefined,
  contactInserted: () => undefined,
  contactUpdated: () => undefined,
  contactDeleted: () => undefined,
};

function mem(): { rss: number; heap: number } {
  gc();
  gc();
  const m = process.memoryUsage();
  return { rss: m.rss, heap: m.heapUsed };
}

function line(o: Record<string, unknown>): void {
  process.stdout.write(`${JSON.stringify(o)}\n`);
}

const now = Date.now();
const before = mem();
let store: UsrlocStore | null = new UsrlocStore({
  wallTime: () => now,
  tombstoneTtlMs: 3_600_000,
  listener: noop,
});
const t0 = performance.now();
for (let i = 0; i < count; i++) {
  store.save(contact(i, now));
}
const saveMs = performance.now() - t0;
const after = mem();
line({
  bench: 'usrloc:save',
  contacts: store.counts().contacts,
  save_ms: Math.round(saveMs),
  rss_bytes_per_contact: Math.round((after.rss - before.rss) / count),
  heap_bytes_per_contact: Math.round((after.heap - before.heap) / count),
});

const dir = await mkdtemp(join(tmpdir(), 'usrloc-bench-'));
try {
  const writer = new AofPersistence({ dir, fsync: false, queueLimit: count + 1, logger: quiet });
  await writer.load({ record: () => undefined, delete: () => undefined });
  for (const rec of store.records()) {
    writer.write({ op: 'put', rec });
  }
  const w0 = performance.now();
  await writer.flush();
  const writeMs = performance.now() - w0;
  await writer.close();
  store = null;
  const size = (await stat(join(dir, 'contacts.aof'))).size;

  const base = mem();
  const loaded = new UsrlocStore({
    wallTime: () => now,
    tombstoneTtlMs: 3_600_000,
    listener: noop,
  });
  const reader = new AofPersistence({ dir, fsync: false, queueLimit: 1000, logger: quiet });
  const l0 = performance.now();
  const report = await reader.load({
    record: (r) => loaded.applyRecord(r),
    delete: (a, k, rev) => loaded.applyDelete(a, k, rev),
  });
  const loadMs = performance.now() - l0;
  const end = mem();
  line({
    bench: 'usrloc:load',
    contacts: loaded.counts().contacts,
    file_bytes: size,
    write_ms: Math.round(writeMs),
    load_ms: Math.round(loadMs),
    skipped: report.skipped,
    rss_bytes_per_contact: Math.round((end.rss - base.rss) / count),
    heap_bytes_per_contact: Math.round((end.heap - base.heap) / count),
  });
  await reader.close();
} finally {
  await rm(dir, { recursive: true, force: true });
}
