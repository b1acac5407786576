/** The statistics registry: names, groups, lookups the OpenSIPS way, reset semantics. */
import t from 'tap';
import { StatsRegistry } from '../../src/core/stats.js';

function sample() {
  const stats = new StatsRegistry();
  const core = { rcv_requests: 3, sent_replies: 2 };
  const tm = { inuse_transactions: 4, UAS_transactions: 7 };
  stats.fields('core', core, ['rcv_requests', 'sent_replies'], {
    descriptions: { rcv_requests: 'Requests received' },
  });
  stats.fields('tm', tm, ['inuse_transactions', 'UAS_transactions'], {
    gauges: ['inuse_transactions'],
  });
  return { stats, core, tm };
}

t.test('fields are read live from the owning object, with group:name names', async (t) => {
  const { stats, core } = sample();
  t.equal(stats.value('core:rcv_requests'), 3);
  core.rcv_requests++;
  t.equal(stats.value('CORE:RCV_REQUESTS'), 4, 'case-insensitive, live');
  t.equal(stats.value('core:nope'), undefined);
  t.same(stats.groups(), ['core', 'tm']);
  const entry = stats.lookup('core:rcv_requests')[0]!;
  t.equal(entry.fullName, 'core:rcv_requests');
  t.equal(entry.description, 'Requests received');
  t.equal(stats.lookup('core:sent_replies')[0]!.description, 'core sent replies');
  t.equal(entry.kind, 'counter');
  t.equal(stats.lookup('tm:inuse_transactions')[0]!.kind, 'gauge');
});

t.test('lookup: all, group:, group:name, bare name; nothing is an empty list', async (t) => {
  const { stats } = sample();
  t.equal(stats.lookup('all').length, 4);
  t.same(
    stats.lookup('tm:').map((e) => e.name),
    ['inuse_transactions', 'UAS_transactions'],
  );
  t.same(
    stats.lookup('uas_transactions').map((e) => e.fullName),
    ['tm:UAS_transactions'],
  );
  t.same(stats.lookup('nope:'), []);
  t.same(stats.lookup('nope'), []);
  t.same(stats.lookup('tm:nope'), []);
  t.equal(stats.entries().length, 4);
});

t.test('reset zeroes counters in their owner and leaves gauges alone', async (t) => {
  const { stats, core, tm } = sample();
  for (const e of stats.lookup('all')) {
    stats.reset(e);
  }
  t.same(core, { rcv_requests: 0, sent_replies: 0 });
  t.same(tm, { inuse_transactions: 4, UAS_transactions: 0 }, 'the gauge is untouched');
  core.rcv_requests++;
  t.equal(stats.value('core:rcv_requests'), 1, 'the owner counts on from zero');
  t.notOk(stats.lookup('tm:inuse_transactions')[0]!.resettable);
});

t.test('cells hold values the registry owns; read-only counters are not resettable', async (t) => {
  const stats = new StatsRegistry();
  const seen: string[] = [];
  stats.onRegister((e) => seen.push(e.fullName));
  const cell = stats.cell('usrloc', 'registered_users', 'gauge', 'AoRs registered');
  const hits = stats.cell('usrloc', 'lookups', 'counter', 'Lookups');
  cell.value = 5;
  hits.value = 9;
  t.equal(stats.value('usrloc:registered_users'), 5);
  stats.register('usrloc', 'expired', { kind: 'counter', description: 'x', read: () => 1 });
  for (const e of stats.lookup('usrloc:')) {
    stats.reset(e);
  }
  t.equal(cell.value, 5);
  t.equal(hits.value, 0);
  t.equal(stats.value('usrloc:expired'), 1, 'a counter without reset stays');
  t.same(seen, ['usrloc:registered_users', 'usrloc:lookups', 'usrloc:expired']);
});

t.test('bad names, duplicates and non-numeric fields are programmer errors', async (t) => {
  const stats = new StatsRegistry();
  stats.cell('g', 'a', 'counter', 'a');
  t.throws(() => stats.cell('g', 'A', 'counter', 'a'), { code: 'TANDEM_ERR_INVALID_ARGUMENT' });
  t.throws(() => stats.cell('g-x', 'a', 'counter', 'a'), /\[A-Za-z0-9_\]\+/);
  t.throws(() => stats.cell('g', 'a:b', 'counter', 'a'), { code: 'TANDEM_ERR_INVALID_ARGUMENT' });
  t.throws(() => {
    stats.fields('g', { s: 'text' }, ['s']);
  }, /g\.s is not a number/);
});
