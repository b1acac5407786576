/**
 * The dialog capability's sync callbacks driven by a pump (one node's `donate` into another's
 * `apply`): scope by sharing tag, apply-if-newer, tombstones of ends a node missed (no sweep),
 * the sync record's kind byte; a split healed by the resyncs its gaps start (real sync engine
 * on the in-memory cluster); auto sync on node_up; `dlg_cluster_sync`; malformed input; the
 * configuration errors of replication on a node that is not in the cluster.
 */
import t from 'tap';
import type {
  CapabilityDefinition,
  CapabilityEvent,
  SharingTags,
} from '../../../src/module/index.js';
import { flush } from '../../../test/helpers/memory-clusterer.js';
import { RX, settle } from '../../../test/helpers/proxy-fakes.js';
import { DlgState } from '../api.js';
import { decodeDialog, encodeDialog, type DialogWire } from '../codec.js';
import { DLG_CAPABILITY, SYNC_DIALOG, SYNC_TOMBSTONE } from '../replication.js';
import { DialogService } from '../service.js';
import {
  fakeCluster,
  inDialog,
  pair,
  place,
  routes,
  TAG,
  type FakeCluster,
} from './cluster-rig.js';
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

/** What `donor` emits for `scope`: each record's kind and decoded dialog. */
async function donated(
  donor: FakeCluster,
  scope: string | null,
): Promise<{ kind: number; w: DialogWire }[]> {
  const out: { kind: number; w: DialogWire }[] = [];
  await cap(donor).sync!.donate({ node: 2, scope }, (record) => {
    out.push({ kind: record[0]!, w: decodeDialog(record.subarray(1))! });
  });
  return out;
}

/** Run a full transfer of `scope` from `donor` to `receiver`; `during` runs mid-transfer. */
async function pump(
  donor: FakeCluster,
  receiver: FakeCluster,
  scope: string | null,
  during: () => void = () => undefined,
): Promise<number> {
  const recv = cap(receiver).sync!;
  let n = 0;
  await cap(donor).sync!.donate({ node: 2, scope }, async (record) => {
    await Promise.resolve(); // the engine's back-pressure: an emit may wait
    recv.apply(record, { node: 1, scope });
    n++;
    if (n === 1) {
      during();
    }
  });
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

t.test('sync: scope by tag, apply-if-newer, tombstones of missed ends, no sweep', async (t) => {
  const { fa, fb, a, b } = await nodes();
  t.teardown(async () => {
    await a.destroy();
    await b.destroy();
  });
  const { sync } = cap(fb);
  t.notOk(sync && 'begin' in sync, 'nothing to mark at the start of a transfer');
  t.notOk(sync && 'end' in sync, 'nor to drop at its end');
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
  t.match(await donated(fa, TAG), [
    { kind: SYNC_DIALOG, w: { id: d1 } },
    { kind: SYNC_DIALOG, w: { id: d3 } },
    { kind: SYNC_DIALOG, w: { id: d4 } },
    { kind: SYNC_TOMBSTONE, w: { id: d2, state: DlgState.DELETED, fired: true } },
  ]);
  // A call only B knows (A missed it), and call 3, changed on B while the transfer runs.
  const x = await place(b, 6);
  const sent = await pump(fa, fb, TAG, () => {
    b.api.setVal(x, 'k', 'v');
    b.api.setVal(d3, 'k', 'b');
  });
  t.equal(sent, 4, 'the donor sends service/1 only: calls 1, 3, 4 and the end of call 2');
  t.same(
    [...b.api.all()].map((d) => d.id).sort(),
    [d1, d3, d4, x].sort(),
    'call 2 ended by its tombstone, call 4 added, call 5 (vip/1) not in scope, the local call kept',
  );
  t.equal(b.stat('sync_tombstones'), 1);
  t.equal(b.stat('repl_stale'), 2, 'call 1 at the same revision, call 3 older than B’s change');
  t.equal(b.api.get(d3)!.vals['k'], 'b', "B's change made during the transfer is kept");
  t.equal(b.ended.length, 0, 'A billed call 2 (fired): B bills nothing');

  t.equal(await pump(fa, fb, null), 5, 'everything: calls 1, 3, 4, 5 and the end of call 2');
  t.ok(b.api.get(d5), 'call 5 arrived');
  t.equal(b.api.get(d5)!.sharingTag, 'vip/1');
  t.ok(b.api.get(x), 'the donor lacks it: kept (an absent record deletes nothing)');
  t.equal(b.stat('sync_tombstones'), 1, 'a tombstone already applied changes nothing');

  // An end B missed, of a call of vip/1 (active on B) that the ender did not bill: B bills it.
  const mark2 = fa.sent.length;
  a.h.core.onRequest(inDialog(5, 'BYE', d5, 2), RX, null);
  await settle();
  const end = decodeDialog(fa.sent[mark2]!.payload)!;
  const unbilled = Buffer.concat([
    Buffer.of(SYNC_TOMBSTONE),
    Buffer.from(JSON.stringify({ ...end, fired: false })),
  ]);
  cap(fb).sync!.apply(unbilled, { node: 1, scope: null });
  cap(fb).sync!.apply(unbilled, { node: 1, scope: null });
  t.match(b.ended, [{ id: d5 }], 'billed once');
  t.equal(b.api.get(d5), null);
  t.match(
    (await donated(fb, 'vip/1')).filter((r) => r.kind === SYNC_TOMBSTONE),
    [{ w: { id: d5, fired: true } }],
    "B's tombstone says it was billed: a node syncing from B will not bill it again",
  );

  // Bad records are counted and skipped: bad JSON, an unknown kind, nothing, a tombstone
  // that is not a final record.
  const live = encodeDialog(svc(b).store.get(d1)!);
  for (const bad of [
    Buffer.from('\x01{"v":1}', 'latin1'),
    Buffer.concat([Buffer.of(9), live]),
    Buffer.alloc(0),
    Buffer.concat([Buffer.of(SYNC_TOMBSTONE), live]),
  ]) {
    cap(fb).sync!.apply(bad, { node: 1, scope: null });
  }
  t.equal(b.stat('repl_bad'), 4);
  t.ok(b.api.get(d1), 'call 1 untouched');
});

t.test(
  'a split: both sides write and end calls; the gaps resync both ways to the union',
  async (t) => {
    const p = await pair({}, true);
    t.teardown(() => p.stop());
    t.ok(
      p.clusterers.every((c) => c.readiness().ready),
      'both nodes synced: node 1 as the seed, node 2 from it',
    );
    const [a, b] = p.nodes;
    const d1 = await place(a, 1);
    const d2 = await place(a, 2);
    await flush();
    t.ok(b.api.get(d1) && b.api.get(d2), 'B holds both calls');
    p.hub.cut(1, 2);
    await flush();
    // A (active) takes call 3 and ends call 1; B (backup) takes call 4 and ends call 2, which
    // B does not bill (backup) and A never hears of.
    const d3 = await place(a, 3);
    a.h.core.onRequest(inDialog(1, 'BYE', d1, 2), RX, null);
    const d4 = await place(b, 4);
    b.h.core.onRequest(inDialog(2, 'BYE', d2, 2), RX, null);
    await settle();
    await flush();
    t.equal(b.api.get(d3), null, 'B missed call 3');
    t.equal(a.api.get(d4), null, 'A missed call 4');
    t.ok(b.api.get(d1), 'B still holds call 1');
    t.ok(a.api.get(d2), 'A still holds call 2');
    t.match(a.ended, [{ id: d1 }]);
    t.equal(b.ended.length, 0);

    p.hub.heal(1, 2);
    // Back in reach, each side's STATUS names more packets than the other received: a gap,
    // and each pulls a full sync from the other. New calls after that flow live.
    await flush();
    const d5 = await place(a, 5);
    const d6 = await place(b, 6);
    await flush();
    for (const [name, r] of [
      ['A', a],
      ['B', b],
    ] as const) {
      t.same(
        [...r.api.all()].map((d) => d.id).sort(),
        [d3, d4, d5, d6].sort(),
        `${name} holds the union of the live calls, neither ended one`,
      );
    }
    t.equal(a.stat('sync_tombstones'), 1, "A learnt call 2's end from B's tombstone");
    t.equal(b.stat('sync_tombstones'), 1, "B learnt call 1's end from A's tombstone");
    t.same(
      a.ended.map((d) => d.id),
      [d1, d2],
      'one CDR each: A billed call 1, and call 2 (active here, B did not bill it) on the sync',
    );
    t.equal(b.ended.length, 0);
  },
);

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
