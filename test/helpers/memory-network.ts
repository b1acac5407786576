/**
 * An in-memory {@link ClusterNetwork}: every node of a cluster in one process, joined by links a
 * test cuts and heals. Packets are delivered on a later microtask (never inside the sender's
 * call, as a socket would not), reachability is direct links only plus, with rerouting, any
 * path through other started nodes. It lets the control plane (sharing tags, capabilities, MI)
 * be tested without sockets or timers.
 */
import { CoreError } from '../../src/core/errors.js';
import type {
  ClusterNetwork,
  ClusterPacket,
  Lane,
  NetworkStats,
  NodeInfo,
  PeerStatus,
  SendResult,
} from '../../src/cluster/types.js';

type Counters = { pktsIn: number; pktsOut: number; bytesIn: number; bytesOut: number };

/** The medium: which nodes exist and which links are cut. */
export class MemoryHub {
  readonly nodes = new Map<number, MemoryNetwork>();
  private readonly cutLinks = new Set<string>();
  /**
   * Sees every packet a node sends before it is queued: return it (or a changed copy) to
   * deliver it, or null to lose it on the wire (the sender still sees `queued`).
   */
  intercept: ((p: ClusterPacket, lane: Lane) => ClusterPacket | null) | null = null;

  constructor(
    readonly clusterId: number,
    private readonly rerouting = false,
  ) {}

  /** A node of the hub, provisioned with `nodes` (its own entry included). */
  add(myNodeId: number, nodes: readonly NodeInfo[]): MemoryNetwork {
    const net = new MemoryNetwork(this, myNodeId, nodes);
    this.nodes.set(myNodeId, net);
    return net;
  }

  /** Cut the link between two nodes (both directions). */
  cut(a: number, b: number): void {
    this.cutLinks.add(key(a, b));
    this.recompute();
  }

  heal(a: number, b: number): void {
    this.cutLinks.delete(key(a, b));
    this.recompute();
  }

  /** @internal a direct link usable right now */
  linked(a: number, b: number): boolean {
    const na = this.nodes.get(a);
    const nb = this.nodes.get(b);
    return (
      na !== undefined &&
      nb !== undefined &&
      na.running &&
      nb.running &&
      na.knows(b) &&
      nb.knows(a) &&
      na.enabledPeer(b) &&
      nb.enabledPeer(a) &&
      !this.cutLinks.has(key(a, b))
    );
  }

  /** @internal next hop from `from` to `to`, or null (breadth-first over usable links) */
  route(from: number, to: number): number | null {
    if (this.linked(from, to)) {
      return to;
    }
    if (!this.rerouting) {
      return null;
    }
    const firstHop = new Map<number, number>();
    const queue: number[] = [];
    for (const id of this.nodes.keys()) {
      if (id !== from && this.linked(from, id)) {
        firstHop.set(id, id);
        queue.push(id);
      }
    }
    while (queue.length > 0) {
      const at = queue.shift()!;
      if (at === to) {
        return firstHop.get(at)!;
      }
      for (const id of this.nodes.keys()) {
        if (id !== from && !firstHop.has(id) && this.linked(at, id)) {
          firstHop.set(id, firstHop.get(at)!);
          queue.push(id);
        }
      }
    }
    return null;
  }

  /** @internal tell every node to re-evaluate reachability */
  recompute(): void {
    for (const n of this.nodes.values()) {
      n.refresh();
    }
  }
}

function key(a: number, b: number): string {
  return a < b ? `${a}-${b}` : `${b}-${a}`;
}

/** One node's view of the in-memory medium. */
export class MemoryNetwork implements ClusterNetwork {
  running = false;
  private enabledSelf = true;
  private readonly disabledPeers = new Set<number>();
  private provisioned: Map<number, NodeInfo>;
  private readonly handlers = new Map<string, (p: ClusterPacket) => void>();
  private readonly reachHandlers: ((c: number, n: number, r: boolean) => void)[] = [];
  private readonly reachable = new Map<number, boolean>();
  private readonly counters = new Map<string, Counters>();
  /** Lanes packets were sent on, for tests. */
  readonly lanes: Lane[] = [];
  private dropped = 0;

  constructor(
    private readonly hub: MemoryHub,
    readonly myNodeId: number,
    nodes: readonly NodeInfo[],
  ) {
    this.provisioned = new Map(nodes.map((n) => [n.nodeId, n]));
  }

  clusterIds(): number[] {
    return [this.hub.clusterId];
  }

  peers(clusterId: number): PeerStatus[] {
    if (clusterId !== this.hub.clusterId) {
      return [];
    }
    return [...this.provisioned.values()]
      .filter((n) => n.nodeId !== this.myNodeId)
      .map((n) => {
        const hop = this.running ? this.hub.route(this.myNodeId, n.nodeId) : null;
        return {
          ...n,
          link: this.running && this.hub.linked(this.myNodeId, n.nodeId) ? 'Up' : 'Down',
          reachable: hop !== null,
          nextHop: hop,
          enabled: !this.disabledPeers.has(n.nodeId),
          rttMs: hop === null ? null : 0,
        };
      });
  }

  send(packet: Omit<ClusterPacket, 'source'>, lane: Lane = 'data'): SendResult {
    if (!this.enabledSelf) {
      return 'disabled';
    }
    if (!this.provisioned.has(packet.destination)) {
      return 'unknown_node';
    }
    if (!this.running || this.hub.route(this.myNodeId, packet.destination) === null) {
      return 'unreachable';
    }
    this.lanes.push(lane);
    this.count(packet.capability, 'out', packet.payload.length);
    const sent: ClusterPacket = { ...packet, source: this.myNodeId };
    const full = this.hub.intercept === null ? sent : this.hub.intercept(sent, lane);
    if (full === null) {
      return 'queued';
    }
    const to = this.hub.nodes.get(packet.destination)!;
    queueMicrotask(() => {
      to.deliver(full);
    });
    return 'queued';
  }

  broadcast(
    clusterId: number,
    capability: string,
    type: number,
    payload: Buffer,
    lane?: Lane,
  ): number {
    let n = 0;
    for (const peer of this.provisioned.keys()) {
      if (peer === this.myNodeId) {
        continue;
      }
      const r = this.send({ clusterId, destination: peer, capability, type, payload }, lane);
      n += r === 'queued' ? 1 : 0;
    }
    return n;
  }

  onPacket(capability: string, handler: (p: ClusterPacket) => void): void {
    if (this.handlers.has(capability)) {
      throw new CoreError('TANDEM_ERR_INVALID_STATE', `capability ${capability} has a handler`);
    }
    this.handlers.set(capability, handler);
  }

  onReachability(handler: (clusterId: number, nodeId: number, reachable: boolean) => void): void {
    this.reachHandlers.push(handler);
  }

  setStatus(clusterId: number, nodeId: number, enabled: boolean): void {
    if (nodeId === this.myNodeId) {
      this.enabledSelf = enabled;
    } else if (enabled) {
      this.disabledPeers.delete(nodeId);
    } else {
      this.disabledPeers.add(nodeId);
    }
    this.hub.recompute();
  }

  removeNode(clusterId: number, nodeId: number): boolean {
    const had = this.provisioned.delete(nodeId);
    this.hub.recompute();
    return had;
  }

  reprovision(clusterId: number, nodes: readonly NodeInfo[]): void {
    this.provisioned = new Map(nodes.map((n) => [n.nodeId, n]));
    this.hub.recompute();
  }

  stats(): NetworkStats {
    return {
      refusedConnections: 0,
      badFrames: this.dropped,
      relayed: 0,
      perCapability: this.counters,
    };
  }

  start(): Promise<void> {
    this.running = true;
    this.hub.recompute();
    return Promise.resolve();
  }

  stop(): Promise<void> {
    this.running = false;
    this.hub.recompute();
    return Promise.resolve();
  }

  /** @internal */
  knows(nodeId: number): boolean {
    return this.provisioned.has(nodeId);
  }

  /** @internal */
  enabledPeer(nodeId: number): boolean {
    return this.enabledSelf && !this.disabledPeers.has(nodeId);
  }

  /** @internal */
  deliver(p: ClusterPacket): void {
    const handler = this.handlers.get(p.capability);
    if (!this.running || !this.enabledSelf || handler === undefined) {
      this.dropped++;
      return;
    }
    this.count(p.capability, 'in', p.payload.length);
    handler(p);
  }

  /** @internal fire reachability changes since the last look */
  refresh(): void {
    for (const peer of this.provisioned.keys()) {
      if (peer === this.myNodeId) {
        continue;
      }
      const now = this.running && this.hub.route(this.myNodeId, peer) !== null;
      const before = this.reachable.get(peer) ?? false;
      if (now !== before) {
        this.reachable.set(peer, now);
        for (const h of this.reachHandlers) {
          h(this.hub.clusterId, peer, now);
        }
      }
    }
    for (const peer of [...this.reachable.keys()]) {
      if (!this.provisioned.has(peer) && this.reachable.get(peer) === true) {
        this.reachable.set(peer, false);
        for (const h of this.reachHandlers) {
          h(this.hub.clusterId, peer, false);
        }
      }
    }
  }

  private count(capability: string, dir: 'in' | 'out', bytes: number): void {
    let c = this.counters.get(capability);
    if (c === undefined) {
      c = { pktsIn: 0, pktsOut: 0, bytesIn: 0, bytesOut: 0 };
      this.counters.set(capability, c);
    }
    if (dir === 'in') {
      c.pktsIn++;
      c.bytesIn += bytes;
    } else {
      c.pktsOut++;
      c.bytesOut += bytes;
    }
  }
}
