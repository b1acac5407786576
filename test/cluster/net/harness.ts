/** Builds small clusters of {@link BinNetwork} nodes on 127.0.0.1 for the channel's tests. */
import { BinNetwork, type BinNetworkOptions } from '../../../src/cluster/net/index.js';
import type { Frame } from '../../../src/cluster/net/codec.js';
import { NET_CAPABILITY, NetType } from '../../../src/cluster/net/core-messages.js';
import type { NodeInfo } from '../../../src/cluster/types.js';
import { freePort } from '../../helpers/ports.js';
import { clusterCerts } from '../../helpers/cluster-certs.js';

/** Short timers so a test sees a Down link in about a second. */
export const FAST_TIMERS = {
  pingIntervalMs: 200,
  pingTimeoutMs: 100,
  noPingRetries: 3,
  nodeTimeoutMs: 400,
};

export function nodeInfo(clusterId: number, nodeId: number, port: number, tls = false): NodeInfo {
  return {
    clusterId,
    nodeId,
    url: `${tls ? 'bins' : 'bin'}:127.0.0.1:${port}`,
    sipAddr: '',
    priority: 0,
    seed: false,
    description: `node ${nodeId}`,
  };
}

export interface TestCluster {
  readonly ports: Map<number, number>;
  readonly nodes: Map<number, BinNetwork>;
  /** The node list node `id` is given (after `urlFor` overrides). */
  infos(id: number): NodeInfo[];
  net(id: number): BinNetwork;
  /** A fresh BinNetwork for node `id` with the same options (after a stop). */
  restart(id: number): Promise<BinNetwork>;
  stop(): Promise<void>;
}

export interface ClusterSpec {
  ids: number[];
  clusterId?: number;
  tls?: boolean;
  /** Override the url node `viewer` uses for node `target` (a cutter's port). */
  urlFor?: (viewer: number, target: number, port: number) => number;
  extra?: Partial<BinNetworkOptions>;
  start?: boolean;
}

/**
 * Build (and by default start) the nodes. A port picked free can be taken by someone else's
 * outgoing connection before the node binds it: then every node is stopped and the cluster is
 * built again on other ports.
 */
export async function makeCluster(spec: ClusterSpec): Promise<TestCluster> {
  for (let attempt = 1; ; attempt++) {
    const c = await buildCluster(spec);
    if (!(spec.start ?? true)) {
      return c;
    }
    try {
      await Promise.all([...c.nodes.values()].map((n) => n.start()));
      return c;
    } catch (err) {
      await c.stop();
      if (attempt >= 3 || (err as { code?: string }).code !== 'TANDEM_ERR_LISTEN') {
        throw err;
      }
    }
  }
}

async function buildCluster(spec: ClusterSpec): Promise<TestCluster> {
  const clusterId = spec.clusterId ?? 1;
  const tls = spec.tls ?? false;
  const ports = new Map<number, number>();
  for (const id of spec.ids) {
    ports.set(id, await freePort());
  }
  const infos = (viewer: number): NodeInfo[] =>
    spec.ids.map((id) => {
      const real = ports.get(id)!;
      const port =
        id === viewer || spec.urlFor === undefined ? real : spec.urlFor(viewer, id, real);
      return nodeInfo(clusterId, id, port, tls);
    });
  const build = (id: number): BinNetwork =>
    new BinNetwork({
      myNodeId: id,
      clusters: [{ clusterId, nodes: infos(id) }],
      timers: FAST_TIMERS,
      ...(tls ? { tls: clusterCerts().node(id) } : {}),
      ...spec.extra,
    });
  const nodes = new Map<number, BinNetwork>(spec.ids.map((id) => [id, build(id)]));
  return {
    ports,
    nodes,
    infos,
    net: (id) => nodes.get(id)!,
    restart: async (id) => {
      const n = build(id);
      nodes.set(id, n);
      await n.start();
      return n;
    },
    stop: async () => {
      await Promise.all([...nodes.values()].map((n) => n.stop()));
    },
  };
}

/** Poll `pred` until it holds; throws after `timeoutMs`. Returns the elapsed time. */
export async function waitFor(
  pred: () => boolean,
  timeoutMs = 5000,
  what = 'condition',
): Promise<number> {
  const t0 = Date.now();
  while (!pred()) {
    if (Date.now() - t0 > timeoutMs) {
      throw new Error(`timed out after ${timeoutMs} ms waiting for ${what}`);
    }
    await new Promise((r) => setTimeout(r, 10));
  }
  return Date.now() - t0;
}

/** Link state of `peer` as `net` sees it. */
export function linkOf(net: BinNetwork, peer: number, clusterId = 1): string | undefined {
  return net.peers(clusterId).find((p) => p.nodeId === peer)?.link;
}

export function reachable(net: BinNetwork, peer: number, clusterId = 1): boolean {
  return net.peers(clusterId).find((p) => p.nodeId === peer)?.reachable ?? false;
}

/** Every node sees every other Up. */
export function allUp(c: TestCluster): boolean {
  for (const [id, n] of c.nodes) {
    for (const other of c.nodes.keys()) {
      if (other !== id && linkOf(n, other) !== 'Up') {
        return false;
      }
    }
  }
  return true;
}

/** A channel frame from node 1 to node 2 of cluster 1 on the control lane; `over` changes it. */
export const coreFrame = (over: Partial<Frame>): Frame => ({
  lane: 'control',
  clusterId: 1,
  source: 1,
  destination: 2,
  ttl: 1,
  capability: NET_CAPABILITY,
  type: NetType.PING,
  payload: Buffer.alloc(0),
  ...over,
});
