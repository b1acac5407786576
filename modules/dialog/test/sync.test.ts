/**
 * The dialog capability's sync callbacks driven by a pump (one node's `donate` into another's
 * `begin/apply/end`), scope by sharing tag and the sweep after a verified transfer; auto sync
 * on node_up; `dlg_cluster_sync`; malformed input; the configuration errors of replication on a
 * node that is not in the cluster.
 */
import t from 'tap';
import type {
  CapabilityDefinition,
  CapabilityEvent,
  SharingTags,
} from '../../../src/module/index.js';
import { RX, settle } from '../../../test/helpers/proxy-fakes.js';
import { decodeDialog } from '../codec.js';
import { DLG_CAPABILITY } from '../replication.js';
import { DialogService } from '../service.js';
import { fakeCluster, inDialog, place, routes, TAG, type FakeCluster } from './cluster-rig.js';
import { node, rig, type DialogRig } from './helpers.js';

function svc(r: DialogRig): DialogService {
  if (!(r.api instanceof DialogService)) {
    throw new Error('the dialog API is not the service');
  }
  return r.api;
}

function cap(f: FakeCluster): CapabilityDefinition {
  const def = f.defs.get(DLG_CAPABILITY);
  if (def === undefined) {
    throw new Error('dialog-dlg-repl is not registered');
  }
  return def;
}

/** Deliver what `from` sent (since `start`) to `to`, as packets from node `source`. */
function deliver(from: FakeCluster, to: FakeCluster, source: number, start = 0): void {
  for (const s of from.sent.slice(start)) {
    to.defs.get(s.cap)?.onPacket({ clusterId: 1, source, type: s.type, payload: s.payload });
  }
}

/** Run a full transfer of `scope` from `donor` to `receiver`; `during` runs mid-transfer. */
async function pump(
  donor: FakeCluster,
  receiver: FakeCluster,
  scope: string | null,
  ok = true,
  during: () => void = () => undefined,
): Promise<number> {
  const recv = cap(receiver).sync!;
  recv.begin?.({ node: 1, scope });
  let n = 0;
  await cap(donor).sync!.donate({ node: 2, scope }, async (record) => {
    await Promise.resolve(); // the engine's back-pressure: an emit may wait
    recv.apply(record, { node: 1, scope });
    n++;
    if (n === 1) {
      during();
    }
  });
  recv.end?.({ node: 1, scope }, ok);
  return n;
}

/** Node 1 active for every tag, node 2 backup for service/1 and active for vip/1. */
async function nodes(params: Record<string, unknown> = {}) {
  const fa = fakeCluster(1);
  const fb = fakeCluster(2);
  const wall = { now: 1_800_000_000_000 };
  const tagsB: SharingTags = { isActive: (tag) => tag === 'vip/1' };
  const a = await node(routes, {
    params: { dialog_replication_cluster: 1, ...params },
    sharingTags: { isActive: () => true },
    cluster: fa.api,
    wall,
  });
  const b = await node(routes, {
    params: { dialog_replication_cluster: 1, ...params },
    sharingTags: tagsB,
    cluster: fb.api,
    wall,
  });
  return { fa, fb, a, b };
}

t.test('sync: scope by tag, apply-if-newer, sweep of missed ends', async (t) => {
  const { fa, fb, a, b } = await nodes();
  t.teardown(async () => {
    await a.destroy();
    await b.destroy();
  });
  const d1 = await place(a, 1);
  const d2 = await place(a, 2);
  const d3 = await place(a, 3);
  deliver(fa, fb, 1);
  t.equal([...b.api.all()].length, 3, 'B got the three calls live');
  const mark = fa.sent.length;
  // B misses: the end of call 2, a new call 4, call 5 moved to vip/1.
  a.h.core.onRequest(inDialog(2, 'BYE', d2, 2), RX, null);
  await settle();
  const d4 = await place(a, 4);
  const d5 = await place(a, 5);
  svc(a).setSharingTag(svc(a).store.get(d5)!, 'vip/1');
  await settle();
  t.ok(fa.sent.length > mark);
  // A call only B knows (A missed it), changed on B while the transfer runs: it stays.
  const x = await place(b, 6);
  const sent = await pump(fa, fb, TAG, true, () => {
    b.api.setVal(x, 'k', 'v');
  });
  t.equal(sent, 3, 'the donor sends service/1 only: calls 1, 3, 4');
  t.same(
    [...b.api.all()].map((d) => d.id).sort(),
    [d1, d3, d4, x].sort(),
    'call 2 swept, call 4 added, call 5 (vip/1) not in scope, the changed local call kept',
  );
  t.equal(b.stat('sync_swept'), 1);
  t.equal(b.stat('repl_stale'), 2, 'calls 1 and 3 were held at the same revision');
  t.equal(b.ended.length, 0, 'a sweep bills nothing');

  t.equal(await pump(fa, fb, null), 4, 'everything: calls 1, 3, 4, 5');
  t.ok(b.api.get(d5), 'call 5 arrived');
  t.equal(b.api.get(d5)!.sharingTag, 'vip/1');
  t.equal(b.api.get(x), null, 'the donor lacks it and nothing changed it this time: swept');

  // A failed transfer sweeps nothing.
  a.h.core.onRequest(inDialog(1, 'BYE', d1, 2), RX, null);
  await settle();
  await pump(fa, fb, TAG, false);
  t.ok(b.api.get(d1), 'not ok: kept');
  await pump(fa, fb, TAG, true);
  t.equal(b.api.get(d1), null, 'ok: swept');

  // A bad record in a transfer is counted and skipped.
  cap(fb).sync!.apply(Buffer.from('{"v":1}'), { node: 1, scope: null });
  t.equal(b.stat('repl_bad'), 1);
});

t.test('live packets: malformed ones dropped; a replicated end bills where active', async (t) => {
  const { fa, fb, a, b } = await nodes();
  t.teardown(async () => {
    await a.destroy();
    await b.destroy();
  });
  cap(fb).onPacket({ clusterId: 1, source: 1, type: 1, payload: Buffer.from('not json') });
  cap(fb).onPacket({ clusterId: 1, source: 1, type: 9, payload: Buffer.from('{}') });
  t.equal(b.stat('repl_bad'), 2);
  t.equal(decodeDialog(Buffer.from('[1]')), null);
  t.equal(decodeDialog(Buffer.from('{"v":1,"id":"x"}')), null);

  // A call of vip/1 (active on B) ends on A without A billing it (as a backup would): B bills.
  const did = await place(a, 1, 'answered');
  svc(a).setSharingTag(svc(a).store.get(did)!, 'vip/1');
  await settle();
  deliver(fa, fb, 1);
  const mark = fa.sent.length;
  svc(a).terminate(svc(a).store.get(did)!, 'mi', false);
  t.equal(a.ended.length, 1, 'A is active for every tag here: A fires');
  const end = fa.sent[mark]!;
  const w = decodeDialog(end.payload)!;
  t.equal(w.fired, true);
  // The same end, as if A had been backup: B (active for vip/1) fires it, once.
  const unbilled = Buffer.from(JSON.stringify({ ...w, fired: false }));
  cap(fb).onPacket({ clusterId: 1, source: 1, type: 2, payload: unbilled });
  cap(fb).onPacket({ clusterId: 1, source: 1, type: 2, payload: unbilled });
  t.match(b.ended, [{ id: did, endedBy: 'mi' }]);
  t.equal(b.ended.length, 1);
  // An end of a dialog B never held still bills where active (its record travels whole).
  const other = Buffer.from(JSON.stringify({ ...w, id: 'never-held', fired: false }));
  cap(fb).onPacket({ clusterId: 1, source: 1, type: 2, payload: other });
  t.equal(b.ended.length, 2);
  t.equal(b.ended[1]!.id, 'never-held');
});

t.test('auto sync on node_up for backup tags; dlg_cluster_sync', async (t) => {
  const { fb, a, b } = await nodes();
  t.teardown(async () => {
    await a.destroy();
    await b.destroy();
  });
  const onEvent = (e: CapabilityEvent): void => {
    cap(fb).onEvent?.(e);
  };
  onEvent({ kind: 'node_down', clusterId: 1, nodeId: 1 });
  t.same(fb.syncRequests, []);
  onEvent({ kind: 'node_up', clusterId: 1, nodeId: 1 });
  t.same(fb.syncRequests, [TAG], 'service/1 is backup on B: resync it; vip/1 is active');

  t.same((await b.call('dlg_cluster_sync')).result, 'OK');
  t.same((await b.call('dialog:cluster_sync', ['vip/1'])).result, 'OK');
  t.same(fb.syncRequests.slice(1), [null, 'vip/1']);
  fb.syncAnswer = false;
  t.match((await b.call('dlg_cluster_sync')).error, { code: 500 });
  const alone = await rig(routes);
  t.match((await alone.call('dlg_cluster_sync')).error, { code: 400 });
  await alone.destroy();
});

t.test('cluster_auto_sync false: no sync on node_up', async (t) => {
  const { fb, a, b } = await nodes({ cluster_auto_sync: false });
  t.teardown(async () => {
    await a.destroy();
    await b.destroy();
  });
  cap(fb).onEvent!({ kind: 'node_up', clusterId: 1, nodeId: 1 });
  t.same(fb.syncRequests, []);
});

t.test('configuration errors name the field', async (t) => {
  await t.rejects(rig(routes, { dialog_replication_cluster: 1 }), {
    code: 'TANDEM_ERR_CONFIG',
    message: /modules\.dialog\.dialog_replication_cluster: 1 needs the clusterer section/,
  });
  await t.rejects(
    rig(routes, { profile_replication_cluster: 1 }),
    /modules\.dialog\.profile_replication_cluster/,
  );
  await t.rejects(
    node(routes, {
      params: { profile_replication_cluster: 2 },
      sharingTags: { isActive: () => true },
      cluster: fakeCluster(1, [1]).api,
    }),
    {
      code: 'TANDEM_ERR_CONFIG',
      message: /modules\.dialog\.profile_replication_cluster: this node is not in cluster 2/,
    },
  );
});
