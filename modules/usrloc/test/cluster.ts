/**
 * usrloc nodes on the in-memory cluster: each node a real Clusterer on one MemoryHub and a real
 * usrloc installed with that clusterer's `host.cluster` and sharing tags, all on one fake clock.
 */
import type { Clusterer } from '../../../src/cluster/clusterer.js';
import { clustererSchema } from '../../../src/cluster/config.js';
import { FakeClock } from '../../../test/helpers/fake-clock.js';
import { flush, memoryClusterer } from '../../../test/helpers/memory-clusterer.js';
import { MemoryHub } from '../../../test/helpers/memory-network.js';
import type { UsrlocService } from '../usrloc.js';
import { start, type Started } from './helpers.js';

export interface UlNode extends Started {
  readonly id: number;
  readonly c: Clusterer;
}

export interface UlCluster {
  readonly hub: MemoryHub;
  readonly clock: FakeClock;
  readonly nodes: UlNode[];
  stop(): Promise<void>;
}

/**
 * Nodes 1..n in cluster 1, node 1 holding `service/1` active and the others backup; `params`
 * are usrloc's (full-sharing-cluster, db_mode none, timer_interval 1 unless overridden).
 */
export async function ulCluster(
  n: number,
  params: Record<string, unknown> = {},
  tags: (id: number) => string[] = (id) => [`service/1=${id === 1 ? 'active' : 'backup'}`],
  dataDir?: (id: number) => string,
): Promise<UlCluster> {
  const hub = new MemoryHub(1);
  const clock = new FakeClock(0);
  const ids = Array.from({ length: n }, (_, i) => i + 1);
  const nodes: UlNode[] = [];
  for (const id of ids) {
    const cfg = clustererSchema.parse({
      my_node_id: id,
      clusters: [
        {
          cluster_id: 1,
          nodes: ids.map((x) => ({
            node_id: x,
            url: `bin:127.0.0.1:${String(5000 + x)}`,
            flags: x === 1 ? ['seed'] : [],
          })),
        },
      ],
      sharing_tags: tags(id),
      // Node 1, the seed, is synced at once; the others pull from it (src/cluster/sync).
      seed_fallback_interval: 0,
    });
    const c = memoryClusterer(hub, cfg, { clock });
    await c.start();
    const u = await start({
      clock,
      cluster: c.api(),
      sharingTags: c.sharingTags(),
      params: { working_mode_preset: 'full-sharing-cluster', timer_interval: 1, ...params },
      ...(dataDir !== undefined ? { dataDir: dataDir(id) } : {}),
    });
    nodes.push({ ...u, id, c });
  }
  await flush();
  for (const x of nodes) {
    x.c.modulesReady();
    await flush();
  }
  for (let i = 0; i < 20 && !nodes.every((x) => x.c.readiness().ready); i++) {
    await flush();
  }
  return {
    hub,
    clock,
    nodes,
    async stop() {
      for (const x of nodes) {
        await x.installed.destroy();
        await x.c.stop();
      }
    },
  };
}

/** Advance the shared clock in 1 s steps, letting packets flow after each. */
export async function tick(clock: FakeClock, ms: number): Promise<void> {
  for (let left = ms; left > 0; left -= 1000) {
    clock.advance(Math.min(1000, left));
    await flush();
  }
}

/**
 * The sync engine's part, in-process: `from`'s donate feeds `to`'s apply (what src/cluster/sync
 * does over the bulk lane). Returns how many records went.
 */
export async function pump(
  from: UsrlocService,
  to: UsrlocService,
  scope: string | null = null,
): Promise<number> {
  const receiver = to.replication!;
  let n = 0;
  await from.replication!.donate({ node: 2, scope }, (b) => {
    receiver.applySync(b);
    n++;
  });
  return n;
}
