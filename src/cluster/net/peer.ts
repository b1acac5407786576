/**
 * What this node holds for one provisioned peer of one cluster: its connections (the `main`
 * one for control and data, the `bulk` one for sync streams), its link state and the heartbeat
 * that drives it, its route, admin state and dialling back-off.
 *
 * Heartbeat, as OpenSIPS's clusterer runs it: a ping every `pingIntervalMs`; a ping not
 * answered within `pingTimeoutMs` is retried at once, and when the first ping and
 * `noPingRetries` retries all went unanswered the link is Down, so a silent peer is declared
 * Down within pingTimeoutMs x (noPingRetries + 1) of its last ping. Any frame from the peer is a
 * sign of life: a timeout that finds one since the ping was sent is not a failure.
 */
import type { Clock, TimerHandle } from '../../core/clock.js';
import type { LinkState, NodeInfo, PeerStatus } from '../types.js';
import type { Conn } from './connection.js';
import type { ConnLane } from './core-messages.js';

/** Heartbeat timers in milliseconds (OpenSIPS names in docs/cluster-protocol.md). */
export interface HeartbeatTimers {
  readonly pingIntervalMs: number;
  readonly pingTimeoutMs: number;
  readonly noPingRetries: number;
  /** Longest wait between two dial attempts to a Down peer (OpenSIPS `node_timeout`). */
  readonly nodeTimeoutMs: number;
}

export const DEFAULT_TIMERS: HeartbeatTimers = {
  pingIntervalMs: 4000,
  pingTimeoutMs: 1000,
  noPingRetries: 3,
  nodeTimeoutMs: 60_000,
};

/** What a peer needs from the network that owns it. */
export interface PeerHost {
  readonly clock: Clock;
  readonly timers: HeartbeatTimers;
  /** Write a PING with `seq` on the peer's main connection. */
  sendPing(peer: Peer, seq: number): void;
  /** The link state changed (routes and reachability must be recomputed). */
  linkChanged(peer: Peer, previous: LinkState): void;
  /** The ping and all its retries went unanswered. */
  pingsFailed(peer: Peer): void;
}

export class Peer {
  main: Conn | null = null;
  bulk: Conn | null = null;
  link: LinkState = 'Down';
  rttMs: number | null = null;
  /** Worst round-trip time seen since the link came up (a sync must not push it past the timeout). */
  maxRttMs: number | null = null;
  /** Pings that went unanswered within the timeout, over the peer's lifetime. */
  pingTimeouts = 0;
  reachable = false;
  nextHop: number | null = null;
  enabled = true;
  /** clock.now() of the last frame received from this peer. */
  lastRx = -Infinity;
  dialTimer: TimerHandle | null = null;
  /** Delay before the next dial attempt; 0 after a successful link. */
  backoffMs = 0;
  readonly dialing: Record<ConnLane, boolean> = { main: false, bulk: false };

  private seq = 0;
  private sentAt = 0;
  private failures = 0;
  /** The last {@link status} answer and the node entry it was built from. */
  private statusCache: PeerStatus | null = null;
  private statusInfo: NodeInfo | null = null;
  private hbTimer: TimerHandle | null = null;

  constructor(
    public info: NodeInfo,
    private readonly host: PeerHost,
  ) {}

  get nodeId(): number {
    return this.info.nodeId;
  }

  /**
   * The peer as the control plane sees it. Kept while nothing in it changed: every live
   * replication packet asks for the peers (sendAll), and spreading the node's entry per packet
   * was 6 % of a registrar's CPU at 2,000 REGISTER/s.
   */
  status(): PeerStatus {
    const c = this.statusCache;
    if (
      c !== null &&
      this.statusInfo === this.info &&
      c.link === this.link &&
      c.reachable === this.reachable &&
      c.nextHop === this.nextHop &&
      c.enabled === this.enabled &&
      c.rttMs === this.rttMs
    ) {
      return c;
    }
    const fresh: PeerStatus = Object.freeze({
      ...this.info,
      link: this.link,
      reachable: this.reachable,
      nextHop: this.nextHop,
      enabled: this.enabled,
      rttMs: this.rttMs,
    });
    this.statusCache = fresh;
    this.statusInfo = this.info;
    return fresh;
  }

  setLink(state: LinkState): void {
    const previous = this.link;
    if (previous !== state) {
      this.link = state;
      this.host.linkChanged(this, previous);
    }
  }

  /** Any frame from the peer. */
  noteLife(): void {
    this.lastRx = this.host.clock.now();
  }

  /** Start pinging on a fresh main connection (Probe until the first pong). */
  startHeartbeat(): void {
    this.stopHeartbeat();
    this.failures = 0;
    this.ping();
  }

  stopHeartbeat(): void {
    this.hbTimer?.cancel();
    this.hbTimer = null;
  }

  onPong(seq: number): void {
    if (seq !== this.seq || this.hbTimer === null) {
      return; // a late answer to a ping already retried
    }
    const rtt = this.host.clock.now() - this.sentAt;
    this.rttMs = rtt;
    this.maxRttMs = Math.max(this.maxRttMs ?? 0, rtt);
    this.failures = 0;
    this.backoffMs = 0;
    this.setLink('Up');
    this.scheduleNextPing();
  }

  private scheduleNextPing(): void {
    this.stopHeartbeat();
    this.hbTimer = this.host.clock.setTimer(this.host.timers.pingIntervalMs, () => {
      this.ping();
    });
  }

  private ping(): void {
    this.seq = (this.seq + 1) >>> 0;
    this.sentAt = this.host.clock.now();
    this.host.sendPing(this, this.seq);
    this.hbTimer = this.host.clock.setTimer(this.host.timers.pingTimeoutMs, () => {
      this.onTimeout();
    });
  }

  private onTimeout(): void {
    this.hbTimer = null;
    if (this.lastRx >= this.sentAt) {
      this.failures = 0;
      this.scheduleNextPing();
      return;
    }
    this.failures++;
    this.pingTimeouts++;
    if (this.failures > this.host.timers.noPingRetries) {
      this.host.pingsFailed(this);
      return;
    }
    this.ping();
  }
}
