/** Options of {@link BinNetwork} and their validation. */
import type { Clock } from '../../core/clock.js';
import { CoreError } from '../../core/errors.js';
import type { Logger } from '../../core/logger.js';
import type { NodeInfo } from '../types.js';
import { parseNodeUrl, type NodeUrl } from './identity.js';
import type { HeartbeatTimers } from './peer.js';

export interface BinNetworkOptions {
  readonly myNodeId: number;
  /** Every cluster this node belongs to; this node's own entry gives its listen url. */
  readonly clusters: readonly { clusterId: number; nodes: readonly NodeInfo[] }[];
  /** PEM certificate, key and cluster CA: needed when any url is `bins:`. */
  readonly tls?: { cert: Buffer | string; key: Buffer | string; ca: Buffer | string };
  readonly timers?: Partial<HeartbeatTimers>;
  /** Relay through other nodes when a direct link is down (OpenSIPS `enable_rerouting`). */
  readonly enableRerouting?: boolean;
  /** Largest frame accepted or sent, preamble included (default 16 MiB). */
  readonly maxFrameBytes?: number;
  /** How long an inbound connection may take to send its HELLO (default 5000 ms). */
  readonly handshakeTimeoutMs?: number;
  readonly clock?: Clock;
  readonly logger?: Logger;
}

function validId(what: string, id: number): void {
  if (!Number.isInteger(id) || id < 1 || id > 0xffff) {
    throw new CoreError('TANDEM_ERR_CONFIG', `${what} ${id} is not in 1..65535`);
  }
}

/** This node's listen urls (deduplicated); throws a config error on inconsistent input. */
export function validateOptions(o: BinNetworkOptions): NodeUrl[] {
  validId('my_node_id', o.myNodeId);
  const listen = new Map<string, NodeUrl>();
  const seen = new Set<number>();
  let needsTls = false;
  for (const c of o.clusters) {
    validId('cluster_id', c.clusterId);
    if (seen.has(c.clusterId)) {
      throw new CoreError('TANDEM_ERR_CONFIG', `cluster ${c.clusterId} is listed twice`);
    }
    seen.add(c.clusterId);
    const ids = new Set<number>();
    for (const n of c.nodes) {
      validId('node_id', n.nodeId);
      if (ids.has(n.nodeId)) {
        throw new CoreError(
          'TANDEM_ERR_CONFIG',
          `node ${n.nodeId} twice in cluster ${c.clusterId}`,
        );
      }
      ids.add(n.nodeId);
      const u = parseNodeUrl(n.url);
      needsTls ||= u.tls;
      if (n.nodeId === o.myNodeId) {
        listen.set(`${u.tls ? 's' : ''}${u.host}:${u.port}`, u);
      }
    }
    if (!ids.has(o.myNodeId)) {
      throw new CoreError(
        'TANDEM_ERR_CONFIG',
        `node ${o.myNodeId} is not provisioned in cluster ${c.clusterId}`,
      );
    }
  }
  if (needsTls && o.tls === undefined) {
    throw new CoreError('TANDEM_ERR_CONFIG', 'bins: urls need tls { cert, key, ca }');
  }
  const t = o.timers ?? {};
  for (const [k, v] of Object.entries(t)) {
    if (typeof v !== 'number' || !(v >= 0) || (k !== 'noPingRetries' && v === 0)) {
      throw new CoreError('TANDEM_ERR_CONFIG', `timer ${k} must be a positive number`);
    }
  }
  return [...listen.values()];
}
