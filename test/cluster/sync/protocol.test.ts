/**
 * The `clusterer:sync` packets: the codec, and the engine facing a hand-driven peer (node 3, a
 * bare in-memory network) that refuses, aborts, sends chunks out of order or malformed, or
 * aborts a transfer it receives.
 */
import { createHash } from 'node:crypto';
import t from 'tap';
import {
  SYNC_CAPABILITY,
  SyncType,
  decodeSync,
  encodeAbort,
  encodeEnd,
  encodeLive,
  encodeRefuse,
  encodeStatus,
  encodeSyncReq,
  forEachRecord,
  writeChunkHeader,
  CHUNK_HEADER,
} from '../../../src/cluster/sync/codec.js';
import type { ClusterPacket } from '../../../src/cluster/types.js';
import { configNodes } from '../../../src/cluster/provisioning.js';
import { Donation, MAX_RECORD } from '../../../src/cluster/sync/donor.js';
import { CAP, advance, cluster, config, settle, stopAll } from './kv.js';

t.test('codec: every packet round-trips; bad ones decode to null', async (t) => {
  const status = { boot: 0xdeadbeef, caps: [{ name: 'a', synced: true, serving: 2, lastSeq: 9 }] };
  t.same(decodeSync(SyncType.STATUS, encodeStatus(status)), { type: 1, msg: status });
  const req = { syncId: 7, capability: 'kv', scope: 'tag/1' };
  t.same(decodeSync(SyncType.SYNC_REQ, encodeSyncReq(req)), { type: 2, msg: req });
  const whole = { ...req, scope: null };
  t.same(decodeSync(SyncType.SYNC_REQ, encodeSyncReq(whole)), { type: 2, msg: whole });
  t.same(decodeSync(SyncType.REFUSE, encodeRefuse({ syncId: 1, reason: 'no' })), {
    type: 3,
    msg: { syncId: 1, reason: 'no' },
  });
  const end = { syncId: 3, count: 10, digest: Buffer.alloc(32, 7) };
  t.same(decodeSync(SyncType.END, encodeEnd(end)), { type: 5, msg: end });
  const abort = { syncId: 4, fromDonor: true, reason: 'x' };
  t.same(decodeSync(SyncType.ABORT, encodeAbort(abort)), { type: 6, msg: abort });
  const chunk = chunkOf(5, 2, [Buffer.from('ab'), Buffer.from('')]);
  t.match(decodeSync(SyncType.CHUNK, chunk), { type: 4, syncId: 5, index: 2 });
  const seen: string[] = [];
  t.ok(forEachRecord(chunk.subarray(CHUNK_HEADER), (_f, r) => seen.push(r.toString())));
  t.same(seen, ['ab', '']);
  t.notOk(
    forEachRecord(Buffer.from([0, 0, 0, 9, 1]), () => undefined),
    'length past the end',
  );
  t.notOk(
    forEachRecord(Buffer.from([0, 0]), () => undefined),
    'a short length',
  );
  const v2 = encodeRefuse({ syncId: 1, reason: 'no' });
  v2[0] = 2;
  t.equal(decodeSync(SyncType.REFUSE, v2), null, 'another version');
  t.equal(decodeSync(SyncType.END, encodeEnd(end).subarray(0, 20)), null, 'truncated');
  t.equal(
    decodeSync(SyncType.REFUSE, Buffer.concat([encodeRefuse(abort), Buffer.from([1])])),
    null,
  );
  t.equal(decodeSync(99, Buffer.from([1])), null, 'unknown type');
  const live = encodeLive(3, 1, 2, Buffer.from('p'));
  t.same([live.readUInt16BE(0), live.readUInt32BE(2), live.readUInt32BE(6)], [3, 1, 2]);
});

function chunkOf(syncId: number, index: number, records: Buffer[]): Buffer {
  const parts = records.map((r) => {
    const b = Buffer.allocUnsafe(4 + r.length);
    b.writeUInt32BE(r.length, 0);
    r.copy(b, 4);
    return b;
  });
  const out = Buffer.concat([Buffer.alloc(CHUNK_HEADER), ...parts]);
  writeChunkHeader(out, syncId, index);
  return out;
}

/** Nodes 1 and 2 run the engine; node 3 is a bare network the test drives. */
async function withRaw() {
  const x = cluster([1, 2, 3], { seeds: [1] });
  const raw = x.hub.add(3, configNodes(config(3, [1])).get(1)!);
  const got: ClusterPacket[] = [];
  raw.onPacket(SYNC_CAPABILITY, (p) => got.push(p));
  raw.onPacket(CAP, () => undefined);
  for (const id of [1, 2]) {
    await x.n.get(id)!.c.start();
  }
  await raw.start();
  const send = (to: number, type: number, payload: Buffer): void => {
    raw.send({ clusterId: 1, destination: to, capability: SYNC_CAPABILITY, type, payload });
  };
  return { x, raw, got, send };
}

t.test(
  'a donor refuses unknown capabilities and when not synced; bad packets are counted',
  async (t) => {
    const { x, got, send } = await withRaw();
    t.teardown(() => stopAll(x.n));
    send(1, SyncType.SYNC_REQ, encodeSyncReq({ syncId: 1, capability: 'nope', scope: null }));
    send(2, SyncType.SYNC_REQ, encodeSyncReq({ syncId: 2, capability: CAP, scope: null }));
    send(1, SyncType.STATUS, Buffer.from([1, 2]));
    await settle(() => got.filter((p) => p.type === SyncType.REFUSE).length === 2);
    const refusals = got
      .filter((p) => p.type === SyncType.REFUSE)
      .map((p) => [p.source, decodeSync(p.type, p.payload)]);
    t.same(refusals, [
      [1, { type: 3, msg: { syncId: 1, reason: 'no such capability with a sync' } }],
      [2, { type: 3, msg: { syncId: 2, reason: 'not synced' } }],
    ]);
    t.equal(x.n.get(1)!.c.sync.badPackets, 1);
  },
);

t.test('a receiver fails and retries on every kind of bad transfer', async (t) => {
  const { x, got, send } = await withRaw();
  t.teardown(() => stopAll(x.n));
  const b = x.n.get(2)!;
  // Node 3 says it is synced: node 2's only donor (node 1 is not synced and not ready).
  send(
    2,
    SyncType.STATUS,
    encodeStatus({ boot: 5, caps: [{ name: CAP, synced: true, serving: 0, lastSeq: 0 }] }),
  );
  b.c.modulesReady();
  const requests = (): number[] =>
    got
      .filter((p) => p.type === SyncType.SYNC_REQ)
      .map((p) => {
        const m = decodeSync(p.type, p.payload);
        return m?.type === SyncType.SYNC_REQ ? m.msg.syncId : -1;
      });
  const answers: ((id: number) => void)[] = [
    (id) => {
      send(2, SyncType.CHUNK, chunkOf(id, 1, []));
    },
    (id) => {
      send(2, SyncType.ABORT, encodeAbort({ syncId: id, fromDonor: true, reason: 'boom' }));
    },
    (id) => {
      send(2, SyncType.CHUNK, Buffer.concat([chunkOf(id, 0, []), Buffer.from([0, 0, 0, 9])]));
    },
    (id) => {
      send(2, SyncType.REFUSE, encodeRefuse({ syncId: id, reason: 'busy' }));
    },
    (id) => {
      send(2, SyncType.CHUNK, chunkOf(id, 0, [Buffer.from('not json')]));
    },
  ];
  const reasons = [
    /chunk 1 arrived, 0 expected/,
    /donor 3 aborted: boom/,
    /chunk 0 is malformed/,
    /donor 3 refused: busy/,
    /apply failed/,
  ];
  let delay = 1000;
  for (let i = 0; i < answers.length; i++) {
    await settle(() => requests().length === i + 1);
    const id = requests()[i]!;
    // A stale packet (another sync id) changes nothing.
    send(2, SyncType.END, encodeEnd({ syncId: id + 1, count: 0, digest: Buffer.alloc(32) }));
    answers[i]!(id);
    await settle(() => b.kv.ends.length === i + 1);
    t.match(b.c.caps.list()[0], { lastFailure: reasons[i], state: 'sync pending' });
    await advance(x.clock, delay);
    delay *= 2;
  }
  const aborts = got.filter((p) => p.type === SyncType.ABORT);
  t.ok(aborts.length >= 1, 'the receiver told the donor it gave up');
  // Now a good one.
  await settle(() => requests().length === 6);
  const id = requests()[5]!;
  const rec = Buffer.from(JSON.stringify({ k: 'z', r: 1, v: 'zz' }));
  const chunk = chunkOf(id, 0, [rec]);
  send(2, SyncType.CHUNK, chunk);
  const digest = createHash('sha256').update(chunk.subarray(CHUNK_HEADER)).digest();
  send(2, SyncType.END, encodeEnd({ syncId: id, count: 1, digest }));
  t.ok(await settle(() => b.kv.cap.synced));
  t.match(b.c.caps.list()[0], { syncedBy: 'donor 3', recordsReceived: 1 });
});

t.test('a donor stops when the receiver aborts, and aborts when donate fails', async (t) => {
  let failAt = -1;
  const x = cluster([1, 2, 3], {
    seeds: [1],
    kv: () => ({
      yieldEvery: 100,
      onDonate: (n) => {
        if (n === failAt) {
          throw new Error('store broken');
        }
      },
    }),
  });
  t.teardown(() => stopAll(x.n));
  const raw = x.hub.add(3, configNodes(config(3, [1])).get(1)!);
  const got: ClusterPacket[] = [];
  raw.onPacket(SYNC_CAPABILITY, (p) => got.push(p));
  const a = x.n.get(1)!;
  a.kv.fill(30_000);
  await a.c.start();
  await raw.start();
  a.c.modulesReady();
  await advance(x.clock, 5000);
  t.equal(a.kv.cap.synced, true);
  const send = (type: number, payload: Buffer): void => {
    raw.send({ clusterId: 1, destination: 1, capability: SYNC_CAPABILITY, type, payload });
  };
  send(SyncType.SYNC_REQ, encodeSyncReq({ syncId: 11, capability: CAP, scope: null }));
  await settle(() => got.some((p) => p.type === SyncType.CHUNK));
  t.equal(a.c.caps.list()[0]!.serving, 1);
  send(SyncType.ABORT, encodeAbort({ syncId: 11, fromDonor: false, reason: 'enough' }));
  await settle(() => a.c.caps.list()[0]!.serving === 0);
  t.equal(a.c.caps.list()[0]!.serving, 0, 'stopped serving');
  t.notOk(
    got.some((p) => p.type === SyncType.END),
    'no END after an abort',
  );
  failAt = 5;
  send(SyncType.SYNC_REQ, encodeSyncReq({ syncId: 12, capability: CAP, scope: null }));
  await settle(() => got.some((p) => p.type === SyncType.ABORT));
  const abort = got.find((p) => p.type === SyncType.ABORT)!;
  t.same(decodeSync(abort.type, abort.payload), {
    type: 6,
    msg: { syncId: 12, fromDonor: true, reason: 'store broken' },
  });
  t.equal(a.c.caps.list()[0]!.transfersServed, 2);
});

t.test('Donation: big records travel alone, order and digest hold, failures reject', async (t) => {
  const sent: { type: number; payload: Buffer }[] = [];
  let answer: 'queued' | 'unreachable' = 'queued';
  const send = (type: number, payload: Buffer) => {
    sent.push({ type, payload: Buffer.from(payload) });
    // Every other write waits for "room", as a full socket would.
    return sent.length % 2 === 0 ? Promise.resolve(answer) : answer;
  };
  let counted = 0;
  const d = new Donation(9, 2, send, () => counted++);
  const records = [
    ...Array.from({ length: 3000 }, (_, i) => Buffer.from(`r${i}`.padEnd(40, '.'))),
    Buffer.alloc(100 * 1024, 1),
    Buffer.from('after'),
  ];
  await d.run(
    {
      donate: async (_ctx, emit) => {
        for (const r of records) {
          await emit(r);
        }
      },
      apply: () => undefined,
    },
    { node: 2, scope: null },
  );
  t.equal(counted, records.length);
  const chunks = sent.filter((s) => s.type === SyncType.CHUNK);
  const got: Buffer[] = [];
  const hash = createHash('sha256');
  chunks.forEach((c, i) => {
    const m = decodeSync(c.type, c.payload);
    t.match(m, { syncId: 9, index: i });
    hash.update(c.payload.subarray(CHUNK_HEADER));
    forEachRecord(c.payload.subarray(CHUNK_HEADER), (_f, r) => got.push(r));
  });
  t.ok(got.length === records.length && got.every((r, i) => r.equals(records[i]!)), 'in order');
  t.ok(
    chunks.some((c) => c.payload.length > 100 * 1024),
    'the big record went in one chunk',
  );
  const end = decodeSync(SyncType.END, sent.at(-1)!.payload);
  t.same(end, { type: 5, msg: { syncId: 9, count: records.length, digest: hash.digest() } });

  answer = 'unreachable';
  const lost = new Donation(10, 2, send, () => undefined);
  await t.rejects(
    lost.run(
      {
        donate: async (_ctx, emit) => {
          for (let i = 0; i < 5000; i++) {
            await emit(Buffer.alloc(100));
          }
        },
        apply: () => undefined,
      },
      { node: 2, scope: null },
    ),
    /receiver 2: unreachable/,
  );
  answer = 'queued';
  const huge = new Donation(11, 2, send, () => undefined);
  await t.rejects(
    huge.run(
      { donate: async (_ctx, emit) => emit(Buffer.alloc(MAX_RECORD)), apply: () => undefined },
      { node: 2, scope: null },
    ),
    /a record of/,
  );
  const stopped = new Donation(12, 2, send, () => undefined);
  stopped.stop('enough');
  await t.rejects(
    stopped.run(
      { donate: async (_ctx, emit) => emit(Buffer.alloc(1)), apply: () => undefined },
      { node: 2, scope: null },
    ),
    /enough/,
  );
});
