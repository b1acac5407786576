/**
 * Who acts on replicated bindings: the expiry job only where the owner tag is active (and the
 * deletes replicate), the backups' purge once no reachable node has held the tag for
 * `purge_grace`, the keep-alive ping split (ownership, cooperation), and `ul_cluster_sync`.
 */
import t from 'tap';
import { flush } from '../../../test/helpers/memory-clusterer.js';
import { moduleSharingTags, type Capability } from '../../../src/module/index.js';
import { purgeUnowned } from '../expiry.js';
import { UsrlocStore } from '../store.js';
import { aorHash } from '../usrloc.js';
import { tick, ulCluster } from './cluster.js';
import { EPOCH, input, start } from './helpers.js';

t.test('only the node where the tag is active expires; after activation on B only B', async (t) => {
  const k = await ulCluster(2);
  t.teardown(() => k.stop());
  const [a, b] = k.nodes as [(typeof k.nodes)[0], (typeof k.nodes)[0]];
  a.api.save(input({ uri: 'sip:a@1', expires: EPOCH + 1_500 }));
  a.api.save(input({ uri: 'sip:a@2', expires: EPOCH + 60_000 }));
  await flush();
  t.equal(b.api.counts().contacts, 2);
  await tick(k.clock, 2_000);
  t.equal(a.stats.value('usrloc:expires'), 1, 'A (active) expired it');
  t.equal(b.stats.value('usrloc:expires'), 0, 'B (backup) did not');
  t.equal(b.api.counts().contacts, 1, "A's delete replicated to B");
  t.equal(b.events.at(-1)?.params['reason'], 'expired');

  b.c.sharingTags().activate('service/1');
  await flush();
  t.equal(a.c.tags.state('service/1'), 'backup', 'A stepped down');
  b.api.save(input({ uri: 'sip:b@1', expires: k.clock.now() + EPOCH + 1_500 }));
  await flush();
  t.equal(a.api.counts().contacts, 2);
  await tick(k.clock, 2_000);
  t.equal(b.stats.value('usrloc:expires'), 1, 'B expires now');
  t.equal(a.stats.value('usrloc:expires'), 1, 'A no longer does');
  t.equal(a.api.counts().contacts, 1, "B's delete replicated to A");
});

t.test('a backup never returns an expired binding it may not remove', async (t) => {
  const k = await ulCluster(2);
  t.teardown(() => k.stop());
  const [a, b] = k.nodes as [(typeof k.nodes)[0], (typeof k.nodes)[0]];
  a.api.save(input({ expires: EPOCH + 500 }));
  await flush();
  // A's expiry delete will not reach B.
  k.hub.cut(1, 2);
  await tick(k.clock, 1_000);
  t.same(b.api.lookup('sip:alice@example.com'), [], 'lookup filters it');
  t.equal(b.api.counts().contacts, 1, 'still held: its owner may yet remove it');
});

t.test('backups purge expired bindings once nobody has held the tag for purge_grace', async (t) => {
  const k = await ulCluster(3, { purge_grace: 5 });
  t.teardown(() => k.stop());
  const [a, b, c] = k.nodes as [(typeof k.nodes)[0], (typeof k.nodes)[0], (typeof k.nodes)[0]];
  a.api.save(input({ uri: 'sip:held@1', expires: EPOCH + 500 }));
  a.api.save(input({ uri: 'sip:ghost@1', owner: 'ghost/1', expires: EPOCH + 500 }));
  a.api.save(input({ uri: 'sip:ghost@2', owner: 'ghost/1', expires: EPOCH + 600_000 }));
  await flush();
  // A is cut off from B and C: its service/1 is held by nobody they can reach.
  k.hub.cut(1, 2);
  k.hub.cut(1, 3);
  await tick(k.clock, 4_000);
  t.ok(b.api.getContact('sip:alice@example.com', 'sip:held@1'), 'within the grace: kept');
  t.ok(b.api.getContact('sip:alice@example.com', 'sip:ghost@1'));
  t.ok(
    a.api.getContact('sip:alice@example.com', 'sip:ghost@1'),
    'nobody holds ghost/1: A waits too',
  );
  t.equal(a.api.getContact('sip:alice@example.com', 'sip:held@1'), null, 'A holds service/1');
  await tick(k.clock, 3_000);
  for (const x of [b, c]) {
    t.equal(x.api.getContact('sip:alice@example.com', 'sip:held@1'), null, 'purged after grace');
    t.equal(x.api.getContact('sip:alice@example.com', 'sip:ghost@1'), null);
    t.ok(x.api.getContact('sip:alice@example.com', 'sip:ghost@2'), 'live bindings stay');
    t.equal(x.stats.value('usrloc:purged'), 2);
    t.equal(x.stats.value('usrloc:expires'), 0, 'a purge is not an expiry of the owner');
  }
  t.equal(b.service.replication!.stats.repl_sent, 0, 'each backup purges on its own');
  t.equal(a.stats.value('usrloc:expires'), 1, 'A expired what service/1 owns');
  t.equal(a.stats.value('usrloc:purged'), 1, 'and purged only the ghost/1 binding');
});

t.test(
  'a delete lost while the link was cut is repaired by the resync the gap starts',
  async (t) => {
    const k = await ulCluster(2, { purge_grace: 5 });
    t.teardown(() => k.stop());
    const [a, b] = k.nodes as [(typeof k.nodes)[0], (typeof k.nodes)[0]];
    a.api.save(input({ expires: EPOCH + 500 }));
    await flush();
    k.hub.cut(1, 2);
    await tick(k.clock, 3_000);
    t.equal(a.api.counts().contacts, 0, 'A expired it; the delete never reached B');
    t.equal(b.api.counts().contacts, 1, 'B still holds it (within the grace)');
    k.hub.heal(1, 2);
    await tick(k.clock, 2_000);
    t.equal(
      b.api.counts().contacts,
      0,
      "the gap was seen, B resynced and A's tombstone removed it",
    );
    t.ok((b.stats.value('usrloc:sync_tombstones') ?? 0) >= 1, 'by a sync tombstone, not a purge');
    t.equal(
      b.events.filter((e) => e.event === 'E_UL_CONTACT_DELETE').at(-1)?.params['reason'],
      'sync',
    );
    t.equal(b.stats.value('usrloc:purged'), 0);
  },
);

t.test('the purge clock restarts when the tag is held again before the grace ends', (t) => {
  let now = 0;
  let held = false;
  const store = new UsrlocStore({
    wallTime: () => now,
    tombstoneTtlMs: 60_000,
    listener: {
      aorInserted: () => undefined,
      aorDeleted: () => undefined,
      contactInserted: () => undefined,
      contactUpdated: () => undefined,
      contactDeleted: () => undefined,
    },
  });
  store.save(input({ expires: 100, owner: 'service/1' }));
  const tags = moduleSharingTags({ isActive: () => false });
  const view = { ...tags, heldActive: () => held };
  const unheld = new Map<string, number>();
  now = 1_000;
  t.equal(purgeUnowned(store, view, now, 5_000, unheld), 0, 'unheld from 1 s');
  now = 4_000;
  held = true;
  t.equal(purgeUnowned(store, view, now, 5_000, unheld), 0, 'held again at 4 s');
  held = false;
  now = 5_000;
  t.equal(purgeUnowned(store, view, now, 5_000, unheld), 0, 'unheld again from 5 s');
  now = 9_000;
  t.equal(purgeUnowned(store, view, now, 5_000, unheld), 0, '8 s after the first outage: kept');
  now = 10_000;
  t.equal(purgeUnowned(store, view, now, 5_000, unheld), 1, '5 s after the second: purged');
  t.end();
});

t.test('pinging: ownership pings where the tag is active; cooperation splits by AoR', async (t) => {
  const own = await ulCluster(2);
  t.teardown(() => own.stop());
  const rec = own.nodes[0]!.api.save(input());
  await flush();
  t.ok(own.nodes[0]!.api.pingSelector()(rec), 'A, active, pings');
  t.notOk(own.nodes[1]!.api.pingSelector()(rec), 'B, backup, does not');

  const co = await ulCluster(3, { pinging_mode: 'cooperation' });
  t.teardown(() => co.stop());
  const recs = Array.from({ length: 300 }, (_, i) =>
    co.nodes[0]!.api.save(input({ aor: `sip:u${String(i)}@example.com` })),
  );
  await flush();
  const counts = co.nodes.map((x) => {
    const mine = x.api.pingSelector();
    return recs.filter((r) => mine(r)).length;
  });
  t.equal(
    counts.reduce((s, n) => s + n, 0),
    300,
    'every AoR is pinged by exactly one node',
  );
  t.ok(
    counts.every((n) => n > 50),
    `each node takes a share: ${counts.join(', ')}`,
  );
  t.equal(aorHash('sip:u1@example.com'), aorHash('sip:u1@example.com'));
  co.hub.cut(1, 3);
  co.hub.cut(2, 3);
  const two = co.nodes.slice(0, 2).map((x) => {
    const mine = x.api.pingSelector();
    return recs.filter((r) => mine(r)).length;
  });
  t.equal(two[0]! + two[1]!, 300, 'node 3 unreachable: 1 and 2 split its share');

  const solo = await start();
  t.teardown(() => solo.installed.destroy());
  t.ok(solo.api.pingSelector()(solo.api.save(input({ owner: 'x/1' }))), 'single instance pings');
});

t.test('cooperation: a node that is not synced pings nothing', async (t) => {
  const co = await ulCluster(2, { pinging_mode: 'cooperation' });
  t.teardown(() => co.stop());
  const a = co.nodes[0]!;
  stub(a.service.replication!.cap, 'syncedNodes', () => [2]);
  t.notOk(a.api.pingSelector()(a.api.save(input())));
});

t.test('ul_cluster_sync asks the capability for a transfer', async (t) => {
  const k = await ulCluster(2);
  t.teardown(() => k.stop());
  const a = k.nodes[0]!;
  const asked: (string | null | undefined)[] = [];
  let answer = true;
  stub(a.service.replication!.cap, 'requestSync', (scope?: string | null) => {
    asked.push(scope);
    return answer;
  });
  t.same(await a.call('ul_cluster_sync'), { jsonrpc: '2.0', id: 1, result: 'OK' });
  t.same(asked, [undefined], 'the whole table');
  answer = false;
  t.match(await a.call('ul_cluster_sync'), {
    error: { code: 500, message: 'Failed to send sync request' },
  });
  const solo = await start();
  t.teardown(() => solo.installed.destroy());
  t.match(await solo.call('ul_cluster_sync'), {
    error: { code: 400, message: 'Contact replication is disabled' },
  });
});

/** Replace one method of the capability handle (the engine's answers are not ours to make). */
function stub<K extends 'requestSync' | 'syncedNodes'>(
  cap: Capability,
  key: K,
  fn: Capability[K],
): void {
  Object.defineProperty(cap, key, { value: fn });
}
