/**
 * `defineModule()`: one typed manifest per module, like an OpenSIPS `module_exports` table: its
 * parameters (a zod schema: defaults, units, validation), script functions, MI commands,
 * statistics, events, periodic jobs and whether each runs only where a sharing tag is active,
 * the modules it needs, and the API it offers them. The replicated capability joins with the
 * cluster issues. The core's own MI commands are declared through the same type
 * (src/mi/core-commands.ts), so there is one path into the registries.
 *
 * A module file's default export is a factory returning the manifest, so every app (several
 * run in one test process) gets a module instance of its own: state lives in the closure.
 */
import type { z } from 'zod';
import type { Clock } from '../core/clock.js';
import { CoreError } from '../core/errors.js';
import type { EventBus, EventDefinition, EventParams } from '../core/events.js';
import type { Logger } from '../core/logger.js';
import type { ReadinessSource } from '../core/readiness.js';
import type { StatCell, StatKind } from '../core/stats.js';
import type { UacRequest, UacResult } from '../proxy/uac.js';
import type { ScriptContext } from '../script/context.js';
import type { ScriptFunctionImpl } from '../script/functions.js';
import type { SendTarget } from '../transport/types.js';
import type { MiCommandDefinition } from './mi-types.js';
import type { ModuleSharingTags } from './sharing-tags.js';

/** A statistic a module declares; it appears as `module:name`. */
export interface StatDefinition {
  readonly kind: StatKind;
  readonly description: string;
  /**
   * Read the value from the module's own state (OpenSIPS's function statistics). Without it the
   * registry keeps the value and the module updates it through {@link ModuleHost.stat}.
   */
  readonly read?: () => number;
  /** For a `read` counter: how to zero it. Without it the counter is not resettable. */
  readonly reset?: () => void;
}

/**
 * A resettable counter kept as a numeric field of the module's own object (`stats.hits++` on
 * the hot path, no registry call): the statistic reads the field and a reset zeroes it. The
 * owner may be a getter for an object the module makes only at init.
 */
export function fieldCounter<K extends string>(
  owner: Record<K, number> | (() => Record<K, number> | null),
  key: K,
  description: string,
): StatDefinition {
  // An owner made at init (a queue, a store) is given as a getter; 0 until it exists.
  const get = typeof owner === 'function' ? owner : () => owner;
  return {
    kind: 'counter',
    description,
    read: () => get()?.[key] ?? 0,
    reset: () => {
      const o = get();
      if (o !== null) {
        o[key] = 0;
      }
    },
  };
}

/**
 * A periodic job (expiry, keepalive pings, probing). `shtag`: the job acts only on data whose
 * sharing tag is active on this node (the cluster issues gate it; a single node is active for
 * every tag), so the manifest says which jobs a backup node leaves to the active one.
 */
export interface JobDefinition<P = unknown> {
  readonly description: string;
  /**
   * `true`/`false`: as above, the job runs everywhere and checks each record's tag. `{ tag }`:
   * the job runs only while that tag (`name/cluster_id`, or computed from the module's
   * parameters) is active on this node; the SDK starts it on activation and stops it on
   * step-down, so a backup never runs it.
   */
  readonly shtag: boolean | { readonly tag: string | JobTagOf<P> };
}

/** The tag of a gated job computed from the module's parameters (method form: bivariant). */
export type JobTagOf<P> = { tagOf(params: P): string }['tagOf'];

/** What a job run receives. */
export interface JobRun {
  /** Wall-clock time of this run, ms since the epoch. */
  readonly now: number;
}

/** Originating SIP requests from a module (src/proxy/uac.ts implements it). */
export interface SipOriginator {
  /** Send a non-INVITE request; resolves with its final status (408 timeout, 503 unsendable). */
  request(r: UacRequest): Promise<UacResult>;
  /** Send bytes outside any transaction (CRLF keep-alives). */
  sendRaw(target: SendTarget, data: Buffer): void;
}

/** Traffic class of a cluster packet (src/cluster/types.ts `Lane`). */
export type ClusterLane = 'control' | 'data' | 'bulk';

/** How a cluster send ended (src/cluster/types.ts `SendResult`). */
export type ClusterSendResult = 'queued' | 'unreachable' | 'disabled' | 'unknown_node';

/** Another node of a cluster as a module sees it (src/cluster/types.ts `PeerStatus`). */
export interface ClusterPeer {
  readonly clusterId: number;
  readonly nodeId: number;
  readonly url: string;
  readonly sipAddr: string;
  readonly priority: number;
  readonly seed: boolean;
  readonly description: string;
  readonly link: 'Up' | 'Down' | 'Probe';
  readonly reachable: boolean;
  readonly nextHop: number | null;
  readonly enabled: boolean;
  readonly rttMs: number | null;
}

/** A packet as a capability receives it (payload without the data-version prefix). */
export interface CapabilityPacket {
  readonly clusterId: number;
  readonly source: number;
  readonly type: number;
  readonly payload: Buffer;
}

/**
 * What a capability is told besides packets: peers coming and going, and the start and end of a
 * full transfer (this node receiving: `sync_requested` when it asks `nodeId`, `sync_done` when
 * the transfer ended, verified or not).
 */
export type CapabilityEvent =
  | { readonly kind: 'node_up'; readonly clusterId: number; readonly nodeId: number }
  | { readonly kind: 'node_down'; readonly clusterId: number; readonly nodeId: number }
  | { readonly kind: 'sync_requested'; readonly clusterId: number; readonly nodeId: number }
  | {
      readonly kind: 'sync_done';
      readonly clusterId: number;
      readonly nodeId: number;
      readonly ok: boolean;
      readonly detail?: string;
    };

/** Which transfer a sync callback belongs to. */
export interface SyncContext {
  /** The other node: the receiver (on the donor) or the donor (on the receiver). */
  readonly node: number;
  /**
   * What to transfer: null for everything, or a module-defined subset (the dialog module's
   * `dlg_cluster_sync <sharing_tag>` passes the tag).
   */
  readonly scope: string | null;
}

/**
 * A capability's full transfer (src/cluster/sync runs it). The module only emits and applies
 * records, one Buffer each; the engine chunks them on the bulk lane with back-pressure, counts
 * and digests them, and verifies count and digest on the receiver before it calls the
 * capability synced. Live packets that arrive from the sync request on are held back and
 * handed to `onPacket` after `end`, so a record sent by the sync can never land after a newer
 * live change; `apply` must still follow the revision rule (apply only if newer), which makes
 * a resync, a replay and a load from the store commute.
 */
export interface CapabilitySync {
  /**
   * Whether a node must pull the data set from a donor before it is synced (default true).
   * False: the capability is synced at start (it only carries live state).
   */
  readonly startupSync?: boolean;
  /**
   * Donor side: emit every record of `ctx.scope`, each one Buffer (under 1 MiB), awaiting what
   * `emit` returns (it resolves when there is room: back-pressure). Iterate without copying the
   * whole set; a record changed meanwhile may be emitted in either version (live replication
   * carries the change). A throw or rejection aborts the transfer (the receiver retries).
   */
  donate(ctx: SyncContext, emit: (record: Buffer) => void | Promise<void>): Promise<void>;
  /**
   * Receiver: a transfer starts. Do not plan to drop, at `end`, what the donor did not send: a
   * split makes both sides resync from each other, and each would drop the writes it took while
   * cut. Deletes a node missed travel as tombstones in the transfer instead (usrloc, dialog).
   */
  begin?(ctx: SyncContext): void;
  /** Receiver: one record, applied only if newer than the held one. */
  apply(record: Buffer, ctx: SyncContext): void;
  /**
   * Receiver: the transfer ended; `ok` means every record arrived and count and digest matched
   * (not ok: a retry follows). The live packets held back since the request come after this.
   */
  end?(ctx: SyncContext, ok: boolean): void;
}

/** What a module passes to `host.cluster.registerCapability`. */
export interface CapabilityDefinition {
  /** `module-what-repl`; names starting with `clusterer:` are reserved. */
  readonly name: string;
  /** The cluster it replicates in (a module parameter, like OpenSIPS's `*_cluster`). */
  readonly clusterId: number;
  /** Version of the payload format; packets of another version are dropped and counted. */
  readonly dataVersion: number;
  onPacket(p: CapabilityPacket): void;
  onEvent?(e: CapabilityEvent): void;
  readonly sync?: CapabilitySync;
}

/** The handle a registered capability sends with. */
export interface Capability {
  readonly name: string;
  readonly clusterId: number;
  /** False while disabled by `clusterer:set_cap_status`. */
  readonly enabled: boolean;
  /** Send to one node; `bulk` waits for room (back-pressure). */
  sendTo(
    nodeId: number,
    type: number,
    payload: Buffer,
    lane?: ClusterLane,
  ): ClusterSendResult | Promise<ClusterSendResult>;
  /** Send to every reachable node of the cluster; returns how many it was queued for. */
  sendAll(type: number, payload: Buffer, lane?: ClusterLane): number;
  /** The cluster's other nodes and their state. */
  nodes(): ClusterPeer[];
  /**
   * True once the capability holds the cluster's data set: after a verified transfer, by the
   * seed fallback, or at once when it has no `sync` or `startupSync: false`.
   */
  readonly synced: boolean;
  /**
   * Pull the data set (or `scope` of it) again from a donor (`ul_cluster_sync`,
   * `dlg_cluster_sync`); returns at once, the transfer runs and retries in the background.
   * False when the capability has no `sync`.
   */
  requestSync(scope?: string | null): boolean;
  /** Synced nodes of the cluster for this capability, this node included when synced. */
  syncedNodes(): number[];
}

/** `host.cluster`: null on a standalone node. */
export interface ClusterApi {
  readonly myNodeId: number;
  clusterIds(): number[];
  registerCapability(def: CapabilityDefinition): Capability;
  /** The other nodes of a cluster (default: this node's first cluster). */
  nodes(clusterId?: number): ClusterPeer[];
  onNodeUp(cb: (clusterId: number, nodeId: number) => void): () => void;
  onNodeDown(cb: (clusterId: number, nodeId: number) => void): () => void;
}

/** What a module receives at init: its own view of the core's services. */
export interface ModuleHost<P = unknown> {
  readonly name: string;
  /** The module's parameters from `modules.<name>` in the configuration, checked and defaulted. */
  readonly params: P;
  /** Monotonic time and timers (a fake clock in tests). */
  readonly clock: Clock;
  /** Wall-clock milliseconds since the epoch (expiry times that survive a restart). */
  wallTime(): number;
  /**
   * Which sharing tags are active on this node (jobs with `shtag` act only for those), their
   * state, change callbacks and activation.
   */
  readonly sharingTags: ModuleSharingTags;
  /** The cluster (capabilities, nodes, up/down callbacks); null on a standalone node. */
  readonly cluster: ClusterApi | null;
  /** The directory for the module's files (under the configured `data_dir`). */
  readonly dataDir: string;
  /**
   * Run a declared job every `intervalMs` until the module is destroyed. A run that throws or
   * rejects is logged and counted; a run still going when the next is due is skipped.
   */
  every(job: string, intervalMs: number, run: (r: JobRun) => void | Promise<void>): void;
  /** Requests the node originates (keep-alive and dialog pings, BYEs) and raw keep-alives. */
  readonly sip: SipOriginator;
  /** The API another module offers (it must be listed in `depends`). */
  // The caller names the type it imports from that module's api.ts.
  // eslint-disable-next-line @typescript-eslint/no-unnecessary-type-parameters
  api<T>(module: string): T;
  /** The module's logger (`{ module: name }`), its level settable by MI `log_level`. */
  readonly logger: Logger;
  /** The cell of a declared statistic that has no `read` (a counter or gauge to update). */
  stat(name: string): StatCell;
  /** Raise an event (one this module or another declared). */
  raise(event: string, params?: EventParams): void;
  /** Subscribe to events (any declared event, or `'*'`). */
  readonly events: Pick<EventBus, 'subscribe' | 'has' | 'hasSubscribers'>;
  /**
   * Add a readiness source (`/ready` is 200 only when all are ready), named `module:name`; the
   * cluster registers one per replicated capability until it is synced.
   */
  readiness(name: string, source: ReadinessSource): () => void;
}

export interface ModuleManifest<P = unknown> {
  /** Lower-case identifier: the MI prefix, the statistics group, the logger's name. */
  readonly name: string;
  readonly description: string;
  /**
   * The parameters (OpenSIPS `modparam`): a zod object schema with defaults. Unknown keys and
   * bad values fail the start naming `modules.<name>.<key>`.
   */
  readonly params?: z.ZodType<P>;
  /** Modules that must be loaded before this one (their APIs are used through `host.api`). */
  readonly depends?: readonly string[];
  /** Script functions, called from the routing script as `ctx.<name>(...)`. */
  readonly script?: Readonly<Record<string, ScriptFunctionImpl>>;
  /**
   * Runs when the script's `loose_route()` removed this proxy's own Route entry from a request
   * (OpenSIPS rr callbacks): a sequential request of a dialog we record-routed, whose Route
   * parameters `ctx.route_param()` reads. The dialog module matches requests to dialogs here.
   */
  readonly looseRoute?: (ctx: ScriptContext) => void;
  readonly mi?: readonly MiCommandDefinition[];
  readonly stats?: Readonly<Record<string, StatDefinition>>;
  readonly events?: Readonly<Record<string, EventDefinition>>;
  /** Periodic jobs started through `host.every`, and which the sharing tag gates. */
  readonly jobs?: Readonly<Record<string, JobDefinition<P>>>;
  /**
   * Called once every module's declarations are registered, in load order. What it returns is
   * the module's API for the modules that depend on it.
   */
  init?(host: ModuleHost<P>): unknown;
  /** Called at shutdown, in reverse load order. */
  destroy?(): void | Promise<void>;
}

/** A module file's default export: a fresh manifest (and module instance) per app. */
export type ModuleFactory = () => ModuleManifest;

const MODULE_NAME = /^[a-z][a-z0-9_]*$/;
const COMMAND_NAME = /^[A-Za-z][A-Za-z0-9_]*$/;
const PARAM_NAME = /^[A-Za-z_][A-Za-z0-9_]*$/;

/**
 * Give a manifest its type and check what can be checked without the registries: names,
 * recipes (unique parameter names, optional ones last), handlers. Throws naming the fault.
 */
export function defineModule<P, M extends ModuleManifest<P>>(manifest: M & ModuleManifest<P>): M {
  const fail = (what: string): never => {
    throw new CoreError('TANDEM_ERR_INVALID_ARGUMENT', `module ${manifest.name}: ${what}`);
  };
  if (!MODULE_NAME.test(manifest.name)) {
    fail('the name must be lower-case letters, digits and underscores');
  }
  for (const name of Object.keys(manifest.script ?? {})) {
    if (!PARAM_NAME.test(name)) {
      fail(`script function name "${name}" is not an identifier`);
    }
  }
  for (const dep of manifest.depends ?? []) {
    if (!MODULE_NAME.test(dep) || dep === manifest.name) {
      fail(`depends lists "${dep}", which cannot be a module`);
    }
  }
  const names = new Set<string>();
  for (const cmd of manifest.mi ?? []) {
    if (!COMMAND_NAME.test(cmd.name)) {
      fail(`MI command name "${cmd.name}" is not [A-Za-z][A-Za-z0-9_]*`);
    }
    // An alias may repeat the name (`profile_get_size`: the global name OpenSIPS uses is the
    // command's own); the registry adds it once.
    for (const alias of new Set([cmd.name, ...(cmd.aliases ?? [])])) {
      if (names.has(alias)) {
        fail(`MI name "${alias}" is declared twice`);
      }
      names.add(alias);
    }
    if (typeof cmd.handler !== 'function') {
      fail(`MI command ${cmd.name} has no handler`);
    }
    (cmd.recipes ?? []).forEach((recipe, i) => {
      checkRecipe(recipe.params, (what) => fail(`MI command ${cmd.name} recipe ${i}: ${what}`));
    });
  }
  return manifest;
}

function checkRecipe(
  params: readonly { name: string; optional?: boolean }[],
  fail: (what: string) => never,
): void {
  const seen = new Set<string>();
  let optionalSeen = false;
  for (const p of params) {
    if (!PARAM_NAME.test(p.name)) {
      fail(`parameter name "${p.name}" is not an identifier`);
    }
    if (seen.has(p.name)) {
      fail(`parameter ${p.name} appears twice`);
    }
    seen.add(p.name);
    if (p.optional === true) {
      optionalSeen = true;
    } else if (optionalSeen) {
      fail(`required parameter ${p.name} follows an optional one`);
    }
  }
}
