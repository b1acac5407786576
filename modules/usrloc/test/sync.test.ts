/**
 * usrloc's full transfer, driven by an in-test pump in place of the sync engine: a node that was
 * away catches up (equal dumps), `end(ok)` drops what was deleted meanwhile but never what
 * changed since `begin`, a failed transfer keeps everything, and a scope limits both sides.
 */
import t from 'tap';
import { flush } from '../../../test/helpers/memory-clusterer.js';
import type { CapabilityDefinition, ClusterApi } from '../../../src/module/index.js';
import { CONTACT_RECORD_VERSION } from '../api.js';
import { USRLOC_CAPABILITY } from '../replication.js';
import { pump, ulCluster } from './cluster.js';
import { EPOCH, input, start } from './helpers.js';

const aor = (i: number): string => `sip:user${String(i)}@example.com`;

/** A `ul_dump` answer as text with its AoRs sorted (map order is arrival order). */
function dumpText(result: unknown): string {
  const d = result as { Domains: { AORs: { AOR: string }[] }[] };
  const aors = [...d.Domains[0]!.AORs].sort((x, y) => (x.AOR < y.AOR ? -1 : 1));
  return JSON.stringify(aors);
}

t.test('a pump A->C of 10,000 bindings gives equal dumps and sweeps what A deleted', async (t) => {
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
  rc.begin({ node: 1, scope: null });
  let sent = 0;
  await a.service.replication!.donate({ node: 3, scope: null }, async (b) => {
    rc.applyBytes(b);
    sent++;
    if (sent === 100) {
      // A re-register on C while the transfer runs: changed since begin, never swept.
      c.api.save(input({ aor: back.aor, cseq: 9 }));
      await flush();
    }
  });
  rc.end({ node: 1, scope: null }, true);
  await flush();
  // C's re-register reached A live and made a new AoR there, which A's live walk then met.
  t.equal(sent, 10_002, 'every binding A held (kept included)');
  t.equal(c.api.getContact(gone.aor, gone.uri), null, 'deleted while C was away: swept');
  t.ok(c.api.getContact(kept.aor, kept.uri), 'still on A: kept');
  t.equal(c.api.getContact(back.aor, back.uri)?.cseq, 9, 'changed on C during the transfer');
  t.equal(a.api.getContact(back.aor, back.uri)?.cseq, 9, 'and replicated live to A');
  t.equal(rc.stats.sync_swept, 1);
  t.equal(c.stats.value('usrloc:sync_swept'), 1);
  t.same(c.api.counts(), a.api.counts());
  const [da, dc] = await Promise.all([a.call('ul_dump'), c.call('ul_dump')]);
  t.equal(dumpText(dc.result), dumpText(da.result), 'ul_dump on C equals ul_dump on A');
  t.equal(
    c.events.filter((e) => e.event === 'E_UL_CONTACT_DELETE').at(-1)?.params['reason'],
    'sync',
    'the sweep raises E_UL_CONTACT_DELETE with reason sync',
  );
  t.equal(a.service.replication!.stats.repl_sent, 10_005, 'the sweep was not replicated');
});

t.test('a pump applies only newer records and a failed transfer sweeps nothing', async (t) => {
  const k = await ulCluster(2);
  t.teardown(() => k.stop());
  const [a, b] = k.nodes as [(typeof k.nodes)[0], (typeof k.nodes)[0]];
  a.api.save(input({ aor: 'sip:one@example.com' }));
  await flush();
  k.hub.cut(1, 2);
  const newer = b.api.save(input({ aor: 'sip:one@example.com', cseq: 7 }));
  b.api.save(input({ aor: 'sip:only-b@example.com' }));
  t.equal(await pump(a.service, b.service, null, false), 1);
  t.equal(b.api.getContact(newer.aor, newer.uri)?.cseq, 7, 'the older donor copy lost');
  t.ok(b.api.getContact('sip:only-b@example.com', newer.uri), 'not ok: nothing swept');
  t.equal(b.service.replication!.stats.repl_stale, 1);
  t.equal(await pump(a.service, b.service), 1);
  t.equal(b.api.getContact('sip:only-b@example.com', newer.uri), null, 'ok: swept');
  t.equal(b.api.getContact(newer.aor, newer.uri)?.cseq, 7, 'the newer local copy stays');
});

t.test('a scoped transfer carries and sweeps only bindings of that tag', async (t) => {
  const k = await ulCluster(2);
  t.teardown(() => k.stop());
  const [a, b] = k.nodes as [(typeof k.nodes)[0], (typeof k.nodes)[0]];
  k.hub.cut(1, 2);
  a.api.save(input({ aor: 'sip:v1@example.com', owner: 'vip/1' }));
  a.api.save(input({ aor: 'sip:s1@example.com' }));
  b.api.save(input({ aor: 'sip:v2@example.com', owner: 'vip/1', expires: EPOCH + 5_000 }));
  b.api.save(input({ aor: 'sip:s2@example.com' }));
  t.equal(await pump(a.service, b.service, 'vip/1'), 1);
  t.same(
    [...b.api.all()].map((c) => c.aor).sort(),
    ['sip:s2@example.com', 'sip:v1@example.com'],
    'vip/1 now as on A; service/1 untouched',
  );
});

t.test('begin/end without records, and end without begin, do no harm', async (t) => {
  const k = await ulCluster(2);
  t.teardown(() => k.stop());
  const [a, b] = k.nodes as [(typeof k.nodes)[0], (typeof k.nodes)[0]];
  b.service.replication!.end({ node: 1, scope: null }, true);
  t.equal(await pump(a.service, b.service), 0);
  t.same(b.api.counts(), { aors: 0, contacts: 0 });
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
  const ctx = { node: 1, scope: null };
  db.sync!.begin!(ctx);
  await da.sync!.donate({ node: 2, scope: null }, (rec) => {
    db.sync!.apply(rec, ctx);
  });
  db.sync!.end!(ctx, true);
  t.same(b.api.counts(), { aors: 2, contacts: 2 });
  t.equal(sent.length, 2, 'nothing B applied was sent');
});
