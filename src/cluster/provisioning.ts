/**
 * Where the provisioned node list comes from: the configuration file, or Redis (one hash per
 * cluster, `<prefix><cluster_id>`, field = node id, value = the node as JSON with the config
 * file's keys). `clusterer:reload` re-reads Redis and hands the list to the network, which keeps
 * the links of nodes still listed.
 */
import { Redis } from 'ioredis';
import { nodeInfo, parseStoredNode, type ClustererConfig } from './config.js';
import type { NodeInfo } from './types.js';

export interface NodeSource {
  readonly kind: 'config' | 'redis';
  /** The provisioned nodes of every configured cluster. */
  load(): Promise<Map<number, NodeInfo[]>>;
  close(): Promise<void>;
}

/** The nodes as written in the file. */
export function configNodes(config: ClustererConfig): Map<number, NodeInfo[]> {
  return new Map(
    config.clusters.map((c) => [c.cluster_id, c.nodes.map((n) => nodeInfo(c.cluster_id, n))]),
  );
}

export class ConfigNodeSource implements NodeSource {
  readonly kind = 'config' as const;

  constructor(private readonly config: ClustererConfig) {}

  load(): Promise<Map<number, NodeInfo[]>> {
    return Promise.resolve(configNodes(this.config));
  }

  close(): Promise<void> {
    return Promise.resolve();
  }
}

export class RedisNodeSource implements NodeSource {
  readonly kind = 'redis' as const;
  private readonly redis: Redis;

  constructor(
    url: string,
    private readonly prefix: string,
    private readonly clusterIds: readonly number[],
    /** Nodes the file lists too (merged under Redis's: Redis wins for the same id). */
    private readonly fromConfig: Map<number, NodeInfo[]>,
  ) {
    this.redis = new Redis(url, {
      lazyConnect: true,
      commandTimeout: 2000,
      maxRetriesPerRequest: 1,
    });
  }

  async load(): Promise<Map<number, NodeInfo[]>> {
    if (this.redis.status === 'wait') {
      await this.redis.connect();
    }
    const out = new Map<number, NodeInfo[]>();
    for (const id of this.clusterIds) {
      const hash = await this.redis.hgetall(`${this.prefix}${id}`);
      const byId = new Map((this.fromConfig.get(id) ?? []).map((n) => [n.nodeId, n]));
      for (const [field, json] of Object.entries(hash)) {
        const n = parseStoredNode(id, field, json);
        byId.set(n.nodeId, n);
      }
      out.set(
        id,
        [...byId.values()].sort((a, b) => a.nodeId - b.nodeId),
      );
    }
    return out;
  }

  async close(): Promise<void> {
    if (this.redis.status === 'wait' || this.redis.status === 'end') {
      this.redis.disconnect();
      return;
    }
    await this.redis.quit().catch(() => {
      this.redis.disconnect();
    });
  }
}

/** The source the configuration names. */
export function nodeSource(config: ClustererConfig): NodeSource {
  if (config.provisioning === 'redis' && config.redis_url !== undefined) {
    return new RedisNodeSource(
      config.redis_url,
      config.redis_key_prefix,
      config.clusters.map((c) => c.cluster_id),
      configNodes(config),
    );
  }
  return new ConfigNodeSource(config);
}
