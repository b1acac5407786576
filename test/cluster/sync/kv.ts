/**
 * A test capability: a Map<key, {rev, value}> replicated with the revision rule (a delete is a
 * tombstone with its revision), records and live packets as JSON, and the nodes of a memory
 * cluster that run it. Used by the sync engine's tests.
 */
import { Clusterer } from '../../../src/cluster/clusterer.js';
import { ConfigNodeSource, configNodes } from '../../../src/cluster/provisioning.js';
import { silentLogger } from '../../../src/core/logger.js';
import { clustererSchema, type ClustererConfig } from '../../../src/cluster/config.js';
import type {
  Capability,
  CapabilityEvent,
  SyncContext,
} from '../../../src/module/define-module.js';
import { FakeClock } from '../../helpers/fake-clock.js';
import { flush } from '../../helpers/memory-clusterer.js';
import { MemoryHub } from '../../helpers/memory-network.js';

export interface Entry {
  rev: number;
  value: string | null;
}

interface Rec {
  k: string;
  r: number;
  v: string | null;
}

export const CAP = 'kv-repl';
const T_PUT = 1;

export interface KvOptions {
  /** Yield to the event loop every this many records while donating (0: never). */
  yieldEvery?: number;
  /** Called before each record is donated (a test cuts a link mid-transfer). */
  onDonate?: (count: number, ctx: SyncContext) => void | Promise<void>;
  startupSync?: boolean;
}

/** One node's store and capability. */
export class Kv {
  readonly map = new Map<string, Entry>();
  readonly events: CapabilityEvent[] = [];
  readonly scopes: (string | null)[] = [];
  applied = 0;
  ends: boolean[] = [];
  cap!: Capability;

  constructor(private readonly o: KvOptions = {}) {}

  register(c: Clusterer): this {
    this.cap = c.api().registerCapability({
      name: CAP,
      clusterId: 1,
      dataVersion: 1,
      onPacket: (p) => {
        this.merge(JSON.parse(p.payload.toString('utf8')) as Rec);
      },
      onEvent: (e) => this.events.push(e),
      sync: {
        ...(this.o.startupSync === undefined ? {} : { startupSync: this.o.startupSync }),
        donate: async (ctx, emit) => {
          this.scopes.push(ctx.scope);
          let n = 0;
          for (const [k, e] of this.map) {
            if (ctx.scope !== null && !k.startsWith(ctx.scope)) {
              continue;
            }
            await this.o.onDonate?.(n, ctx);
            await emit(Buffer.from(JSON.stringify({ k, r: e.rev, v: e.value })));
            n++;
            if (this.o.yieldEvery !== undefined && n % this.o.yieldEvery === 0) {
              await new Promise<void>((r) => setImmediate(r));
            }
          }
        },
        apply: (record) => {
          this.applied++;
          this.merge(JSON.parse(record.toString('utf8')) as Rec);
        },
        end: (_ctx, ok) => {
          this.ends.push(ok);
        },
      },
    });
    return this;
  }

  /** A local write, replicated live. */
  put(k: string, rev: number, value: string | null): void {
    this.map.set(k, { rev, value });
    this.cap.sendAll(T_PUT, Buffer.from(JSON.stringify({ k, r: rev, v: value })));
  }

  /** Fill the store without replicating (a node's persisted data). */
  fill(n: number, rev = 1, prefix = 'k'): void {
    for (let i = 0; i < n; i++) {
      this.map.set(`${prefix}${i}`, { rev, value: `v${i}-${rev}` });
    }
  }

  private merge(r: Rec): void {
    const held = this.map.get(r.k);
    if (held === undefined || held.rev < r.r) {
      this.map.set(r.k, { rev: r.r, value: r.v });
    }
  }
}

export function config(
  me: number,
  seeds: readonly number[],
  extra: Record<string, unknown> = {},
  ids: readonly number[] = [1, 2, 3],
): ClustererConfig {
  return clustererSchema.parse({
    my_node_id: me,
    clusters: [
      {
        cluster_id: 1,
        nodes: ids.map((id) => ({
          node_id: id,
          url: `bin:127.0.0.1:${5000 + id}`,
          flags: seeds.includes(id) ? ['seed'] : [],
        })),
      },
    ],
    ...extra,
  });
}

export interface Node {
  readonly id: number;
  readonly c: Clusterer;
  readonly kv: Kv;
}

/** Nodes on one hub and one fake clock, registered (not started). */
export function cluster(
  ids: readonly number[],
  o: {
    seeds?: readonly number[];
    extra?: Record<string, unknown>;
    kv?: (id: number) => KvOptions;
    rerouting?: boolean;
    heldLimits?: { packets: number; bytes: number };
  } = {},
): { hub: MemoryHub; clock: FakeClock; n: Map<number, Node> } {
  const hub = new MemoryHub(1, o.rerouting ?? false);
  const clock = new FakeClock();
  const n = new Map<number, Node>();
  for (const id of ids) {
    const cfg = config(id, o.seeds ?? [1], o.extra ?? {}, ids);
    const provisioned = configNodes(cfg);
    const c = new Clusterer({
      config: cfg,
      network: hub.add(id, provisioned.get(1)!),
      nodes: new ConfigNodeSource(cfg),
      provisioned,
      clock,
      logger: silentLogger,
      raise: () => undefined,
      ...(o.heldLimits === undefined ? {} : { heldLimits: o.heldLimits }),
    });
    n.set(id, { id, c, kv: new Kv(o.kv?.(id) ?? {}).register(c) });
  }
  return { hub, clock, n };
}

/** Run deliveries (and donors' yields) until `pred` holds; false after `rounds` tries. */
export async function settle(pred: () => boolean, rounds = 2000): Promise<boolean> {
  for (let i = 0; i < rounds; i++) {
    if (pred()) {
      return true;
    }
    await flush();
  }
  return pred();
}

/** Advance the fake clock in steps, letting deliveries run after each. */
export async function advance(clock: FakeClock, ms: number, step = 250): Promise<void> {
  for (let left = ms; left > 0; left -= step) {
    clock.advance(Math.min(step, left));
    await flush();
  }
}

/** The maps equal, entry by entry. */
export function same(a: Map<string, Entry>, b: Map<string, Entry>): boolean {
  if (a.size !== b.size) {
    return false;
  }
  for (const [k, e] of a) {
    const o = b.get(k);
    if (o?.rev !== e.rev || o.value !== e.value) {
      return false;
    }
  }
  return true;
}

export async function stopAll(n: Map<number, Node>): Promise<void> {
  await Promise.all([...n.values()].map((x) => x.c.stop()));
}
