/** A Clusterer on a node of an in-memory hub, built from a clusterer config (tests). */
import { Clusterer, type ClustererOptions } from '../../src/cluster/clusterer.js';
import type { ClustererConfig } from '../../src/cluster/config.js';
import type { MemoryHub } from './memory-network.js';
import { ConfigNodeSource, configNodes } from '../../src/cluster/provisioning.js';
import { silentLogger } from '../../src/core/logger.js';
import { FakeClock } from './fake-clock.js';

/**
 * This node (`cfg.my_node_id`) joins `hub` with cluster 1's provisioned nodes. Options default
 * to a fresh fake clock, no events, nodes from the config (or `provisioned` and `nodes` given).
 */
export function memoryClusterer(
  hub: MemoryHub,
  cfg: ClustererConfig,
  o: Partial<Omit<ClustererOptions, 'config' | 'network'>> = {},
): Clusterer {
  const provisioned = o.provisioned ?? configNodes(cfg);
  return new Clusterer({
    config: cfg,
    network: hub.add(cfg.my_node_id, provisioned.get(1)!),
    nodes: o.nodes ?? new ConfigNodeSource(cfg),
    provisioned,
    clock: o.clock ?? new FakeClock(),
    logger: o.logger ?? silentLogger,
    raise: o.raise ?? (() => undefined),
    ...(o.stats !== undefined ? { stats: o.stats } : {}),
    ...(o.localMi !== undefined ? { localMi: o.localMi } : {}),
  });
}

/** Let the hub's queued deliveries run. */
export async function flush(): Promise<void> {
  for (let i = 0; i < 5; i++) {
    await new Promise<void>((r) => setImmediate(r));
  }
}
