/**
 * The contract between the cluster's two halves: the network (src/cluster/net: the bin/bins
 * channel, framing, heartbeats, link states, topology and relaying) and the control plane built
 * on it (src/cluster: sharing tags, capabilities, MI, the module SDK). The control plane only
 * ever sees this interface, so its tests run on an in-memory network and the network's tests
 * need no sharing tags.
 */

/** Link state of a peer as this node sees it (OpenSIPS `clusterer:list` "Link state"). */
export type LinkState = 'Up' | 'Down' | 'Probe';

/** A provisioned node of one cluster (config `clusterer.clusters[].nodes[]`, or Redis). */
export interface NodeInfo {
  readonly clusterId: number;
  readonly nodeId: number;
  /** `bin:IP:PORT` (TCP) or `bins:IP:PORT` (TLS with mutual authentication). */
  readonly url: string;
  /** The node's SIP address, for modules that forward to a peer (may be empty). */
  readonly sipAddr: string;
  /** Higher wins automatic takeover of a sharing tag. */
  readonly priority: number;
  /** `seed` in OpenSIPS: may declare itself synced when no donor answers. */
  readonly seed: boolean;
  readonly description: string;
  /**
   * The identity a `bins:` peer's certificate must name (CN or a DNS SAN), default
   * `node-<nodeId>`: the cluster CA signs one certificate per node.
   */
  readonly tlsName?: string;
}

/** What this node knows of a peer right now. */
export interface PeerStatus extends NodeInfo {
  /** Direct link state. */
  readonly link: LinkState;
  /** Reachable, directly or through another node (`enable_rerouting`). */
  readonly reachable: boolean;
  /** Next hop used to reach it (its own id when direct), null when unreachable. */
  readonly nextHop: number | null;
  /** Admin state set by `clusterer:set_status` (false: disabled). */
  readonly enabled: boolean;
  /** Last ping round-trip time in ms, null before the first answer. */
  readonly rttMs: number | null;
}

/**
 * Traffic class of a packet. `control` (heartbeats, topology, sharing tags) is never queued
 * behind `bulk` (sync streams): it has its own lane or strict priority on the wire.
 */
export type Lane = 'control' | 'data' | 'bulk';

/** A packet as the control plane sends and receives it. */
export interface ClusterPacket {
  readonly clusterId: number;
  readonly source: number;
  readonly destination: number; // 0 = every node of the cluster
  /** Capability name (`usrloc-contact-repl`), or a reserved core name (`clusterer:shtag`). */
  readonly capability: string;
  /** Capability-defined packet type. */
  readonly type: number;
  readonly payload: Buffer;
}

/** How a send ended: queued for the wire, or why not. */
export type SendResult = 'queued' | 'unreachable' | 'disabled' | 'unknown_node';

/** The network as the control plane uses it (src/cluster/net implements it). */
export interface ClusterNetwork {
  readonly myNodeId: number;
  /** Clusters this node belongs to. */
  clusterIds(): number[];
  /** Peers of a cluster (not this node), with their state. */
  peers(clusterId: number): PeerStatus[];
  /**
   * Send to one node (relayed through another when the direct link is down and rerouting is
   * on). `bulk` packets wait for room (resolve when written to the socket's buffer) so a sync
   * applies back-pressure; other lanes resolve at once.
   */
  send(packet: Omit<ClusterPacket, 'source'>, lane?: Lane): SendResult | Promise<SendResult>;
  /** Send to every reachable node of the cluster; returns how many it was queued for. */
  broadcast(
    clusterId: number,
    capability: string,
    type: number,
    payload: Buffer,
    lane?: Lane,
  ): number;
  /** Deliver every packet for `capability` to `handler` (one handler per capability). */
  onPacket(capability: string, handler: (p: ClusterPacket) => void): void;
  /** A peer became reachable (true) or unreachable (false). */
  onReachability(handler: (clusterId: number, nodeId: number, reachable: boolean) => void): void;
  /** `clusterer:set_status`: disable/enable this node (nodeId = myNodeId) or a peer. */
  setStatus(clusterId: number, nodeId: number, enabled: boolean): void;
  /** `clusterer:remove_node`: drop a peer until it is provisioned again. */
  removeNode(clusterId: number, nodeId: number): boolean;
  /** Replace the provisioned node list of a cluster (`clusterer:reload`), keeping live links. */
  reprovision(clusterId: number, nodes: readonly NodeInfo[]): void;
  /**
   * Each node's direct neighbours (its Up links) as this node knows them, this node included:
   * the adjacency `clusterer:list_topology` shows. Optional: an in-memory network may omit it.
   */
  topology?(clusterId: number): ReadonlyMap<number, readonly number[]>;
  /** Counters: per capability packets/bytes in/out, refused connections, bad frames. */
  stats(): NetworkStats;
  start(): Promise<void>;
  stop(): Promise<void>;
}

export interface NetworkStats {
  readonly refusedConnections: number;
  readonly badFrames: number;
  readonly relayed: number;
  readonly perCapability: ReadonlyMap<
    string,
    { pktsIn: number; pktsOut: number; bytesIn: number; bytesOut: number }
  >;
}
