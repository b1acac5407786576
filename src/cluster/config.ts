/**
 * The `clusterer` section of the configuration: this node's id, the clusters it belongs to and
 * their provisioned nodes, the heartbeat timers, the sharing tags and where the node list comes
 * from (the file, or a Redis hash per cluster). No section means a standalone node: every
 * sharing tag is active here and `host.cluster` is null.
 */
import type { z } from 'zod';
import { clustererNodeSchema, clustererSchema } from '../config/schema.js';
import { CoreError } from '../core/errors.js';
import type { NodeInfo } from './types.js';

/** The validated section. */
export type ClustererConfig = z.output<typeof clustererSchema>;
type NodeConfig = z.output<typeof clustererNodeSchema>;

export { clustererSchema };

/** `name/cluster_id`: the name is what modules and the script use, the id a configured cluster. */
export const TAG_RE = /^([^/\s=]+)\/(\d+)$/;

/** A configured node as the network's NodeInfo. */
export function nodeInfo(clusterId: number, n: NodeConfig): NodeInfo {
  const base = {
    clusterId,
    nodeId: n.node_id,
    url: n.url,
    sipAddr: n.sip_addr,
    priority: n.priority,
    seed: n.flags.includes('seed'),
    description: n.description,
  };
  return n.tls_name === undefined ? base : { ...base, tlsName: n.tls_name };
}

/**
 * A node as stored in a cluster's Redis hash (field = node id, value = this JSON, the same keys
 * as the config file): checked like the file's, a bad entry names its cluster and field.
 */
export function parseStoredNode(clusterId: number, field: string, json: string): NodeInfo {
  let raw: unknown;
  try {
    raw = JSON.parse(json);
  } catch (err) {
    throw new CoreError(
      'TANDEM_ERR_CONFIG',
      `clusterer: redis node ${field} of cluster ${clusterId}: not JSON: ${(err as Error).message}`,
    );
  }
  const withId =
    typeof raw === 'object' && raw !== null && !('node_id' in raw)
      ? { ...raw, node_id: Number(field) }
      : raw;
  const parsed = clustererNodeSchema.safeParse(withId);
  if (!parsed.success) {
    const issue = parsed.error.issues[0]!;
    throw new CoreError(
      'TANDEM_ERR_CONFIG',
      `clusterer: redis node ${field} of cluster ${clusterId}: ${issue.path.join('.')}: expected ${issue.message}`,
    );
  }
  return nodeInfo(clusterId, parsed.data);
}

/** A parsed `name/cluster_id`, or null when the text is not one. */
export function parseTag(tag: string): { name: string; clusterId: number } | null {
  const m = TAG_RE.exec(tag);
  return m === null ? null : { name: m[1]!, clusterId: Number(m[2]) };
}
