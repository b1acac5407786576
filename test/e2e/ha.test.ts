/**
 * End to end: the HA pair of cfg/ha as two real processes (free SIP, bin and MI ports through
 * --set overrides). Both see each other Up; `clusterer_shtag_set_active service/1` on B makes A
 * backup within a second; `send_mi` runs a command on the other node; /ready reflects the cluster.
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

t.test('shtag_set_active on B makes A backup within a second', async (t) => {
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

  const line = a.lines.find((l) => l.includes('"tandem started"'))!;
  const mi = (JSON.parse(line) as { mi: string }).mi;
  const ready = (await (await fetch(`http://${mi}/ready`)).json()) as {
    sources: { name: string; ready: boolean }[];
  };
  t.match(ready.sources, [{ name: 'clusterer', ready: true }]);
});
