/**
 * Subscriber stores: the YAML file (read, write, reload, refuse bad content, 0600) and Redis
 * (a real redis-server started on a free loopback port, stopped by its PID).
 */
import { readFileSync, statSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import t, { type Test } from 'tap';
import { freePort } from '../../../test/helpers/ports.js';
import { startRedis } from '../../../test/helpers/redis-server.js';
import { FileSubscriberStore, formatSubscribers } from '../credentials/file.js';
import { RedisSubscriberStore } from '../credentials/redis.js';
import { checkSubscriber, subscriberFromPassword } from '../credentials/store.js';
import { tempDir } from './helpers.js';

const ALICE = subscriberFromPassword('alice', 'sip.test', 'wonderland');

t.test('file store: put, get synchronously, remove, list, reload after an edit', async (t) => {
  const path = join(tempDir(t), 'sub', 'subscribers.yaml');
  const s = await FileSubscriberStore.open(path);
  t.equal(s.size(), 0, 'a missing file is an empty store');
  await s.put(ALICE);
  await s.put(subscriberFromPassword('bob', 'a.test', 'pw'));
  t.same(s.get('alice', 'sip.test'), ALICE, 'answered without a promise');
  t.equal(s.get('alice', 'other.test'), null);
  const text = readFileSync(path, 'utf8');
  t.notMatch(text, /wonderland/, 'no password on disk');
  t.match(text, new RegExp(ALICE.ha1!));
  t.equal(statSync(path).mode & 0o777, 0o600);
  t.same(
    (await s.list()).map((x) => `${x.realm}/${x.user}`),
    ['a.test/bob', 'sip.test/alice'],
  );
  t.ok(await s.remove('bob', 'a.test'));
  t.notOk(await s.remove('bob', 'a.test'));
  // An operator edits the file, then reloads.
  writeFileSync(
    path,
    formatSubscribers([
      ALICE,
      { user: 'carol', realm: 'sip.test', ha1: 'A'.repeat(32), ha1_sha256: null },
    ]),
  );
  t.equal(s.get('carol', 'sip.test'), null, 'not before the reload');
  t.equal(await s.reload(), 2);
  t.equal(s.get('carol', 'sip.test')?.ha1, 'a'.repeat(32), 'hex lower-cased');
  // A broken file: the reload fails and the table held stays.
  writeFileSync(path, 'subscribers:\n  sip.test:\n    dave:\n      password: plain\n');
  await t.rejects(s.reload(), /subscribers\.sip\.test\.dave: unknown key password/);
  t.equal(s.size(), 2);
  const again = await FileSubscriberStore.open(join(tempDir(t), 'x.yaml'));
  await again.close();
  await s.close();
});

t.test('file store refuses malformed files naming the place', async (t) => {
  const dir = tempDir(t);
  const cases: [string, RegExp][] = [
    ['subscribers: [1, 2]\n', /expected a mapping "subscribers/],
    ['just text\n', /expected a mapping/],
    ['subscribers:\n  r: 5\n', /subscribers\.r: expected a mapping of users/],
    ['subscribers:\n  r:\n    u: 5\n', /subscribers\.r\.u: expected a mapping/],
    ['subscribers:\n  r:\n    u: { ha1: xyz }\n', /32 hex digits/],
    ['subscribers:\n  r:\n    u: {}\n', /neither ha1 nor ha1_sha256/],
    ['subscribers: {: :\n', /not valid YAML/],
  ];
  for (const [i, [text, re]] of cases.entries()) {
    const p = join(dir, `bad${i}.yaml`);
    writeFileSync(p, text);
    await t.rejects(FileSubscriberStore.open(p), re, text.trim());
  }
  const empty = join(dir, 'empty.yaml');
  writeFileSync(empty, '');
  t.equal((await FileSubscriberStore.open(empty)).size(), 0, 'an empty file is an empty store');
  t.same(checkSubscriber('', 'r', { ha1: 'a'.repeat(32) }), {
    ok: false,
    reason: 'user must be 1 to 256 characters',
  });
  t.match(checkSubscriber('u\n', 'r', { ha1: 'a'.repeat(32) }), { ok: false, reason: /control/ });
  t.match(checkSubscriber('u', 'r', 'x'), { ok: false });
  t.match(checkSubscriber('u', 'r', { ha1: 5 }), { ok: false });
  // A directory where the file should be: reading fails with the system's error.
  await t.rejects(FileSubscriberStore.open(dir), /EISDIR/);
});

async function redisPort(t: Test): Promise<number> {
  const server = await startRedis();
  t.teardown(() => server.stop());
  return server.port;
}

t.test('redis store against a real redis-server', async (t) => {
  const port = await redisPort(t);
  const url = `redis://127.0.0.1:${port}`;
  const s = await RedisSubscriberStore.open({ url, prefix: 'test:*auth:', commandTimeoutMs: 1000 });
  t.equal(s.size(), 0);
  await s.put(ALICE);
  await s.put(subscriberFromPassword('bob', 'b.test', 'pw'));
  await s.put(ALICE);
  t.equal(s.size(), 2, 'replacing does not count twice');
  const got = s.get('alice', 'sip.test');
  t.ok(got instanceof Promise, 'a network lookup');
  t.same(await got, ALICE);
  t.equal(await s.get('nobody', 'sip.test'), null);
  t.same(
    (await s.list()).map((x) => `${x.realm}/${x.user}`),
    ['b.test/bob', 'sip.test/alice'],
  );
  // A second node sees what the first stored.
  const other = await RedisSubscriberStore.open({
    url,
    prefix: 'test:*auth:',
    commandTimeoutMs: 1000,
  });
  t.equal(other.size(), 2, 'counted on open');
  t.same(await other.get('bob', 'b.test'), subscriberFromPassword('bob', 'b.test', 'pw'));
  t.ok(await other.remove('bob', 'b.test'));
  t.notOk(await other.remove('bob', 'b.test'));
  t.equal(await s.reload(), 1);
  // Garbage written by someone else under our prefix is skipped, not fatal.
  const { Redis } = await import('ioredis');
  const raw = new Redis(url);
  await raw.hset('test:*auth:subscriber:sip.test', 'junk', 'not json', 'junk2', '{"password":"x"}');
  await raw.quit();
  t.equal(await s.get('junk', 'sip.test'), null);
  t.equal((await s.list()).length, 1);
  await other.close();
  await s.close();
  // No server there: open fails rather than hanging.
  await t.rejects(
    RedisSubscriberStore.open({
      url: `redis://127.0.0.1:${await freePort()}`,
      prefix: 'x:',
      commandTimeoutMs: 200,
    }),
  );
});
