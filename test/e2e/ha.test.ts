/**
 * End to end: the HA pair of cfg/ha as two real processes (free SIP, bin and MI ports through
 * --set overrides). Both see each other Up; `clusterer_shtag_set_active service/1` on B makes A
 * backup within a second; `send_mi` runs a command on the other node; a split brain made with
 * `set_status` heals to one active node on both views; /ready reflects the cluster.
 */
import t from 'tap';
import { freePort } from '../helpers/ports.js';
import { miCall, startTandemProcess, type TandemProcess } from '../helpers/tandem-process.js';

interface Shtag {
  Tag: string;
  Cluster: number;
  State: string;
  Epoch: number;
  Holder: number;
}

async function waitFor(what: string, ok: () => Promise<boolean>, ms = 10_000): Promise<void> {
  const until = Date.now() + ms;
  while (Date.now() < until) {
    if (await ok()) {
      return;
    }
    await new Promise((r) => setTimeout(r, 50));
  }
  throw new Error(`timed out waiting for ${what}`);
}

async function state(p: TandemProcess): Promise<string | undefined> {
  const r = await miCall(p, 'clusterer_list_shtags');
  return (r.result as Shtag[]).find((s) => s.Tag === 'service')?.State;
}

t.test(
  'HA pair: shtag_set_active on B makes A backup within a second; a split brain heals',
  async (t) => {
    const [binA, binB] = [await freePort(), await freePort()];
    const common = [
      'listen=[udp:127.0.0.1:0]',
      `clusterer.clusters[0].nodes[0].url=bin:127.0.0.1:${binA}`,
      `clusterer.clusters[0].nodes[1].url=bin:127.0.0.1:${binB}`,
      'clusterer.ping_interval=1',
    ];
    const t0 = Date.now();
    const [a, b] = await Promise.all([
      startTandemProcess({ config: 'cfg/ha/node-a.yaml', sets: common }),
      startTandemProcess({ config: 'cfg/ha/node-b.yaml', sets: common }),
    ]);
    t.comment(`started in ${Date.now() - t0} ms`);
    t.teardown(async () => {
      const t1 = Date.now();
      await Promise.all([a.stop(), b.stop()]);
      t.comment(`stopped in ${Date.now() - t1} ms`);
    });

    await waitFor('both nodes Up', async () => {
      const lists = await Promise.all([a, b].map((p) => miCall(p, 'clusterer:list')));
      return lists.every((l) => JSON.stringify(l.result).includes('"link_state":"Up"'));
    });
    t.comment(`up after ${Date.now() - t0} ms`);
    t.equal(await state(a), 'active');
    t.equal(await state(b), 'backup');

    const start = Date.now();
    t.same(await miCall(b, 'clusterer_shtag_set_active', ['service/1']), {
      jsonrpc: '2.0',
      result: 'OK',
      id: 1,
    });
    t.equal(await state(b), 'active');
    await waitFor('A backup', async () => (await state(a)) === 'backup', 1000);
    const took = Date.now() - start;
    t.ok(took < 1000, `A stepped down in ${took} ms`);
    const shtags = (await miCall(a, 'clusterer_list_shtags')).result as Shtag[];
    t.match(shtags, [{ Tag: 'service', Cluster: 1, State: 'backup', Epoch: 2, Holder: 2 }]);

    const remote = await miCall(a, 'clusterer_send_mi', [1, 2, 'clusterer_list_shtags']);
    t.match(remote.result, [{ Tag: 'service', State: 'active' }], 'send_mi answers with B view');
    const bad = await miCall(a, 'clusterer_shtag_set_active', ['service']);
    t.same(bad.error, { code: 400, message: 'Bad tag format <name/cluster_id>' });

    // Split brain: each node disables the other (as a cut link would), both activate, then the
    // link returns: exactly one stays active, the same on both views.
    await miCall(a, 'clusterer_set_status', [1, 2, 0]);
    await miCall(b, 'clusterer_set_status', [1, 1, 0]);
    await waitFor('both see the other unreachable', async () => {
      const lists = await Promise.all([a, b].map((p) => miCall(p, 'clusterer_list')));
      return lists.every((l) => JSON.stringify(l.result).includes('"next_hop":"none"'));
    });
    await miCall(a, 'clusterer_shtag_set_active', ['service/1']); // epoch 3 on A
    t.same([await state(a), await state(b)], ['active', 'active'], 'split brain');
    await miCall(a, 'clusterer_set_status', [1, 2, 1]);
    await miCall(b, 'clusterer_set_status', [1, 1, 1]);
    await waitFor('one active', async () => (await state(b)) === 'backup');
    const views = await Promise.all([a, b].map((p) => miCall(p, 'clusterer_list_shtags')));
    for (const v of views) {
      t.match(v.result, [{ Tag: 'service', Epoch: 3, Holder: 1 }], 'both views: A holds epoch 3');
    }
    t.same([await state(a), await state(b)], ['active', 'backup']);
    t.ok(
      b.lines.some((l) => l.includes('split brain')),
      'B logged the split brain',
    );

    // /ready: A (the seed) calls itself synced seed_fallback_interval after start-up, with no
    // donor; B pulls registrations and dialogs from A. Both then answer 200.
    const readyOf = async (p: TandemProcess) => {
      const line = p.lines.find((l) => l.includes('"tandem started"'))!;
      const mi = (JSON.parse(line) as { mi: string }).mi;
      const res = await fetch(`http://${mi}/ready`);
      return {
        status: res.status,
        body: (await res.json()) as { sources: { name: string; ready: boolean }[] },
      };
    };
    await waitFor(
      'both nodes ready',
      async () => {
        const r = await Promise.all([a, b].map(readyOf));
        return r.every((x) => x.status === 200);
      },
      30_000,
    );
    t.match((await readyOf(a)).body.sources, [{ name: 'clusterer', ready: true }]);
    const caps = async (p: TandemProcess) =>
      (
        (await miCall(p, 'clusterer_list_cap')).result as {
          Clusters: { Capabilities: { name: string; state: string; synced_by: string }[] }[];
        }
      ).Clusters[0]!.Capabilities;
    t.match(await caps(a), [
      { name: 'usrloc-contact-repl', state: 'synced', synced_by: 'seed fallback' },
    ]);
    t.match(
      (await caps(b)).find((c) => c.name === 'usrloc-contact-repl'),
      { state: 'synced', synced_by: 'donor 1' },
      'B synced its registrations from A',
    );
  },
);
