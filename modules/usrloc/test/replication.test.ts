/**
 * usrloc's live replication (capability `usrloc-contact-repl`) on the in-memory cluster: writes
 * reach every node and raise the usual events there, nothing echoes back, stale and malformed
 * packets are ignored, a deletion is never undone by an older insert; the owner tag default;
 * the configuration errors.
 */
import t from 'tap';
import { flush } from '../../../test/helpers/memory-clusterer.js';
import { contactKey } from '../api.js';
import {
  decodeDelete,
  encodeDelete,
  encodeRecord,
  USRLOC_CAPABILITY,
  UsrlocPacket,
} from '../replication.js';
import { ulCluster } from './cluster.js';
import { join } from 'node:path';
import { EPOCH, input, start, tempDir } from './helpers.js';

const ALICE = 'sip:alice@example.com';

t.test('insert, update and delete on A reach B and C, with their events', async (t) => {
  const k = await ulCluster(3);
  t.teardown(() => k.stop());
  const [a, b, c] = k.nodes as [(typeof k.nodes)[0], (typeof k.nodes)[0], (typeof k.nodes)[0]];
  const rec = a.api.save(input());
  await flush();
  for (const x of [b, c]) {
    t.same(x.api.getContact(ALICE, rec.uri), rec, `node ${String(x.id)} holds A's record`);
  }
  t.equal(rec.owner, 'service/1', 'saved without a tag: the cluster default owns it');
  const upd = a.api.save(input({ cseq: 2, expires: EPOCH + 7200_000 }));
  await flush();
  t.equal(b.api.getContact(ALICE, rec.uri)?.cseq, 2);
  t.equal(b.api.getContact(ALICE, rec.uri)?.rev, upd.rev);
  t.ok(a.api.remove(ALICE, rec.uri, 'unregistered'));
  await flush();
  t.equal(b.api.getContact(ALICE, rec.uri), null);
  t.equal(c.api.counts().contacts, 0);
  t.same(
    b.events.map((e) => e.event),
    [
      'E_UL_AOR_INSERT',
      'E_UL_CONTACT_INSERT',
      'E_UL_CONTACT_UPDATE',
      'E_UL_CONTACT_DELETE',
      'E_UL_AOR_DELETE',
    ],
    'the receiving node raises the same events as the writer',
  );
  t.equal(b.events[3]?.params['reason'], 'unregistered', 'the reason travels with the delete');
  t.equal(a.service.replication!.stats.repl_sent, 3);
  t.equal(b.service.replication!.stats.repl_sent, 0, 'applied writes are not sent on: no echo');
  t.equal(b.service.replication!.stats.repl_applied, 3);
  const inA = k.hub.nodes.get(1)!.stats().perCapability.get(USRLOC_CAPABILITY);
  t.equal(inA?.pktsIn ?? 0, 0, 'nothing came back to A');
  t.equal(inA?.pktsOut, 6, 'three writes, two peers each');
  t.equal(b.stats.value('usrloc:repl_applied'), 3, 'statistics read the counters');
  t.equal(a.stats.value('usrloc:repl_sent'), 3);
});

t.test('a re-register on B replicates back to A; MI and expiry deletes travel too', async (t) => {
  const k = await ulCluster(2);
  t.teardown(() => k.stop());
  const [a, b] = k.nodes as [(typeof k.nodes)[0], (typeof k.nodes)[0]];
  a.api.save(input());
  await flush();
  const again = b.api.save(input({ cseq: 5, callId: 'call-1@192.0.2.10' }));
  await flush();
  t.equal(a.api.getContact(ALICE, again.uri)?.cseq, 5);
  t.ok(again.rev > 0 && a.api.getContact(ALICE, again.uri)?.rev === again.rev);
  const r = await b.call('ul_rm', [ALICE]);
  t.equal(r.error, undefined);
  await flush();
  t.equal(a.api.counts().contacts, 0, 'ul_rm on B removed it on A');
  const dumps = await Promise.all([a.call('ul_dump'), b.call('ul_dump')]);
  t.same(dumps[0].result, dumps[1].result, 'ul_dump is the same on both');
});

t.test('stale, duplicate and malformed packets are ignored', async (t) => {
  const k = await ulCluster(2);
  t.teardown(() => k.stop());
  const [a, b] = k.nodes as [(typeof k.nodes)[0], (typeof k.nodes)[0]];
  const old = a.api.save(input({ cseq: 1 }));
  await flush();
  const newer = a.api.save(input({ cseq: 2 }));
  await flush();
  const rb = b.service.replication!;
  const before = rb.stats.repl_stale;
  rb.onPacket({ clusterId: 1, source: 1, type: UsrlocPacket.PUT, payload: encodeRecord(old) });
  rb.onPacket({ clusterId: 1, source: 1, type: UsrlocPacket.PUT, payload: encodeRecord(newer) });
  t.equal(b.api.getContact(ALICE, old.uri)?.cseq, 2, 'an older revision does not overwrite');
  t.equal(rb.stats.repl_stale, before + 2, 'older and equal revisions are both stale');
  const del = encodeDelete({ aor: ALICE, key: old.uri, rev: old.rev, reason: 'unregistered' });
  rb.onPacket({ clusterId: 1, source: 1, type: UsrlocPacket.DELETE, payload: del });
  t.ok(b.api.getContact(ALICE, old.uri), 'a delete older than the binding leaves it');
  rb.onPacket({ clusterId: 1, source: 1, type: UsrlocPacket.PUT, payload: Buffer.from('{') });
  rb.onPacket({ clusterId: 1, source: 1, type: UsrlocPacket.DELETE, payload: Buffer.alloc(3) });
  rb.onPacket({ clusterId: 1, source: 1, type: 99, payload: Buffer.alloc(0) });
  const bad = Buffer.alloc(12);
  bad.writeUInt8(200, 0);
  rb.onPacket({ clusterId: 1, source: 1, type: UsrlocPacket.DELETE, payload: bad });
  t.equal(rb.stats.repl_bad, 4, 'not JSON, short delete, unknown type, unknown reason');
  const v2 = encodeRecord({ ...newer, rev: newer.rev + 5 });
  v2.writeUInt8(2, 0);
  rb.onPacket({ clusterId: 1, source: 1, type: UsrlocPacket.PUT, payload: v2 });
  t.equal(
    b.api.getContact(ALICE, old.uri)?.rev,
    newer.rev,
    'a record of another format is refused',
  );
  t.equal(rb.stats.repl_bad, 5);
});

t.test('a delete then an older insert does not resurrect the binding', async (t) => {
  const k = await ulCluster(2);
  t.teardown(() => k.stop());
  const [a, b] = k.nodes as [(typeof k.nodes)[0], (typeof k.nodes)[0]];
  k.hub.cut(1, 2);
  const rec = a.api.save(input());
  t.ok(a.api.remove(ALICE, rec.uri, 'unregistered'));
  k.hub.heal(1, 2);
  const rb = b.service.replication!;
  // The delete arrives first (say over a relay), the insert it deleted afterwards.
  const del = {
    aor: ALICE,
    key: contactKey(rec),
    rev: rec.rev + 1,
    reason: 'unregistered' as const,
  };
  t.same(decodeDelete(encodeDelete(del)), del, 'the delete round-trips');
  rb.onPacket({ clusterId: 1, source: 1, type: UsrlocPacket.DELETE, payload: encodeDelete(del) });
  rb.onPacket({ clusterId: 1, source: 1, type: UsrlocPacket.PUT, payload: encodeRecord(rec) });
  t.equal(b.api.getContact(ALICE, rec.uri), null, 'the tombstone wins');
  t.equal(rb.stats.repl_stale, 1);
  t.same(
    b.events.map((e) => e.event),
    [],
    'a delete of a binding never held raises nothing',
  );
});

t.test('the owner of a binding saved without one', async (t) => {
  const k = await ulCluster(2, { sharing_tag: 'vip/1' });
  t.teardown(() => k.stop());
  const a = k.nodes[0]!;
  t.equal(a.api.save(input()).owner, 'vip/1', 'usrloc sharing_tag');
  t.equal(a.api.save(input({ uri: 'sip:x@h', owner: 'reg/1' })).owner, 'reg/1', 'the caller wins');
  const solo = await start();
  t.teardown(() => solo.installed.destroy());
  t.equal(solo.api.save(input()).owner, null, 'single instance: untagged as before');
  t.equal(solo.service.replication, null);
});

t.test('configuration errors name the parameter', async (t) => {
  await t.rejects(
    start({ params: { working_mode_preset: 'full-sharing-cluster' } }),
    { code: 'TANDEM_ERR_CONFIG', message: /modules\.usrloc\.working_mode_preset/ },
    'full-sharing-cluster with no clusterer section',
  );
  await t.rejects(start({ params: { pinging_mode: 'both' } }), /modules\.usrloc\.pinging_mode/);
  const k = await ulCluster(1);
  t.teardown(() => k.stop());
  await t.rejects(
    start({
      cluster: k.nodes[0]!.c.api(),
      params: { working_mode_preset: 'full-sharing-cluster', location_cluster: 2 },
    }),
    { code: 'TANDEM_ERR_CONFIG', message: /modules\.usrloc\.location_cluster/ },
  );
});

t.test('what a node applies from a peer is persisted there like its own writes', async (t) => {
  const dir = await tempDir(t);
  const k = await ulCluster(2, { db_mode: 'file', fsync: false }, undefined, (id) =>
    join(dir, String(id)),
  );
  const [a, b] = k.nodes as [(typeof k.nodes)[0], (typeof k.nodes)[0]];
  const kept = a.api.save(input({ aor: 'sip:kept@example.com' }));
  const gone = a.api.save(input({ aor: 'sip:gone@example.com' }));
  await flush();
  a.api.remove(gone.aor, gone.uri, 'unregistered');
  await flush();
  t.equal((await b.call('ul_flush')).error, undefined);
  await k.stop();
  const again = await start({ params: { db_mode: 'file' }, dataDir: join(dir, '2') });
  t.teardown(() => again.installed.destroy());
  t.same(again.api.getContact(kept.aor, kept.uri), kept, "B's file has A's insert");
  t.equal(again.api.getContact(gone.aor, gone.uri), null, 'and its delete');
});
