/**
 * Building a node's clusterer from the `clusterer` configuration: the provisioned nodes (file or
 * Redis), the TLS files for `bins:`, the network (BinNetwork in production, an in-memory one in
 * tests) and the control plane on it.
 */
import { readFileSync } from 'node:fs';
import type { Clock } from '../core/clock.js';
import { CoreError } from '../core/errors.js';
import type { Logger } from '../core/logger.js';
import type { StatsRegistry } from '../core/stats.js';
import type { MiValue } from '../module/mi-types.js';
import { Clusterer, type LocalMi } from './clusterer.js';
import type { ClustererConfig } from './config.js';
import { nodeSource } from './provisioning.js';
import type { ClusterNetwork, NodeInfo } from './types.js';

/** What the network is built from (the shape of BinNetwork's options). */
export interface NetworkParams {
  readonly myNodeId: number;
  readonly clusters: readonly { clusterId: number; nodes: readonly NodeInfo[] }[];
  readonly tls?: { cert: Buffer; key: Buffer; ca: Buffer };
  readonly timers: {
    pingIntervalMs: number;
    pingTimeoutMs: number;
    noPingRetries: number;
    nodeTimeoutMs: number;
  };
  readonly enableRerouting: boolean;
  readonly clock: Clock;
  readonly logger: Logger;
}

export interface ClusterDeps {
  readonly clock: Clock;
  readonly logger: Logger;
  /** Where per-capability statistics go. */
  readonly stats?: StatsRegistry;
  raise(event: string, params: Record<string, unknown>): void;
  makeNetwork(p: NetworkParams): ClusterNetwork;
}

function readTls(tls: NonNullable<ClustererConfig['tls']>): {
  cert: Buffer;
  key: Buffer;
  ca: Buffer;
} {
  const read = (what: 'cert' | 'key' | 'ca'): Buffer => {
    try {
      return readFileSync(tls[what]);
    } catch (err) {
      throw new CoreError(
        'TANDEM_ERR_CONFIG',
        `clusterer.tls.${what}: cannot read ${tls[what]}: ${(err as Error).message}`,
      );
    }
  };
  return { cert: read('cert'), key: read('key'), ca: read('ca') };
}

/** Load the node list, build the network and the clusterer (not started). */
export async function createClusterer(
  config: ClustererConfig,
  deps: ClusterDeps,
): Promise<Clusterer> {
  const nodes = nodeSource(config);
  let provisioned: Map<number, NodeInfo[]>;
  try {
    provisioned = await nodes.load();
  } catch (err) {
    await nodes.close();
    throw new CoreError(
      'TANDEM_ERR_CONFIG',
      `clusterer: cannot load the provisioned nodes: ${(err as Error).message}`,
      { cause: err },
    );
  }
  const params: NetworkParams = {
    myNodeId: config.my_node_id,
    clusters: [...provisioned].map(([clusterId, list]) => ({ clusterId, nodes: list })),
    ...(config.tls === undefined ? {} : { tls: readTls(config.tls) }),
    timers: {
      pingIntervalMs: config.ping_interval * 1000,
      pingTimeoutMs: config.ping_timeout,
      noPingRetries: config.no_ping_retries,
      nodeTimeoutMs: config.node_timeout * 1000,
    },
    enableRerouting: config.enable_rerouting,
    clock: deps.clock,
    logger: deps.logger,
  };
  let network: ClusterNetwork;
  try {
    network = deps.makeNetwork(params);
  } catch (err) {
    await nodes.close();
    throw err;
  }
  return new Clusterer({
    config,
    network,
    nodes,
    provisioned,
    clock: deps.clock,
    logger: deps.logger,
    ...(deps.stats === undefined ? {} : { stats: deps.stats }),
    raise: (event, params) => {
      deps.raise(event, params);
    },
  });
}

/** What runs MI commands for other nodes: the node's JSON-RPC engine. */
export interface MiEngineLike {
  handle(message: unknown, deferred?: (() => void)[]): Promise<unknown>;
}

/**
 * `send_mi` and `broadcast_mi` from other nodes run through the same engine as HTTP requests
 * (recipes, parameter checks, error codes); work a command defers until its answer is out (the
 * `shutdown` command) runs once the answer is handed back.
 */
export function localMiRunner(engine: MiEngineLike): LocalMi {
  return async (method, params) => {
    const deferred: (() => void)[] = [];
    const reply = (await engine.handle({ jsonrpc: '2.0', method, params, id: 1 }, deferred)) as {
      result?: MiValue;
      error?: { code: number; message: string };
    } | null;
    setImmediate(() => {
      for (const fn of deferred) {
        fn();
      }
    });
    if (reply?.error !== undefined) {
      return { error: { code: reply.error.code, message: reply.error.message } };
    }
    return { result: reply?.result ?? null };
  };
}
