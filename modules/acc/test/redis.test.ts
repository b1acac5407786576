/**
 * The Redis stream sink against a real redis-server on a free loopback port: one entry per CDR
 * with every field, MAXLEN ~ trimming, a flush per batch, and a Redis that starts late (the CDRs
 * wait in the queue, counted as sink errors, and are written once it is up).
 */
import { Redis } from 'ioredis';
import t from 'tap';
import { freePort } from '../../../test/helpers/ports.js';
import { HAVE_REDIS, REDIS_SERVER, startRedis } from '../../../test/helpers/redis-server.js';
import { CDR_FIELDS } from '../cdr.js';
import { dialog, start, tempDir, type Started } from './helpers.js';

function calls(a: Started, prefix: string, n: number): void {
  for (let i = 0; i < n; i++) {
    const id = `${prefix}${String(i)}`;
    a.dialogs.add(dialog(id));
    a.doAccounting('cdr');
    if (i % 2 === 0) {
      a.dialogs.call(id, 100, 1000 + i);
    } else {
      a.dialogs.end(id, {
        status: 487,
        endedBy: 'cancelled',
        endTime: a.dialogs.get(id)!.startTime,
      });
    }
  }
}

if (!HAVE_REDIS) {
  t.test(
    'redis sink',
    { skip: `${REDIS_SERVER} is missing (apt-get install redis-server)` },
    async () => {
      // skipped
    },
  );
} else {
  t.test('redis sink', async (t) => {
    const server = await startRedis();
    t.teardown(() => server.stop());
    const admin = new Redis(server.url);
    t.teardown(() => {
      admin.disconnect();
    });

    t.test('one stream entry per CDR, every field, written by the flush job', async (t) => {
      const a = await start({
        dataDir: await tempDir(t),
        params: { sink: 'redis', redis_url: server.url, redis_stream: 's:cdr', batch: 2 },
      });
      t.teardown(() => a.installed.destroy());
      calls(a, 'c', 5);
      t.equal(await admin.xlen('s:cdr'), 0, 'nothing before the flush interval');
      await a.advanceUntil(1000, () => a.stats.value('acc:cdrs') === 5);
      t.equal(a.stats.value('acc:cdrs'), 5);
      t.equal(a.stats.value('acc:missed_calls'), 2);
      const entries = await admin.xrange('s:cdr', '-', '+');
      t.equal(entries.length, 5);
      const first = entries[0]![1];
      t.same(
        first.filter((_, i) => i % 2 === 0),
        CDR_FIELDS,
        'fields in record order',
      );
      const m = new Map<string, string>();
      for (let i = 0; i < first.length; i += 2) {
        m.set(first[i]!, first[i + 1]!);
      }
      t.equal(m.get('dialog_id'), 'c0');
      t.equal(m.get('duration_ms'), '1000');
      t.equal(m.get('missed'), 'false');
      t.equal(m.get('node_id'), 'node-a');
      const second = new Map<string, string>();
      const f2 = entries[1]![1];
      for (let i = 0; i < f2.length; i += 2) {
        second.set(f2[i]!, f2[i + 1]!);
      }
      t.equal(second.get('sip_status'), '487');
      t.equal(second.get('answer_time'), '', 'null: empty');
    });

    t.test('MAXLEN ~ keeps the stream near its bound; a stop flushes', async (t) => {
      const a = await start({
        dataDir: await tempDir(t),
        params: {
          sink: 'redis',
          redis_url: server.url,
          redis_stream: 's:trim',
          redis_maxlen: 10,
          flush_interval: 60_000,
        },
      });
      calls(a, 't', 600);
      await a.installed.destroy();
      t.equal(a.stats.value('acc:cdrs'), 600, 'the stop wrote every queued CDR');
      const len = await admin.xlen('s:trim');
      t.ok(len >= 10 && len < 600, `trimmed (${String(len)} entries)`);
    });
  });

  t.test('a Redis that starts late: CDRs wait, then are written', async (t) => {
    const port = await freePort();
    const url = `redis://127.0.0.1:${String(port)}`;
    const a = await start({
      dataDir: await tempDir(t),
      params: { sink: 'redis', redis_url: url, redis_stream: 'late' },
    });
    t.teardown(() => a.installed.destroy());
    calls(a, 'l', 3);
    await a.advanceUntil(1000, () => (a.stats.value('acc:sink_errors') ?? 0) > 0);
    t.ok((a.stats.value('acc:sink_errors') ?? 0) >= 1, 'the first write failed');
    t.equal(a.stats.value('acc:queued'), 3, 'and kept its CDRs');
    const server = await startRedis(port);
    t.teardown(() => server.stop());
    // Ticks a second apart (fake) until the client has reconnected and the back-off allows.
    const deadline = Date.now() + 15_000;
    while (a.stats.value('acc:cdrs') !== 3 && Date.now() < deadline) {
      a.clock.advance(1000);
      await new Promise((r) => setTimeout(r, 50));
    }
    t.equal(a.stats.value('acc:cdrs'), 3);
    t.equal(a.stats.value('acc:queued'), 0);
    const admin = new Redis(url);
    t.teardown(() => {
      admin.disconnect();
    });
    t.equal(await admin.xlen('late'), 3, 'each written once');
  });
}
