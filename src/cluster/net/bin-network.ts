/**
 * The bin/bins channel: {@link ClusterNetwork} over TCP (`bin:`) or mutually authenticated TLS
 * (`bins:`). Connections, handshake and refusals are the {@link LinkLayer}'s; link states come
 * from the heartbeat (src/cluster/net/peer.ts); this class adds reachability and next hops from
 * flooded adjacencies (src/cluster/net/topology.ts), relaying, admin state and the API the
 * control plane uses. docs/cluster-protocol.md documents the wire, ADR 0008 the choices.
 */
import { CoreError } from '../../core/errors.js';
import type {
  ClusterNetwork,
  ClusterPacket,
  Lane,
  LinkState,
  NetworkStats,
  NodeInfo,
  PeerStatus,
  SendResult,
} from '../types.js';
import { encodeFrame, type Frame } from './codec.js';
import type { Conn, ConnPeer } from './connection.js';
import {
  NET_CAPABILITY,
  NetType,
  decodeAdjacency,
  decodeSeq,
  encodeAdjacency,
  type Adjacency,
} from './core-messages.js';
import { LinkLayer, type ClusterState } from './link-layer.js';
import { validateOptions } from './options.js';
import type { Peer } from './peer.js';

/** Hops a packet may take; more nodes than this in a chain is not a cluster we expect. */
const DEFAULT_TTL = 16;

export class BinNetwork extends LinkLayer implements ClusterNetwork {
  private readonly handlers = new Map<string, (p: ClusterPacket) => void>();
  private readonly reachHandlers: ((c: number, n: number, r: boolean) => void)[] = [];
  private readonly boot = Date.now();
  private readonly rerouting = this.options.enableRerouting ?? true;

  // ---- ClusterNetwork: queries -------------------------------------------------------------

  clusterIds(): number[] {
    return [...this.clusters.keys()];
  }

  peers(clusterId: number): PeerStatus[] {
    const c = this.clusters.get(clusterId);
    return c === undefined ? [] : [...c.peers.values()].map((p) => p.status());
  }

  /** Each node's adjacency as known here (`clusterer:list_topology`). */
  topology(clusterId: number): Map<number, number[]> {
    const c = this.clusters.get(clusterId);
    return c === undefined ? new Map<number, number[]>() : c.topology.adjacency(this.directUp(c));
  }

  /** Heartbeat figures per peer: last and worst RTT, unanswered pings (MI and tests). */
  pingStats(
    clusterId: number,
  ): { nodeId: number; rttMs: number | null; maxRttMs: number | null; pingTimeouts: number }[] {
    const c = this.clusters.get(clusterId);
    return c === undefined
      ? []
      : [...c.peers.values()].map((p) => ({
          nodeId: p.nodeId,
          rttMs: p.rttMs,
          maxRttMs: p.maxRttMs,
          pingTimeouts: p.pingTimeouts,
        }));
  }

  stats(): NetworkStats & { unknownVersionFrames: number } {
    return this.netStats.snapshot();
  }

  onPacket(capability: string, handler: (p: ClusterPacket) => void): void {
    if (capability === NET_CAPABILITY) {
      throw new CoreError('TANDEM_ERR_INVALID_ARGUMENT', `${NET_CAPABILITY} is reserved`);
    }
    this.handlers.set(capability, handler);
  }

  onReachability(handler: (clusterId: number, nodeId: number, reachable: boolean) => void): void {
    this.reachHandlers.push(handler);
  }

  // ---- ClusterNetwork: sending ---------------------------------------------------------------

  send(
    packet: Omit<ClusterPacket, 'source'>,
    lane: Lane = 'data',
  ): SendResult | Promise<SendResult> {
    const c = this.clusters.get(packet.clusterId);
    if (c === undefined) {
      return 'unknown_node';
    }
    if (!c.localEnabled) {
      return 'disabled';
    }
    if (packet.destination === 0) {
      const n = this.broadcast(c.id, packet.capability, packet.type, packet.payload, lane);
      return n > 0 ? 'queued' : 'unreachable';
    }
    const target = c.peers.get(packet.destination);
    if (target === undefined) {
      return 'unknown_node';
    }
    const hop = target.nextHop === null ? undefined : c.peers.get(target.nextHop);
    if (!target.reachable || hop === undefined) {
      return 'unreachable';
    }
    const conn = lane === 'bulk' ? (hop.bulk ?? hop.main) : hop.main;
    if (conn === null) {
      return 'unreachable';
    }
    const buf = encodeFrame(
      { ...packet, lane, source: this.myNodeId, ttl: DEFAULT_TTL },
      this.maxFrameBytes,
    );
    const ok = conn.write(buf);
    this.netStats.out(packet.capability, buf.length);
    if (lane !== 'bulk' || ok) {
      return 'queued';
    }
    return conn.waitDrain().then((drained) => (drained ? 'queued' : 'unreachable'));
  }

  broadcast(
    clusterId: number,
    capability: string,
    type: number,
    payload: Buffer,
    lane: Lane = 'data',
  ): number {
    const c = this.clusters.get(clusterId);
    if (c === undefined || !c.localEnabled) {
      return 0;
    }
    let n = 0;
    for (const p of c.peers.values()) {
      if (p.reachable) {
        const r = this.send({ clusterId, destination: p.nodeId, capability, type, payload }, lane);
        n += r === 'queued' || r instanceof Promise ? 1 : 0;
      }
    }
    return n;
  }

  // ---- ClusterNetwork: admin -----------------------------------------------------------------

  setStatus(clusterId: number, nodeId: number, enabled: boolean): void {
    const c = this.requireCluster(clusterId);
    if (nodeId === this.myNodeId) {
      if (c.localEnabled === enabled) {
        return;
      }
      c.localEnabled = enabled;
      for (const p of c.peers.values()) {
        if (!enabled) {
          p.stopHeartbeat();
          p.setLink('Down');
        } else if (p.main !== null) {
          p.setLink('Probe');
          p.startHeartbeat();
        } else {
          this.ensureConnections(c, p);
        }
      }
      this.recompute(c);
      return;
    }
    const p = c.peers.get(nodeId);
    if (p === undefined) {
      throw new CoreError(
        'TANDEM_ERR_INVALID_ARGUMENT',
        `node ${nodeId} not in cluster ${clusterId}`,
      );
    }
    if (p.enabled === enabled) {
      return;
    }
    p.enabled = enabled;
    if (enabled) {
      p.backoffMs = 0;
      this.ensureConnections(c, p);
    } else {
      this.dropPeerLinks(p);
    }
    this.recompute(c);
  }

  removeNode(clusterId: number, nodeId: number): boolean {
    const c = this.clusters.get(clusterId);
    const p = c?.peers.get(nodeId);
    if (c === undefined || p === undefined) {
      return false;
    }
    this.deletePeer(c, p);
    this.recompute(c);
    return true;
  }

  reprovision(clusterId: number, nodes: readonly NodeInfo[]): void {
    const c = this.requireCluster(clusterId);
    validateOptions({
      myNodeId: this.myNodeId,
      clusters: [{ clusterId, nodes }],
      ...(this.options.tls === undefined ? {} : { tls: this.options.tls }),
    });
    const listed = new Set<number>();
    for (const n of nodes) {
      listed.add(n.nodeId);
      if (n.nodeId === this.myNodeId) {
        c.own = n;
        continue;
      }
      const p = c.peers.get(n.nodeId);
      if (p === undefined) {
        this.ensureConnections(c, this.addPeer(c, n));
      } else {
        const moved = p.info.url !== n.url;
        p.info = n;
        if (moved) {
          this.dropPeerLinks(p);
          p.backoffMs = 0;
          this.ensureConnections(c, p);
        }
      }
    }
    for (const p of [...c.peers.values()]) {
      if (!listed.has(p.nodeId)) {
        this.deletePeer(c, p);
      }
    }
    this.recompute(c);
  }

  // ---- receiving -----------------------------------------------------------------------------

  protected onLinkFrame(conn: Conn, cp: ConnPeer, f: Frame): void {
    const c = this.clusters.get(cp.clusterId)!;
    const nb = c.peers.get(cp.nodeId);
    if (nb === undefined || f.clusterId !== c.id) {
      this.netStats.badFrames++;
      return;
    }
    if (!c.localEnabled) {
      return; // set_status 0: a disabled node ignores what it receives
    }
    nb.noteLife();
    this.netStats.in(f.capability, f.payload.length + 22 + f.capability.length);
    if (f.capability === NET_CAPABILITY) {
      this.onCore(c, nb, conn, f);
    } else if (f.destination !== this.myNodeId && f.destination !== 0) {
      this.relay(c, conn, f);
    } else {
      this.deliver(c, f);
    }
  }

  private deliver(c: ClusterState, f: Frame): void {
    const src = c.peers.get(f.source);
    const handler = this.handlers.get(f.capability);
    if (src === undefined || !src.enabled || handler === undefined) {
      this.log.debug(
        { cluster: c.id, source: f.source, capability: f.capability },
        'cluster packet dropped',
      );
      return;
    }
    try {
      handler({
        clusterId: c.id,
        source: f.source,
        destination: f.destination,
        capability: f.capability,
        type: f.type,
        payload: f.payload,
      });
    } catch (err) {
      this.log.warn(
        { capability: f.capability, err: (err as Error).message },
        'cluster packet handler failed',
      );
    }
  }

  private relay(c: ClusterState, from: Conn, f: Frame): void {
    const target = c.peers.get(f.destination);
    const hop =
      target?.nextHop === null || target === undefined ? undefined : c.peers.get(target.nextHop);
    const out = hop === undefined ? null : f.lane === 'bulk' ? (hop.bulk ?? hop.main) : hop.main;
    if (!this.rerouting || f.ttl <= 1 || !target?.reachable || out === null || out === from) {
      this.log.debug(
        { cluster: c.id, destination: f.destination, ttl: f.ttl },
        'cluster packet not relayed',
      );
      return;
    }
    const ok = out.write(encodeFrame({ ...f, ttl: f.ttl - 1 }, this.maxFrameBytes));
    this.netStats.relayed++;
    if (!ok && f.lane === 'bulk') {
      // Pass the back-pressure on: stop reading the sender until the next hop drains.
      from.socket.pause();
      void out.waitDrain().then(() => from.socket.resume());
    }
  }

  private onCore(c: ClusterState, nb: Peer, conn: Conn, f: Frame): void {
    switch (f.type) {
      case NetType.PING: {
        const seq = decodeSeq(f.payload);
        if (seq !== null) {
          this.writeCore(conn, c.id, nb.nodeId, NetType.PONG, f.payload);
        } else {
          this.netStats.badFrames++;
        }
        return;
      }
      case NetType.PONG: {
        const seq = decodeSeq(f.payload);
        if (seq !== null) {
          nb.onPong(seq);
        } else {
          this.netStats.badFrames++;
        }
        return;
      }
      case NetType.TOPOLOGY: {
        const adj = decodeAdjacency(f.payload);
        if (adj === null) {
          this.netStats.badFrames++;
          return;
        }
        if (c.topology.accept(adj)) {
          this.flood(c, adj, nb);
          this.recompute(c);
        }
        return;
      }
      default:
        return; // a HELLO repeated, or a newer channel packet: ignored
    }
  }

  // ---- topology ------------------------------------------------------------------------------

  private directUp(c: ClusterState): number[] {
    if (!c.localEnabled) {
      return [];
    }
    return [...c.peers.values()]
      .filter((p) => p.enabled && p.link === 'Up')
      .sort((a, b) => b.info.priority - a.info.priority || a.nodeId - b.nodeId)
      .map((p) => p.nodeId);
  }

  /** Send an adjacency to every Up neighbour but `except`. */
  private flood(c: ClusterState, adj: Adjacency, except: Peer | null): void {
    const payload = encodeAdjacency(adj);
    for (const p of c.peers.values()) {
      if (p !== except && p.link === 'Up' && p.main !== null && p.enabled) {
        this.writeCore(p.main, c.id, p.nodeId, NetType.TOPOLOGY, payload);
      }
    }
  }

  private recompute(c: ClusterState): void {
    const direct = this.directUp(c);
    const key = [...direct].sort((a, b) => a - b).join(',');
    if (key !== c.advertised) {
      c.advertised = key;
      c.counter++;
      this.flood(
        c,
        { origin: this.myNodeId, boot: this.boot, counter: c.counter, neighbours: direct },
        null,
      );
    }
    const usable = (id: number): boolean => c.peers.get(id)?.enabled ?? false;
    const routes = this.rerouting
      ? c.topology.routes(direct, usable)
      : new Map(direct.map((id) => [id, { nextHop: id, hops: 1 }]));
    for (const p of c.peers.values()) {
      const r = routes.get(p.nodeId);
      const reachable = r !== undefined;
      p.nextHop = r?.nextHop ?? null;
      if (p.reachable !== reachable) {
        p.reachable = reachable;
        this.emitReachability(c.id, p.nodeId, reachable);
      }
    }
  }

  private emitReachability(clusterId: number, nodeId: number, reachable: boolean): void {
    this.log.info({ cluster: clusterId, node: nodeId, reachable }, 'cluster node reachability');
    for (const h of this.reachHandlers) {
      try {
        h(clusterId, nodeId, reachable);
      } catch (err) {
        this.log.warn({ err: (err as Error).message }, 'reachability handler failed');
      }
    }
  }

  // ---- link changes --------------------------------------------------------------------------

  linkChanged(peer: Peer, previous: LinkState): void {
    const c = this.clusterOf(peer);
    this.log.info(
      { cluster: c.id, node: peer.nodeId, from: previous, to: peer.link },
      'cluster link state',
    );
    if (peer.link === 'Up' && peer.main !== null) {
      // A new neighbour learns everything we know at once, not at the next change.
      for (const adj of c.topology.all()) {
        this.writeCore(peer.main, c.id, peer.nodeId, NetType.TOPOLOGY, encodeAdjacency(adj));
      }
    }
    if (peer.link === 'Up' || previous === 'Up') {
      this.recompute(c);
    }
  }
}
