/**
 * usrloc's full transfer: driven by an in-test pump (donate straight into apply), a node that
 * was away catches up (equal dumps) and the donor's tombstones remove what was deleted
 * meanwhile, a binding changed on the receiver during the transfer keeps its newer version,
 * nothing the donor did not send is dropped, and a scope limits the bindings sent. On the real
 * sync engine, a split (both sides writing and deleting while cut) heals into the union.
 */
import t from 'tap';
import { flush } from '../../../test/helpers/memory-clusterer.js';
import type { CapabilityDefinition, ClusterApi } from '../../../src/module/index.js';
import { CONTACT_RECORD_VERSION } from '../api.js';
import {
  encodeDelete,
  encodeRecord,
  encodeTombstone,
  USRLOC_CAPABILITY,
  UsrlocPacket,
} from '../replication.js';
import { pump, tick, ulCluster } from './cluster.js';
import { EPOCH, input, start } from './helpers.js';

const aor = (i: number): string => `sip:user${String(i)}@example.com`;

/** A `ul_dump` answer as text with its AoRs sorted (map order is arrival order). */
function dumpText(result: unknown): string {
  const d = result as { Domains: { AORs: { AOR: string }[] }[] };
  const aors = [...d.Domains[0]!.AORs].sort((x, y) => (x.AOR < y.AOR ? -1 : 1));
  return JSON.stringify(aors);
}

t.test(
  'a pump A->C of 10,000 bindings gives equal dumps; tombstones remove what A deleted',
  async (t) => {
    const k = await ulCluster(3);
    t.teardown(() => k.stop());
    const [a, , c] = k.nodes as [(typeof k.nodes)[0], (typeof k.nodes)[0], (typeof k.nodes)[0]];
    const gone = a.api.save(input({ aor: 'sip:gone@example.com' }));
    const kept = a.api.save(input({ aor: 'sip:kept@example.com' }));
    const back = a.api.save(input({ aor: 'sip:back@example.com' }));
    await flush();
    t.equal(c.api.counts().contacts, 3);
    // C goes away; meanwhile A deletes two and takes 10,000 registrations.
    k.hub.cut(1, 3);
    k.hub.cut(2, 3);
    a.api.remove(gone.aor, gone.uri, 'unregistered');
    a.api.remove(back.aor, back.uri, 'unregistered');
    for (let i = 0; i < 5_000; i++) {
      a.api.save(input({ aor: aor(i), uri: `sip:u${String(i)}@10.0.0.1:5060` }));
      a.api.save(input({ aor: aor(i), uri: `sip:u${String(i)}@10.0.0.2:5060`, q: 0.5 }));
    }
    await flush();
    t.equal(c.api.counts().contacts, 3, 'C missed all of it');
    k.hub.heal(1, 3);
    k.hub.heal(2, 3);

    const rc = c.service.replication!;
    const kinds = [0, 0, 0];
    await a.service.replication!.donate({ node: 3, scope: null }, async (b) => {
      rc.applySync(b);
      kinds[b[0]!]!++;
      if (kinds[1] === 100) {
        // A re-register on C while the transfer runs: newer than anything A sends.
        c.api.save(input({ aor: back.aor, cseq: 9 }));
        await flush();
      }
    });
    await flush();
    // C's re-register reached A live (a new AoR there, which A's live walk then met, and the end
    // of back's tombstone on A, so only gone's is sent).
    t.equal(kinds[UsrlocPacket.PUT], 10_002, 'every binding A held (kept included)');
    t.equal(kinds[UsrlocPacket.DELETE], 1, "and A's tombstone of gone");
    t.equal(c.api.getContact(gone.aor, gone.uri), null, 'deleted while C was away: removed');
    t.ok(c.api.getContact(kept.aor, kept.uri), 'still on A: kept');
    t.equal(c.api.getContact(back.aor, back.uri)?.cseq, 9, 'changed on C during the transfer');
    t.equal(a.api.getContact(back.aor, back.uri)?.cseq, 9, 'and replicated live to A');
    t.equal(rc.stats.sync_tombstones, 1);
    t.equal(c.stats.value('usrloc:sync_tombstones'), 1);
    t.same(c.api.counts(), a.api.counts());
    const [da, dc] = await Promise.all([a.call('ul_dump'), c.call('ul_dump')]);
    t.equal(dumpText(dc.result), dumpText(da.result), 'ul_dump on C equals ul_dump on A');
    t.equal(
      c.events.filter((e) => e.event === 'E_UL_CONTACT_DELETE').at(-1)?.params['reason'],
      'sync',
      'a tombstone from a sync raises E_UL_CONTACT_DELETE with reason sync',
    );
    t.equal(a.service.replication!.stats.repl_sent, 10_005, 'what C applied was not sent on');
  },
);

t.test('a pump applies only newer records and drops nothing the donor did not send', async (t) => {
  const k = await ulCluster(2);
  t.teardown(() => k.stop());
  const [a, b] = k.nodes as [(typeof k.nodes)[0], (typeof k.nodes)[0]];
  a.api.save(input({ aor: 'sip:one@example.com' }));
  await flush();
  k.hub.cut(1, 2);
  const newer = b.api.save(input({ aor: 'sip:one@example.com', cseq: 7 }));
  b.api.save(input({ aor: 'sip:only-b@example.com' }));
  t.equal(await pump(a.service, b.service), 1);
  t.equal(b.api.getContact(newer.aor, newer.uri)?.cseq, 7, 'the older donor copy lost');
  t.ok(b.api.getContact('sip:only-b@example.com', newer.uri), 'written on B alone: kept');
  t.equal(b.service.replication!.stats.repl_stale, 1);
  // A tombstone older than the binding held does not remove it either.
  const r = b.service.replication!;
  r.applySync(encodeTombstone(newer.aor, newer.uri, newer.rev - 1));
  t.equal(b.api.getContact(newer.aor, newer.uri)?.cseq, 7, 'an older tombstone: kept');
  t.equal(r.stats.sync_tombstones, 0);
  // A tombstone remembered by a sync stops an older copy arriving later.
  r.applySync(encodeTombstone('sip:later@example.com', newer.uri, newer.rev + 10));
  t.equal(r.stats.sync_tombstones, 1, 'a deletion of a binding B never held is remembered');
  const old = a.api.save(input({ aor: 'sip:later@example.com' }));
  t.ok(old.rev < newer.rev + 10);
  r.onPacket({
    clusterId: 1,
    source: 1,
    type: UsrlocPacket.PUT,
    payload: encodeRecord(old),
  });
  t.equal(b.api.getContact('sip:later@example.com', newer.uri), null, 'not resurrected');
});

t.test('a scoped transfer carries bindings of that tag only and every tombstone', async (t) => {
  const k = await ulCluster(2);
  t.teardown(() => k.stop());
  const [a, b] = k.nodes as [(typeof k.nodes)[0], (typeof k.nodes)[0]];
  const d1 = a.api.save(input({ aor: 'sip:d1@example.com', owner: 'vip/1' }));
  const d2 = a.api.save(input({ aor: 'sip:d2@example.com' }));
  await flush();
  t.equal(b.api.counts().contacts, 2);
  k.hub.cut(1, 2);
  a.api.remove(d1.aor, d1.uri, 'mi');
  a.api.remove(d2.aor, d2.uri, 'mi');
  a.api.save(input({ aor: 'sip:v1@example.com', owner: 'vip/1' }));
  a.api.save(input({ aor: 'sip:s1@example.com' }));
  b.api.save(input({ aor: 'sip:v2@example.com', owner: 'vip/1', expires: EPOCH + 5_000 }));
  b.api.save(input({ aor: 'sip:s2@example.com' }));
  t.equal(await pump(a.service, b.service, 'vip/1'), 3, 'v1 and the two tombstones');
  t.same(
    [...b.api.all()].map((c) => c.aor).sort(),
    ['sip:s2@example.com', 'sip:v1@example.com', 'sip:v2@example.com'],
    "v1 from A; B's own writes kept; s1 (service/1) not sent; d1 and d2 removed",
  );
  t.equal(b.service.replication!.stats.sync_tombstones, 2);
});

t.test('an empty donor sends nothing; a bad sync record is counted, not thrown', async (t) => {
  const k = await ulCluster(2);
  t.teardown(() => k.stop());
  const [a, b] = k.nodes as [(typeof k.nodes)[0], (typeof k.nodes)[0]];
  t.equal(await pump(a.service, b.service), 0);
  t.same(b.api.counts(), { aors: 0, contacts: 0 });
  const r = b.service.replication!;
  const del = encodeDelete({ aor: 'sip:x@example.com', key: 'sip:x@1', rev: 1, reason: 'mi' });
  for (const bad of [
    Buffer.alloc(0),
    Buffer.from([9, 1, 2]),
    Buffer.from([UsrlocPacket.PUT, CONTACT_RECORD_VERSION, 0]),
    Buffer.concat([Buffer.from([UsrlocPacket.DELETE]), del.subarray(0, 5)]),
  ]) {
    t.doesNotThrow(() => {
      r.applySync(bad);
    });
  }
  t.equal(r.stats.repl_bad, 4);
  t.same(b.api.counts(), { aors: 0, contacts: 0 });
});

t.test('a split heals into the union of both sides on the real sync engine', async (t) => {
  const k = await ulCluster(2);
  t.teardown(() => k.stop());
  const [a, b] = k.nodes as [(typeof k.nodes)[0], (typeof k.nodes)[0]];
  const x = a.api.save(input({ aor: 'sip:x@example.com' }));
  const y = b.api.save(input({ aor: 'sip:y@example.com' }));
  const z = a.api.save(input({ aor: 'sip:z@example.com' }));
  await flush();
  t.equal(b.api.counts().contacts, 3);
  t.equal(a.api.counts().contacts, 3);
  // The link is cut; both sides keep taking registrations and removing bindings.
  k.hub.cut(1, 2);
  await tick(k.clock, 2_000);
  a.api.save(input({ aor: 'sip:only-a@example.com' }));
  b.api.save(input({ aor: 'sip:only-b@example.com' }));
  a.api.remove(y.aor, y.uri, 'unregistered');
  b.api.remove(x.aor, x.uri, 'unregistered');
  // Re-registered on both sides: the later write (B's) wins everywhere.
  a.api.save(input({ aor: z.aor, cseq: 2 }));
  k.clock.advance(1);
  b.api.save(input({ aor: z.aor, cseq: 3 }));
  await tick(k.clock, 2_000);
  t.equal(a.api.counts().contacts, 3, 'A: x, z, only-a');
  t.equal(b.api.counts().contacts, 3, 'B: y, z, only-b');
  k.hub.heal(1, 2);
  await tick(k.clock, 5_000);
  for (const [name, n] of [
    ['A', a],
    ['B', b],
  ] as const) {
    t.same(
      [...n.api.all()].map((c) => c.aor).sort(),
      ['sip:only-a@example.com', 'sip:only-b@example.com', 'sip:z@example.com'],
      `${name}: both sides' new bindings, neither deleted one`,
    );
    t.equal(n.api.getContact(z.aor, z.uri)?.cseq, 3, `${name}: the newer z`);
    t.ok(
      (n.stats.value('usrloc:sync_tombstones') ?? 0) >= 1,
      `${name}: the other's delete came as a tombstone`,
    );
  }
  t.ok(a.c.readiness().ready && b.c.readiness().ready, 'both synced again');
});

t.test('the registered capability: name, version, and the engine calling its sync', async (t) => {
  const defs: CapabilityDefinition[] = [];
  const sent: { type: number; payload: Buffer }[] = [];
  const fake: ClusterApi = {
    myNodeId: 1,
    clusterIds: () => [1],
    registerCapability: (def) => {
      defs.push(def);
      return {
        name: def.name,
        clusterId: def.clusterId,
        enabled: true,
        sendTo: () => 'queued',
        sendAll: (type, payload) => sent.push({ type, payload }),
        nodes: () => [],
        synced: true,
        requestSync: () => true,
        syncedNodes: () => [1],
      };
    },
    nodes: () => [],
    onNodeUp: () => () => undefined,
    onNodeDown: () => () => undefined,
  };
  const a = await start({ cluster: fake, params: { working_mode_preset: 'full-sharing-cluster' } });
  t.teardown(() => a.installed.destroy());
  const b = await start({ cluster: fake, params: { working_mode_preset: 'full-sharing-cluster' } });
  t.teardown(() => b.installed.destroy());
  const [da, db] = defs as [CapabilityDefinition, CapabilityDefinition];
  t.equal(da.name, USRLOC_CAPABILITY);
  t.equal(da.dataVersion, CONTACT_RECORD_VERSION);
  t.equal(da.clusterId, 1);
  t.not(da.sync?.startupSync, false, 'a starting node pulls the table');
  a.api.save(input());
  a.api.save(input({ aor: 'sip:bob@example.com' }));
  t.equal(sent.length, 2);
  db.onPacket({ clusterId: 1, source: 1, type: sent[0]!.type, payload: sent[0]!.payload });
  t.equal(b.api.counts().contacts, 1, 'a live packet through the definition');
  t.notOk('begin' in da.sync!, 'no begin: nothing is marked');
  t.notOk('end' in da.sync!, 'no end: nothing is swept');
  const ctx = { node: 1, scope: null };
  await da.sync!.donate({ node: 2, scope: null }, (rec) => {
    db.sync!.apply(rec, ctx);
  });
  t.same(b.api.counts(), { aors: 2, contacts: 2 });
  t.equal(sent.length, 2, 'nothing B applied was sent');
});
