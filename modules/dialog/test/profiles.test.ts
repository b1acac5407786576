/**
 * Profile replication on the in-memory cluster: profile_get_size (MI and script) is the cluster
 * total on either node, before and after a tag switch, with calls created on both nodes; a
 * peer's counts go when it goes down; malformed count packets are dropped.
 */
import t from 'tap';
import { flush } from '../../../test/helpers/memory-clusterer.js';
import { RX, settle } from '../../../test/helpers/proxy-fakes.js';
import { DEBOUNCE_MS, PROF_CAPABILITY } from '../profile-repl.js';
import { fakeCluster, inDialog, pair, place, routes } from './cluster-rig.js';
import { node, type DialogRig } from './helpers.js';

async function size(r: DialogRig, profile: string, value?: string): Promise<unknown> {
  const res = await r.call('profile_get_size', value === undefined ? [profile] : [profile, value]);
  return (res.result as { profile: { count: number } }).profile.count;
}

t.test('profile_get_size: the cluster total on both nodes, across a switch', async (t) => {
  const p = await pair();
  t.teardown(() => p.stop());
  const [a, b] = p.nodes;
  const share = async (): Promise<void> => {
    p.advance(DEBOUNCE_MS + 10);
    await flush();
  };
  await place(a, 1);
  await place(a, 2);
  const d3 = await place(a, 3);
  await place(b, 4); // created on the backup: counted by A, where its tag is active
  await flush();
  await share();
  t.same([await size(a, 'calls'), await size(b, 'calls')], [4, 4], 'before the switch');
  t.same([await size(a, 'caller', 'alice'), await size(b, 'caller', 'alice')], [4, 4]);
  t.same((await b.call('profile_get_values', ['caller'])).result, {
    Values: [{ value: 'alice', count: 4 }],
  });

  await p.switchTo(2);
  t.equal(await size(b, 'calls'), 4, 'at once on the new holder: its own count, not twice');
  await share();
  t.same([await size(a, 'calls'), await size(b, 'calls')], [4, 4], 'after the switch');

  a.h.core.onRequest(inDialog(3, 'BYE', d3, 2), RX, null);
  await settle();
  await flush();
  await share();
  t.same([await size(a, 'calls'), await size(b, 'calls')], [3, 3], 'an end on the backup');

  p.hub.cut(1, 2);
  await flush();
  t.equal(await size(a, 'calls'), 0, "A drops B's counts when B goes down");
  t.equal(await size(b, 'calls'), 3);
});

t.test('profile replication alone: each node counts the calls it holds', async (t) => {
  const p = await pair({ dialog_replication_cluster: 0 });
  t.teardown(() => p.stop());
  const [a, b] = p.nodes;
  await place(a, 1);
  await place(b, 2);
  await place(b, 3);
  t.equal([...a.api.all()].length, 1, 'dialogs are not replicated');
  p.advance(DEBOUNCE_MS + 10);
  await flush();
  t.same([await size(a, 'calls'), await size(b, 'calls')], [3, 3]);
  await p.switchTo(2);
  p.advance(DEBOUNCE_MS + 10);
  await flush();
  t.same([await size(a, 'calls'), await size(b, 'calls')], [3, 3], 'a switch changes nothing');
});

t.test('count packets: malformed ones dropped, resent on node_up', async (t) => {
  const f = fakeCluster(1);
  const r = await node(routes, {
    params: { profile_replication_cluster: 1, dialog_replication_cluster: 1 },
    sharingTags: { isActive: () => true },
    cluster: f.api,
  });
  t.teardown(() => r.destroy());
  await place(r, 1);
  const def = f.defs.get(PROF_CAPABILITY)!;
  for (const payload of ['x', '{}', '[["t", 1]]', '[["t", [["calls", "", -1]]]]', '[1]']) {
    def.onPacket({ clusterId: 1, source: 2, type: 1, payload: Buffer.from(payload) });
  }
  def.onPacket({ clusterId: 1, source: 2, type: 7, payload: Buffer.from('[]') });
  def.onPacket({
    clusterId: 1,
    source: 2,
    type: 1,
    payload: Buffer.from(JSON.stringify([['other/1', [['calls', '', 5]]]])),
  });
  t.equal(await size(r, 'calls'), 1, "a tag active here: the peer's claim is not counted");
  const before = f.sent.length;
  def.onEvent!({ kind: 'node_up', clusterId: 1, nodeId: 2 });
  const sent = f.sent.slice(before);
  t.match(sent, [{ cap: PROF_CAPABILITY, to: 2 }]);
  t.same(JSON.parse(sent[0]!.payload.toString()), [
    [
      'service/1',
      [
        ['calls', '', 1],
        ['caller', 'alice', 1],
      ],
    ],
  ]);
});
