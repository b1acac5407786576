/**
 * Capabilities: what a module replicates through the cluster (OpenSIPS `register_capability`:
 * `usrloc-contact-repl`, `dialog-dlg-repl`). A module registers one with its packet handler and
 * gets a handle to send with; every packet carries the capability's data version (two bytes
 * before the module's payload) so a node never applies data of a format it does not speak,
 * then the sender's boot id and a per-destination sequence number (the sync engine in
 * src/cluster/sync sees gaps with them). `clusterer:set_cap_status` disables one: nothing is
 * sent or applied until it is enabled (the packets missed meanwhile show as a gap).
 */
import { CoreError } from '../core/errors.js';
import type { Logger } from '../core/logger.js';
import type { Capability, CapabilityDefinition, CapabilityEvent } from '../module/define-module.js';
import { CapSync, type SyncState } from './sync/cap-sync.js';
import { LIVE_HEADER } from './sync/codec.js';
import { BACKOFF_MIN_MS, type SyncEngine } from './sync/engine.js';
import type { ClusterNetwork } from './types.js';

export type {
  Capability,
  CapabilityDefinition,
  CapabilityEvent,
  CapabilityPacket,
  CapabilitySync,
  ClusterApi,
} from '../module/define-module.js';

/** One row of `clusterer:list_cap`. */
export interface CapabilityInfo {
  readonly name: string;
  readonly clusterId: number;
  readonly enabled: boolean;
  readonly dataVersion: number;
  readonly dropped: number;
  readonly synced: boolean;
  readonly state: SyncState;
  /** The transfer this node is receiving now: its donor, or null. */
  readonly donor: number | null;
  /** Transfers asked for and waiting for a donor or a back-off. */
  readonly pending: number;
  readonly recordsReceived: number;
  readonly recordsExpected: number | null;
  readonly recordsSent: number;
  readonly transfersServed: number;
  readonly serving: number;
  readonly gaps: number;
  readonly syncedBy: string;
  readonly lastFailure: string | null;
  /** Duration of the last verified transfer (ms), null before one. */
  readonly lastSyncMs: number | null;
}

export class CapabilityRegistry {
  private readonly caps = new Map<string, CapSync>();

  constructor(
    private readonly network: ClusterNetwork,
    private readonly logger: Logger,
    private readonly engine: SyncEngine,
  ) {}

  register(def: CapabilityDefinition): Capability {
    if (def.name.startsWith('clusterer:') || !/^[A-Za-z0-9_.-]{1,64}$/.test(def.name)) {
      throw new CoreError(
        'TANDEM_ERR_INVALID_ARGUMENT',
        `capability name ${def.name}: 1-64 of [A-Za-z0-9_.-], not clusterer:*`,
      );
    }
    if (this.caps.has(def.name)) {
      throw new CoreError('TANDEM_ERR_INVALID_STATE', `capability ${def.name} is registered twice`);
    }
    if (!this.network.clusterIds().includes(def.clusterId)) {
      throw new CoreError(
        'TANDEM_ERR_INVALID_ARGUMENT',
        `capability ${def.name}: this node is not in cluster ${def.clusterId}`,
      );
    }
    if (!Number.isInteger(def.dataVersion) || def.dataVersion < 0 || def.dataVersion > 0xffff) {
      throw new CoreError(
        'TANDEM_ERR_INVALID_ARGUMENT',
        `capability ${def.name}: dataVersion is 0-65535`,
      );
    }
    const reg = new CapSync(def, BACKOFF_MIN_MS);
    this.caps.set(def.name, reg);
    const engine = this.engine;
    this.network.onPacket(def.name, (p) => {
      if (!reg.enabled || p.payload.length < LIVE_HEADER || p.clusterId !== def.clusterId) {
        reg.dropped++;
        return;
      }
      const version = p.payload.readUInt16BE(0);
      if (version !== def.dataVersion) {
        reg.dropped++;
        this.logger.debug(
          { capability: def.name, from: p.source, version, expected: def.dataVersion },
          'packet of another data version dropped',
        );
        return;
      }
      engine.live(
        reg,
        {
          clusterId: p.clusterId,
          source: p.source,
          type: p.type,
          payload: p.payload.subarray(LIVE_HEADER),
        },
        p.payload.readUInt32BE(2),
        p.payload.readUInt32BE(6),
      );
    });
    engine.add(reg);
    const network = this.network;
    return {
      name: def.name,
      clusterId: def.clusterId,
      get enabled() {
        return reg.enabled;
      },
      sendTo(nodeId, type, payload, lane) {
        return reg.enabled ? engine.sendTo(reg, nodeId, type, payload, lane) : 'disabled';
      },
      sendAll(type, payload, lane) {
        return reg.enabled ? engine.sendAll(reg, type, payload, lane) : 0;
      },
      nodes: () => network.peers(def.clusterId),
      get synced() {
        return reg.synced;
      },
      requestSync: (scope) => engine.requestSync(reg, scope ?? null),
      syncedNodes: () => engine.syncedNodes(reg),
    };
  }

  /** The sync state of a registered capability (MI, tests). */
  get(name: string): CapSync | undefined {
    return this.caps.get(name);
  }

  /** Tell every capability of the cluster about an event. */
  notify(e: CapabilityEvent): void {
    for (const reg of this.caps.values()) {
      if (reg.def.clusterId !== e.clusterId || reg.def.onEvent === undefined) {
        continue;
      }
      try {
        reg.def.onEvent(e);
      } catch (err) {
        this.logger.error({ err, capability: reg.def.name }, 'capability event handler failed');
      }
    }
  }

  /** `clusterer:set_cap_status`; false when the capability is not registered in that cluster. */
  setEnabled(clusterId: number, name: string, enabled: boolean): boolean {
    const reg = this.caps.get(name);
    if (reg?.def.clusterId !== clusterId) {
      return false;
    }
    reg.enabled = enabled;
    return true;
  }

  list(): CapabilityInfo[] {
    const ready = this.engine.ready;
    return [...this.caps.values()].map((r) => ({
      name: r.def.name,
      clusterId: r.def.clusterId,
      enabled: r.enabled,
      dataVersion: r.def.dataVersion,
      dropped: r.dropped,
      synced: r.synced,
      state: r.state(ready),
      donor: r.transfer?.donor ?? null,
      pending: r.wants.length,
      recordsReceived: r.recordsReceived,
      recordsExpected: r.recordsExpected,
      recordsSent: r.recordsSent,
      transfersServed: r.transfersServed,
      serving: r.serving,
      gaps: r.gaps,
      syncedBy: r.syncedBy,
      lastFailure: r.lastFailure,
      lastSyncMs: r.lastSyncMs,
    }));
  }
}
