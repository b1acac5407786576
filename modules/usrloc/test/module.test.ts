/**
 * usrloc inside the module installer: the API another module binds, events, statistics, the
 * expiry job on a fake clock gated by sharing tags, parameters checked at start.
 */
import t from 'tap';
import { EPOCH, input, start } from './helpers.js';

t.test('save, update and remove raise the E_UL_* events with OpenSIPS parameters', async (t) => {
  const u = await start();
  t.teardown(() => u.installed.destroy());
  const a = u.api.save(input({ path: ['<sip:edge;lr>'], received: 'sip:203.0.113.5:4000' }));
  u.api.save(input({ cseq: 2 }));
  t.ok(u.api.remove(a.aor, a.uri, 'unregistered'));
  t.same(
    u.events.map((e) => e.event),
    [
      'E_UL_AOR_INSERT',
      'E_UL_CONTACT_INSERT',
      'E_UL_CONTACT_UPDATE',
      'E_UL_CONTACT_DELETE',
      'E_UL_AOR_DELETE',
    ],
  );
  t.match(u.events[1]?.params, {
    aor: 'sip:alice@example.com',
    address: 'sip:alice@192.0.2.10:5060',
    received: 'sip:203.0.113.5:4000',
    path: '<sip:edge;lr>',
    qval: 1,
    socket: 'udp:127.0.0.1:5060',
    bflags: 0,
    expires: Math.floor((EPOCH + 3600_000) / 1000),
    callid: 'call-1@192.0.2.10',
    cseq: 1,
  });
  t.equal(u.events[3]?.params['reason'], 'unregistered');
  t.equal(u.api.removeAor('sip:nobody@x', 'mi'), 0);
  t.equal(u.api.setFlags('sip:nobody@x', 'k', 1), null);
  t.same([...u.api.all()], []);
  await u.api.flush();
});

t.test('events nobody subscribes to are counted without building their parameters', async (t) => {
  const u = await start({ subscribe: false });
  t.teardown(() => u.installed.destroy());
  const a = u.api.save(input());
  t.ok(u.api.remove(a.aor, a.uri, 'unregistered'));
  t.equal(u.bus.stats.raised, 4, 'AoR and contact insert, contact and AoR delete');
  t.same(u.events, []);
});

t.test('statistics: registered_users, contacts and the expires counter', async (t) => {
  const u = await start({ params: { timer_interval: 5 } });
  t.teardown(() => u.installed.destroy());
  u.api.save(input({ uri: 'sip:a@h1', expires: EPOCH + 3_000 }));
  u.api.save(input({ uri: 'sip:a@h2', expires: EPOCH + 60_000 }));
  u.api.save(input({ aor: 'sip:bob@example.com', uri: 'sip:b@h1', expires: EPOCH + 4_000 }));
  t.equal(u.stats.value('usrloc:registered_users'), 2);
  t.equal(u.stats.value('usrloc:contacts'), 3);
  t.same(u.api.counts(), { aors: 2, contacts: 3 });
  u.clock.advance(3_000);
  t.same(
    u.api.lookup('sip:alice@example.com').map((c) => c.uri),
    ['sip:a@h2'],
    'expired between timer runs: not returned',
  );
  t.equal(u.stats.value('usrloc:contacts'), 3, 'still held until the job runs');
  u.events.length = 0;
  u.clock.advance(2_000);
  t.equal(u.stats.value('usrloc:contacts'), 1);
  t.equal(u.stats.value('usrloc:registered_users'), 1);
  t.equal(u.stats.value('usrloc:expires'), 2);
  t.same(
    u.events.map((e) => `${e.event} ${String(e.params['reason'] ?? e.params['aor'])}`),
    [
      'E_UL_CONTACT_DELETE expired',
      'E_UL_CONTACT_DELETE expired',
      'E_UL_AOR_DELETE sip:bob@example.com',
    ],
  );
  t.equal(u.stats.value('usrloc:db_queued'), 0, 'db_mode none queues nothing');
});

t.test('the expiry job acts only on bindings whose sharing tag is active here', async (t) => {
  const active = new Set<string>(['vip/1']);
  const u = await start({
    params: { timer_interval: 1 },
    sharingTags: { isActive: (tag) => tag === null || active.has(tag) },
  });
  t.teardown(() => u.installed.destroy());
  u.api.save(input({ uri: 'sip:a@mine', owner: 'vip/1', expires: EPOCH + 500 }));
  u.api.save(input({ uri: 'sip:a@theirs', owner: 'vip/2', expires: EPOCH + 500 }));
  u.api.save(input({ uri: 'sip:a@untagged', owner: null, expires: EPOCH + 500 }));
  u.clock.advance(1_000);
  t.same(
    u.api.lookup('sip:alice@example.com'),
    [],
    'expired bindings are never returned, wherever they are owned',
  );
  t.same([...u.api.all()].length, 0);
  t.ok(u.api.getContact('sip:alice@example.com', 'sip:a@theirs'), 'the backup leaves it alone');
  t.equal(u.api.getContact('sip:alice@example.com', 'sip:a@mine'), null);
  t.equal(u.api.getContact('sip:alice@example.com', 'sip:a@untagged'), null);
  active.add('vip/2');
  u.clock.advance(1_000);
  t.equal(u.api.getContact('sip:alice@example.com', 'sip:a@theirs'), null, 'removed once active');
  t.equal(u.stats.value('usrloc:expires'), 3);
});

t.test('a bad parameter fails the start naming modules.usrloc.<key>', async (t) => {
  await t.rejects(start({ params: { db_mode: 'mysql' } }), /modules\.usrloc\.db_mode/);
  await t.rejects(start({ params: { flush_interval: 0 } }), /modules\.usrloc\.flush_interval/);
  await t.rejects(start({ params: { nope: 1 } }), /modules\.usrloc/);
});
