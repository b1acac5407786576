/**
 * Sharing tags: `name/cluster_id`, active on exactly one node of the cluster and backup on the
 * others. Every activation carries an epoch (the highest this node has seen for the tag, plus
 * one); of two activations the higher epoch wins and, for equal epochs, the lower node id, so
 * an old activation replayed after a partition never wins and a split brain (both nodes active
 * when the link comes back) resolves to the same single holder on every node. Nodes exchange
 * their tag tables whenever a peer becomes reachable, which also delivers activations that
 * were made while it was away. docs/adr/0009-sharing-tags.md explains the rule.
 */
import type { Clock, TimerHandle } from '../core/clock.js';
import type { Logger } from '../core/logger.js';
import { parseTag } from './config.js';
import type { ClusterNetwork, ClusterPacket } from './types.js';

/** The reserved capability sharing tags travel on (control lane). */
export const SHTAG_CAPABILITY = 'clusterer:shtag';
const T_ACTIVATE = 1;
const T_STATE = 2;

export type ShtagState = 'active' | 'backup';

/** A tag's state changed on this node, and why. */
export interface ShtagChange {
  /** `name/cluster_id` */
  readonly tag: string;
  readonly name: string;
  readonly clusterId: number;
  readonly state: ShtagState;
  readonly reason: string;
  readonly epoch: number;
  /** The node holding the newest activation. */
  readonly owner: number;
}

/** One row of `clusterer:list_shtags`, with the epoch and holder Tandem adds. */
export interface ShtagInfo {
  readonly tag: string;
  readonly name: string;
  readonly clusterId: number;
  readonly state: ShtagState;
  readonly epoch: number;
  readonly owner: number;
}

interface Entry {
  readonly tag: string;
  readonly name: string;
  readonly clusterId: number;
  state: ShtagState;
  /** The newest activation seen: its epoch and node (0/0 before any). */
  epoch: number;
  owner: number;
  failoverAuto: boolean;
  failoverTimer: TimerHandle | null;
}

interface WireTag {
  t: string;
  e: number;
  n: number;
  a?: boolean;
}

export interface SharingTagOptions {
  readonly network: ClusterNetwork;
  readonly clock: Clock;
  readonly logger: Logger;
  /** How long the holder must be unreachable before an automatic takeover (ms). */
  readonly nodeTimeoutMs: number;
  /** This node's priority in a cluster (automatic takeover prefers the highest). */
  myPriority(clusterId: number): number;
}

/** Is activation (e1, n1) newer than (e2, n2)? Higher epoch, then lower node id. */
export function newer(e1: number, n1: number, e2: number, n2: number): boolean {
  return e1 > e2 || (e1 === e2 && n1 !== n2 && (n2 === 0 || n1 < n2));
}

export class SharingTagEngine {
  private readonly tags = new Map<string, Entry>();
  private readonly listeners = new Set<(c: ShtagChange) => void>();
  private readonly me: number;
  /** Activations and states received that were older than what this node knows. */
  readonly stats = { stale_ignored: 0, bad_packets: 0, split_brains: 0, failovers: 0 };

  constructor(private readonly o: SharingTagOptions) {
    this.me = o.network.myNodeId;
  }

  /**
   * Declare the configured tags (`service/1=active`) and their options before start. An
   * `active` one is activated at start-up like any activation: a node that restarts configured
   * active does not take the tag back from a node that activated it later (higher epoch).
   */
  configure(specs: readonly string[], failoverAuto: readonly string[]): void {
    for (const spec of specs) {
      const [tag, state] = spec.split('=') as [string, ShtagState];
      const e = this.entry(tag);
      if (e !== null && state === 'active') {
        e.epoch += 1;
        e.owner = this.me;
        e.state = 'active';
      }
    }
    for (const tag of failoverAuto) {
      const e = this.entry(tag);
      if (e !== null) {
        e.failoverAuto = true;
      }
    }
  }

  /** Listen on the network (before it starts). */
  attach(): void {
    this.o.network.onPacket(SHTAG_CAPABILITY, (p) => {
      this.receive(p);
    });
    this.o.network.onReachability((clusterId, nodeId, reachable) => {
      this.reachability(clusterId, nodeId, reachable);
    });
  }

  /** Null (data with no owner) counts as active; an unknown or malformed tag as backup. */
  isActive(tag: string | null): boolean {
    return tag === null || this.tags.get(tag)?.state === 'active';
  }

  /** Held active here, or by a peer this node can reach (the holder of the newest epoch). */
  heldActive(tag: string): boolean {
    const e = this.tags.get(tag);
    if (e === undefined) {
      return false;
    }
    if (e.state === 'active') {
      return true;
    }
    return e.owner !== 0 && e.owner !== this.me && this.holderReachable(e);
  }

  state(tag: string): ShtagState | null {
    return this.tags.get(tag)?.state ?? null;
  }

  list(): ShtagInfo[] {
    return [...this.tags.values()].map((e) => ({
      tag: e.tag,
      name: e.name,
      clusterId: e.clusterId,
      state: e.state,
      epoch: e.epoch,
      owner: e.owner,
    }));
  }

  onChange(cb: (c: ShtagChange) => void): () => void {
    this.listeners.add(cb);
    return () => {
      this.listeners.delete(cb);
    };
  }

  /**
   * Activate `tag` here (MI, script, a module, automatic takeover) and tell every reachable
   * node; nodes away now learn it from the state exchange when they come back. Returns false
   * for a malformed tag or a cluster this node is not in.
   */
  activate(tag: string, reason = 'activated here'): boolean {
    const e = this.entry(tag);
    if (e === null || !this.o.network.clusterIds().includes(e.clusterId)) {
      return false;
    }
    if (e.state !== 'active' || e.owner !== this.me) {
      e.epoch += 1;
      e.owner = this.me;
      this.cancelFailover(e);
      this.set(e, 'active', reason);
    }
    this.o.network.broadcast(
      e.clusterId,
      SHTAG_CAPABILITY,
      T_ACTIVATE,
      encode([{ t: e.tag, e: e.epoch, n: e.owner }]),
      'control',
    );
    return true;
  }

  /** Cancel the takeover timers (node stop). */
  stop(): void {
    for (const e of this.tags.values()) {
      this.cancelFailover(e);
    }
    this.listeners.clear();
  }

  private entry(tag: string): Entry | null {
    const existing = this.tags.get(tag);
    if (existing !== undefined) {
      return existing;
    }
    const parsed = parseTag(tag);
    if (parsed === null) {
      return null;
    }
    const e: Entry = {
      tag,
      name: parsed.name,
      clusterId: parsed.clusterId,
      state: 'backup',
      epoch: 0,
      owner: 0,
      failoverAuto: false,
      failoverTimer: null,
    };
    this.tags.set(tag, e);
    return e;
  }

  private receive(p: ClusterPacket): void {
    const items = decode(p.payload);
    if (items === null || (p.type !== T_ACTIVATE && p.type !== T_STATE)) {
      this.stats.bad_packets++;
      this.o.logger.debug({ from: p.source, type: p.type }, 'bad sharing tag packet dropped');
      return;
    }
    let correct = false;
    for (const item of items) {
      const e = this.entry(item.t);
      if (e === null || e.clusterId !== p.clusterId) {
        this.stats.bad_packets++;
        continue;
      }
      correct = this.apply(e, item, p.source, p.type === T_STATE) || correct;
    }
    if (correct) {
      // The sender believes in an older holder: tell it what this node knows.
      this.sendState(p.clusterId, p.source);
    }
  }

  /** Apply one remote view of a tag; true when the sender should be corrected. */
  private apply(e: Entry, item: WireTag, from: number, exchange: boolean): boolean {
    const claimsActive = item.a === true || (!exchange && item.n === from);
    if (!newer(item.e, item.n, e.epoch, e.owner)) {
      // A node that never saw an activation (epoch 0) is not a replay, just behind.
      if (item.e > 0 && (item.e !== e.epoch || item.n !== e.owner)) {
        this.stats.stale_ignored++;
        this.o.logger.debug(
          { tag: e.tag, from, epoch: item.e, node: item.n, known: [e.epoch, e.owner] },
          'older sharing tag activation ignored',
        );
      }
      const differs = item.e !== e.epoch || item.n !== e.owner;
      if (exchange && claimsActive && differs && e.state === 'active') {
        this.splitBrain(e, from, true);
      }
      return claimsActive && differs;
    }
    const wasActive = e.state === 'active';
    e.epoch = item.e;
    e.owner = item.n;
    if (item.n === this.me) {
      // The cluster's newest decision names this node (it restarted meanwhile): honour it.
      this.set(e, 'active', `resumed: node ${from} knows this node's activation ${item.e}`);
    } else if (wasActive) {
      if (claimsActive && exchange) {
        this.splitBrain(e, from, false);
      }
      this.set(
        e,
        'backup',
        claimsActive && exchange
          ? `split brain: node ${item.n} holds a newer activation (epoch ${item.e})`
          : `node ${item.n} activated it (epoch ${item.e})`,
      );
    }
    this.armFailover(e);
    return false;
  }

  private splitBrain(e: Entry, from: number, won: boolean): void {
    this.stats.split_brains++;
    this.o.logger.warn(
      { tag: e.tag, peer: from, epoch: e.epoch, owner: e.owner, kept: won },
      won
        ? 'sharing tag split brain: both nodes active; this node keeps it (newer activation)'
        : 'sharing tag split brain: both nodes active; this node steps down (older activation)',
    );
    if (won) {
      this.emit(e, `split brain with node ${from}: kept (epoch ${e.epoch})`);
    }
  }

  private reachability(clusterId: number, nodeId: number, reachable: boolean): void {
    for (const e of this.tags.values()) {
      if (e.clusterId === clusterId && e.owner === nodeId) {
        if (reachable) {
          this.cancelFailover(e);
        } else {
          this.armFailover(e);
        }
      }
    }
    if (reachable) {
      this.sendState(clusterId, nodeId);
    }
  }

  private sendState(clusterId: number, nodeId: number): void {
    const items: WireTag[] = [];
    for (const e of this.tags.values()) {
      if (e.clusterId === clusterId) {
        items.push({ t: e.tag, e: e.epoch, n: e.owner, a: e.state === 'active' });
      }
    }
    // The control lane never waits: the result is known at once.
    void this.o.network.send(
      {
        clusterId,
        destination: nodeId,
        capability: SHTAG_CAPABILITY,
        type: T_STATE,
        payload: encode(items),
      },
      'control',
    );
  }

  /** Arm the automatic takeover when the holder is another node and unreachable now. */
  private armFailover(e: Entry): void {
    if (!e.failoverAuto || e.owner === this.me || e.owner === 0 || e.failoverTimer !== null) {
      return;
    }
    if (this.holderReachable(e)) {
      return;
    }
    e.failoverTimer = this.o.clock.setTimer(this.o.nodeTimeoutMs, () => {
      e.failoverTimer = null;
      this.failover(e);
    });
  }

  private cancelFailover(e: Entry): void {
    e.failoverTimer?.cancel();
    e.failoverTimer = null;
  }

  private holderReachable(e: Entry): boolean {
    return this.o.network.peers(e.clusterId).some((p) => p.nodeId === e.owner && p.reachable);
  }

  /**
   * The holder stayed unreachable for node_timeout: the reachable node with the best priority
   * (then the lowest id) takes over; the others leave it to that node.
   */
  private failover(e: Entry): void {
    if (e.state === 'active' || e.owner === this.me || this.holderReachable(e)) {
      return;
    }
    const candidates = this.o.network
      .peers(e.clusterId)
      .filter((p) => p.reachable && p.nodeId !== e.owner)
      .map((p) => ({ id: p.nodeId, priority: p.priority }));
    candidates.push({ id: this.me, priority: this.o.myPriority(e.clusterId) });
    candidates.sort((a, b) => b.priority - a.priority || a.id - b.id);
    if (candidates[0]!.id === this.me) {
      this.stats.failovers++;
      this.o.logger.warn(
        { tag: e.tag, holder: e.owner },
        'sharing tag holder unreachable for node_timeout: taking over',
      );
      this.activate(e.tag, `failover: node ${e.owner} unreachable for node_timeout`);
    }
  }

  private set(e: Entry, state: ShtagState, reason: string): void {
    if (e.state === state) {
      return;
    }
    e.state = state;
    this.o.logger.info({ tag: e.tag, state, reason, epoch: e.epoch }, 'sharing tag changed');
    this.emit(e, reason);
  }

  private emit(e: Entry, reason: string): void {
    const change: ShtagChange = {
      tag: e.tag,
      name: e.name,
      clusterId: e.clusterId,
      state: e.state,
      reason,
      epoch: e.epoch,
      owner: e.owner,
    };
    for (const cb of [...this.listeners]) {
      try {
        cb(change);
      } catch (err) {
        this.o.logger.error({ err, tag: e.tag }, 'sharing tag callback failed');
      }
    }
  }
}

function encode(items: WireTag[]): Buffer {
  return Buffer.from(JSON.stringify(items));
}

/** A list of {t, e, n, a?} from the wire, or null when it is not one. */
function decode(payload: Buffer): WireTag[] | null {
  let raw: unknown;
  try {
    raw = JSON.parse(payload.toString('utf8'));
  } catch {
    return null;
  }
  if (!Array.isArray(raw)) {
    return null;
  }
  const out: WireTag[] = [];
  for (const it of raw as unknown[]) {
    if (typeof it !== 'object' || it === null) {
      return null;
    }
    const { t, e, n, a } = it as Record<string, unknown>;
    if (
      typeof t !== 'string' ||
      !Number.isSafeInteger(e) ||
      !Number.isSafeInteger(n) ||
      (a !== undefined && typeof a !== 'boolean')
    ) {
      return null;
    }
    out.push(
      a === undefined
        ? { t, e: e as number, n: n as number }
        : { t, e: e as number, n: n as number, a },
    );
  }
  return out;
}
