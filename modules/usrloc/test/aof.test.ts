/**
 * The embedded store (db_mode file): a restart loads everything, a kill -9 loses at most the
 * unflushed queue, a torn tail is skipped and counted, compaction keeps the live state and what
 * was written while it ran, expired bindings are dropped at load.
 */
import { appendFile, readFile, writeFile, mkdir } from 'node:fs/promises';
import { join } from 'node:path';
import t from 'tap';
import { silentLogger } from '../../../src/core/logger.js';
import type { ContactRecord } from '../api.js';
import { AofPersistence } from '../persistence/aof.js';
import type { LoadSink } from '../persistence/types.js';
import { UsrlocService } from '../usrloc.js';
import { EPOCH, input, start, tempDir, type Started } from './helpers.js';

const uris = (u: Started, aor = 'sip:alice@example.com') =>
  u.api
    .lookup(aor)
    .map((c) => c.uri)
    .sort();

async function waitFor(cond: () => boolean, what: string): Promise<void> {
  const until = Date.now() + 5_000;
  while (!cond()) {
    if (Date.now() > until) {
      throw new Error(`timed out waiting for ${what}`);
    }
    await new Promise((r) => setTimeout(r, 5));
  }
}

const service = (u: Started): UsrlocService => {
  if (!(u.api instanceof UsrlocService)) {
    throw new Error('the API is the service');
  }
  return u.api;
};
const aof = (u: Started) => service(u).persistence as AofPersistence;

t.test('a clean stop loses nothing and a restart loads every binding', async (t) => {
  const dataDir = await tempDir(t);
  const a = await start({ dataDir, params: { db_mode: 'file' } });
  for (let i = 0; i < 50; i++) {
    a.api.save(input({ aor: `sip:u${i}@example.com`, uri: `sip:u${i}@h`, cseq: i }));
  }
  a.api.save(input({ uri: 'sip:a@h1', path: ['<sip:p1;lr>', '<sip:p2;lr>'], q: 0.7 }));
  a.api.save(input({ uri: 'sip:a@h2' }));
  a.api.remove('sip:alice@example.com', 'sip:a@h2', 'unregistered');
  const saved = a.api.getContact('sip:alice@example.com', 'sip:a@h1');
  await a.installed.destroy();
  const text = await readFile(join(dataDir, 'usrloc', 'contacts.aof'), 'utf8');
  t.match(text, /^\{"format":"tandem-usrloc-aof","version":1\}\n/, 'versioned header');

  const b = await start({ dataDir, params: { db_mode: 'file' } });
  t.teardown(() => b.installed.destroy());
  t.same(b.api.counts(), { aors: 51, contacts: 51 });
  t.same(b.api.getContact('sip:alice@example.com', 'sip:a@h1'), saved, 'the record as it was');
  t.equal(b.api.lookup('sip:u7@example.com')[0]?.cseq, 7);
  t.same(b.events, [], 'loading raises no events');
  t.ok(
    b.api.save(input({ uri: 'sip:a@h1' })).rev > saved!.rev,
    'revisions after a restart stay ahead of the loaded ones',
  );
});

t.test('kill -9 loses at most the writes queued since the last flush', async (t) => {
  const dataDir = await tempDir(t);
  const a = await start({ dataDir, params: { db_mode: 'file', flush_interval: 1000 } });
  a.api.save(input({ uri: 'sip:a@flushed-by-api' }));
  await a.api.flush();
  a.api.save(input({ uri: 'sip:a@flushed-by-job' }));
  a.clock.advance(1000);
  await waitFor(() => aof(a).stats.written === 2, 'the flush job');
  a.api.save(input({ uri: 'sip:a@lost' }));
  t.equal(a.stats.value('usrloc:db_queued'), 1);
  // "kill -9": a second process starts on the file while the first never flushes again.
  const b = await start({ dataDir, params: { db_mode: 'file' } });
  t.same(uris(b), ['sip:a@flushed-by-api', 'sip:a@flushed-by-job']);
  await b.installed.destroy();
  await a.installed.destroy();
});

t.test('a torn last line is skipped and counted, and later appends are not lost', async (t) => {
  const dataDir = await tempDir(t);
  const a = await start({ dataDir, params: { db_mode: 'file' } });
  a.api.save(input({ uri: 'sip:a@whole' }));
  await a.installed.destroy();
  const file = join(dataDir, 'usrloc', 'contacts.aof');
  const line = (await readFile(file, 'utf8')).split('\n')[1]!;
  await appendFile(file, line.slice(0, 40).replace('whole', 'torn!'));
  await appendFile(file, '');

  const b = await start({ dataDir, params: { db_mode: 'file' } });
  t.same(uris(b), ['sip:a@whole']);
  t.equal(b.stats.value('usrloc:load_skipped'), 1);
  b.api.save(input({ uri: 'sip:a@after' }));
  await b.installed.destroy();

  const c = await start({ dataDir, params: { db_mode: 'file' } });
  t.teardown(() => c.installed.destroy());
  t.same(uris(c), ['sip:a@after', 'sip:a@whole']);
  t.equal(c.stats.value('usrloc:load_skipped'), 1, 'the torn line only');
});

t.test('load applies lines by revision: expired ones go, older ones never win', async (t) => {
  const dataDir = await tempDir(t);
  const a = await start({ dataDir, params: { db_mode: 'file' } });
  a.api.save(input({ uri: 'sip:a@h1', expires: EPOCH + 3_600_000 }));
  // A newer registration of the same binding that expires soon, and one that just expires.
  a.api.save(input({ uri: 'sip:a@h1', expires: EPOCH + 5_000 }));
  a.api.save(input({ uri: 'sip:a@h2', expires: EPOCH + 5_000 }));
  a.api.save(input({ aor: 'sip:bob@example.com', uri: 'sip:b@h', expires: EPOCH + 60_000 }));
  await a.installed.destroy();

  const b = await start({ dataDir, params: { db_mode: 'file' }, clock: a.clock });
  t.same(uris(b), ['sip:a@h1', 'sip:a@h2']);
  await b.installed.destroy();
  const clock = a.clock;
  clock.advance(10_000);
  const c = await start({ dataDir, params: { db_mode: 'file' }, clock });
  t.teardown(() => c.installed.destroy());
  t.same(uris(c), [], 'the older, longer registration does not come back');
  t.equal(c.api.getContact('sip:alice@example.com', 'sip:a@h1'), null);
  t.equal(service(c).loaded.expired, 2);
  t.equal(c.api.counts().contacts, 1);
});

t.test('compaction rewrites the live state and keeps what was flushed meanwhile', async (t) => {
  const dataDir = await tempDir(t);
  const a = await start({
    dataDir,
    params: { db_mode: 'file', compact_interval: 5, timer_interval: 3600 },
  });
  for (let i = 0; i < 20; i++) {
    a.api.save(input({ uri: `sip:a@h${i % 4}`, cseq: i }));
  }
  a.api.save(input({ uri: 'sip:a@gone' }));
  a.api.remove('sip:alice@example.com', 'sip:a@gone', 'unregistered');
  for (let i = 0; i < 5; i++) {
    a.api.save(input({ uri: 'sip:a@h0', cseq: 100 + i }));
    await a.api.flush();
  }
  const file = join(dataDir, 'usrloc', 'contacts.aof');
  const before = (await readFile(file, 'utf8')).split('\n').length;
  a.clock.advance(5_000);
  await waitFor(() => aof(a).fileStats.compactions === 1, 'the compaction job');
  const lines = (await readFile(file, 'utf8')).trimEnd().split('\n');
  t.ok(lines.length < before, `smaller: ${before} -> ${lines.length} lines`);
  t.equal(lines.filter((l) => l.startsWith('P\t')).length, 4, 'one line per live binding');
  t.equal(lines.filter((l) => l.startsWith('D\t')).length, 1, 'the tombstone is kept');
  await aof(a).compact({ records: () => [], tombstones: () => [] });
  t.equal(aof(a).fileStats.compactions, 1, 'nothing appended since: nothing to do');

  // Writes flushed while a compaction runs end up in the new file too.
  a.api.save(input({ uri: 'sip:a@before-compaction' }));
  const running = aof(a).compact({
    records: () => service(a).store.all(),
    tombstones: () => service(a).store.tombstones(),
  });
  a.api.save(input({ uri: 'sip:a@during-compaction' }));
  await a.api.flush();
  await running;
  await a.installed.destroy();
  const b = await start({ dataDir, params: { db_mode: 'file' } });
  t.teardown(() => b.installed.destroy());
  t.same(uris(b), [
    'sip:a@before-compaction',
    'sip:a@during-compaction',
    'sip:a@h0',
    'sip:a@h1',
    'sip:a@h2',
    'sip:a@h3',
  ]);
  t.equal(b.api.lookup('sip:alice@example.com').find((c) => c.uri === 'sip:a@h0')?.cseq, 104);
});

t.test('a file of another format or version fails the start', async (t) => {
  const dataDir = await tempDir(t);
  await mkdir(join(dataDir, 'usrloc'), { recursive: true });
  const file = join(dataDir, 'usrloc', 'contacts.aof');
  await writeFile(file, '{"format":"tandem-usrloc-aof","version":99}\n');
  await t.rejects(start({ dataDir, params: { db_mode: 'file' } }), /format version 99/);
  await writeFile(file, 'garbage\n');
  await t.rejects(start({ dataDir, params: { db_mode: 'file' } }), /not a usrloc file/);
});

t.test('the persistence alone: bad lines of each kind are skipped', async (t) => {
  const dir = await tempDir(t);
  const p = new AofPersistence({ dir, fsync: false, queueLimit: 2, logger: silentLogger });
  const got: string[] = [];
  const sink: LoadSink = {
    record: (r: ContactRecord) => got.push(`P ${r.uri}`),
    delete: (aor, key, rev) => got.push(`D ${aor} ${key} ${rev}`),
  };
  t.same(await p.load(sink), { records: 0, deletes: 0, skipped: 0 }, 'a new file');
  const rec: ContactRecord = { ...input(), v: 1, lastModified: EPOCH, rev: 5 };
  p.write({ op: 'put', rec });
  p.write({ op: 'del', aor: 'sip:x@y', key: 'sip:x@h', rev: 7 });
  p.write({ op: 'aor-del', aor: 'sip:x@y' });
  p.write({ op: 'del', aor: 'sip:z@y', key: 'sip:z@h', rev: 8 });
  t.equal(p.stats.dropped, 1, 'the bounded queue drops past its limit');
  await p.close();
  await appendFile(
    join(dir, 'contacts.aof'),
    [
      '',
      'P\t{"v":2}',
      'P\tnot json',
      'P\t[]',
      `P\t${JSON.stringify({ ...rec, q: 'high' })}`,
      'D\tnot json',
      'D\t["a",1,2]',
      'X\tsomething',
      '',
    ].join('\n'),
  );
  const q = new AofPersistence({ dir, fsync: true, queueLimit: 10, logger: silentLogger });
  t.same(await q.load(sink), { records: 1, deletes: 1, skipped: 7 });
  t.same(got, ['P sip:alice@192.0.2.10:5060', 'D sip:x@y sip:x@h 7']);
  await q.flush();
  await q.close();
});
