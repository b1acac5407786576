/**
 * Full transfers on the in-memory network: a fresh node pulls 10,000+ records verified by
 * count and digest; live updates during a transfer end newer; a corrupted or short transfer,
 * a stalled donor, a donor lost mid-transfer and a full live buffer are retried by themselves.
 */
import t, { type Test } from 'tap';
import { SYNC_CAPABILITY, SyncType } from '../../../src/cluster/sync/codec.js';
import { advance, cluster, same, settle, stopAll, type KvOptions } from './kv.js';

async function startAll(
  x: ReturnType<typeof cluster>,
  ids: readonly number[] = [...x.n.keys()],
): Promise<void> {
  for (const id of ids) {
    await x.n.get(id)!.c.start();
    x.n.get(id)!.c.modulesReady();
  }
}

t.test('a fresh node syncs 10,000 records from the seed, verified', async (t) => {
  const x = cluster([1, 2], { seeds: [1] });
  t.teardown(() => stopAll(x.n));
  const a = x.n.get(1)!;
  const b = x.n.get(2)!;
  a.kv.fill(12_000);
  await startAll(x);
  t.equal(a.c.caps.list()[0]!.state, 'sync pending', 'the seed waits for a donor first');
  t.match(b.c.readiness(), { ready: false, detail: /not synced: kv-repl/ });
  await advance(x.clock, 5000);
  t.equal(a.c.caps.list()[0]!.syncedBy, 'seed fallback');
  t.ok(await settle(() => b.kv.cap.synced));
  t.ok(same(a.kv.map, b.kv.map), 'every record arrived');
  t.same(b.c.readiness(), { ready: true });
  t.match(b.c.caps.list()[0], {
    state: 'synced',
    syncedBy: 'donor 1',
    recordsReceived: 12_000,
    recordsExpected: 12_000,
    gaps: 0,
    lastFailure: null,
  });
  t.match(a.c.caps.list()[0], { recordsSent: 12_000, transfersServed: 1, serving: 0 });
  t.same(
    b.kv.events.filter((e) => e.kind.startsWith('sync')),
    [
      { kind: 'sync_requested', clusterId: 1, nodeId: 1 },
      { kind: 'sync_done', clusterId: 1, nodeId: 1, ok: true },
    ],
  );
  t.same(b.kv.ends, [true]);
  t.same(b.kv.cap.syncedNodes().sort(), [1, 2]);
  t.same(a.kv.cap.syncedNodes().sort(), [1, 2]);
});

t.test('live updates and deletes during the transfer end newer', async (t) => {
  const x = cluster([1, 2], { seeds: [1], kv: () => ({ yieldEvery: 200 }) });
  t.teardown(() => stopAll(x.n));
  const a = x.n.get(1)!;
  const b = x.n.get(2)!;
  a.kv.fill(10_000);
  await startAll(x, [1]);
  await advance(x.clock, 5000);
  await startAll(x, [2]);
  await settle(() => b.c.caps.list()[0]!.recordsReceived > 0);
  t.equal(b.c.caps.list()[0]!.state, 'syncing');
  // Writes on A while the transfer runs: updates, deletes, new keys, some of keys not sent yet.
  for (let i = 0; i < 10_000; i += 97) {
    a.kv.put(`k${i}`, 2, i % 2 === 0 ? null : `new${i}`);
  }
  a.kv.put('fresh', 5, 'x');
  t.ok(await settle(() => b.kv.cap.synced));
  t.ok(same(a.kv.map, b.kv.map), 'B holds exactly what A holds');
  t.equal(b.kv.map.get('k0')?.value, null, 'a delete during the sync stays deleted');
  t.equal(b.kv.map.get('k97')?.value, 'new97');
});

t.test('a corrupted, then a short transfer are retried until one verifies', async (t) => {
  const x = cluster([1, 2], { seeds: [1] });
  t.teardown(() => stopAll(x.n));
  const a = x.n.get(1)!;
  const b = x.n.get(2)!;
  a.kv.fill(3000);
  let chunks = 0;
  let ends = 0;
  x.hub.intercept = (p) => {
    if (p.capability !== SYNC_CAPABILITY) {
      return p;
    }
    chunks += p.type === SyncType.CHUNK ? 1 : 0;
    if (p.type === SyncType.END && ++ends === 1) {
      // The first END's digest altered on the wire: every record counted, the digest wrong.
      const bad = Buffer.from(p.payload);
      bad[bad.length - 1] = bad[bad.length - 1]! ^ 0x01;
      return { ...p, payload: bad };
    }
    return p;
  };
  await startAll(x);
  await advance(x.clock, 5000);
  await settle(() => b.kv.ends.length === 1);
  t.same(b.kv.ends, [false]);
  t.match(b.c.caps.list()[0], { state: 'sync pending', lastFailure: /digest/ });
  // Second try: the last chunk is lost, END counts more records than arrived.
  const perTransfer = chunks;
  x.hub.intercept = (p) => {
    if (
      p.capability === SYNC_CAPABILITY &&
      p.type === SyncType.CHUNK &&
      ++chunks === 2 * perTransfer
    ) {
      return null;
    }
    return p;
  };
  await advance(x.clock, 1000);
  await settle(() => b.kv.ends.length === 2);
  t.match(b.c.caps.list()[0], { lastFailure: /records received, the donor sent 3000/ });
  x.hub.intercept = null;
  await advance(x.clock, 2000);
  t.ok(await settle(() => b.kv.cap.synced));
  t.same(b.kv.ends, [false, false, true]);
  t.ok(same(a.kv.map, b.kv.map));
  t.same(
    b.kv.events.filter((e) => e.kind === 'sync_done').map((e) => ('ok' in e ? e.ok : null)),
    [false, false, true],
  );
});

/** Nodes 1 and 2 synced with data, node 3 fresh: returns them started. */
async function threeNodes(t: Test, kv?: (id: number) => KvOptions) {
  const x = cluster([1, 2, 3], { seeds: [1], ...(kv === undefined ? {} : { kv }) });
  t.teardown(() => stopAll(x.n));
  x.n.get(1)!.kv.fill(5000);
  await startAll(x, [1, 2]);
  await advance(x.clock, 5000);
  await settle(() => x.n.get(2)!.kv.cap.synced);
  t.ok(x.n.get(2)!.kv.cap.synced, 'node 2 synced from the seed');
  return x;
}

t.test('a stalled donor: after sync_timeout another donor completes', async (t) => {
  const x = await threeNodes(t);
  const c = x.n.get(3)!;
  const stall: { donor: number | null } = { donor: null };
  x.hub.intercept = (p) => {
    if (p.capability === SYNC_CAPABILITY && p.type === SyncType.SYNC_REQ && stall.donor === null) {
      stall.donor = p.destination;
    }
    const fromStalled = p.source === stall.donor && p.destination === 3;
    return fromStalled && (p.type === SyncType.CHUNK || p.type === SyncType.END) ? null : p;
  };
  await startAll(x, [3]);
  await flush3();
  t.not(stall.donor, null);
  t.equal(c.c.caps.list()[0]!.state, 'syncing');
  await advance(x.clock, 14_000);
  t.equal(c.c.caps.list()[0]!.state, 'syncing', 'not before sync_timeout');
  await advance(x.clock, 1000);
  t.match(c.c.caps.list()[0], { lastFailure: /no data from donor/ });
  await advance(x.clock, 1000);
  t.ok(await settle(() => c.kv.cap.synced));
  t.equal(c.c.caps.list()[0]!.syncedBy, `donor ${stall.donor === 1 ? 2 : 1}`);
  t.ok(same(x.n.get(1)!.kv.map, c.kv.map));
});

t.test('the donor goes down mid-transfer: another donor completes', async (t) => {
  let cutAt = -1;
  let x: ReturnType<typeof cluster> | null = null;
  x = await threeNodes(t, (id) => ({
    yieldEvery: 100,
    onDonate: (n, ctx) => {
      if (ctx.node === 3 && n === 2000 && cutAt === -1) {
        cutAt = id;
        x!.hub.cut(id, 3);
      }
    },
  }));
  const c = x.n.get(3)!;
  await startAll(x, [3]);
  await settle(() => cutAt !== -1);
  await flush3();
  t.match(c.c.caps.list()[0], { lastFailure: new RegExp(`donor ${cutAt} became unreachable`) });
  t.same(c.kv.ends, [false]);
  await advance(x.clock, 1000);
  t.ok(await settle(() => c.kv.cap.synced));
  t.equal(c.c.caps.list()[0]!.syncedBy, `donor ${cutAt === 1 ? 2 : 1}`);
  t.ok(same(x.n.get(1)!.kv.map, c.kv.map));
  t.equal(x.n.get(cutAt)!.c.caps.list()[0]!.serving, 0, 'the donor stopped serving');
});

t.test('too many live packets held during a transfer restart it', async (t) => {
  const x = cluster([1, 2], {
    seeds: [1],
    kv: () => ({ yieldEvery: 50 }),
    heldLimits: { packets: 20, bytes: 1 << 20 },
  });
  t.teardown(() => stopAll(x.n));
  const a = x.n.get(1)!;
  const b = x.n.get(2)!;
  a.kv.fill(20_000);
  await startAll(x, [1]);
  await advance(x.clock, 5000);
  await startAll(x, [2]);
  await settle(() => b.c.caps.list()[0]!.recordsReceived > 0);
  t.equal(b.c.caps.list()[0]!.state, 'syncing');
  for (let i = 0; i < 30; i++) {
    a.kv.put(`live${i}`, 3, 'v');
  }
  await settle(() => b.kv.ends.length === 1);
  t.match(b.c.caps.list()[0], { lastFailure: /held during the sync over the limit/ });
  t.equal(b.kv.map.get('live29')?.value, 'v', 'held packets were handed over at the failure');
  await advance(x.clock, 1000);
  t.ok(await settle(() => b.kv.cap.synced));
  t.ok(same(a.kv.map, b.kv.map));
});

t.test('requestSync: a scoped resync keeps the capability synced', async (t) => {
  const x = cluster([1, 2], { seeds: [1], kv: () => ({ yieldEvery: 10 }) });
  t.teardown(() => stopAll(x.n));
  const a = x.n.get(1)!;
  const b = x.n.get(2)!;
  a.kv.fill(300, 1, 'x');
  a.kv.fill(300, 1, 'y');
  await startAll(x);
  await advance(x.clock, 5000);
  t.ok(await settle(() => b.kv.cap.synced));
  // Changes B missed (written on A without replication), in both scopes.
  a.kv.fill(300, 2, 'x');
  a.kv.fill(300, 2, 'y');
  t.equal(b.kv.cap.requestSync('x'), true);
  await flush3();
  t.match(b.c.caps.list()[0], { state: 'synced', donor: 1 }, 'synced while the resync runs');
  t.same(b.c.readiness(), { ready: true });
  t.ok(await settle(() => b.c.caps.list()[0]!.donor === null));
  t.same(a.kv.scopes, [null, 'x']);
  t.equal(b.kv.map.get('x5')?.rev, 2, 'the scope was pulled again');
  t.equal(b.kv.map.get('y5')?.rev, 1, 'other scopes untouched');
  t.equal(b.c.caps.list()[0]!.recordsReceived, 300);
});

t.test('startupSync false: synced at once, and a donor for the others', async (t) => {
  const x = cluster([1, 2], { seeds: [], kv: (id) => (id === 2 ? { startupSync: false } : {}) });
  t.teardown(() => stopAll(x.n));
  const a = x.n.get(1)!;
  const b = x.n.get(2)!;
  b.kv.fill(100);
  await startAll(x);
  t.equal(b.kv.cap.synced, true);
  t.equal(b.c.caps.list()[0]!.syncedBy, 'no sync needed');
  t.ok(await settle(() => a.kv.cap.synced), 'A pulled from B, which says synced');
  t.equal(a.c.caps.list()[0]!.syncedBy, 'donor 2');
  t.equal(a.kv.map.size, 100);
});

async function flush3(): Promise<void> {
  await settle(() => false, 3);
}
