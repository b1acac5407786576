/**
 * The link layer of the bin/bins channel: listeners, dialling with back-off, the HELLO
 * handshake and its identity checks, connection bookkeeping and refusals. Per peer pair two
 * connections, both dialled by the node with the lower id: `main` carries control and data,
 * `bulk` carries sync streams (ADR 0008). {@link BinNetwork} builds routing and the
 * `ClusterNetwork` API on top of it.
 */
import { createServer, connect as netConnect, type Server, type Socket } from 'node:net';
import { createServer as createTlsServer, connect as tlsConnect, type TLSSocket } from 'node:tls';
import { systemClock, type Clock, type TimerHandle } from '../../core/clock.js';
import { CoreError } from '../../core/errors.js';
import { silentLogger, type Logger } from '../../core/logger.js';
import type { LinkState, NodeInfo } from '../types.js';
import { DEFAULT_MAX_FRAME_BYTES, PROTOCOL_VERSION, encodeFrame, type Frame } from './codec.js';
import { Conn, type ConnEvents, type ConnPeer } from './connection.js';
import {
  NET_CAPABILITY,
  NetType,
  decodeHello,
  encodeHello,
  encodeSeq,
  type ConnLane,
} from './core-messages.js';
import { certificateNames, expectedTlsName, parseNodeUrl, type NodeUrl } from './identity.js';
import { validateOptions, type BinNetworkOptions } from './options.js';
import { DEFAULT_TIMERS, Peer, type HeartbeatTimers, type PeerHost } from './peer.js';
import { NetStats } from './stats.js';
import { Topology } from './topology.js';

const REFUSAL_LOG_INTERVAL_MS = 60_000;

/** One cluster as this node holds it. */
export interface ClusterState {
  readonly id: number;
  own: NodeInfo;
  readonly peers: Map<number, Peer>;
  readonly topology: Topology;
  localEnabled: boolean;
  /** Our own adjacency as last advertised (sorted ids). */
  advertised: string;
  counter: number;
}

export abstract class LinkLayer implements PeerHost {
  readonly myNodeId: number;
  readonly clock: Clock;
  readonly timers: HeartbeatTimers;
  protected readonly log: Logger;
  protected readonly clusters = new Map<number, ClusterState>();
  protected readonly netStats = new NetStats();
  protected readonly maxFrameBytes: number;
  protected running = false;
  private readonly listenUrls: NodeUrl[];
  private readonly peerCluster = new Map<Peer, ClusterState>();
  private readonly servers: Server[] = [];
  private readonly conns = new Set<Conn>();
  private readonly expected = new Map<
    Conn,
    { cluster: ClusterState; peer: Peer; lane: ConnLane }
  >();
  private readonly hsTimers = new Map<Conn, TimerHandle>();
  private readonly refusalLogged = new Map<string, number>();
  private readonly handshakeTimeoutMs: number;
  private readonly events: ConnEvents;

  constructor(protected readonly options: BinNetworkOptions) {
    this.listenUrls = validateOptions(options);
    this.myNodeId = options.myNodeId;
    this.clock = options.clock ?? systemClock;
    this.timers = { ...DEFAULT_TIMERS, ...options.timers };
    this.log = (options.logger ?? silentLogger).child({ component: 'cluster-net' });
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

  protected listen(u: NodeUrl): Promise<Server> {
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

  protected track(socket: Socket, outbound: boolean): Conn {
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

  protected accept(socket: Socket, tls: TLSSocket | null): void {
    if (!this.running) {
      socket.destroy();
      return;
    }
    this.track(socket, false).tls = tls;
  }

  protected isDialer(p: Peer): boolean {
    return this.myNodeId < p.nodeId;
  }

  protected ensureConnections(c: ClusterState, p: Peer): void {
    if (!this.running || !p.enabled || !this.isDialer(p) || c.peers.get(p.nodeId) !== p) {
      return;
    }
    for (const lane of ['main', 'bulk'] as const) {
      if (!p.dialing[lane] && (lane === 'main' ? p.main : p.bulk) === null) {
        this.dial(c, p, lane);
      }
    }
  }

  protected dial(c: ClusterState, p: Peer, lane: ConnLane): void {
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
      this.sendHello(conn, c.id, p.nodeId, lane);
    });
  }

  protected scheduleRedial(c: ClusterState, p: Peer): void {
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

  protected refuse(key: string, why: string): void {
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

  protected onHello(conn: Conn, f: Frame): void {
    const hello =
      f.capability === NET_CAPABILITY && f.type === NetType.HELLO ? decodeHello(f.payload) : null;
    const c = this.clusters.get(f.clusterId);
    const p = c?.peers.get(f.source);
    const who = `node ${f.source}@${conn.socket.remoteAddress ?? '?'}`;
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
      this.sendHello(conn, c.id, p.nodeId, hello.lane);
    }
    this.attach(c, p, hello.lane, conn);
  }

  protected attach(c: ClusterState, p: Peer, lane: ConnLane, conn: Conn): void {
    this.hsTimers.get(conn)?.cancel();
    this.hsTimers.delete(conn);
    this.expected.delete(conn);
    conn.open({ clusterId: c.id, nodeId: p.nodeId, lane });
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
    // A disabled node keeps its links Down: it pings and answers nothing until enabled again.
    if (lane === 'main' && c.localEnabled) {
      p.setLink('Probe');
      p.startHeartbeat();
    }
  }

  protected onClose(conn: Conn): void {
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

  sendPing(peer: Peer, seq: number): void {
    const c = this.peerCluster.get(peer)!;
    if (peer.main !== null) {
      this.writeCore(peer.main, c.id, peer.nodeId, NetType.PING, encodeSeq(seq));
    }
  }

  pingsFailed(peer: Peer): void {
    const c = this.peerCluster.get(peer)!;
    this.log.info({ cluster: c.id, node: peer.nodeId }, 'cluster pings unanswered: link down');
    this.dropPeerLinks(peer);
    this.scheduleRedial(c, peer);
  }

  /** Our HELLO on a connection (the dialler's first frame, the listener's answer). */
  private sendHello(conn: Conn, clusterId: number, peer: number, lane: ConnLane): void {
    this.writeCore(
      conn,
      clusterId,
      peer,
      NetType.HELLO,
      encodeHello({ protocolVersion: PROTOCOL_VERSION, lane }),
    );
  }

  protected writeCore(
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

  protected requireCluster(clusterId: number): ClusterState {
    const c = this.clusters.get(clusterId);
    if (c === undefined) {
      throw new CoreError('TANDEM_ERR_INVALID_ARGUMENT', `cluster ${clusterId} not found`);
    }
    return c;
  }

  protected addPeer(c: ClusterState, n: NodeInfo): Peer {
    const p = new Peer(n, this);
    c.peers.set(n.nodeId, p);
    this.peerCluster.set(p, c);
    return p;
  }

  /** Close a peer's connections and mark it Down (its close handlers then see it replaced). */
  protected dropPeerLinks(p: Peer): void {
    p.stopHeartbeat();
    const { main, bulk } = p;
    p.main = null;
    p.bulk = null;
    main?.destroy();
    bulk?.destroy();
    p.setLink('Down');
  }

  protected deletePeer(c: ClusterState, p: Peer): void {
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

  /** A frame on an established connection (`conn.peer` is set). */
  protected abstract onLinkFrame(conn: Conn, peer: ConnPeer, f: Frame): void;

  /** The link state of a peer changed: recompute routes. */
  abstract linkChanged(peer: Peer, previous: LinkState): void;

  /** The cluster a peer belongs to. */
  protected clusterOf(peer: Peer): ClusterState {
    return this.peerCluster.get(peer)!;
  }

  private onFrame(conn: Conn, f: Frame): void {
    if (conn.peer === null) {
      this.onHello(conn, f);
    } else {
      this.onLinkFrame(conn, conn.peer, f);
    }
  }
}
