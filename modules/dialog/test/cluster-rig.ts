/**
 * Two dialog nodes on the in-memory cluster (test/helpers/memory-network.ts): node 1 holds the
 * sharing tag `service/1` active and node 2 as backup, both replicate dialogs and profiles in
 * cluster 1, share one wall clock, and each has its own proxy harness and fake clock. Also
 * the calls they carry (one Call-ID per call) and a fake cluster that records what a module
 * registers, for driving sync callbacks and events by hand.
 */
import type { Clusterer } from '../../../src/cluster/clusterer.js';
import { clustererSchema } from '../../../src/cluster/config.js';
import {
  parseMessage,
  type Capability,
  type CapabilityDefinition,
  type ClusterApi,
  type ScriptContext,
  type SipRequest,
} from '../../../src/module/index.js';
import type { Routes } from '../../../src/script/routes.js';
import { FakeClock } from '../../../test/helpers/fake-clock.js';
import { flush, memoryClusterer } from '../../../test/helpers/memory-clusterer.js';
import { MemoryHub } from '../../../test/helpers/memory-network.js';
import { RX, settle, type Harness } from '../../../test/helpers/proxy-fakes.js';
import { node, T0, type DialogRig } from './helpers.js';

export const TAG = 'service/1';

/** Initial INVITEs get a dialog (flags from X-Flags) and two profiles; in-dialog by did. */
export const routes: Routes = {
  async request(ctx: ScriptContext) {
    if (ctx.has_totag()) {
      if (ctx.loose_route() || ctx.match_dialog()) {
        await ctx.t_relay();
      }
      return;
    }
    if (ctx.is_method('INVITE')) {
      ctx.create_dialog(ctx.msg.get('x-flags') ?? 'B');
      ctx.set_dlg_profile('calls');
      ctx.set_dlg_profile('caller', 'alice');
      ctx.store_dlg_value('acc', 'cdr');
    }
    await ctx.t_relay();
  },
};

export interface Pair {
  hub: MemoryHub;
  nodes: [DialogRig, DialogRig];
  clusterers: [Clusterer, Clusterer];
  wall: { now: number };
  /** Advance the wall time and both nodes' clocks. */
  advance(ms: number): void;
  /** Make `service/1` active on node `n` (1 or 2) and let the other step down. */
  switchTo(n: 1 | 2): Promise<void>;
  stop(): Promise<void>;
}

/**
 * `synced`: node 1 is a seed and both nodes report their modules ready, so the sync engine runs
 * (node 2 pulls from node 1 before the test starts; a gap starts a resync); otherwise no
 * transfer ever runs and only live packets flow.
 */
export async function pair(params: Record<string, unknown> = {}, synced = false): Promise<Pair> {
  const hub = new MemoryHub(1);
  const wall = { now: T0 };
  const clusterers = [1, 2].map((id) =>
    memoryClusterer(
      hub,
      clustererSchema.parse({
        my_node_id: id,
        clusters: [
          {
            cluster_id: 1,
            nodes: [1, 2].map((n) => ({
              node_id: n,
              url: `bin:127.0.0.1:${String(5000 + n)}`,
              flags: synced && n === 1 ? ['seed'] : [],
            })),
          },
        ],
        sharing_tags: [`${TAG}=${id === 1 ? 'active' : 'backup'}`],
        seed_fallback_interval: 0,
      }),
      { clock: new FakeClock() },
    ),
  ) as [Clusterer, Clusterer];
  const nodes: DialogRig[] = [];
  for (const c of clusterers) {
    nodes.push(
      await node(routes, {
        params: { dialog_replication_cluster: 1, profile_replication_cluster: 1, ...params },
        sharingTags: c.sharingTags(),
        cluster: c.api(),
        wall,
      }),
    );
  }
  for (const c of clusterers) {
    await c.start();
  }
  await flush();
  if (synced) {
    for (const c of clusterers) {
      c.modulesReady();
      await flush();
    }
    for (let i = 0; i < 20 && !clusterers.every((c) => c.readiness().ready); i++) {
      await flush();
    }
  }
  const [a, b] = nodes as [DialogRig, DialogRig];
  return {
    hub,
    nodes: [a, b],
    clusterers,
    wall,
    advance(ms) {
      wall.now += ms;
      a.h.clock.advance(ms);
      b.h.clock.advance(ms);
    },
    async switchTo(n) {
      clusterers[n - 1]!.sharingTags().activate(TAG);
      await flush();
    },
    async stop() {
      await a.destroy();
      await b.destroy();
      for (const c of clusterers) {
        await c.stop();
      }
    },
  };
}

/** Call `n`'s INVITE from alice (Call-ID `call-n`, From tag `a<n>`). */
export function invite(n: number, flags = 'B'): SipRequest {
  return msg(
    `INVITE sip:bob@192.0.2.20:5070 SIP/2.0\r\n` +
      `Via: SIP/2.0/UDP 192.0.2.10:5062;branch=z9hG4bKinv${String(n)}\r\n` +
      `Max-Forwards: 70\r\nFrom: <sip:alice@example.com>;tag=a${String(n)}\r\n` +
      `To: <sip:bob@example.com>\r\nCall-ID: call-${String(n)}\r\nCSeq: 1 INVITE\r\n` +
      `Contact: <sip:alice@192.0.2.10:5062>\r\nX-Flags: ${flags}\r\n`,
  );
}

/** An in-dialog request of call `n` from the caller (`side` caller) or the callee. */
export function inDialog(
  n: number,
  method: string,
  did: string,
  cseq: number,
  side: 'caller' | 'callee' = 'caller',
): SipRequest {
  const [from, to, via] =
    side === 'caller'
      ? [
          `<sip:alice@example.com>;tag=a${String(n)}`,
          `<sip:bob@example.com>;tag=b${String(n)}`,
          '192.0.2.10:5062',
        ]
      : [
          `<sip:bob@example.com>;tag=b${String(n)}`,
          `<sip:alice@example.com>;tag=a${String(n)}`,
          '192.0.2.20:5070',
        ];
  return msg(
    `${method} sip:peer@192.0.2.30 SIP/2.0\r\n` +
      `Via: SIP/2.0/UDP ${via};branch=z9hG4bK${method}${side}${String(n)}x${String(cseq)}\r\n` +
      `Route: <sip:10.0.0.1:5060;lr;did=${did}>\r\nMax-Forwards: 70\r\n` +
      `From: ${from}\r\nTo: ${to}\r\nCall-ID: call-${String(n)}\r\nCSeq: ${String(cseq)} ${method}\r\n`,
  );
}

function msg(head: string): SipRequest {
  return parseMessage(Buffer.from(`${head}Content-Length: 0\r\n\r\n`, 'latin1')) as SipRequest;
}

/**
 * Call `n` placed on `r`: INVITE, optionally a 180 (early), then a 200 and the ACK unless
 * `upTo` stops earlier. Returns the dialog id and the INVITE's client transaction index.
 */
export async function place(
  r: DialogRig,
  n: number,
  upTo: 'invite' | 'early' | 'answered' | 'acked' = 'acked',
  flags = 'B',
): Promise<string> {
  const before = r.h.tx.clients.length;
  r.h.core.onRequest(invite(n, flags), RX, null);
  await settle();
  const branch = r.h.tx.clients[before]!;
  const did = didOf(r.h, before);
  if (upTo === 'invite') {
    return did;
  }
  branch.respond(180, '', `b${String(n)}`);
  await settle();
  if (upTo === 'early') {
    return did;
  }
  branch.respond(200, 'Contact: <sip:bob@192.0.2.20:5070>\r\n', `b${String(n)}`);
  await settle();
  if (upTo === 'acked') {
    r.h.core.onRequest(inDialog(n, 'ACK', did, 1), RX, null);
    await settle();
  }
  return did;
}

function didOf(h: Harness, i: number): string {
  const rr = h.tx.clients[i]!.request.get('record-route')!;
  return /did=([^;>]+)/.exec(rr)![1]!;
}

/** What a module registered with a {@link fakeCluster}, and what it sent. */
export interface FakeCluster {
  api: ClusterApi;
  defs: Map<string, CapabilityDefinition>;
  sent: { cap: string; type: number; payload: Buffer; to: number | 'all' }[];
  syncRequests: (string | null)[];
  /** What requestSync answers. */
  syncAnswer: boolean;
}

/** A cluster API with no network: it records registrations, sends and sync requests. */
export function fakeCluster(myNodeId: number, clusterIds = [1]): FakeCluster {
  const f: FakeCluster = {
    defs: new Map(),
    sent: [],
    syncRequests: [],
    syncAnswer: true,
    api: {
      myNodeId,
      clusterIds: () => clusterIds,
      registerCapability: (def) => {
        f.defs.set(def.name, def);
        const cap: Capability = {
          name: def.name,
          clusterId: def.clusterId,
          enabled: true,
          synced: true,
          sendTo: (to, type, payload) => {
            f.sent.push({ cap: def.name, type, payload, to });
            return 'queued';
          },
          sendAll: (type, payload) => {
            f.sent.push({ cap: def.name, type, payload, to: 'all' });
            return 1;
          },
          nodes: () => [],
          requestSync: (scope) => {
            f.syncRequests.push(scope ?? null);
            return f.syncAnswer;
          },
          syncedNodes: () => [myNodeId],
        };
        return cap;
      },
      nodes: () => [],
      onNodeUp: () => () => undefined,
      onNodeDown: () => () => undefined,
    },
  };
  return f;
}
