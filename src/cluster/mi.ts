/**
 * The `clusterer` manifest: the MI commands (OpenSIPS names, parameters and answer shapes:
 * `clusterer:list`, `list_topology`, `list_cap`, `list_shtags`, `shtag_set_active`,
 * `set_status`, `set_cap_status`, `remove_node`, `reload`, `send_mi`, `broadcast_mi`, each also
 * `clusterer_<name>`), the script functions `shtag_state()`, `is_active()` and
 * `shtag_set_active()`, the two events and the statistics. app.ts installs it when the
 * configuration has a `clusterer` section.
 */
import { defineModule, type ModuleManifest } from '../module/define-module.js';
import { MI_CODES, MiError } from '../module/mi-error.js';
import type { MiParams } from '../module/mi-params.js';
import type { MiCommandDefinition, MiValue } from '../module/mi-types.js';
import type { Clusterer, RemoteMiReply } from './clusterer.js';
import { parseTag } from './config.js';

declare module '../script/functions.js' {
  interface ScriptFunctions {
    /** `active` or `backup` for `name/cluster_id`; null when this node does not know the tag. */
    shtag_state(tag: string): 'active' | 'backup' | null;
    /** Is the tag active on this node (OpenSIPS `$cluster.sh_tag(...) == "active"`). */
    is_active(tag: string): boolean;
    /** Activate the tag here; false for a malformed tag or a cluster this node is not in. */
    shtag_set_active(tag: string): boolean;
  }
}

const CLUSTER_ID = { name: 'cluster_id', type: 'integer' } as const;
const NODE_ID = { name: 'node_id', type: 'integer' } as const;

function clusterOf(c: Clusterer, params: MiParams): number {
  const id = params.number('cluster_id');
  if (!c.network.clusterIds().includes(id)) {
    throw new MiError(MI_CODES.NOT_FOUND, 'Cluster ID not found');
  }
  return id;
}

function peerOf(c: Clusterer, clusterId: number, nodeId: number): void {
  if (!c.network.peers(clusterId).some((p) => p.nodeId === nodeId)) {
    throw new MiError(MI_CODES.NOT_FOUND, 'Node ID not found');
  }
}

function status(params: MiParams, name: string): boolean {
  const v = params.number(name);
  if (v !== 0 && v !== 1) {
    throw new MiError(MI_CODES.BAD_REQUEST, `Bad value for '${name}'`);
  }
  return v === 1;
}

function answer(r: RemoteMiReply): MiValue {
  if ('error' in r) {
    throw new MiError(r.error.code, r.error.message);
  }
  return r.result;
}

/**
 * Commands for the multi-process tests, present only with `TANDEM_TEST_HOOKS=1`:
 * `test_drop_next <capability> <count>` loses the next `count` live packets of a capability
 * this node sends (each `sendAll`/`sendTo` is one packet), after they took their sequence
 * numbers, as a dropped connection would.
 */
function testHooks(c: Clusterer): MiCommandDefinition[] {
  if (process.env['TANDEM_TEST_HOOKS'] !== '1') {
    return [];
  }
  return [
    {
      name: 'test_drop_next',
      description: 'test hook: drop the next live packets of a capability after numbering them',
      recipes: [
        {
          params: [
            { name: 'capability', type: 'string' },
            { name: 'count', type: 'integer' },
          ],
        },
      ],
      handler: (params) => {
        const cap = c.caps.get(params.string('capability'));
        if (cap === undefined) {
          throw new MiError(MI_CODES.NOT_FOUND, 'Capability not found');
        }
        const count = params.number('count');
        if (!Number.isInteger(count) || count < 0) {
          throw new MiError(MI_CODES.BAD_REQUEST, "Bad value for 'count'");
        }
        cap.dropNext = count;
        return undefined;
      },
    },
  ];
}

/** The cluster's manifest; `c` is the node's clusterer. */
export function clustererManifest(c: Clusterer): ModuleManifest {
  return defineModule({
    name: 'clusterer',
    description: 'Cluster: nodes, sharing tags, capabilities (bin/bins channel)',
    script: {
      shtag_state: (_ctx, tag: string) => c.tags.state(tag),
      is_active: (_ctx, tag: string) => c.tags.isActive(tag),
      shtag_set_active: (_ctx, tag: string) => c.tags.activate(tag, 'activated by the script'),
    },
    events: {
      E_CLUSTERER_NODE_STATE_CHANGED: {
        description: 'A node of a cluster became reachable (new_state 1) or unreachable (0)',
        params: ['cluster_id', 'node_id', 'new_state'],
      },
      E_CLUSTERER_SHARING_TAG_CHANGED: {
        description: 'A sharing tag changed state on this node, or a split brain was resolved',
        params: ['tag', 'cluster', 'state', 'reason', 'epoch'],
      },
    },
    stats: {
      nodes: {
        kind: 'gauge',
        description: 'provisioned peers of this node',
        read: () => {
          const n = c.nodeCounts();
          return n.up + n.down;
        },
      },
      nodes_up: {
        kind: 'gauge',
        description: 'peers reachable now',
        read: () => c.nodeCounts().up,
      },
      nodes_down: {
        kind: 'gauge',
        description: 'peers unreachable now',
        read: () => c.nodeCounts().down,
      },
      ping_rtt_max_ms: {
        kind: 'gauge',
        description: 'worst last ping round-trip time over the peers (ms)',
        read: () => c.maxRttMs(),
      },
      shtag_stale_ignored: {
        kind: 'counter',
        description: 'sharing tag activations ignored as older than the one known',
        read: () => c.tags.stats.stale_ignored,
      },
      shtag_split_brains: {
        kind: 'counter',
        description: 'split brains (two nodes active) resolved',
        read: () => c.tags.stats.split_brains,
      },
      shtag_failovers: {
        kind: 'counter',
        description: 'automatic takeovers of a tag by this node',
        read: () => c.tags.stats.failovers,
      },
      refused_connections: {
        kind: 'counter',
        description: 'connections refused (unprovisioned node, bad certificate)',
        read: () => c.network.stats().refusedConnections,
      },
      bad_frames: {
        kind: 'counter',
        description: 'malformed frames or unknown versions dropped',
        read: () => c.network.stats().badFrames,
      },
    },
    mi: [
      {
        name: 'list',
        description: 'lists the nodes of every cluster with their link state',
        handler: () => ({
          Clusters: c.network.clusterIds().map((id) => ({
            cluster_id: id,
            Nodes: c.network.peers(id).map((p) => ({
              node_id: p.nodeId,
              db_id: p.nodeId,
              url: p.url,
              link_state: p.link,
              state: p.enabled ? 'enabled' : 'disabled',
              next_hop: p.nextHop === null ? 'none' : String(p.nextHop),
              description: p.description === '' ? 'none' : p.description,
              ...(p.rttMs === null ? {} : { rtt_ms: p.rttMs }),
            })),
          })),
        }),
      },
      {
        name: 'list_topology',
        description: 'lists each node with its direct neighbours, as far as this node sees them',
        handler: () => ({
          Clusters: c.network.clusterIds().map((id) => {
            const flooded = c.network.topology?.(id);
            if (flooded !== undefined) {
              // Every node's adjacency as the flooded topology updates told this node.
              return {
                cluster_id: id,
                Nodes: [...flooded].map(([nodeId, neighbours]) => ({
                  node_id: nodeId,
                  Neighbours: [...neighbours],
                })),
              };
            }
            const peers = c.network.peers(id);
            const direct = peers.filter((p) => p.link === 'Up').map((p) => p.nodeId);
            return {
              cluster_id: id,
              Nodes: [
                { node_id: c.myNodeId, Neighbours: direct },
                ...peers
                  .filter((p) => p.reachable)
                  .map((p) => ({
                    node_id: p.nodeId,
                    Neighbours: p.link === 'Up' ? [c.myNodeId] : [],
                  })),
              ],
            };
          }),
        }),
      },
      {
        name: 'list_cap',
        description: 'lists the registered capabilities of every cluster',
        handler: () => {
          const caps = c.caps.list();
          return {
            Clusters: c.network.clusterIds().map((id) => ({
              cluster_id: id,
              Capabilities: caps
                .filter((cap) => cap.clusterId === id)
                .map((cap) => {
                  const s = c.network.stats().perCapability.get(cap.name);
                  return {
                    name: cap.name,
                    state: cap.state,
                    // OpenSIPS's own wording of the state, for scripts written against it.
                    status: cap.synced ? 'Ok' : 'not synced',
                    enabled: cap.enabled ? 'yes' : 'no',
                    data_version: cap.dataVersion,
                    pkts_in: s?.pktsIn ?? 0,
                    pkts_out: s?.pktsOut ?? 0,
                    bytes_in: s?.bytesIn ?? 0,
                    bytes_out: s?.bytesOut ?? 0,
                    dropped: cap.dropped,
                    transfer:
                      cap.donor !== null ? 'receiving' : cap.pending > 0 ? 'pending' : 'none',
                    donor: cap.donor === null ? 'none' : cap.donor,
                    records_received: cap.recordsReceived,
                    ...(cap.recordsExpected === null
                      ? {}
                      : { records_expected: cap.recordsExpected }),
                    records_sent: cap.recordsSent,
                    transfers_served: cap.transfersServed,
                    serving: cap.serving,
                    gaps: cap.gaps,
                    synced_by: cap.syncedBy === '' ? 'none' : cap.syncedBy,
                    last_failure: cap.lastFailure ?? 'none',
                    ...(cap.lastSyncMs === null ? {} : { last_sync_ms: cap.lastSyncMs }),
                  };
                }),
            })),
          };
        },
      },
      ...testHooks(c),
      {
        name: 'list_shtags',
        description: 'lists the sharing tags with their state on this node',
        handler: () =>
          c.tags.list().map((t) => ({
            Tag: t.name,
            Cluster: t.clusterId,
            State: t.state,
            Epoch: t.epoch,
            Holder: t.owner,
          })),
      },
      {
        name: 'shtag_set_active',
        description: 'makes a sharing tag active on this node; the others step down',
        recipes: [{ params: [{ name: 'tag', type: 'string' }] }],
        handler: (params) => {
          const tag = params.string('tag');
          const parsed = parseTag(tag);
          if (parsed === null) {
            throw new MiError(MI_CODES.BAD_REQUEST, 'Bad tag format <name/cluster_id>');
          }
          if (!c.network.clusterIds().includes(parsed.clusterId)) {
            throw new MiError(MI_CODES.NOT_FOUND, 'Cluster ID not found');
          }
          c.tags.activate(tag, 'activated by MI');
          return undefined;
        },
      },
      {
        name: 'set_status',
        description: 'disables (0) or enables (1) this node, or one peer, in a cluster',
        recipes: [
          { params: [CLUSTER_ID, { name: 'status', type: 'integer' }] },
          { params: [CLUSTER_ID, NODE_ID, { name: 'status', type: 'integer' }] },
        ],
        handler: (params) => {
          const clusterId = clusterOf(c, params);
          const enabled = status(params, 'status');
          const nodeId = params.has('node_id') ? params.number('node_id') : c.myNodeId;
          if (nodeId !== c.myNodeId) {
            peerOf(c, clusterId, nodeId);
          }
          c.network.setStatus(clusterId, nodeId, enabled);
          return undefined;
        },
      },
      {
        name: 'set_cap_status',
        description: 'disables (0) or enables (1) a capability in a cluster',
        recipes: [
          {
            params: [
              CLUSTER_ID,
              { name: 'capability', type: 'string' },
              { name: 'status', type: 'integer' },
            ],
          },
        ],
        handler: (params) => {
          const clusterId = clusterOf(c, params);
          const enabled = status(params, 'status');
          if (!c.caps.setEnabled(clusterId, params.string('capability'), enabled)) {
            throw new MiError(MI_CODES.NOT_FOUND, 'Capability not found');
          }
          return undefined;
        },
      },
      {
        name: 'remove_node',
        description: 'removes a node until it is provisioned again',
        recipes: [{ params: [CLUSTER_ID, NODE_ID] }],
        handler: (params) => {
          const clusterId = clusterOf(c, params);
          const nodeId = params.number('node_id');
          if (nodeId === c.myNodeId) {
            throw new MiError(MI_CODES.BAD_REQUEST, 'Cannot remove the current node');
          }
          if (!c.network.removeNode(clusterId, nodeId)) {
            throw new MiError(MI_CODES.NOT_FOUND, 'Node ID not found');
          }
          return undefined;
        },
      },
      {
        name: 'reload',
        description: 're-reads the provisioned nodes from Redis, keeping live links',
        handler: async () => {
          if (c.provisioning !== 'redis') {
            throw new MiError(MI_CODES.BAD_REQUEST, 'Running with config provisioning');
          }
          try {
            await c.reload();
          } catch (err) {
            throw new MiError(MI_CODES.SERVER_ERROR, `Failed to reload: ${(err as Error).message}`);
          }
          return undefined;
        },
      },
      {
        name: 'send_mi',
        description: 'runs an MI command on another node and returns its answer',
        aliases: ['cluster_send_mi'],
        recipes: [
          {
            params: [
              CLUSTER_ID,
              { name: 'destination', type: 'integer' },
              { name: 'cmd_name', type: 'string' },
              { name: 'cmd_params', type: 'any', optional: true },
            ],
          },
        ],
        handler: async (params) => {
          const clusterId = clusterOf(c, params);
          const to = params.number('destination');
          peerOf(c, clusterId, to);
          const args = params.value('cmd_params') ?? [];
          return answer(await c.sendMi(clusterId, to, params.string('cmd_name'), args));
        },
      },
      {
        name: 'broadcast_mi',
        description: 'runs an MI command on every reachable node of a cluster',
        aliases: ['cluster_broadcast_mi'],
        recipes: [
          {
            params: [
              CLUSTER_ID,
              { name: 'cmd_name', type: 'string' },
              { name: 'cmd_params', type: 'any', optional: true },
            ],
          },
        ],
        handler: async (params) => {
          const clusterId = clusterOf(c, params);
          const cmd = params.string('cmd_name');
          const args = params.value('cmd_params') ?? [];
          const peers = c.network.peers(clusterId).filter((p) => p.reachable);
          const replies = await Promise.all(
            peers.map((p) => c.sendMi(clusterId, p.nodeId, cmd, args)),
          );
          return {
            Nodes: peers.map((p, i) => ({ node_id: p.nodeId, ...replies[i]! })),
          };
        },
      },
    ],
  });
}
