/**
 * A cluster of real Tandem processes on 127.0.0.1 for end-to-end tests: every node's SIP and
 * bin ports are picked up front (each node's configuration lists all of them), configurations
 * are written as files in a temporary directory, and nodes start and stop one by one (a node
 * may join late, be killed, or start again on the same data directory).
 *
 * The nodes alias each other's SIP addresses (`aliases`), as the nodes of a pair behind a
 * virtual IP all answer for that address: a request that names node A in its Route set is
 * "ours" on node B after a switch.
 */
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { freePort } from './ports.js';
import { miCall, startTandemProcess, ROOT, type TandemProcess } from './tandem-process.js';

interface DumpedContact {
  Contact: string;
  Callid: string;
  Cseq: number;
  Revision: number;
  Owner?: string;
}

/** What the plan needs of a tap test (or of a benchmark): somewhere to register clean-up. */
export interface Teardowns {
  teardown(fn: () => unknown): void;
}

export interface ClusterNode {
  readonly id: number;
  readonly sipPort: number;
  readonly binPort: number;
  readonly dataDir: string;
  /** The running process (null before start and after stop). */
  p: TandemProcess | null;
}

export interface ClusterPlanOptions {
  /** How many nodes are provisioned (ids 1..n). */
  readonly nodes: number;
  /** Seed node ids (default: node 1). */
  readonly seeds?: readonly number[];
  /** The node that starts with `service/1` active (default 1). */
  readonly active?: number;
  /** `modules` section of every node. */
  readonly modules: Record<string, unknown>;
  /** Routing script (default cfg/routes.ts). */
  readonly script?: string;
  /** More top-level or `clusterer` settings, merged into every node's configuration. */
  readonly clusterer?: Record<string, unknown>;
  readonly extra?: Record<string, unknown>;
}

export interface StartNodeOptions {
  readonly env?: Record<string, string>;
  /** ms to wait for "tandem started" (default 60 s: a node may load a large store). */
  readonly readyTimeout?: number;
}

export class ClusterPlan {
  readonly nodes: ClusterNode[] = [];
  private readonly dir: string;

  private constructor(
    private readonly t: Teardowns,
    private readonly o: ClusterPlanOptions,
  ) {
    this.dir = mkdtempSync(join(tmpdir(), 'tandem-cluster-'));
    t.teardown(async () => {
      await Promise.all(this.nodes.map((n) => n.p?.stop('SIGKILL') ?? Promise.resolve(null)));
      rmSync(this.dir, { recursive: true, force: true });
    });
  }

  static async create(t: Teardowns, o: ClusterPlanOptions): Promise<ClusterPlan> {
    const plan = new ClusterPlan(t, o);
    for (let id = 1; id <= o.nodes; id++) {
      const dataDir = join(plan.dir, `node-${String(id)}`);
      plan.nodes.push({
        id,
        sipPort: await freePort(),
        binPort: await freePort(),
        dataDir,
        p: null,
      });
    }
    return plan;
  }

  node(id: number): ClusterNode {
    const n = this.nodes[id - 1];
    if (n === undefined) {
      throw new Error(`no node ${String(id)}`);
    }
    return n;
  }

  /** The configuration file of a node. */
  config(id: number): string {
    const me = this.node(id);
    const seeds = this.o.seeds ?? [1];
    const cfg = {
      listen: [`udp:127.0.0.1:${String(me.sipPort)}`, `tcp:127.0.0.1:${String(me.sipPort)}`],
      aliases: this.nodes.filter((n) => n.id !== id).map((n) => `127.0.0.1:${String(n.sipPort)}`),
      log: { level: 'info', format: 'json' },
      script: this.o.script ?? join(ROOT, 'cfg/routes.ts'),
      data_dir: me.dataDir,
      mi: { listen: '127.0.0.1:0' },
      timers: { t1: 100 },
      modules: this.o.modules,
      clusterer: {
        my_node_id: id,
        clusters: [
          {
            cluster_id: 1,
            nodes: this.nodes.map((n) => ({
              node_id: n.id,
              url: `bin:127.0.0.1:${String(n.binPort)}`,
              sip_addr: `sip:127.0.0.1:${String(n.sipPort)}`,
              priority: 100 - n.id,
              flags: seeds.includes(n.id) ? ['seed'] : [],
              description: `node ${String(n.id)}`,
            })),
          },
        ],
        ping_interval: 1,
        ping_timeout: 500,
        node_timeout: 10,
        sharing_tags: [`service/1=${id === (this.o.active ?? 1) ? 'active' : 'backup'}`],
        ...this.o.clusterer,
      },
      ...this.o.extra,
    };
    const file = join(this.dir, `node-${String(id)}.yaml`);
    // YAML is a superset of JSON.
    writeFileSync(file, JSON.stringify(cfg, null, 2));
    return file;
  }

  async start(id: number, s: StartNodeOptions = {}): Promise<TandemProcess> {
    const n = this.node(id);
    const p = await startTandemProcess({
      config: this.config(id),
      dataDir: n.dataDir,
      readyTimeout: s.readyTimeout ?? 60_000,
      ...(s.env === undefined ? {} : { env: s.env }),
    });
    n.p = p;
    return p;
  }

  async stop(id: number, signal: NodeJS.Signals = 'SIGTERM'): Promise<void> {
    const n = this.node(id);
    await n.p?.stop(signal);
    n.p = null;
  }

  /** Call an MI command on a node; throws on an MI error. */
  async mi(id: number, method: string, params: unknown[] = []): Promise<unknown> {
    const p = this.node(id).p;
    if (p === null) {
      throw new Error(`node ${String(id)} is not running`);
    }
    const r = await miCall(p, method, params);
    if (r.error !== undefined) {
      throw new Error(`node ${String(id)} ${method}: ${r.error.message}`);
    }
    return r.result;
  }

  /** One statistic of a node (`get_statistics`), NaN when the node does not have it. */
  async stat(id: number, name: string): Promise<number> {
    const r = (await this.mi(id, 'get_statistics', [[name]])) as Record<string, number>;
    return r[name] ?? NaN;
  }

  /** Start nodes together and wait until every one answers /ready 200. */
  async startReady(ids: readonly number[], ms = 60_000): Promise<void> {
    await Promise.all(ids.map((id) => this.start(id)));
    await waitFor(
      `nodes ${ids.join(', ')} ready`,
      async () => (await Promise.all(ids.map((id) => this.ready(id)))).every((r) => r.ok),
      ms,
    );
  }

  /**
   * A node's location table from `ul_dump`: AoR -> its bindings' contact, Call-ID, CSeq,
   * revision and owner (what identifies a binding's version; the relative expiry is left out).
   */
  async ulDump(id: number): Promise<Map<string, string>> {
    const r = (await this.mi(id, 'ul_dump')) as {
      Domains: { AORs: { AOR: string; Contacts: DumpedContact[] }[] }[];
    };
    const out = new Map<string, string>();
    for (const a of r.Domains[0]?.AORs ?? []) {
      const rows = a.Contacts.map((c) => [
        c.Contact,
        c.Callid,
        c.Cseq,
        c.Revision,
        c.Owner ?? null,
      ]);
      out.set(a.AOR, JSON.stringify(rows.sort()));
    }
    return out;
  }

  /** `/ready` of a node: its status and sources. */
  async ready(id: number): Promise<{ ok: boolean; body: unknown }> {
    const p = this.node(id).p;
    const line = p?.lines.find((l) => l.includes('"tandem started"'));
    if (line === undefined) {
      return { ok: false, body: null };
    }
    const mi = (JSON.parse(line) as { mi: string }).mi;
    const res = await fetch(`http://${mi}/ready`);
    return { ok: res.status === 200, body: await res.json() };
  }

  /** Log lines of a node saying a peer became unreachable. */
  downEvents(id: number): string[] {
    return (this.node(id).p?.lines ?? []).filter(
      (l) => l.includes('cluster node state changed') && l.includes('"reachable":false'),
    );
  }
}

/** Poll until `ok` holds (generous bounds: the machine is shared). */
export async function waitFor(
  what: string,
  ok: () => Promise<boolean> | boolean,
  ms = 30_000,
  stepMs = 100,
): Promise<void> {
  const until = Date.now() + ms;
  let lastErr: unknown = null;
  while (Date.now() < until) {
    try {
      if (await ok()) {
        return;
      }
    } catch (err) {
      lastErr = err;
    }
    await new Promise((r) => setTimeout(r, stepMs));
  }
  throw new Error(
    `timed out waiting for ${what}${lastErr instanceof Error ? `: ${lastErr.message}` : ''}`,
  );
}
