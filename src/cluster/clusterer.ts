/**
 * The control plane of the cluster on top of a {@link ClusterNetwork}: sharing tags, module
 * capabilities, node up/down tracking and its events, MI commands run on other nodes, admin
 * state and re-provisioning. The MI commands, script functions, events and statistics that
 * expose it are declared in mi.ts; app.ts builds one per node when `clusterer` is configured.
 */
import type { Clock } from '../core/clock.js';
import type { Logger } from '../core/logger.js';
import type { ReadinessState } from '../core/readiness.js';
import type { StatsRegistry } from '../core/stats.js';
import type { MiValue } from '../module/mi-types.js';
import type { ModuleSharingTags } from '../module/sharing-tags.js';
import {
  CapabilityRegistry,
  type Capability,
  type CapabilityDefinition,
  type ClusterApi,
} from './capabilities.js';
import type { ClustererConfig } from './config.js';
import type { NodeSource } from './provisioning.js';
import { SHTAG_CAPABILITY, SharingTagEngine, type ShtagChange } from './sharing-tags.js';
import { SYNC_CAPABILITY, SyncEngine } from './sync/engine.js';
import type { ClusterNetwork, ClusterPacket, NodeInfo } from './types.js';

/** The reserved capability `send_mi`/`broadcast_mi` travel on. */
export const MI_CAPABILITY = 'clusterer:mi';
const T_MI_REQUEST = 1;
const T_MI_REPLY = 2;
/** How long `send_mi` waits for the other node's answer. */
export const REMOTE_MI_TIMEOUT_MS = 5000;

/** An MI answer: a result, or an error with its code. */
export type RemoteMiReply =
  | { readonly result: MiValue }
  | { readonly error: { readonly code: number; readonly message: string } };

/** Runs an MI command on this node (the JSON-RPC engine, for requests from other nodes). */
export type LocalMi = (method: string, params: MiValue) => Promise<RemoteMiReply>;

export interface ClustererOptions {
  readonly config: ClustererConfig;
  readonly network: ClusterNetwork;
  readonly nodes: NodeSource;
  /** The provisioned nodes the network was built with (this node's own entries included). */
  readonly provisioned: Map<number, NodeInfo[]>;
  readonly clock: Clock;
  readonly logger: Logger;
  /** Raise an event (the event bus). */
  raise(event: string, params: Record<string, unknown>): void;
  /** Set once the MI engine exists; requests from other nodes are refused before. */
  localMi?: LocalMi;
  /**
   * Where per-capability counters are registered (`clusterer:cap_<name>_pkts_in` ...), for every
   * capability as it registers and for the reserved ones. Default: none.
   */
  stats?: StatsRegistry;
  /** Bounds of the live packets held back during a transfer (default: sync/engine.ts `HELD_LIMITS`). */
  heldLimits?: { readonly packets: number; readonly bytes: number };
}

const CAP_COUNTERS = [
  ['pkts_in', 'pktsIn', 'packets received'],
  ['pkts_out', 'pktsOut', 'packets sent'],
  ['bytes_in', 'bytesIn', 'payload bytes received'],
  ['bytes_out', 'bytesOut', 'payload bytes sent'],
] as const;

interface PendingMi {
  resolve(r: RemoteMiReply): void;
  timer: { cancel(): void };
}

export class Clusterer {
  readonly tags: SharingTagEngine;
  readonly caps: CapabilityRegistry;
  /** Sequence numbers, gaps, STATUS and full transfers of the capabilities. */
  readonly sync: SyncEngine;
  readonly network: ClusterNetwork;
  localMi: LocalMi | undefined;
  private provisioned: Map<number, NodeInfo[]>;
  private started = false;
  private readonly up = new Set<string>();
  private readonly nodeUp = new Set<(c: number, n: number) => void>();
  private readonly nodeDown = new Set<(c: number, n: number) => void>();
  private readonly pending = new Map<number, PendingMi>();
  private nextMiId = 1;
  /** Counters read by the statistics in mi.ts. */
  readonly counters = { node_state_changes: 0, remote_mi_in: 0, remote_mi_out: 0 };

  constructor(private readonly o: ClustererOptions) {
    this.network = o.network;
    this.provisioned = o.provisioned;
    this.localMi = o.localMi;
    this.sync = new SyncEngine({
      network: o.network,
      clock: o.clock,
      logger: o.logger,
      seedFallbackMs: o.config.seed_fallback_interval * 1000,
      syncTimeoutMs: o.config.sync_timeout * 1000,
      statusIntervalMs: o.config.ping_interval * 1000,
      isSeed: (clusterId) => this.self(clusterId)?.seed ?? false,
      ...(o.heldLimits === undefined ? {} : { heldLimits: o.heldLimits }),
    });
    this.caps = new CapabilityRegistry(o.network, o.logger, this.sync);
    this.tags = new SharingTagEngine({
      network: o.network,
      clock: o.clock,
      logger: o.logger,
      nodeTimeoutMs: o.config.node_timeout * 1000,
      myPriority: (clusterId) => this.self(clusterId)?.priority ?? 0,
    });
    const auto = Object.entries(o.config.sharing_tag_options)
      .filter(([, opt]) => opt.failover === 'auto')
      .map(([tag]) => tag);
    this.tags.configure(o.config.sharing_tags, auto);
    this.tags.onChange((c) => {
      this.raiseTag(c);
    });
    this.tags.attach();
    o.network.onPacket(MI_CAPABILITY, (p) => {
      this.miPacket(p);
    });
    this.capabilityStats(SHTAG_CAPABILITY);
    this.capabilityStats(MI_CAPABILITY);
    this.capabilityStats(SYNC_CAPABILITY);
    o.network.onReachability((clusterId, nodeId, reachable) => {
      this.reachability(clusterId, nodeId, reachable);
    });
  }

  get myNodeId(): number {
    return this.network.myNodeId;
  }

  async start(): Promise<void> {
    await this.network.start();
    this.started = true;
    this.sync.start();
  }

  /**
   * This node's modules are ready (app.ts: after the script loaded and the transport and the
   * cluster started): capabilities ask donors from now on, and `seed_fallback_interval` counts
   * from now, so a slow start-up never makes a seed declare itself synced with partial data.
   */
  modulesReady(): void {
    this.sync.modulesReady();
  }

  async stop(): Promise<void> {
    this.started = false;
    this.sync.stop();
    this.tags.stop();
    for (const [id, p] of this.pending) {
      p.timer.cancel();
      p.resolve({ error: { code: 500, message: 'node stopping' } });
      this.pending.delete(id);
    }
    await this.network.stop();
    await this.o.nodes.close();
  }

  /** `/ready`: ready once the network has started and every capability is synced. */
  readiness(): ReadinessState {
    if (!this.started) {
      return { ready: false, detail: 'cluster network not started' };
    }
    const unsynced = this.sync.unsynced();
    return unsynced.length === 0
      ? { ready: true }
      : { ready: false, detail: `capabilities not synced: ${unsynced.join(', ')}` };
  }

  /** This node's provisioned entry in a cluster. */
  self(clusterId: number): NodeInfo | undefined {
    return this.provisioned.get(clusterId)?.find((n) => n.nodeId === this.myNodeId);
  }

  /** Nodes seen up right now, and provisioned peers down. */
  nodeCounts(): { up: number; down: number } {
    let total = 0;
    for (const id of this.network.clusterIds()) {
      total += this.network.peers(id).length;
    }
    return { up: this.up.size, down: total - this.up.size };
  }

  /** Worst last ping round-trip over the peers (ms), 0 when none answered yet. */
  maxRttMs(): number {
    let worst = 0;
    for (const id of this.network.clusterIds()) {
      for (const p of this.network.peers(id)) {
        worst = Math.max(worst, p.rttMs ?? 0);
      }
    }
    return worst;
  }

  /** `host.cluster` for a module. */
  api(): ClusterApi {
    const first = (): number => this.network.clusterIds()[0] ?? 0;
    return {
      myNodeId: this.myNodeId,
      clusterIds: () => this.network.clusterIds(),
      registerCapability: (def: CapabilityDefinition): Capability => {
        const cap = this.caps.register(def);
        this.capabilityStats(def.name);
        this.syncStats(def.name);
        return cap;
      },
      nodes: (clusterId) => this.network.peers(clusterId ?? first()),
      onNodeUp: (cb) => {
        this.nodeUp.add(cb);
        return () => this.nodeUp.delete(cb);
      },
      onNodeDown: (cb) => {
        this.nodeDown.add(cb);
        return () => this.nodeDown.delete(cb);
      },
    };
  }

  /** `host.sharingTags` on a clustered node. */
  sharingTags(): ModuleSharingTags {
    const tags = this.tags;
    return {
      isActive: (tag) => tags.isActive(tag),
      state: (tag) => tags.state(tag),
      onChange: (cb) => tags.onChange(cb),
      activate: (tag) => {
        tags.activate(tag, 'activated by a module');
      },
      heldActive: (tag) => tags.heldActive(tag),
    };
  }

  /** `clusterer:reload`: re-read the node list (Redis) and hand it to the network. */
  async reload(): Promise<void> {
    const loaded = await this.o.nodes.load();
    for (const [clusterId, nodes] of loaded) {
      this.network.reprovision(clusterId, nodes);
    }
    this.provisioned = loaded;
  }

  get provisioning(): 'config' | 'redis' {
    return this.o.nodes.kind;
  }

  /** Run an MI command on another node and return its answer. */
  async sendMi(
    clusterId: number,
    nodeId: number,
    method: string,
    params: MiValue,
  ): Promise<RemoteMiReply> {
    const id = this.nextMiId++;
    const sent = await this.network.send(
      {
        clusterId,
        destination: nodeId,
        capability: MI_CAPABILITY,
        type: T_MI_REQUEST,
        payload: Buffer.from(JSON.stringify({ id, method, params })),
      },
      'control',
    );
    if (sent !== 'queued') {
      return { error: { code: 500, message: `node ${nodeId}: ${sent}` } };
    }
    this.counters.remote_mi_out++;
    return new Promise((resolve) => {
      const timer = this.o.clock.setTimer(REMOTE_MI_TIMEOUT_MS, () => {
        this.pending.delete(id);
        resolve({ error: { code: 500, message: `node ${nodeId}: no answer` } });
      });
      this.pending.set(id, { resolve, timer });
    });
  }

  private miPacket(p: ClusterPacket): void {
    let msg: unknown;
    try {
      msg = JSON.parse(p.payload.toString('utf8'));
    } catch {
      this.o.logger.debug({ from: p.source }, 'bad remote MI packet dropped');
      return;
    }
    if (
      typeof msg !== 'object' ||
      msg === null ||
      typeof (msg as { id?: unknown }).id !== 'number'
    ) {
      this.o.logger.debug({ from: p.source }, 'bad remote MI packet dropped');
      return;
    }
    const m = msg as { id: number; method?: unknown; params?: unknown } & RemoteMiReply;
    if (p.type === T_MI_REPLY) {
      const waiting = this.pending.get(m.id);
      if (waiting !== undefined) {
        this.pending.delete(m.id);
        waiting.timer.cancel();
        waiting.resolve('error' in m ? { error: m.error } : { result: m.result });
      }
      return;
    }
    if (p.type !== T_MI_REQUEST || typeof m.method !== 'string') {
      return;
    }
    this.counters.remote_mi_in++;
    const reply = (r: RemoteMiReply): void => {
      // The control lane never waits: the result is known at once.
      void this.network.send(
        {
          clusterId: p.clusterId,
          destination: p.source,
          capability: MI_CAPABILITY,
          type: T_MI_REPLY,
          payload: Buffer.from(JSON.stringify({ id: m.id, ...r })),
        },
        'control',
      );
    };
    if (this.localMi === undefined) {
      reply({ error: { code: 500, message: 'MI not available on this node' } });
      return;
    }
    this.localMi(m.method, (m.params ?? []) as MiValue).then(reply, (err: unknown) => {
      reply({ error: { code: 500, message: (err as Error).message } });
    });
  }

  private reachability(clusterId: number, nodeId: number, reachable: boolean): void {
    const key = `${clusterId}/${nodeId}`;
    if (reachable === this.up.has(key)) {
      return;
    }
    if (reachable) {
      this.up.add(key);
    } else {
      this.up.delete(key);
    }
    this.counters.node_state_changes++;
    this.o.logger.info(
      { cluster: clusterId, node: nodeId, reachable },
      'cluster node state changed',
    );
    this.o.raise('E_CLUSTERER_NODE_STATE_CHANGED', {
      cluster_id: clusterId,
      node_id: nodeId,
      new_state: reachable ? 1 : 0,
    });
    this.sync.reachability(clusterId, nodeId, reachable);
    this.caps.notify({ kind: reachable ? 'node_up' : 'node_down', clusterId, nodeId });
    for (const cb of reachable ? [...this.nodeUp] : [...this.nodeDown]) {
      try {
        cb(clusterId, nodeId);
      } catch (err) {
        this.o.logger.error({ err }, 'node up/down callback failed');
      }
    }
  }

  /** The network's counters of one capability as statistics (gauges: the network keeps them). */
  private capabilityStats(capability: string): void {
    const stats = this.o.stats;
    if (stats === undefined) {
      return;
    }
    const slug = capability.replace(/[^A-Za-z0-9]+/g, '_');
    for (const [suffix, field, what] of CAP_COUNTERS) {
      stats.register('clusterer', `cap_${slug}_${suffix}`, {
        kind: 'gauge',
        description: `${capability}: ${what}`,
        read: () => this.network.stats().perCapability.get(capability)?.[field] ?? 0,
      });
    }
  }

  /** A module capability's sync counters (`clusterer:cap_<name>_gaps` ...). */
  private syncStats(capability: string): void {
    const stats = this.o.stats;
    const cap = this.caps.get(capability);
    if (stats === undefined || cap === undefined) {
      return;
    }
    const slug = capability.replace(/[^A-Za-z0-9]+/g, '_');
    const counters = [
      ['gaps', 'replication gaps seen (lost live packets)', () => cap.gaps],
      ['records_sent', 'records sent as a sync donor', () => cap.recordsSent],
      ['transfers_served', 'full transfers served as a donor', () => cap.transfersServed],
    ] as const;
    for (const [suffix, what, read] of counters) {
      stats.register('clusterer', `cap_${slug}_${suffix}`, {
        kind: 'gauge',
        description: `${capability}: ${what}`,
        read,
      });
    }
  }

  private raiseTag(c: ShtagChange): void {
    this.o.raise('E_CLUSTERER_SHARING_TAG_CHANGED', {
      tag: c.name,
      cluster: c.clusterId,
      state: c.state,
      reason: c.reason,
      epoch: c.epoch,
    });
  }
}
