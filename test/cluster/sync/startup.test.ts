/**
 * Start-up and gaps: the seed fallback counts from modulesReady, a non-seed without a donor
 * waits, readiness follows the capabilities; a lost live packet is seen by the next packet or
 * by a STATUS alone and repaired by a resync; list_cap and the test hook over MI.
 */
import t from 'tap';
import { clustererManifest } from '../../../src/cluster/mi.js';
import { silentLogger } from '../../../src/core/logger.js';
import { JsonRpcEngine } from '../../../src/mi/jsonrpc.js';
import { installModules } from '../../../src/module/index.js';
import { registries } from '../../helpers/module-registries.js';
import { CAP, advance, cluster, config, same, settle, stopAll } from './kv.js';

t.test('the seed fallback counts from modulesReady, not from start', async (t) => {
  const x = cluster([1, 3], { seeds: [1, 3] });
  t.teardown(() => stopAll(x.n));
  const a = x.n.get(1)!;
  const c = x.n.get(3)!;
  a.kv.fill(2000);
  await a.c.start();
  await c.c.start();
  // Node 3's modules take 10 s to get ready; node 1's 7 s (so it falls back at 12 s).
  await advance(x.clock, 7000);
  a.c.modulesReady();
  t.equal(c.c.caps.list()[0]!.state, 'not synced', 'no request before modulesReady');
  t.equal(c.kv.events.filter((e) => e.kind.startsWith('sync')).length, 0);
  await advance(x.clock, 3000);
  c.c.modulesReady();
  await advance(x.clock, 1000);
  t.equal(c.c.caps.list()[0]!.state, 'sync pending', 'waiting: 5 s have not passed since ready');
  await advance(x.clock, 1000);
  t.equal(a.c.caps.list()[0]!.syncedBy, 'seed fallback', 'node 1 fell back at 12 s');
  t.ok(await settle(() => c.kv.cap.synced));
  t.equal(c.c.caps.list()[0]!.syncedBy, 'donor 1', 'the late node synced from the donor');
  t.ok(same(a.kv.map, c.kv.map));
});

t.test('a non-seed with no donor stays pending and not ready', async (t) => {
  const x = cluster([1, 2], { seeds: [1] });
  t.teardown(() => stopAll(x.n));
  const b = x.n.get(2)!;
  await b.c.start();
  b.c.modulesReady();
  await advance(x.clock, 60_000, 1000);
  t.match(b.c.caps.list()[0], { state: 'sync pending', synced: false, syncedBy: '' });
  t.match(b.c.readiness(), { ready: false, detail: 'capabilities not synced: kv-repl' });
  t.same(b.kv.cap.syncedNodes(), []);
  // The seed comes up with its data: B syncs without anyone asking.
  const a = x.n.get(1)!;
  a.kv.fill(10);
  await a.c.start();
  a.c.modulesReady();
  await advance(x.clock, 5000);
  t.ok(await settle(() => b.kv.cap.synced));
  t.same(b.c.readiness(), { ready: true });
});

async function synced(): Promise<ReturnType<typeof cluster>> {
  const x = cluster([1, 2], { seeds: [1] });
  x.n.get(1)!.kv.fill(100);
  for (const n of x.n.values()) {
    await n.c.start();
    n.c.modulesReady();
  }
  await advance(x.clock, 5000);
  await settle(() => x.n.get(2)!.kv.cap.synced);
  return x;
}

t.test('a dropped live packet is seen by the next one and repaired', async (t) => {
  const x = await synced();
  t.teardown(() => stopAll(x.n));
  const a = x.n.get(1)!;
  const b = x.n.get(2)!;
  a.c.caps.get(CAP)!.dropNext = 1;
  a.kv.put('lost', 2, 'x');
  await settle(() => false, 3);
  t.equal(b.kv.map.get('lost'), undefined, 'the packet was lost');
  a.kv.put('next', 2, 'y');
  t.ok(await settle(() => b.kv.map.get('lost')?.value === 'x'), 'the resync brought it');
  t.match(b.c.caps.list()[0], { gaps: 1, state: 'synced', syncedBy: 'donor 1' });
  t.equal(a.c.caps.list()[0]!.transfersServed, 2);
  t.ok(same(a.kv.map, b.kv.map));
});

t.test('a lost last packet is seen by the STATUS alone and repaired', async (t) => {
  const x = await synced();
  t.teardown(() => stopAll(x.n));
  const a = x.n.get(1)!;
  const b = x.n.get(2)!;
  a.c.caps.get(CAP)!.dropNext = 1;
  a.kv.put('lost', 2, 'x');
  await settle(() => false, 3);
  t.equal(b.kv.map.get('lost'), undefined);
  await advance(x.clock, 4000);
  t.ok(await settle(() => b.kv.map.get('lost')?.value === 'x'));
  t.equal(b.c.caps.list()[0]!.gaps, 1);
});

t.test('packets sent while a node was unreachable are a gap when it returns', async (t) => {
  const x = await synced();
  t.teardown(() => stopAll(x.n));
  const a = x.n.get(1)!;
  const b = x.n.get(2)!;
  x.hub.cut(1, 2);
  await settle(() => false, 3);
  t.equal(a.kv.cap.sendAll(1, Buffer.from('{"k":"away","r":3,"v":"z"}')), 0);
  a.kv.map.set('away', { rev: 3, value: 'z' });
  x.hub.heal(1, 2);
  t.ok(await settle(() => b.kv.map.get('away')?.value === 'z'), 'resynced on node up');
  t.equal(b.c.caps.list()[0]!.gaps, 1);
  t.same(b.kv.cap.syncedNodes().sort(), [1, 2]);
});

t.test('a new boot id starts the count over; a late packet is no gap', async (t) => {
  const x = await synced();
  t.teardown(() => stopAll(x.n));
  const b = x.n.get(2)!;
  const s = b.c.caps.get(CAP)!;
  t.equal(s.seen(9, 7, 100), 0, 'first packet of a source');
  t.equal(s.seen(9, 7, 101), 0);
  t.same(s.seen(9, 7, 104), { missed: 2 });
  t.equal(s.seen(9, 7, 103), 0, 'late: delivered, no gap');
  t.equal(s.seen(9, 8, 1), 0, 'a restarted source');
  t.equal(s.told(9, 8, 1), 0);
  t.same(s.told(9, 8, 3), { missed: 2 });
  t.equal(s.seen(9, 8, 0xffffffff), 0, 'far behind (wrapped): not after');
});

t.test('list_cap over MI, and test_drop_next with TANDEM_TEST_HOOKS=1', async (t) => {
  const before = process.env['TANDEM_TEST_HOOKS'];
  process.env['TANDEM_TEST_HOOKS'] = '1';
  t.teardown(() => {
    if (before === undefined) {
      delete process.env['TANDEM_TEST_HOOKS'];
    } else {
      process.env['TANDEM_TEST_HOOKS'] = before;
    }
  });
  const x = await synced();
  t.teardown(() => stopAll(x.n));
  const reg = registries({ clock: x.clock });
  await installModules([clustererManifest(x.n.get(1)!.c)], reg);
  const engine = new JsonRpcEngine({ registry: reg.commands, logger: silentLogger });
  const call = async (method: string, params: unknown = []) =>
    (await engine.handle({ jsonrpc: '2.0', method, params, id: 1 })) as {
      result?: unknown;
      error?: unknown;
    };
  t.same((await call('clusterer:test_drop_next', [CAP, 1])).result, 'OK');
  t.match((await call('clusterer:test_drop_next', ['nope', 1])).error, { code: 404 });
  t.match((await call('clusterer:test_drop_next', [CAP, -1])).error, { code: 400 });
  x.n.get(1)!.kv.put('lost', 2, 'x');
  x.n.get(1)!.kv.put('next', 2, 'y');
  await settle(() => x.n.get(2)!.kv.map.get('lost') !== undefined);
  t.match((await call('clusterer_list_cap')).result, {
    Clusters: [
      {
        cluster_id: 1,
        Capabilities: [
          {
            name: CAP,
            state: 'synced',
            status: 'Ok',
            transfer: 'none',
            donor: 'none',
            records_received: 0,
            records_sent: 202,
            transfers_served: 2,
            serving: 0,
            gaps: 0,
            synced_by: 'seed fallback',
            last_failure: 'none',
          },
        ],
      },
    ],
  });
  const b = x.n.get(2)!.c.caps.list()[0]!;
  t.match(b, { gaps: 1, recordsExpected: 102, syncedBy: 'donor 1' });
  t.type(b.lastSyncMs, 'number', 'the transfer took a measured time');
});

t.test('config: seed_fallback_interval and sync_timeout default to 5 s and 15 s', async (t) => {
  const c = config(1, []);
  t.equal(c.seed_fallback_interval, 5);
  t.equal(c.sync_timeout, 15);
  t.equal(config(1, [], { seed_fallback_interval: 0, sync_timeout: 2 }).seed_fallback_interval, 0);
  t.throws(() => config(1, [], { sync_timeout: 0 }));
});
