/**
 * End to end, issue 8: calls shared by a pair of real nodes (dialog and profile replication).
 * sipp is the caller; the callee is a raw UDP UAS that can hang up towards either node (the
 * nodes alias each other's address, as two nodes behind one virtual IP do). A call set up
 * through A survives the switch of `service/1` to B: the callee's BYE sent to B is routed, the
 * dialog ends on both, and exactly one CDR exists across the nodes. A call ringing during the
 * switch is answered afterwards and completes. A timeout after the switch is enforced by B.
 * Profile sizes are the number of calls whichever node is asked, before and after a switch.
 */
import { existsSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import t, { type Test } from 'tap';
import { ClusterPlan, waitFor } from '../helpers/cluster-nodes.js';
import { RawUas } from '../helpers/raw-uas.js';
import { HAVE_SIPP } from '../helpers/sipp.js';
import { check, uac } from '../helpers/sipp-calls.js';
import { ROOT } from '../helpers/tandem-process.js';

if (!HAVE_SIPP) {
  t.plan(0, 'sipp is not installed (Debian package sip-tester; .ci/run installs it)');
  process.exit(0);
}

interface Listed {
  ID: string;
  state: number;
  callid: string;
}

async function dialogs(plan: ClusterPlan, id: number): Promise<Listed[]> {
  return ((await plan.mi(id, 'dlg_list')) as { Dialogs: Listed[] }).Dialogs;
}

async function stateOf(plan: ClusterPlan, id: number, callId: string): Promise<number | null> {
  return (await dialogs(plan, id)).find((d) => d.callid === callId)?.state ?? null;
}

async function calls(plan: ClusterPlan, id: number): Promise<number> {
  const r = (await plan.mi(id, 'profile_get_size', ['calls'])) as { profile: { count: number } };
  return r.profile.count;
}

function cdrs(plan: ClusterPlan, id: number, callId: string): { ended_by: string }[] {
  const file = join(plan.node(id).dataDir, 'acc', 'cdr.jsonl');
  if (!existsSync(file)) {
    return [];
  }
  return readFileSync(file, 'utf8')
    .split('\n')
    .filter((l) => l !== '')
    .map((l) => JSON.parse(l) as { call_id: string; ended_by: string })
    .filter((c) => c.call_id === callId);
}

async function activate(plan: ClusterPlan, id: number, other: number): Promise<void> {
  await plan.mi(id, 'clusterer_shtag_set_active', ['service/1']);
  await waitFor(`node ${String(other)} backup`, async () => {
    const r = (await plan.mi(other, 'clusterer_list_shtags')) as { Tag: string; State: string }[];
    return r.some((s) => s.Tag === 'service' && s.State === 'backup');
  });
}

async function pair(t: Test): Promise<ClusterPlan> {
  const plan = await ClusterPlan.create(t, {
    nodes: 2,
    script: join(ROOT, 'test/e2e/routes/dialog.ts'),
    modules: {
      dialog: {
        dialog_replication_cluster: 1,
        profile_replication_cluster: 1,
        profiles_no_value: ['calls'],
        profiles_with_value: ['caller'],
      },
      acc: { flush_interval: 100, fsync: false },
    },
  });
  await Promise.all([plan.start(1), plan.start(2)]);
  await waitFor('both ready', async () => (await plan.ready(1)).ok && (await plan.ready(2)).ok);
  return plan;
}

/** sipp calls the raw UAS through A and waits for a BYE; resolves the Call-ID once ringing. */
async function ring(
  t: Test,
  plan: ClusterPlan,
  callee: RawUas,
  params = ';dlg_flags=B',
): Promise<{ callId: string; caller: Promise<void> }> {
  const run = uac(t, 'uac-wait-bye.xml', plan.node(1).sipPort, callee.uri(params), {
    timeoutSec: 60,
  });
  const callId = await callee.nextCall();
  const caller = run.done.then((out) => {
    check(t, `caller of ${callId} ended normally`, out.code, out);
  });
  return { callId, caller };
}

t.test('a call survives the switch: BYE through B, one CDR; profiles agree', async (t) => {
  const plan = await pair(t);
  const callee = await RawUas.open(t);
  const b = plan.node(2);

  const { callId, caller } = await ring(t, plan, callee);
  await callee.answer(callId);
  await waitFor('B holds the confirmed dialog', async () => (await stateOf(plan, 2, callId)) === 4);
  await waitFor('profiles agree before the switch', async () => {
    return (await calls(plan, 1)) === 1 && (await calls(plan, 2)) === 1;
  });
  t.pass('profile_get_size calls is 1 on A and on B');

  await activate(plan, 2, 1);
  await waitFor('profiles agree after the switch', async () => {
    return (await calls(plan, 1)) === 1 && (await calls(plan, 2)) === 1;
  });
  t.pass('profile_get_size calls is still 1 on both after the switch');

  t.equal(await callee.bye(callId, b.sipPort), 200, 'the BYE sent to B was answered 200');
  await caller;
  await waitFor('the dialog is gone on both', async () => {
    return (await stateOf(plan, 1, callId)) === null && (await stateOf(plan, 2, callId)) === null;
  });
  await waitFor('a CDR', () => cdrs(plan, 1, callId).length + cdrs(plan, 2, callId).length > 0);
  await new Promise((r) => setTimeout(r, 1500)); // a second CDR would be written by now
  t.equal(cdrs(plan, 1, callId).length, 0, 'A (backup) wrote no CDR');
  t.equal(cdrs(plan, 2, callId).length, 1, 'B wrote exactly one');
  t.equal(await calls(plan, 1), 0, 'profile empty on A');
  t.equal(await calls(plan, 2), 0, 'profile empty on B');
});

t.test('a call ringing during the switch is answered afterwards and completes', async (t) => {
  const plan = await pair(t);
  const callee = await RawUas.open(t);
  const { callId, caller } = await ring(t, plan, callee);
  await waitFor('B holds the early dialog', async () => (await stateOf(plan, 2, callId)) === 2);
  await activate(plan, 2, 1);
  await callee.answer(callId);
  await waitFor('B sees it confirmed', async () => (await stateOf(plan, 2, callId)) === 4);
  t.equal(await callee.bye(callId, plan.node(2).sipPort), 200, 'BYE through B answered');
  await caller;
  await waitFor('a CDR', () => cdrs(plan, 1, callId).length + cdrs(plan, 2, callId).length > 0);
  await new Promise((r) => setTimeout(r, 1500));
  t.equal(cdrs(plan, 1, callId).length + cdrs(plan, 2, callId).length, 1, 'one CDR in all');
});

t.test('a dialog timeout after the switch is enforced by B', async (t) => {
  const plan = await pair(t);
  const callee = await RawUas.open(t);
  const { callId, caller } = await ring(t, plan, callee, ';dlg_flags=B;dlg_timeout=5');
  await callee.answer(callId);
  await waitFor('B holds the dialog', async () => (await stateOf(plan, 2, callId)) === 4);
  await activate(plan, 2, 1);
  // The caller gets its BYE from the proxy; so does the callee, from B's address.
  await caller;
  await waitFor('the callee got the BYE', () => callee.byes.some((x) => x.callId === callId));
  const byes = callee.byes.filter((x) => x.callId === callId);
  t.same(
    byes.map((x) => x.port),
    [plan.node(2).sipPort],
    'one BYE, from B',
  );
  await waitFor('a CDR', () => cdrs(plan, 2, callId).length > 0);
  await new Promise((r) => setTimeout(r, 1500));
  t.same(
    cdrs(plan, 2, callId).map((c) => c.ended_by),
    ['timeout'],
    'B wrote the one CDR',
  );
  t.equal(cdrs(plan, 1, callId).length, 0, 'A wrote none');
});
