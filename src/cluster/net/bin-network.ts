/**
 * The bin/bins channel: {@link ClusterNetwork} over TCP (`bin:`) or mutually authenticated TLS
 * (`bins:`). Per peer pair two connections, dialled by the node with the lower id: `main`
 * carries control and data, `bulk` carries sync streams and applies back-pressure, so a ping
 * never waits behind bulk bytes (ADR 0008). Link states come from the heartbeat
 * (src/cluster/net/peer.ts); reachability and next hops from flooded adjacencies
 * (src/cluster/net/topology.ts). docs/cluster-protocol.md documents the wire.
 */
import { createServer, connect as netConnect, type Server, type Socket } from 'node:net';
import { createServer as createTlsServer, connect as tlsConnect, type TLSSocket } from 'node:tls';
import { systemClock, type Clock, type TimerHandle } from '../../core/clock.js';
import { CoreError } from '../../core/errors.js';
import { silentLogger, type Logger } from '../../core/logger.js';
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
import { DEFAULT_MAX_FRAME_BYTES, PROTOCOL_VERSION, encodeFrame, type Frame } from './codec.js';
import { Conn, type ConnEvents } from './connection.js';
import {
  NET_CAPABILITY,
  NetType,
  decodeAdjacency,
  decodeHello,
  decodeSeq,
  encodeAdjacency,
  encodeHello,
  encodeSeq,
  type Adjacency,
  type ConnLane,
} from './core-messages.js';
import { certificateNames, expectedTlsName, parseNodeUrl, type NodeUrl } from './identity.js';
import { validateOptions, type BinNetworkOptions } from './options.js';
import { DEFAULT_TIMERS, Peer, type HeartbeatTimers, type PeerHost } from './peer.js';
import { Topology } from './topology.js';
import { NetStats } from './stats.js';

/** Hops a packet may take; more nodes than this in a chain is not a cluster we expect. */
const DEFAULT_TTL = 16;
const REFUSAL_LOG_INTERVAL_MS = 60_000;

interface ClusterState {
  readonly id: number;
  own: NodeInfo;
  readonly peers: Map<number, Peer>;
  readonly topology: Topology;
  localEnabled: boolean;
  /** Our own adjacency as last advertised (sorted ids). */
  advertised: string;
  counter: number;
}

export class BinNetwork implements ClusterNetwork, PeerHost {
  readonly myNodeId: number;
  readonly clock: Clock;
  readonly timers: HeartbeatTimers;
  private readonly log: Logger;
  private readonly listenUrls: NodeUrl[];
  private readonly clusters = new Map<number, ClusterState>();
  private readonly peerCluster = new Map<Peer, ClusterState>();
  private readonly servers: Server[] = [];
  private readonly conns = new Set<Conn>();
  private readonly expected = new Map<
    Conn,
    { cluster: ClusterState; peer: Peer; lane: ConnLane }
  >();
  private readonly hsTimers = new Map<Conn, TimerHandle>();
  private readonly handlers = new Map<string, (p: ClusterPacket) => void>();
  private readonly reachHandlers: ((c: number, n: number, r: boolean) => void)[] = [];
  private readonly refusalLogged = new Map<string, number>();
  private readonly boot = Date.now();
  private readonly rerouting: boolean;
  private readonly maxFrameBytes: number;
  private readonly handshakeTimeoutMs: number;
  private readonly netStats = new NetStats();
  private running = false;
  private readonly events: ConnEvents;

  constructor(private readonly options: BinNetworkOptions) {
    this.listenUrls = validateOptions(options);
    this.myNodeId = options.myNodeId;
    this.clock = options.clock ?? systemClock;
    this.timers = { ...DEFAULT_TIMERS, ...options.timers };
    this.log = (options.logger ?? silentLogger).child({ component: 'cluster-net' });
    this.rerouting = options.enableRerouting ?? true;
    this.maxFrameBytes = options.maxFrameBytes ?? DEFAULT_MAX_FRAME_BYTES;
    this.handshakeTimeoutMs = options.handshakeTimeoutMs ?? 5000;
    for (const c of options.clusters) {
      const own = c.nodes.find((n) => n.nodeId === this.myNodeId)!;
      const state: ClusterState = {
        id: c.clusterId,
        own,
        peers: new Map(),
        topology: new Topology(this.myNodeId),
        localEnabled: true,
        advertised: '',
        counter: 0,
      };
      this.clusters.set(c.clusterId, state);
      for (const n of c.nodes) {
        if (n.nodeId !== this.myNodeId) {
          this.addPeer(state, n);
        }
      }
    }
    this.events = {
      frame: (conn, f) => {
        this.onFrame(conn, f);
      },
      malformed: (conn, reason) => {
        this.netStats.badFrames++;
        this.log.debug({ remote: conn.remote, reason }, 'cluster stream broke framing: closed');
      },
      unknownVersion: (conn, version) => {
        this.netStats.badFrames++;
        this.netStats.unknownVersion++;
        this.log.debug({ remote: conn.remote, version }, 'cluster frame of unknown version');
      },
      close: (conn) => {
        this.onClose(conn);
      },
    };
  }

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

  // ---- lifecycle -----------------------------------------------------------------------------

  async start(): Promise<void> {
    if (this.running) {
      throw new CoreError('TANDEM_ERR_INVALID_STATE', 'the cluster network is already started');
    }
    this.running = true;
    try {
      for (const u of this.listenUrls) {
        this.servers.push(await this.listen(u));
      }
    } catch (err) {
      await this.stop();
      throw err;
    }
    for (const c of this.clusters.values()) {
      for (const p of c.peers.values()) {
        this.ensureConnections(c, p);
      }
    }
  }

  async stop(): Promise<void> {
    this.running = false;
    for (const c of this.clusters.values()) {
      for (const p of c.peers.values()) {
        p.stopHeartbeat();
        p.dialTimer?.cancel();
        p.dialTimer = null;
      }
    }
    for (const t of this.hsTimers.values()) {
      t.cancel();
    }
    this.hsTimers.clear();
    for (const conn of this.conns) {
      conn.destroy();
    }
    const servers = this.servers.splice(0);
    await Promise.all(
      servers.map(
        (s) =>
          new Promise<void>((resolve) => {
            s.close(() => {
              resolve();
            });
          }),
      ),
    );
  }

  // ---- listeners and dialling ----------------------------------------------------------------

  private listen(u: NodeUrl): Promise<Server> {
    const tls = this.options.tls;
    let server: Server;
    if (u.tls) {
      const ts = createTlsServer(
        {
          cert: tls!.cert,
          key: tls!.key,
          ca: tls!.ca,
          requestCert: true,
          rejectUnauthorized: true,
        },
        (s: TLSSocket) => {
          this.accept(s, s);
        },
      );
      // RFC 8446 s4.4.2: with requestCert the server asks for the client's certificate chain; a
      // client without one the cluster CA signed (or one that does not speak TLS at all) fails
      // the handshake, and the listener refuses it.
      ts.on('tlsClientError', (err: Error, s: TLSSocket) => {
        this.refuse(s.remoteAddress ?? '?', `TLS handshake failed: ${err.message}`);
        s.destroy();
      });
      server = ts;
    } else {
      server = createServer((s) => {
        this.accept(s, null);
      });
    }
    return new Promise((resolve, reject) => {
      server.once('error', (err) => {
        reject(new CoreError('TANDEM_ERR_LISTEN', `${u.host}:${u.port}: ${err.message}`));
      });
      server.listen(u.port, u.host, () => {
        server.removeAllListeners('error');
        server.on('error', (err) => {
          this.log.warn({ err: err.message }, 'cluster listener error');
        });
        resolve(server);
      });
    });
  }

  private track(socket: Socket, outbound: boolean): Conn {
    const conn = new Conn(socket, outbound, this.maxFrameBytes, this.events, this.log);
    this.conns.add(conn);
    this.hsTimers.set(
      conn,
      this.clock.setTimer(this.handshakeTimeoutMs, () => {
        this.hsTimers.delete(conn);
        if (conn.peer === null) {
          this.refuse(conn.remote, 'no handshake in time');
          conn.destroy();
        }
      }),
    );
    return conn;
  }

  private accept(socket: Socket, tls: TLSSocket | null): void {
    if (!this.running) {
      socket.destroy();
      return;
    }
    this.track(socket, false).tls = tls;
  }

  private isDialer(p: Peer): boolean {
    return this.myNodeId < p.nodeId;
  }

  private ensureConnections(c: ClusterState, p: Peer): void {
    if (!this.running || !p.enabled || !this.isDialer(p) || c.peers.get(p.nodeId) !== p) {
      return;
    }
    for (const lane of ['main', 'bulk'] as const) {
      if (!p.dialing[lane] && (lane === 'main' ? p.main : p.bulk) === null) {
        this.dial(c, p, lane);
      }
    }
  }

  private dial(c: ClusterState, p: Peer, lane: ConnLane): void {
    p.dialing[lane] = true;
    const u = parseNodeUrl(p.info.url);
    const tls = this.options.tls;
    const tlsSocket = u.tls
      ? tlsConnect({
          host: u.host,
          port: u.port,
          cert: tls!.cert,
          key: tls!.key,
          ca: tls!.ca,
          // The name check is ours (the node id in CN/SAN), not the host name's.
          checkServerIdentity: () => undefined,
        })
      : null;
    const socket: Socket = tlsSocket ?? netConnect({ host: u.host, port: u.port });
    const conn = this.track(socket, true);
    this.expected.set(conn, { cluster: c, peer: p, lane });
    socket.once(u.tls ? 'secureConnect' : 'connect', () => {
      if (tlsSocket !== null && !certificateNames(tlsSocket, expectedTlsName(p.info))) {
        this.refuse(`node ${p.nodeId}`, 'its certificate does not name it');
        conn.destroy();
        return;
      }
      this.writeCore(
        conn,
        c.id,
        p.nodeId,
        NetType.HELLO,
        encodeHello({ protocolVersion: PROTOCOL_VERSION, lane }),
      );
    });
  }

  private scheduleRedial(c: ClusterState, p: Peer): void {
    if (!this.running || p.dialTimer !== null || !p.enabled || !this.isDialer(p)) {
      return;
    }
    // OpenSIPS waits node_timeout before it pings a failed node again; we try sooner at first
    // (one ping interval, doubling) and never wait longer than node_timeout between tries.
    const delay = Math.min(p.backoffMs || this.timers.pingIntervalMs, this.timers.nodeTimeoutMs);
    p.backoffMs = Math.min(delay * 2, this.timers.nodeTimeoutMs);
    p.dialTimer = this.clock.setTimer(delay, () => {
      p.dialTimer = null;
      this.ensureConnections(c, p);
    });
  }

  private refuse(key: string, why: string): void {
    this.netStats.refusedConnections++;
    const now = this.clock.now();
    const last = this.refusalLogged.get(key);
    if (last === undefined || now - last >= REFUSAL_LOG_INTERVAL_MS) {
      this.refusalLogged.set(key, now);
      this.log.warn({ peer: key, why }, 'cluster connection refused');
    } else {
      this.log.debug({ peer: key, why }, 'cluster connection refused');
    }
  }

  // ---- handshake -----------------------------------------------------------------------------

  private onHello(conn: Conn, f: Frame): void {
    const hello =
      f.capability === NET_CAPABILITY && f.type === NetType.HELLO ? decodeHello(f.payload) : null;
    const c = this.clusters.get(f.clusterId);
    const p = c?.peers.get(f.source);
    const who = `node ${f.source}@${conn.remote}`;
    const fail = (why: string): void => {
      this.refuse(who, why);
      conn.destroy();
    };
    if (hello === null) {
      fail('the first frame is not a HELLO');
      return;
    }
    if (hello.protocolVersion !== PROTOCOL_VERSION) {
      fail(`protocol version ${hello.protocolVersion}`);
      return;
    }
    if (c === undefined || p === undefined || f.destination !== this.myNodeId) {
      fail('not provisioned');
      return;
    }
    if (!p.enabled) {
      fail('disabled');
      return;
    }
    const exp = this.expected.get(conn);
    if (exp !== undefined) {
      if (exp.peer !== p || exp.lane !== hello.lane) {
        fail('answered as another node');
        return;
      }
    } else {
      if (conn.tls !== null && !certificateNames(conn.tls, expectedTlsName(p.info))) {
        fail('its certificate does not name it');
        return;
      }
      this.writeCore(
        conn,
        c.id,
        p.nodeId,
        NetType.HELLO,
        encodeHello({ protocolVersion: PROTOCOL_VERSION, lane: hello.lane }),
      );
    }
    this.attach(c, p, hello.lane, conn);
  }

  private attach(c: ClusterState, p: Peer, lane: ConnLane, conn: Conn): void {
    this.hsTimers.get(conn)?.cancel();
    this.hsTimers.delete(conn);
    this.expected.delete(conn);
    conn.peer = { clusterId: c.id, nodeId: p.nodeId, lane };
    p.dialing[lane] = false;
    p.noteLife();
    const old = lane === 'main' ? p.main : p.bulk;
    if (lane === 'main') {
      p.main = conn;
    } else {
      p.bulk = conn;
    }
    old?.destroy();
    this.log.debug({ cluster: c.id, node: p.nodeId, lane }, 'cluster connection up');
    if (lane === 'main') {
      p.setLink('Probe');
      if (c.localEnabled) {
        p.startHeartbeat();
      }
    }
  }

  private onClose(conn: Conn): void {
    this.conns.delete(conn);
    this.hsTimers.get(conn)?.cancel();
    this.hsTimers.delete(conn);
    const exp = this.expected.get(conn);
    this.expected.delete(conn);
    if (exp !== undefined) {
      exp.peer.dialing[exp.lane] = false;
      this.scheduleRedial(exp.cluster, exp.peer);
      return;
    }
    const cp = conn.peer;
    const c = cp === null ? undefined : this.clusters.get(cp.clusterId);
    const p = cp === null ? undefined : c?.peers.get(cp.nodeId);
    if (c === undefined || p === undefined) {
      return;
    }
    if (p.main === conn) {
      p.main = null;
      p.stopHeartbeat();
      p.setLink('Down');
    } else if (p.bulk === conn) {
      p.bulk = null;
    } else {
      return; // replaced by a newer connection
    }
    this.scheduleRedial(c, p);
  }

  // ---- receiving -----------------------------------------------------------------------------

  private onFrame(conn: Conn, f: Frame): void {
    const cp = conn.peer;
    if (cp === null) {
      this.onHello(conn, f);
      return;
    }
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

  // ---- PeerHost ------------------------------------------------------------------------------

  sendPing(peer: Peer, seq: number): void {
    const c = this.peerCluster.get(peer)!;
    if (peer.main !== null) {
      this.writeCore(peer.main, c.id, peer.nodeId, NetType.PING, encodeSeq(seq));
    }
  }

  linkChanged(peer: Peer, previous: LinkState): void {
    const c = this.peerCluster.get(peer)!;
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

  pingsFailed(peer: Peer): void {
    const c = this.peerCluster.get(peer)!;
    this.log.info({ cluster: c.id, node: peer.nodeId }, 'cluster pings unanswered: link down');
    this.dropPeerLinks(peer);
    this.scheduleRedial(c, peer);
  }

  // ---- helpers -------------------------------------------------------------------------------

  private writeCore(
    conn: Conn,
    clusterId: number,
    dest: number,
    type: number,
    payload: Buffer,
  ): void {
    const buf = encodeFrame({
      lane: 'control',
      clusterId,
      source: this.myNodeId,
      destination: dest,
      ttl: 1,
      capability: NET_CAPABILITY,
      type,
      payload,
    });
    conn.write(buf);
    this.netStats.out(NET_CAPABILITY, buf.length);
  }

  private requireCluster(clusterId: number): ClusterState {
    const c = this.clusters.get(clusterId);
    if (c === undefined) {
      throw new CoreError('TANDEM_ERR_INVALID_ARGUMENT', `cluster ${clusterId} not found`);
    }
    return c;
  }

  private addPeer(c: ClusterState, n: NodeInfo): Peer {
    const p = new Peer(n, this);
    c.peers.set(n.nodeId, p);
    this.peerCluster.set(p, c);
    return p;
  }

  /** Close a peer's connections and mark it Down (its close handlers then see it replaced). */
  private dropPeerLinks(p: Peer): void {
    p.stopHeartbeat();
    const { main, bulk } = p;
    p.main = null;
    p.bulk = null;
    main?.destroy();
    bulk?.destroy();
    p.setLink('Down');
  }

  private deletePeer(c: ClusterState, p: Peer): void {
    p.dialTimer?.cancel();
    p.dialTimer = null;
    this.dropPeerLinks(p);
    c.peers.delete(p.nodeId);
    c.topology.forget(p.nodeId);
    for (const [conn, exp] of this.expected) {
      if (exp.peer === p) {
        conn.destroy();
      }
    }
  }
}
