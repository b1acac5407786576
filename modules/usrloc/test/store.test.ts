/**
 * The store alone: insert/update/remove, ordering, expired bindings never returned, the URI
 * index, revisions from the hybrid clock, tombstones and apply-if-newer.
 */
import t from 'tap';
import { contactKey, type ContactRecord } from '../api.js';
import { UsrlocStore, type StoreListener } from '../store.js';
import { EPOCH, input } from './helpers.js';

function setup(tombstoneTtlMs = 60_000) {
  let now = EPOCH;
  const log: string[] = [];
  const listener: StoreListener = {
    aorInserted: (aor) => log.push(`aor+ ${aor}`),
    aorDeleted: (aor) => log.push(`aor- ${aor}`),
    contactInserted: (r) => log.push(`ins ${r.uri}`),
    contactUpdated: (r, prev, quiet) =>
      log.push(`upd ${r.uri} ${prev.cseq}->${r.cseq}${quiet ? ' quiet' : ''}`),
    contactDeleted: (r, reason) => log.push(`del ${r.uri} ${reason}`),
    tombstoned: (aor, key) => log.push(`tomb ${aor} ${key}`),
  };
  const store = new UsrlocStore({ wallTime: () => now, tombstoneTtlMs, listener });
  return {
    store,
    log,
    set: (ms: number) => {
      now = ms;
    },
  };
}

t.test('insert, update and remove raise the listener in order', async (t) => {
  const { store, log } = setup();
  const a = store.save(input());
  t.equal(a.v, 1);
  t.equal(a.lastModified, EPOCH);
  const b = store.save(input({ cseq: 2 }));
  t.ok(b.rev > a.rev, 'an update takes a newer revision');
  store.save(input({ uri: 'sip:alice@198.51.100.1' }));
  t.same(store.counts(), { aors: 1, contacts: 2 });
  t.ok(store.remove('sip:alice@example.com', 'sip:alice@192.0.2.10:5060', 'unregistered'));
  t.notOk(store.remove('sip:alice@example.com', 'sip:nobody@x', 'unregistered'));
  t.equal(store.removeAor('sip:alice@example.com', 'mi'), 1);
  t.equal(store.removeAor('sip:alice@example.com', 'mi'), 0);
  t.same(store.counts(), { aors: 0, contacts: 0 });
  t.same(log, [
    'aor+ sip:alice@example.com',
    'ins sip:alice@192.0.2.10:5060',
    'upd sip:alice@192.0.2.10:5060 1->2',
    'ins sip:alice@198.51.100.1',
    'del sip:alice@192.0.2.10:5060 unregistered',
    'del sip:alice@198.51.100.1 mi',
    'aor- sip:alice@example.com',
  ]);
});

t.test('lookup orders by q, then most recent, and never returns expired bindings', async (t) => {
  const { store, set } = setup();
  store.save(input({ uri: 'sip:a@h1', q: 0.5, expires: EPOCH + 10_000 }));
  set(EPOCH + 1);
  store.save(input({ uri: 'sip:a@h2', q: 1, expires: EPOCH + 20_000 }));
  set(EPOCH + 2);
  store.save(input({ uri: 'sip:a@h3', q: 0.5, expires: EPOCH + 30_000 }));
  const uris = (l: readonly ContactRecord[]) => l.map((c) => c.uri);
  t.same(uris(store.lookup('sip:alice@example.com')), ['sip:a@h2', 'sip:a@h3', 'sip:a@h1']);
  set(EPOCH + 10_000);
  t.same(
    uris(store.lookup('sip:alice@example.com')),
    ['sip:a@h2', 'sip:a@h3'],
    'expired at its second',
  );
  t.equal(store.findByContact('sip:a@h1').length, 0, 'the URI index filters too');
  t.ok(store.getContact('sip:alice@example.com', 'sip:a@h1'), 'held until the job removes it');
  t.equal([...store.all()].length, 2);
  t.equal([...store.records()].length, 3);
  set(EPOCH + 40_000);
  t.same(store.lookup('sip:alice@example.com'), []);
  t.same(store.lookup('sip:nobody@example.com'), []);
  t.ok(store.hasAor('sip:alice@example.com'));
  t.same([...store.aors()], ['sip:alice@example.com']);
});

t.test('the URI index finds a contact in several AoRs and forgets removed ones', async (t) => {
  const { store } = setup();
  store.save(input({ aor: 'sip:a@x', uri: 'sip:shared@h' }));
  store.save(input({ aor: 'sip:b@x', uri: 'sip:shared@h' }));
  store.save(input({ aor: 'sip:c@x', uri: 'sip:shared@h' }));
  t.same(
    store.findByContact('sip:shared@h').map((c) => c.aor),
    ['sip:a@x', 'sip:b@x', 'sip:c@x'],
  );
  store.remove('sip:b@x', 'sip:shared@h', 'unregistered');
  t.same(
    store.findByContact('sip:shared@h').map((c) => c.aor),
    ['sip:a@x', 'sip:c@x'],
  );
  store.remove('sip:a@x', 'sip:shared@h', 'unregistered');
  t.same(
    store.findByContact('sip:shared@h').map((c) => c.aor),
    ['sip:c@x'],
  );
  store.save(input({ aor: 'sip:c@x', uri: 'sip:shared@h', cseq: 9 }));
  t.equal(store.findByContact('sip:shared@h')[0]?.cseq, 9, 'an update replaces the indexed record');
  store.remove('sip:c@x', 'sip:shared@h', 'unregistered');
  t.same(store.findByContact('sip:shared@h'), []);
});

t.test('bindings with +sip.instance are keyed by instance and reg-id', async (t) => {
  const { store } = setup();
  const inst = 'urn:uuid:00000000-0000-1000-8000-000A95A0E128';
  store.save(input({ uri: 'sip:a@h1', instance: inst, regId: 1 }));
  store.save(input({ uri: 'sip:a@h2', instance: inst, regId: 1 }));
  store.save(input({ uri: 'sip:a@h3', instance: inst, regId: 2 }));
  t.equal(store.counts().contacts, 2, 'same instance and reg-id replaces the binding');
  const key = contactKey({ uri: 'x', instance: inst, regId: 1 });
  t.equal(store.getContact('sip:alice@example.com', key)?.uri, 'sip:a@h2');
  t.same(store.findByContact('sip:a@h1'), [], 'the old URI left the index');
});

t.test('revisions follow a hybrid logical clock', async (t) => {
  const { store, set } = setup();
  const r1 = store.nextRev();
  t.equal(r1, EPOCH * 1024);
  t.equal(store.nextRev(), r1 + 1, 'same millisecond: the counter');
  set(EPOCH - 5_000);
  t.equal(store.nextRev(), r1 + 2, 'the wall clock stepping back never makes an older revision');
  const remote = (EPOCH + 60_000) * 1024;
  store.applyRecord({ ...store.save(input()), rev: remote });
  t.equal(store.nextRev(), remote + 1, 'a newer revision seen from elsewhere moves the clock');
});

t.test('apply-if-newer and tombstones', async (t) => {
  const { store, log, set } = setup(60_000);
  const aor = 'sip:alice@example.com';
  const key = 'sip:alice@192.0.2.10:5060';
  const base = store.save(input());
  log.length = 0;
  t.notOk(store.applyRecord({ ...base, cseq: 5, rev: base.rev - 1 }), 'older: refused');
  t.notOk(store.applyRecord({ ...base, cseq: 5 }), 'same revision: refused');
  t.ok(store.applyRecord({ ...base, cseq: 5, rev: base.rev + 10 }), 'newer: applied');
  t.equal(store.getContact(aor, key)?.cseq, 5);

  t.notOk(store.applyDelete(aor, key, base.rev + 5), 'a deletion older than the binding: refused');
  t.ok(store.applyDelete(aor, key, base.rev + 20, 'replaced'));
  t.equal(store.getContact(aor, key), null);
  t.notOk(
    store.applyRecord({ ...base, rev: base.rev + 15 }),
    'the tombstone stops an older insert',
  );
  t.ok(
    store.applyRecord({ ...base, rev: base.rev + 25 }),
    'a newer insert wins over the tombstone',
  );
  t.ok(store.remove(aor, key, 'unregistered'));
  t.equal(store.tombstoneCount(), 1);
  t.ok(
    store.applyDelete('sip:bob@x', 'sip:bob@h', base.rev + 30),
    'a deletion of an unknown binding is kept',
  );
  t.notOk(store.applyDelete('sip:bob@x', 'sip:bob@h', base.rev + 29), 'an older one is not');
  t.notOk(store.applyRecord({ ...base, aor: 'sip:bob@x', uri: 'sip:bob@h', rev: base.rev + 28 }));
  t.same(
    [...store.tombstones()].map(([a, k]) => `${a} ${k}`),
    [`${aor} ${key}`, 'sip:bob@x sip:bob@h'],
  );
  t.same(log, [
    'upd sip:alice@192.0.2.10:5060 1->5',
    'del sip:alice@192.0.2.10:5060 replaced',
    'aor- sip:alice@example.com',
    'aor+ sip:alice@example.com',
    'ins sip:alice@192.0.2.10:5060',
    'del sip:alice@192.0.2.10:5060 unregistered',
    'aor- sip:alice@example.com',
    'tomb sip:bob@x sip:bob@h',
  ]);
  set(EPOCH + 120_000);
  t.equal(store.sweepTombstones(EPOCH + 120_000), 2, 'tombstones go after their TTL');
  t.equal(store.tombstoneCount(), 0);
});

t.test('setFlags makes a quiet update with a new revision', async (t) => {
  const { store, log } = setup();
  const a = store.save(input());
  log.length = 0;
  const b = store.setFlags(a.aor, a.uri, 2);
  t.equal(b?.flags, 2);
  t.ok(b!.rev > a.rev);
  t.equal(store.setFlags(a.aor, a.uri, 2), b, 'no change: the same record');
  t.equal(store.setFlags(a.aor, 'sip:none@h', 1), null);
  t.same(log, ['upd sip:alice@192.0.2.10:5060 1->1 quiet']);
});

t.test('records share repeated strings and the AoR string', async (t) => {
  const { store } = setup();
  const a = store.save(input({ uri: 'sip:a@h1', path: ['<sip:p1>'], methods: ['INVITE'] }));
  const b = store.applyRecord(
    JSON.parse(JSON.stringify({ ...a, uri: 'sip:a@h2', rev: a.rev + 1 })) as ContactRecord,
  );
  t.ok(b);
  const [x, y] = store.held(a.aor);
  t.equal(x?.path, y?.path, 'equal Path lists are one array');
  t.equal(x?.methods, y?.methods);
  t.equal(store.save(input({ uri: 'sip:a@h3' })).path, store.save(input({ uri: 'sip:a@h4' })).path);
});
