/**
 * The Redis store against a real redis-server on a free loopback port: write-through in
 * pipelines, a restart keeps every registration, expired bindings are cleaned at load, and a
 * Redis that goes away costs no write (queued, counted, retried).
 */
import t from 'tap';
import { HAVE_REDIS, REDIS_SERVER, startRedis } from '../../../test/helpers/redis-server.js';
import { Redis } from 'ioredis';
import { RedisPersistence } from '../persistence/redis.js';
import { UsrlocService } from '../usrloc.js';
import { EPOCH, input, start, type Started } from './helpers.js';

const persistence = (u: Started): RedisPersistence => {
  if (!(u.api instanceof UsrlocService) || !(u.api.persistence instanceof RedisPersistence)) {
    throw new Error('a redis-backed service');
  }
  return u.api.persistence;
};

if (!HAVE_REDIS) {
  t.test(
    'redis backend',
    { skip: `${REDIS_SERVER} is missing (apt-get install redis-server)` },
    async () => {
      // skipped
    },
  );
} else {
  t.test('redis backend', async (t) => {
    let server = await startRedis();
    const port = server.port;
    t.teardown(() => server.stop());
    const url = `redis://127.0.0.1:${port}`;
    const params = { db_mode: 'redis', redis_url: url, redis_prefix: 't:', flush_interval: 1000 };
    const admin = new Redis(url);
    t.teardown(() => {
      admin.disconnect();
    });

    t.test('write-through in batches and a restart keeps every registration', async (t) => {
      const a = await start({ params });
      for (let i = 0; i < 200; i++) {
        a.api.save(input({ aor: `sip:u${i}@example.com`, uri: `sip:u${i}@h`, cseq: i }));
      }
      a.api.save(input({ uri: 'sip:a@h1', path: ['<sip:p1;lr>'] }));
      a.api.save(input({ uri: 'sip:a@h2' }));
      a.api.remove('sip:alice@example.com', 'sip:a@h2', 'unregistered');
      a.api.save(input({ aor: 'sip:gone@example.com', uri: 'sip:g@h' }));
      a.api.removeAor('sip:gone@example.com', 'mi');
      t.equal(await admin.scard('t:aors'), 0, 'nothing sent before a flush');
      a.clock.advance(1000);
      const until = Date.now() + 5_000;
      while ((await admin.scard('t:aors')) < 201 && Date.now() < until) {
        await new Promise((r) => setTimeout(r, 10));
      }
      t.equal(await admin.scard('t:aors'), 201, 'the flush job sent one pipeline');
      t.same(await admin.hkeys('t:aor:sip:alice@example.com'), ['sip:a@h1']);
      t.equal(await admin.exists('t:aor:sip:gone@example.com'), 0);
      t.equal(await admin.sismember('t:aors', 'sip:gone@example.com'), 0);
      const saved = a.api.getContact('sip:alice@example.com', 'sip:a@h1');
      a.api.save(input({ uri: 'sip:a@h3' }));
      await a.installed.destroy();

      const b = await start({ params });
      t.teardown(() => b.installed.destroy());
      t.same(b.api.counts(), { aors: 201, contacts: 202 });
      t.same(b.api.getContact('sip:alice@example.com', 'sip:a@h1'), saved);
      t.ok(b.api.getContact('sip:alice@example.com', 'sip:a@h3'), 'a clean stop flushed the queue');
      t.equal(b.api.lookup('sip:u42@example.com')[0]?.cseq, 42);
    });

    t.test('expired bindings and unreadable entries are dropped at load', async (t) => {
      await admin.flushall();
      const a = await start({ params: { ...params, redis_prefix: 'e:' } });
      a.api.save(input({ uri: 'sip:a@soon', expires: EPOCH + 2_000 }));
      a.api.save(input({ aor: 'sip:bob@example.com', uri: 'sip:b@soon', expires: EPOCH + 2_000 }));
      a.api.save(input({ uri: 'sip:a@later', expires: EPOCH + 60_000 }));
      await a.installed.destroy();
      await admin.hset('e:aor:sip:carol@example.com', 'sip:c@h', '{"v":1,"aor":3}');
      await admin.sadd('e:aors', 'sip:carol@example.com');
      a.clock.advance(5_000);
      const b = await start({ params: { ...params, redis_prefix: 'e:' }, clock: a.clock });
      t.teardown(() => b.installed.destroy());
      t.same(
        b.api.lookup('sip:alice@example.com').map((c) => c.uri),
        ['sip:a@later'],
      );
      t.equal(b.stats.value('usrloc:load_skipped'), 1);
      await b.api.flush();
      t.same(await admin.hkeys('e:aor:sip:alice@example.com'), ['sip:a@later']);
      t.equal(await admin.sismember('e:aors', 'sip:bob@example.com'), 0, 'cleaned up in Redis');
    });

    t.test('redis down: writes are queued, counted and retried, none lost', async (t) => {
      await admin.flushall();
      const a = await start({ params: { ...params, redis_prefix: 'd:' } });
      t.teardown(() => a.installed.destroy());
      a.api.save(input({ uri: 'sip:a@before' }));
      await a.api.flush();
      await server.stop();
      a.api.save(input({ uri: 'sip:a@while-down' }));
      await t.rejects(a.api.flush(), 'a flush while Redis is down fails');
      t.equal(a.stats.value('usrloc:db_errors'), 1);
      t.equal(a.stats.value('usrloc:db_queued'), 1, 'the write is still queued');
      t.match((await a.call('ul_flush')).error, { code: 500 });
      a.clock.advance(1000);
      t.equal(a.stats.value('usrloc:db_errors'), 2, 'the tick waits out the back-off');

      server = await startRedis(port);
      const until = Date.now() + 8_000;
      for (;;) {
        try {
          await persistence(a).flush();
          break;
        } catch (err) {
          if (Date.now() > until) {
            throw err;
          }
          await new Promise((r) => setTimeout(r, 100));
        }
      }
      // This redis-server keeps nothing on disk, so what it held died with it: the write queued
      // while it was down is what must arrive.
      t.same(await admin.hkeys('d:aor:sip:alice@example.com'), ['sip:a@while-down']);
      t.equal(a.stats.value('usrloc:db_queued'), 0);
    });
  });
}
