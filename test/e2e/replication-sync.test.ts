/**
 * End to end, issue 8: start-up sync of the location service between real nodes. A fresh node C
 * joins while A holds 200,000 bindings and keeps taking 1,000 REGISTER/s: C reports ready only
 * with every binding, none older than A's, and no node is ever seen down. A node whose start-up
 * is delayed 10 s (test hook) still syncs completely instead of falling back as a seed. The donor
 * killed in the middle of a sync: the receiver completes from the other node by itself.
 */
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import t from 'tap';
import { ClusterPlan, waitFor } from '../helpers/cluster-nodes.js';
import { HAVE_SIPP, stopSipp, writeUsersCsv } from '../helpers/sipp.js';
import { run } from '../helpers/sipp-calls.js';
import { writeUsrlocAof as preload } from '../helpers/usrloc-aof.js';

if (!HAVE_SIPP) {
  t.plan(0, 'sipp is not installed (Debian package sip-tester; .ci/run installs it)');
  process.exit(0);
}

const USRLOC = {
  db_mode: 'file',
  working_mode_preset: 'full-sharing-cluster',
  flush_interval: 1000,
};
const CLUSTERER = { seed_fallback_interval: 2 };

interface Cap {
  name: string;
  state: string;
  donor?: number | null;
  records_received?: number;
  synced_by?: string;
  last_failure?: string | null;
}

async function cap(plan: ClusterPlan, id: number): Promise<Cap | undefined> {
  const r = (await plan.mi(id, 'clusterer_list_cap')) as {
    Clusters: { Capabilities: Cap[] }[];
  };
  return r.Clusters[0]?.Capabilities.find((c) => c.name === 'usrloc-contact-repl');
}

async function contacts(plan: ClusterPlan, id: number): Promise<number> {
  return plan.stat(id, 'usrloc:contacts');
}

t.test('a fresh node syncs 200,000 bindings while A takes 1,000 REGISTER/s', async (t) => {
  const plan = await ClusterPlan.create(t, {
    nodes: 2,
    modules: { usrloc: USRLOC, registrar: {} },
    clusterer: CLUSTERER,
  });
  const total = 200_000;
  preload(plan.node(1).dataDir, total);
  await plan.start(1);
  await waitFor('A ready (seed)', async () => (await plan.ready(1)).ok);
  t.equal(await contacts(plan, 1), total, 'A loaded its bindings');

  const dir = mkdtempSync(join(tmpdir(), 'tandem-sync-'));
  t.teardown(() => {
    rmSync(dir, { recursive: true, force: true });
  });
  const users = 60_000;
  const csv = writeUsersCsv(join(dir, 'live.csv'), users, 'live');
  const a = plan.node(1);
  const load = run(t, {
    scenario: 'uac-register-csv.xml',
    remote: `127.0.0.1:${String(a.sipPort)}`,
    calls: users,
    rate: 1000,
    limit: 1000,
    keys: { domain: `127.0.0.1:${String(a.sipPort)}` },
    timeoutSec: 120,
    extra: ['-inf', csv],
  });
  // Let the load run a little before C starts, so live changes race the sync from its first byte.
  await new Promise((r) => setTimeout(r, 2000));
  const t0 = Date.now();
  await plan.start(2);
  let atReady = -1;
  await waitFor(
    'C ready',
    async () => {
      if ((await plan.ready(2)).ok) {
        atReady = await contacts(plan, 2);
        return true;
      }
      return false;
    },
    120_000,
    50,
  );
  t.comment(`C ready ${String(Date.now() - t0)} ms after its start, holding ${String(atReady)}`);
  t.ok(
    atReady >= total,
    `C reported ready holding ${String(atReady)} bindings (>= ${String(total)})`,
  );
  const c = await cap(plan, 2);
  t.match(c, { state: 'synced', synced_by: 'donor 1' }, 'synced from A');

  stopSipp(load);
  await waitFor(
    'C has as many as A',
    async () => (await contacts(plan, 2)) === (await contacts(plan, 1)),
    20_000,
  );
  const [da, dc] = await Promise.all([plan.ulDump(1), plan.ulDump(2)]);
  let missing = 0;
  let differ = 0;
  for (const [aor, v] of da) {
    const mine = dc.get(aor);
    if (mine === undefined) {
      missing++;
    } else if (mine !== v) {
      differ++;
    }
  }
  t.equal(missing, 0, 'no AoR of A is missing on C');
  t.equal(differ, 0, 'every binding on C equals A (no older copy)');
  t.equal(dc.size, da.size, 'C holds nothing A does not');
  t.same([...plan.downEvents(1), ...plan.downEvents(2)], [], 'no node was ever seen down');
});

t.test('a node whose start-up is 10 s late still syncs from the donor', async (t) => {
  const plan = await ClusterPlan.create(t, {
    nodes: 2,
    seeds: [1, 2],
    modules: { usrloc: USRLOC, registrar: {} },
    clusterer: CLUSTERER,
  });
  preload(plan.node(1).dataDir, 20_000);
  await plan.start(1);
  await waitFor('A ready', async () => (await plan.ready(1)).ok);
  const t0 = Date.now();
  await plan.start(2, {
    env: { TANDEM_TEST_HOOKS: '1', TANDEM_TEST_STARTUP_DELAY_MS: '10000' },
  });
  await waitFor('B ready', async () => (await plan.ready(2)).ok, 60_000);
  const took = Date.now() - t0;
  t.ok(took >= 9_000, `B became ready after its delayed start-up (${String(took)} ms)`);
  t.equal(await contacts(plan, 2), 20_000, 'B holds every binding');
  t.match(
    await cap(plan, 2),
    { state: 'synced', synced_by: 'donor 1' },
    'from the donor, not seed',
  );
});

t.test('the donor killed mid-sync: the receiver completes from the other node', async (t) => {
  const plan = await ClusterPlan.create(t, {
    nodes: 3,
    modules: { usrloc: USRLOC, registrar: {} },
    clusterer: CLUSTERER,
  });
  const total = 200_000;
  preload(plan.node(1).dataDir, total);
  await plan.start(1);
  await waitFor('A ready', async () => (await plan.ready(1)).ok);
  await plan.start(2);
  await waitFor('B ready', async () => (await plan.ready(2)).ok, 120_000);
  t.equal(await contacts(plan, 2), total, 'B synced from A');

  await plan.start(3);
  let donor = 0;
  await waitFor(
    'C syncing',
    async () => {
      const c = await cap(plan, 3);
      if (c?.state === 'syncing' && typeof c.donor === 'number') {
        donor = c.donor;
        return true;
      }
      return false;
    },
    60_000,
    20,
  );
  await plan.stop(donor, 'SIGKILL');
  t.comment(`killed donor ${String(donor)} mid-sync`);
  const other = donor === 1 ? 2 : 1;
  await waitFor('C ready', async () => (await plan.ready(3)).ok, 120_000);
  t.equal(await contacts(plan, 3), total, 'C holds every binding');
  const c = await cap(plan, 3);
  t.match(c, { state: 'synced', synced_by: `donor ${String(other)}` }, 'completed from the other');
  t.ok((c?.last_failure ?? '') !== '', `the failure is shown: ${String(c?.last_failure)}`);
});
