/**
 * The file sink: JSON lines appended in order, rotation by size (no file past the limit) and by
 * UTC day (an injected date, and a file left by an earlier day), a file moved away by someone
 * else, a torn last line, and a directory that cannot be written until it can (retried).
 */
import { mkdir, readFile, rename, rm, utimes, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import t from 'tap';
import { silentLogger } from '../../../src/core/logger.js';
import { buildCdr, type Cdr } from '../cdr.js';
import { FileSink, utcDay, type FileSinkOptions } from '../sinks/file.js';
import { cdrLines, dialog, EPOCH, files, start, tempDir } from './helpers.js';

const DAY = 86_400_000;

function cdr(i: number): Cdr {
  return buildCdr(
    dialog(`f${String(i)}`, { status: 200, answerTime: EPOCH, endTime: EPOCH + i }),
    'node-a',
    EPOCH,
  );
}

function sink(dir: string, over: Partial<FileSinkOptions> = {}): FileSink {
  return new FileSink({
    dir,
    fileName: 'cdr.jsonl',
    rotateSize: 0,
    rotateDaily: false,
    fsync: false,
    now: () => EPOCH,
    logger: silentLogger,
    ...over,
  });
}

const ids = (lines: Record<string, unknown>[]): unknown[] => lines.map((l) => l['dialog_id']);

t.test('rotation by size: no file grows past rotate_size, order is kept', async (t) => {
  const dir = await tempDir(t);
  const line = Buffer.byteLength(`${JSON.stringify(cdr(1))}\n`);
  const s = sink(dir, { rotateSize: line * 2 + 10, fsync: true });
  t.teardown(() => s.close());
  await s.write([1, 2, 3, 4, 5].map(cdr));
  await s.write([6].map(cdr));
  t.same(await files(dir), ['cdr.2026-01-01.1.jsonl', 'cdr.2026-01-01.2.jsonl', 'cdr.jsonl']);
  t.same(
    s.rotated,
    ['1', '2'].map((n) => join(dir, `cdr.2026-01-01.${n}.jsonl`)),
  );
  const all: unknown[] = [];
  for (const f of await files(dir)) {
    const text = await readFile(join(dir, f));
    t.ok(text.length <= line * 2 + 10, `${f} within the limit`);
    all.push(...ids(await cdrLines(join(dir, f))));
  }
  t.same(all, ['f1', 'f2', 'f3', 'f4', 'f5', 'f6']);
  t.same(ids(await cdrLines(join(dir, 'cdr.jsonl'))), ['f5', 'f6']);

  const tiny = sink(join(dir, 'tiny'), { rotateSize: 10 });
  t.teardown(() => tiny.close());
  await tiny.write([cdr(1), cdr(2)]);
  t.same(
    await files(join(dir, 'tiny')),
    ['cdr.2026-01-01.1.jsonl', 'cdr.jsonl'],
    'a line longer than the limit gets a file alone',
  );
});

t.test('rotation by day: a new UTC day starts a new file named after the old day', async (t) => {
  const dir = await tempDir(t);
  let now = EPOCH + DAY - 1; // 2026-01-01T23:59:59.999Z
  const s = sink(dir, { rotateDaily: true, now: () => now });
  await s.write([cdr(1)]);
  await s.write([cdr(2)]);
  now += 1;
  await s.write([cdr(3)]);
  now += DAY;
  await s.write([cdr(4)]);
  await s.close();
  t.same(await files(dir), ['cdr.2026-01-01.1.jsonl', 'cdr.2026-01-02.1.jsonl', 'cdr.jsonl']);
  t.same(ids(await cdrLines(join(dir, 'cdr.2026-01-01.1.jsonl'))), ['f1', 'f2']);
  t.same(ids(await cdrLines(join(dir, 'cdr.2026-01-02.1.jsonl'))), ['f3']);
  t.same(ids(await cdrLines(join(dir, 'cdr.jsonl'))), ['f4']);

  // A restart on a later day: the file left behind is rotated under the day it was written.
  const old = EPOCH + 2 * DAY + 5_000;
  await utimes(join(dir, 'cdr.jsonl'), old / 1000, old / 1000);
  now = EPOCH + 5 * DAY;
  const again = sink(dir, { rotateDaily: true, now: () => now });
  await again.write([cdr(5)]);
  await again.close();
  t.same(await files(dir), [
    'cdr.2026-01-01.1.jsonl',
    'cdr.2026-01-02.1.jsonl',
    'cdr.2026-01-03.1.jsonl',
    'cdr.jsonl',
  ]);
  t.same(ids(await cdrLines(join(dir, 'cdr.2026-01-03.1.jsonl'))), ['f4']);
  t.equal(utcDay(EPOCH), '2026-01-01');
});

t.test('a file moved away (logrotate) is left alone; a torn last line is ended', async (t) => {
  const dir = await tempDir(t);
  const s = sink(dir);
  t.teardown(() => s.close());
  await s.write([cdr(1)]);
  await rename(join(dir, 'cdr.jsonl'), join(dir, 'moved.jsonl'));
  await s.write([cdr(2)]);
  t.same(ids(await cdrLines(join(dir, 'moved.jsonl'))), ['f1']);
  t.same(ids(await cdrLines(join(dir, 'cdr.jsonl'))), ['f2']);
  await rm(join(dir, 'cdr.jsonl'));
  await s.write([cdr(3)]);
  t.same(ids(await cdrLines(join(dir, 'cdr.jsonl'))), ['f3'], 'removed: a new file');

  const torn = join(dir, 'torn');
  await mkdir(torn);
  await writeFile(join(torn, 'cdr.jsonl'), `${JSON.stringify(cdr(1))}\n{"v":1,"dial`);
  const s2 = sink(torn);
  t.teardown(() => s2.close());
  await s2.write([cdr(2)]);
  const text = await readFile(join(torn, 'cdr.jsonl'), 'utf8');
  t.equal(text.split('\n')[2], JSON.stringify(cdr(2)), 'the new line is whole, on its own');
});

t.test('a directory that cannot be written: CDRs stay queued and are retried', async (t) => {
  const base = await tempDir(t);
  // The module's directory is a file for now: creating it fails (ENOTDIR, even as root).
  await writeFile(join(base, 'acc'), 'not a directory');
  const a = await start({ dataDir: base, params: { flush_interval: 1000 } });
  t.teardown(() => a.installed.destroy());
  a.dialogs.add(dialog('r1'));
  a.doAccounting('cdr');
  a.dialogs.call('r1', 10, 20);
  await a.advanceUntil(1000, () => a.stats.value('acc:sink_errors') === 1);
  t.equal(a.stats.value('acc:sink_errors'), 1);
  t.equal(a.stats.value('acc:queued'), 1, 'the CDR is kept');
  await a.advanceUntil(1000, () => a.stats.value('acc:sink_errors') === 2);
  t.equal(a.stats.value('acc:sink_errors'), 2, 'retried at the next tick');
  // The back-off doubled to 2 s: the tick at +1 s does not try.
  a.clock.advance(1000);
  await new Promise((r) => setTimeout(r, 50));
  t.equal(a.stats.value('acc:sink_errors'), 2, 'backing off');
  const mi = await a.call('acc:cdr_flush');
  t.match(mi.error, { code: 500, message: 'Failed to write CDRs' }, 'MI flush reports the failure');
  t.equal(a.stats.value('acc:sink_errors'), 3);
  await rm(join(base, 'acc'));
  // The MI failure doubled the back-off to 4 s: ticks at +1, +2, +3 s wait, +4 s writes.
  for (let i = 0; i < 3; i++) {
    await a.advanceUntil(1000, () => true);
    await new Promise((r) => setTimeout(r, 20));
  }
  t.equal(a.stats.value('acc:cdrs'), 0, 'still backing off');
  await a.advanceUntil(1000, () => a.stats.value('acc:cdrs') === 1);
  t.equal(a.stats.value('acc:sink_errors'), 3);
  t.equal(a.stats.value('acc:queued'), 0);
  t.same(ids(await cdrLines(join(base, 'acc', 'cdr.jsonl'))), ['r1']);
});

t.test('a full queue drops and counts; a failed stop logs what it lost', async (t) => {
  const base = await tempDir(t);
  await writeFile(join(base, 'acc'), 'not a directory');
  const a = await start({ dataDir: base, params: { max_queue: 2 } });
  for (const id of ['q1', 'q2', 'q3', 'q4']) {
    a.dialogs.add(dialog(id));
    a.doAccounting('cdr');
    a.dialogs.call(id, 1, 1);
  }
  t.equal(a.stats.value('acc:queued'), 2);
  t.equal(a.stats.value('acc:dropped'), 2);
  await a.installed.destroy();
  t.equal(a.stats.value('acc:cdrs'), 0, 'the stop could not write them either');
});
