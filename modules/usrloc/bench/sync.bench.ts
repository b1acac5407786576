/**
 * The usrloc side of a full cluster sync, in one process (no network, no sync engine): a donor
 * store of N bindings is emitted record by record through `donate` (binary encode, bindings then
 * tombstones) into a receiver's `apply` (decode, check, apply-if-newer). Printed as JSON lines:
 *
 *     node --expose-gc --import tsx modules/usrloc/bench/sync.bench.ts [contacts=1000000]
 *
 * 0. `donate`: the donor alone (walk and encode), its heap growth at the peak and after.
 * 1. `fresh`: the receiver starts empty (a new node): records/s, heap growth of the receiver.
 * 2. `resync`: the receiver already holds every binding (`ul_cluster_sync`) and the donor has
 *    since deleted 1 % of them: every binding is stale, every tombstone removes one; records/s.
 */
import type { Capability, CapabilityDefinition, ClusterApi } from '../../../src/module/index.js';
import type { ContactInput } from '../api.js';
import { UsrlocReplication } from '../replication.js';
import { UsrlocStore, type StoreListener } from '../store.js';

import { count, gc, quiet } from './setup.js';

/** A cluster of one that sends nowhere: the bench measures the module's work only. */
const cluster: ClusterApi = {
  myNodeId: 1,
  clusterIds: () => [1],
  registerCapability: (def: CapabilityDefinition): Capability => ({
    name: def.name,
    clusterId: def.clusterId,
    enabled: true,
    sendTo: () => 'queued',
    sendAll: () => 0,
    nodes: () => [],
    synced: true,
    requestSync: () => false,
    syncedNodes: () => [1],
  }),
  nodes: () => [],
  onNodeUp: () => () => undefined,
  onNodeDown: () => () => undefined,
};

function node(): { store: UsrlocStore; repl: UsrlocReplication } {
  let repl: UsrlocReplication | null = null;
  const listener: StoreListener = {
    aorInserted: () => undefined,
    aorDeleted: () => undefined,
    contactInserted: (rec) => repl?.changed(rec),
    contactUpdated: (rec) => repl?.changed(rec),
    contactDeleted: (rec, reason, rev) => repl?.deleted(rec, reason, rev),
  };
  const store = new UsrlocStore({
    wallTime: () => Date.now(),
    tombstoneTtlMs: 3600_000,
    listener,
    defaultOwner: 'service/1',
  });
  repl = new UsrlocReplication(store, cluster, 1, quiet);
  return { store, repl };
}

const UAS = ['Yealink SIP-T46S 66.86.0.15', 'Linphone/5.2.0', 'Zoiper rv2.10', 'MicroSIP/3.21.3'];

function contact(i: number): ContactInput {
  return {
    aor: `sip:user${String(i)}@voip.example.com`,
    uri: `sip:user${String(i)}@10.${String((i >> 16) & 255)}.${String((i >> 8) & 255)}.${String(i & 255)}:5060;transport=udp`,
    received: null,
    sourceAddress: '198.51.100.7',
    sourcePort: 5060 + (i % 1000),
    protocol: 'udp',
    socket: 'udp:203.0.113.1:5060',
    path: [],
    expires: Date.now() + 3600_000,
    q: 1,
    callId: `${i.toString(16).padStart(8, '0')}-5f2c-4a7b-9e61-c0ffee${String(i % 10_000)}`,
    cseq: 1 + (i % 50),
    userAgent: UAS[i % UAS.length]!,
    instance: null,
    regId: null,
    flags: 0,
    methods: null,
    owner: null,
  };
}

const heap = (): number => {
  gc();
  return process.memoryUsage().heapUsed;
};

async function transfer(
  from: UsrlocReplication,
  to: UsrlocReplication,
): Promise<{ n: number; ms: number }> {
  const t0 = performance.now();
  let n = 0;
  await from.donate({ node: 2, scope: null }, (b) => {
    to.applySync(b);
    n++;
  });
  return { n, ms: performance.now() - t0 };
}

const donor = node();
for (let i = 0; i < count; i++) {
  donor.store.save(contact(i));
}
// The donor alone: encoding and the walk, with a heap that must not grow (nothing is kept).
{
  const base = heap();
  let peak = 0;
  let n = 0;
  const t0 = performance.now();
  await donor.repl.donate({ node: 2, scope: null }, () => {
    n++;
    if (n % 100_000 === 0) {
      peak = Math.max(peak, process.memoryUsage().heapUsed - base);
    }
  });
  const ms = performance.now() - t0;
  process.stdout.write(
    JSON.stringify({
      bench: 'usrloc-sync',
      phase: 'donate',
      records: n,
      ms: Math.round(ms),
      recordsPerSec: Math.round(n / (ms / 1000)),
      donorPeakHeapMB: Math.round(peak / 1048576),
      donorHeapAfterMB: Math.round((heap() - base) / 1048576),
    }) + '\n',
  );
}
const before = heap();
const fresh = node();
const r1 = await transfer(donor.repl, fresh.repl);
const grown = heap() - before;
process.stdout.write(
  JSON.stringify({
    bench: 'usrloc-sync',
    phase: 'fresh',
    records: r1.n,
    ms: Math.round(r1.ms),
    recordsPerSec: Math.round(r1.n / (r1.ms / 1000)),
    receiverHeapMB: Math.round(grown / 1048576),
    heapPerContactB: Math.round(grown / r1.n),
  }) + '\n',
);
for (let i = 0; i < count; i += 100) {
  const c = contact(i);
  donor.store.remove(c.aor, c.uri, 'unregistered');
}
const r2 = await transfer(donor.repl, fresh.repl);
process.stdout.write(
  JSON.stringify({
    bench: 'usrloc-sync',
    phase: 'resync',
    records: r2.n,
    ms: Math.round(r2.ms),
    recordsPerSec: Math.round(r2.n / (r2.ms / 1000)),
    stale: fresh.repl.stats.repl_stale,
    tombstones: fresh.repl.stats.sync_tombstones,
    contacts: fresh.store.counts().contacts,
  }) + '\n',
);
