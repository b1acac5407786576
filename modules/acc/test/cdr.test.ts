/**
 * The CDR shape (answered, missed, a record without an end time), its Redis field list, the
 * bounded set of recent dialog ids, and the queue's handling of a partly written batch.
 */
import { readFile } from 'node:fs/promises';
import t from 'tap';
import { silentLogger } from '../../../src/core/logger.js';
import { buildCdr, CDR_FIELDS, cdrFieldValues, isMissed, RecentIds, type Cdr } from '../cdr.js';
import { CdrQueue } from '../sinks/queue.js';
import { SinkWriteError, type CdrSink } from '../sinks/types.js';
import { dialog, EPOCH } from './helpers.js';

t.test('buildCdr: answered and missed calls', async (t) => {
  const ok = buildCdr(
    dialog('a', {
      status: 200,
      answerTime: EPOCH + 2_000,
      endTime: EPOCH + 62_000,
      endedBy: 'timeout',
    }),
    'n1',
    0,
  );
  t.match(ok, { duration_ms: 60_000, setup_ms: 2_000, missed: false, ended_by: 'timeout' });
  t.same(Object.keys(ok), CDR_FIELDS, 'fields in the documented order');

  const busy = dialog('b', { status: 486, endedBy: 'failed', endTime: EPOCH + 4_000 });
  t.ok(isMissed(busy));
  t.match(buildCdr(busy, 'n1', 0), { missed: true, duration_ms: 0, setup_ms: 4_000 });
  // An answer time with a failure status (an odd record) is still a missed call.
  const odd = dialog('c', { status: 408, answerTime: EPOCH + 1, endTime: EPOCH + 9 });
  t.match(buildCdr(odd, 'n1', 0), { missed: true, answer_time: null, duration_ms: 0 });
  const cancelled = dialog('d', { status: 0, answerTime: EPOCH + 1, endedBy: 'cancelled' });
  t.ok(isMissed(cancelled));
  t.equal(
    buildCdr(dialog('e', { status: 487 }), 'n1', EPOCH + 7_000).end_time,
    '2026-01-01T00:00:07.000Z',
    'no end time in the record: now',
  );
});

t.test('cdrFieldValues: every field, in order, as strings', async (t) => {
  const c = buildCdr(dialog('x', { status: 487, endTime: EPOCH + 3 }), 'n1', 0);
  const fv = cdrFieldValues(c);
  t.equal(fv.length, CDR_FIELDS.length * 2);
  const m = new Map<string, string>();
  for (let i = 0; i < fv.length; i += 2) {
    m.set(fv[i]!, fv[i + 1]!);
  }
  t.equal(m.get('answer_time'), '', 'null: empty');
  t.equal(m.get('missed'), 'true');
  t.equal(m.get('sip_status'), '487');
  t.equal(m.get('v'), '1');
});

t.test('RecentIds: a repeat is refused, the oldest is forgotten past the bound', async (t) => {
  const r = new RecentIds(3);
  t.ok(r.add('a'));
  t.notOk(r.add('a'));
  t.ok(r.add('b'));
  t.ok(r.add('c'));
  t.ok(r.add('d'));
  t.equal(r.size, 3);
  t.ok(r.add('a'), 'a was the oldest and is forgotten');
  t.notOk(r.add('d'));
});

t.test('the queue keeps what a failed write did not store, in order', async (t) => {
  const stored: string[] = [];
  let fail: 'none' | 'partial' | 'all' = 'partial';
  const sink: CdrSink = {
    description: 'test sink',
    write(batch) {
      if (fail === 'none') {
        stored.push(...batch.map((c) => c.dialog_id));
        return Promise.resolve();
      }
      if (fail === 'partial') {
        stored.push(...batch.slice(0, 2).map((c) => c.dialog_id));
        return Promise.reject(new SinkWriteError(2, new Error('disk full')));
      }
      // Rejected with another error: nothing counts as written.
      return Promise.reject(new Error('down'));
    },
    close: () => Promise.resolve(),
  };
  let now = 0;
  const q = new CdrQueue({
    sink,
    limit: 100,
    batch: 3,
    intervalMs: 1000,
    now: () => now,
    logger: silentLogger,
  });
  const cdrs: Cdr[] = ['a', 'b', 'c', 'd'].map((id) =>
    buildCdr(dialog(id, { status: id === 'b' ? 486 : 200, answerTime: EPOCH }), 'n', EPOCH),
  );
  for (const c of cdrs) {
    q.push(c);
  }
  await t.rejects(q.flush(), { name: 'SinkWriteError', written: 2 });
  t.same(stored, ['a', 'b']);
  t.equal(q.queued, 2);
  t.same(q.stats, { written: 2, missed: 1, errors: 1, dropped: 0 });
  fail = 'all';
  await q.tick();
  t.equal(q.stats.errors, 1, 'within the back-off: no attempt');
  now = 1000;
  await q.tick();
  t.equal(q.stats.errors, 2, 'after it: tried, failed, nothing stored');
  t.equal(q.queued, 2);
  now = 2000;
  await q.tick();
  t.equal(q.stats.errors, 2, 'the back-off doubled to 2 s');
  fail = 'none';
  now = 3000;
  await q.tick();
  t.same(stored, ['a', 'b', 'c', 'd']);
  t.equal(q.queued, 0);
  t.equal(q.stats.written, 4);
  await q.tick();
  await q.close();
});

t.test('the README example lines have the record shape', async (t) => {
  const readme = await readFile(new URL('../README.md', import.meta.url), 'utf8');
  const block = /```jsonl\n([\s\S]*?)```/.exec(readme)?.[1] ?? '';
  const lines = block.split('\n').filter((l) => l.length > 0);
  t.equal(lines.length, 2);
  for (const l of lines) {
    t.same(Object.keys(JSON.parse(l) as object), CDR_FIELDS);
  }
});
