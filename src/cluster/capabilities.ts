/**
 * Capabilities: what a module replicates through the cluster (OpenSIPS `register_capability`:
 * `usrloc-contact-repl`, `dialog-dlg-repl`). A module registers one with its packet handler and
 * gets a handle to send with; every packet carries the capability's data version (two bytes
 * before the module's payload) so a node never applies data of a format it does not speak.
 * `clusterer:set_cap_status` disables one: nothing is sent or applied until it is enabled.
 */
import { CoreError } from '../core/errors.js';
import type { Logger } from '../core/logger.js';
import type { Capability, CapabilityDefinition, CapabilityEvent } from '../module/define-module.js';
import type { ClusterNetwork } from './types.js';

export type {
  Capability,
  CapabilityDefinition,
  CapabilityEvent,
  CapabilityPacket,
  CapabilitySync,
  ClusterApi,
} from '../module/define-module.js';

interface Registered {
  readonly def: CapabilityDefinition;
  enabled: boolean;
  /** Packets dropped: another data version, disabled, or too short. */
  dropped: number;
}

/** One row of `clusterer:list_cap`. */
export interface CapabilityInfo {
  readonly name: string;
  readonly clusterId: number;
  readonly enabled: boolean;
  readonly dataVersion: number;
  readonly dropped: number;
  readonly synced: boolean;
}

const HEADER = 2;

export class CapabilityRegistry {
  private readonly caps = new Map<string, Registered>();

  constructor(
    private readonly network: ClusterNetwork,
    private readonly logger: Logger,
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
    const reg: Registered = { def, enabled: true, dropped: 0 };
    this.caps.set(def.name, reg);
    this.network.onPacket(def.name, (p) => {
      if (!reg.enabled || p.payload.length < HEADER || p.clusterId !== def.clusterId) {
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
      try {
        def.onPacket({
          clusterId: p.clusterId,
          source: p.source,
          type: p.type,
          payload: p.payload.subarray(HEADER),
        });
      } catch (err) {
        reg.dropped++;
        this.logger.error({ err, capability: def.name }, 'capability packet handler failed');
      }
    });
    const network = this.network;
    const frame = (payload: Buffer): Buffer => {
      const head = Buffer.allocUnsafe(HEADER);
      head.writeUInt16BE(def.dataVersion, 0);
      return Buffer.concat([head, payload]);
    };
    return {
      name: def.name,
      clusterId: def.clusterId,
      get enabled() {
        return reg.enabled;
      },
      sendTo(nodeId, type, payload, lane) {
        if (!reg.enabled) {
          return 'disabled';
        }
        return network.send(
          {
            clusterId: def.clusterId,
            destination: nodeId,
            capability: def.name,
            type,
            payload: frame(payload),
          },
          lane,
        );
      },
      sendAll(type, payload, lane) {
        if (!reg.enabled) {
          return 0;
        }
        return network.broadcast(def.clusterId, def.name, type, frame(payload), lane);
      },
      nodes: () => network.peers(def.clusterId),
      // Until the sync engine (src/cluster/sync) lands, live packets are all there is: a
      // capability is as synced as they make it and no full transfer can be asked for.
      synced: true,
      requestSync: () => false,
      syncedNodes: () => [
        network.myNodeId,
        ...network
          .peers(def.clusterId)
          .filter((p) => p.reachable)
          .map((p) => p.nodeId),
      ],
    };
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
    return [...this.caps.values()].map((r) => ({
      name: r.def.name,
      clusterId: r.def.clusterId,
      enabled: r.enabled,
      dataVersion: r.def.dataVersion,
      dropped: r.dropped,
      // No full transfer exists before issue 8: a capability is as synced as live packets make it.
      synced: true,
    }));
  }
}
