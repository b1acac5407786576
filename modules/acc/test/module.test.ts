/**
 * acc inside the module installer with a fake dialog module: do_accounting marks the dialog,
 * one CDR per ended dialog (answered with its duration, missed with its status), none where the
 * sharing tag is not active, never two for one dialog, statistics, E_ACC_CDR, MI cdr_flush, a
 * clean stop writes what is queued.
 */
import { join } from 'node:path';
import t from 'tap';
import { defineModule, installModules, type SharingTags } from '../../../src/module/index.js';
import { registries } from '../../../test/helpers/module-registries.js';
import type { DialogRecord } from '../../dialog/api.js';
import acc from '../index.js';
import { cdrLines, dialog, EPOCH, start, tempDir } from './helpers.js';

t.test('do_accounting marks the current dialog, refuses without one', async (t) => {
  const a = await start({ dataDir: await tempDir(t) });
  t.teardown(() => a.installed.destroy());
  t.equal(a.doAccounting('cdr'), false, 'no dialog: create_dialog() was not called');
  a.dialogs.add(dialog('d1'));
  t.equal(a.doAccounting('log'), false, 'unsupported type');
  t.equal(a.doAccounting('cdr', 'cdr|nonsense'), false, 'unsupported flag');
  t.same(a.dialogs.get('d1')?.vals, {}, 'nothing marked by a refused call');
  t.equal(a.doAccounting('cdr'), true);
  t.same(a.dialogs.get('d1')?.vals, { acc: 'cdr', acc_missed: '1' });
  t.equal(a.doAccounting('cdr', 'cdr|answered'), true);
  t.equal(a.dialogs.get('d1')?.vals['acc_missed'], '0');
  a.dialogs.held.delete('d1');
  t.equal(a.doAccounting('cdr'), false, 'the dialog is gone: setVal fails');
});

t.test('an answered call: one CDR with its duration, written by the flush job', async (t) => {
  const a = await start({ dataDir: await tempDir(t) });
  t.teardown(() => a.installed.destroy());
  a.dialogs.add(dialog('d1'));
  t.ok(a.doAccounting('cdr'));
  a.dialogs.add(dialog('d2')); // not marked: no CDR
  a.dialogs.call('d1', 3_250, 61_500, 'callee');
  a.dialogs.call('d2', 1_000, 1_000);
  t.equal(a.stats.value('acc:queued'), 1);
  const path = join(a.dir, 'cdr.jsonl');
  t.same(await cdrLines(path), [], 'nothing written before the flush interval');
  await a.advanceUntil(1_000, () => a.stats.value('acc:cdrs') === 1);
  const lines = await cdrLines(path);
  t.same(lines, [
    {
      v: 1,
      dialog_id: 'd1',
      call_id: 'call-d1@192.0.2.10',
      from_uri: 'sip:alice@example.com',
      from_tag: 'ftag-d1',
      to_uri: 'sip:bob@example.com',
      to_tag: 'ttag-d1',
      request_uri: 'sip:bob@example.com',
      caller: 'udp:192.0.2.10:5060',
      callee: 'udp:198.51.100.7:5060',
      setup_time: '2026-01-01T00:00:00.000Z',
      answer_time: '2026-01-01T00:00:03.250Z',
      end_time: '2026-01-01T00:01:04.750Z',
      duration_ms: 61_500,
      setup_ms: 3_250,
      ended_by: 'callee',
      sip_status: 200,
      missed: false,
      node_id: 'node-a',
    },
  ]);
  t.equal(a.stats.value('acc:queued'), 0);
  t.equal(a.stats.value('acc:missed_calls'), 0);
  t.same(
    a.events.map((e) => [e.event, e.params['dialog_id']]),
    [['E_ACC_CDR', 'd1']],
  );
});

t.test('a call cancelled while ringing gives a 487 missed-call record', async (t) => {
  const a = await start({ dataDir: await tempDir(t) });
  t.teardown(() => a.installed.destroy());
  a.dialogs.add(dialog('m1'));
  a.doAccounting('cdr');
  a.dialogs.end('m1', { status: 487, endedBy: 'cancelled', endTime: EPOCH + 8_000 });
  a.dialogs.add(dialog('m2'));
  a.doAccounting('cdr');
  // A callee that answers 486: failed, and no end time in the record (the CDR uses now).
  a.clock.advance(500);
  a.dialogs.end('m2', { status: 486, endedBy: 'failed' });
  a.dialogs.add(dialog('m3'));
  a.doAccounting('cdr', 'answered');
  a.dialogs.end('m3', { status: 408, endedBy: 'failed', endTime: EPOCH + 32_000 });
  t.equal(a.stats.value('acc:queued'), 2, 'answered-only: the 408 is not recorded');
  const r = await a.call('acc:cdr_flush');
  t.same(r.result, { written: 2, queued: 0 });
  const lines = await cdrLines(join(a.dir, 'cdr.jsonl'));
  t.match(lines, [
    {
      dialog_id: 'm1',
      missed: true,
      sip_status: 487,
      ended_by: 'cancelled',
      answer_time: null,
      duration_ms: 0,
      setup_ms: 8_000,
      end_time: '2026-01-01T00:00:08.000Z',
      to_tag: null,
      callee: null,
    },
    { dialog_id: 'm2', missed: true, sip_status: 486, end_time: '2026-01-01T00:00:00.500Z' },
  ]);
  t.equal(a.stats.value('acc:missed_calls'), 2);
  t.equal(a.stats.value('acc:cdrs'), 2);
});

t.test('no CDR where the sharing tag is not active; never two for one dialog', async (t) => {
  const active = new Set(['vip/1']);
  const tags: SharingTags = { isActive: (tag) => tag === null || active.has(tag) };
  const a = await start({ dataDir: await tempDir(t), sharingTags: tags });
  t.teardown(() => a.installed.destroy());
  a.dialogs.add(dialog('b1', { sharingTag: 'other/1' }));
  a.doAccounting('cdr');
  a.dialogs.call('b1', 100, 5_000);
  t.equal(a.stats.value('acc:skipped'), 1, 'the owner of other/1 writes it');
  t.equal(a.stats.value('acc:queued'), 0);

  a.dialogs.add(dialog('o1'));
  a.doAccounting('cdr');
  const first = a.dialogs.call('o1', 100, 5_000);
  // The same end told again (a replayed or replicated end): no second CDR.
  a.dialogs.end('o1', {}, first);
  a.dialogs.end('o1', { endedBy: 'mi' }, first);
  t.equal(a.stats.value('acc:duplicates'), 2);
  await a.call('acc:cdr_flush');
  t.same(
    (await cdrLines(join(a.dir, 'cdr.jsonl'))).map((l) => l['dialog_id']),
    ['o1'],
  );
  t.equal(a.stats.value('acc:cdrs'), 1);
  // reset_statistics zeroes every counter; the queued gauge is not resettable.
  const reset = a.stats.lookup('acc:').map((e) => [e.fullName, a.stats.reset(e)]);
  t.same(Object.fromEntries(reset), {
    'acc:cdrs': true,
    'acc:missed_calls': true,
    'acc:skipped': true,
    'acc:duplicates': true,
    'acc:sink_errors': true,
    'acc:dropped': true,
    'acc:queued': false,
  });
  t.same(
    a.stats.lookup('acc:').map((e) => a.stats.value(e.fullName)),
    [0, 0, 0, 0, 0, 0, 0],
  );
});

t.test('a clean stop writes what is queued; ends after it are ignored', async (t) => {
  const a = await start({ dataDir: await tempDir(t), params: { flush_interval: 60_000 } });
  for (let i = 0; i < 250; i++) {
    a.dialogs.add(dialog(`s${String(i)}`));
    a.doAccounting('cdr');
    a.dialogs.call(`s${String(i)}`, 10, i);
  }
  const late = a.dialogs.add(dialog('late'));
  a.doAccounting('cdr');
  t.equal(a.stats.value('acc:queued'), 250);
  await a.installed.destroy();
  const lines = await cdrLines(join(a.dir, 'cdr.jsonl'));
  t.equal(lines.length, 250, 'nothing lost');
  t.equal(lines[249]?.['duration_ms'], 249, 'in order');
  a.dialogs.end('late', { status: 200, answerTime: EPOCH, endTime: EPOCH + 1 }, late);
  t.equal((await cdrLines(join(a.dir, 'cdr.jsonl'))).length, 250);
});

t.test('E_ACC_CDR only when someone listens; a broken record never escapes', async (t) => {
  const a = await start({ dataDir: await tempDir(t), subscribe: false });
  t.teardown(() => a.installed.destroy());
  a.dialogs.add(dialog('q1'));
  a.doAccounting('cdr');
  a.dialogs.call('q1', 1, 1);
  t.equal(a.bus.stats.raised, 0, 'not raised without subscribers');
  // A record missing its legs: the callback logs the failure instead of throwing into dialog.
  const broken = { ...dialog('x1'), caller: undefined } as unknown as DialogRecord;
  a.dialogs.add({ ...broken, vals: { acc: 'cdr' } });
  t.doesNotThrow(() => a.dialogs.end('x1', { status: 200 }));
  t.equal(a.stats.value('acc:queued'), 1);
});

t.test('parameters are checked at start; the dialog API must exist', async (t) => {
  const dataDir = await tempDir(t);
  await t.rejects(start({ dataDir, params: { file_name: '../x' } }), {
    message: /modules\.acc\.file_name/,
  });
  await t.rejects(start({ dataDir, params: { sink: 'kafka' } }), {
    message: /modules\.acc\.sink/,
  });
  const none = defineModule({ name: 'dialog', description: 'no API', init: () => undefined });
  await t.rejects(installModules([acc(), none], registries({ dataDir })), {
    message: /dialog module offers no API/,
  });
});
