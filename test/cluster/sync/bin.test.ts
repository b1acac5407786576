/**
 * A full transfer over the real channel (BinNetwork on 127.0.0.1): 100,000 records of about
 * 500 bytes stream from a donor with back-pressure, so what is between the donor's `emit` and
 * the receiver's `apply` (socket buffers and at most a chunk or two in the engine) stays a
 * small part of the data set, and heartbeats keep every link Up meanwhile.
 */
import { readFileSync } from 'node:fs';
import t from 'tap';
import { Clusterer } from '../../../src/cluster/clusterer.js';
import { clustererSchema } from '../../../src/cluster/config.js';
import { ConfigNodeSource } from '../../../src/cluster/provisioning.js';
import { silentLogger } from '../../../src/core/logger.js';
import { systemClock } from '../../../src/core/clock.js';
import { makeCluster, waitFor } from '../net/harness.js';
import { Kv } from './kv.js';

const RECORDS = 100_000;

/** The most the kernel buffers on one TCP connection (receive + send), Linux; else 16 MiB. */
function socketBuffers(): number {
  const max = (f: string): number => {
    try {
      return Number(readFileSync(f, 'utf8').trim().split(/\s+/)[2]);
    } catch {
      return NaN;
    }
  };
  const sum = max('/proc/sys/net/ipv4/tcp_rmem') + max('/proc/sys/net/ipv4/tcp_wmem');
  return Number.isFinite(sum) ? sum : 16 * 1024 * 1024;
}

t.test('100,000 records over BinNetwork: bounded in flight, links stay Up', async (t) => {
  const net = await makeCluster({ ids: [1, 2], start: false });
  const nodes = [1, 2].map((id) => {
    const infos = net.infos(id).map((n) => ({ ...n, seed: n.nodeId === 1 }));
    const cfg = clustererSchema.parse({
      my_node_id: id,
      clusters: [
        {
          cluster_id: 1,
          nodes: infos.map((n) => ({
            node_id: n.nodeId,
            url: n.url,
            flags: n.seed ? ['seed'] : [],
          })),
        },
      ],
      ping_interval: 1,
      seed_fallback_interval: 0,
    });
    const c = new Clusterer({
      config: cfg,
      network: net.net(id),
      nodes: new ConfigNodeSource(cfg),
      provisioned: new Map([[1, infos]]),
      clock: systemClock,
      logger: silentLogger,
      raise: () => undefined,
    });
    return { c, kv: new Kv().register(c) };
  });
  t.teardown(async () => {
    await Promise.all(nodes.map((n) => n.c.stop()));
  });
  const [a, b] = [nodes[0]!, nodes[1]!];
  const pad = 'x'.repeat(480);
  for (let i = 0; i < RECORDS; i++) {
    a.kv.map.set(`k${i}`, { rev: 1, value: `${pad}${i}` });
  }
  const flips: string[] = [];
  for (const n of nodes) {
    n.c.api().onNodeDown((_c, id) => flips.push(`${n.c.myNodeId} saw ${id} down`));
  }
  await Promise.all(nodes.map((n) => n.c.start()));
  await waitFor(() => b.c.network.peers(1)[0]!.reachable, 5000, 'link up');
  a.c.modulesReady();
  t.equal(a.kv.cap.synced, true, 'the seed fell back at once (interval 0)');
  // Records emitted by the donor and not yet applied by the receiver: what is in flight.
  let maxInFlight = 0;
  const sampler = setInterval(() => {
    const sent = a.c.caps.list()[0]!.recordsSent;
    maxInFlight = Math.max(maxInFlight, sent - b.kv.applied);
  }, 5);
  const t0 = performance.now();
  b.c.modulesReady();
  await waitFor(() => b.kv.cap.synced, 60_000, 'synced');
  const secs = (performance.now() - t0) / 1000;
  clearInterval(sampler);
  t.equal(b.kv.map.size, RECORDS);
  t.equal(b.kv.map.get('k99999')?.value, `${pad}99999`);
  t.match(b.c.caps.list()[0], { syncedBy: 'donor 1', recordsExpected: RECORDS });
  const bytes = RECORDS * 510;
  t.comment(
    `${RECORDS} records (${(bytes / 1048576).toFixed(0)} MB) in ${secs.toFixed(2)} s: ${Math.round(RECORDS / secs)} records/s; at most ${maxInFlight} records in flight`,
  );
  // Between emit and apply there are only the two sockets' kernel buffers and a chunk or two
  // in the engine (the receiver applies each chunk as it arrives): never the data set.
  const bound = socketBuffers() + 4 * 64 * 1024;
  t.ok(
    maxInFlight * 510 < bound && maxInFlight < RECORDS,
    `in flight at most ${maxInFlight} records (${((maxInFlight * 510) / 1048576).toFixed(1)} MB; socket buffers + 4 chunks: ${(bound / 1048576).toFixed(1)} MB)`,
  );
  t.same(flips, [], 'no node was seen down during the transfer');
});
