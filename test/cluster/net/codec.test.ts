import fc from 'fast-check';
import t from 'tap';
import {
  DEFAULT_MAX_FRAME_BYTES,
  FrameDecoder,
  MAGIC,
  encodeFrame,
  frameSize,
  type Frame,
  type MalformedReason,
} from '../../../src/cluster/net/codec.js';
import {
  decodeAdjacency,
  decodeHello,
  decodeSeq,
  encodeAdjacency,
  encodeHello,
  encodeSeq,
  isNewer,
} from '../../../src/cluster/net/core-messages.js';
import { parseNodeUrl } from '../../../src/cluster/net/identity.js';

const frame = (over: Partial<Frame> = {}): Frame => ({
  lane: 'data',
  clusterId: 1,
  source: 2,
  destination: 3,
  ttl: 16,
  capability: 'usrloc-contact-repl',
  type: 5,
  payload: Buffer.from('payload'),
  ...over,
});

interface Result {
  frames: Frame[];
  unknown: number[];
  error: MalformedReason | null;
  pending: number;
}

function decodeAll(chunks: Buffer[], max = DEFAULT_MAX_FRAME_BYTES): Result {
  const d = new FrameDecoder(max);
  const out: Result = { frames: [], unknown: [], error: null, pending: 0 };
  for (const c of chunks) {
    const r = d.push(c, {
      frame: (f) => out.frames.push({ ...f, payload: Buffer.from(f.payload) }),
      unknownVersion: (v) => out.unknown.push(v),
    });
    if (r !== null) {
      out.error = r;
      break;
    }
  }
  out.pending = d.pending;
  return out;
}

t.test('the byte layout is the documented one', async (t) => {
  const b = encodeFrame(frame({ capability: 'ab', payload: Buffer.from([9, 8]), lane: 'bulk' }));
  t.same(
    [...b],
    [0x54, 0x4e, 1, 2, 0, 0, 0, 18, 0, 1, 0, 2, 0, 3, 16, 2, 0x61, 0x62, 0, 5, 0, 0, 0, 2, 9, 8],
  );
  t.equal(b.length, frameSize('ab', 2));
  t.equal(b.readUInt16BE(0), MAGIC);
});

t.test('frames round-trip whole, split at every byte, and back to back', async (t) => {
  const a = encodeFrame(frame());
  const b = encodeFrame(frame({ lane: 'control', capability: '', payload: Buffer.alloc(0) }));
  const whole = decodeAll([Buffer.concat([a, b])]);
  t.equal(whole.frames.length, 2);
  t.equal(whole.frames[0]!.capability, 'usrloc-contact-repl');
  t.equal(whole.frames[0]!.payload.toString(), 'payload');
  t.equal(whole.frames[1]!.lane, 'control');
  const bytes = Buffer.concat([a, b]);
  for (let i = 1; i < bytes.length; i++) {
    const r = decodeAll([bytes.subarray(0, i), bytes.subarray(i)]);
    t.equal(r.frames.length, 2, `split at ${i}`);
  }
  const ones = decodeAll([...bytes].map((x) => Buffer.from([x])));
  t.equal(ones.frames.length, 2, 'one byte at a time');
});

t.test('an unknown version is skipped by its length and counted', async (t) => {
  const a = encodeFrame(frame());
  const v9 = Buffer.from(a);
  v9.writeUInt8(9, 2);
  const r = decodeAll([Buffer.concat([v9, a])]);
  t.same(r.unknown, [9]);
  t.equal(r.frames.length, 1, 'the next frame still decodes');
  t.equal(r.error, null);
});

t.test('malformed frames break the stream with a reason', async (t) => {
  const a = encodeFrame(frame());
  const bad = (mut: (b: Buffer) => void): MalformedReason | null => {
    const b = Buffer.from(a);
    mut(b);
    return decodeAll([b]).error;
  };
  t.equal(
    bad((b) => b.writeUInt16BE(0x1234, 0)),
    'magic',
  );
  t.equal(
    bad((b) => b.writeUInt8(3, 3)),
    'lane',
  );
  t.equal(
    bad((b) => b.writeUInt8(0x40, 3)),
    'lane',
  );
  t.equal(
    bad((b) => b.writeUInt8(200, 15)),
    'capability',
    'capability longer than the body',
  );
  t.equal(
    bad((b) => b.writeUInt8(0x01, 16)),
    'capability',
    'control character',
  );
  t.equal(
    bad((b) => b.writeUInt32BE(3, 18 + 19)),
    'length',
    'payload length disagrees',
  );
  t.equal(decodeAll([a], 20).error, 'too_large');
  const short = Buffer.from([0x54, 0x4e, 1, 1, 0, 0, 0, 4, 0, 0, 0, 0]);
  t.equal(decodeAll([short]).error, 'length', 'body shorter than the fixed part');
  const d = new FrameDecoder();
  const sink = { frame: () => undefined, unknownVersion: () => undefined };
  t.equal(d.push(Buffer.from('GET / HTTP/1.1\r\n'), sink), 'magic');
  t.ok(d.isBroken());
  t.equal(d.push(a, sink), 'magic', 'a broken decoder stays broken');
  t.equal(d.pending, 0);
});

t.test('encoding refuses what no peer could decode', async (t) => {
  t.throws(() => encodeFrame(frame({ clusterId: 70000 })), { code: 'TANDEM_ERR_INVALID_ARGUMENT' });
  t.throws(() => encodeFrame(frame({ ttl: 256 })), { code: 'TANDEM_ERR_INVALID_ARGUMENT' });
  t.throws(() => encodeFrame(frame({ capability: 'x'.repeat(256) })));
  t.throws(() => encodeFrame(frame({ capability: 'caf\u00e9' })));
  t.throws(() => encodeFrame(frame({ payload: Buffer.alloc(100) }), 64));
});

t.test('property: any frame round-trips, however the stream is cut', async (t) => {
  const arbFrame = fc.record({
    lane: fc.constantFrom('control' as const, 'data' as const, 'bulk' as const),
    clusterId: fc.integer({ min: 0, max: 0xffff }),
    source: fc.integer({ min: 0, max: 0xffff }),
    destination: fc.integer({ min: 0, max: 0xffff }),
    ttl: fc.integer({ min: 0, max: 255 }),
    capability: fc.stringMatching(/^[ -~]{0,40}$/),
    type: fc.integer({ min: 0, max: 0xffff }),
    payload: fc.uint8Array({ maxLength: 300 }).map((u) => Buffer.from(u)),
  });
  fc.assert(
    fc.property(
      fc.array(arbFrame, { minLength: 1, maxLength: 5 }),
      fc.array(fc.nat(), { maxLength: 6 }),
      (frames, cuts) => {
        const bytes = Buffer.concat(frames.map((f) => encodeFrame(f)));
        const points = [...new Set(cuts.map((c) => c % bytes.length))].sort((a, b) => a - b);
        const chunks: Buffer[] = [];
        let at = 0;
        for (const p of points) {
          chunks.push(bytes.subarray(at, p));
          at = p;
        }
        chunks.push(bytes.subarray(at));
        const r = decodeAll(chunks);
        return (
          r.error === null &&
          r.frames.length === frames.length &&
          r.frames.every(
            (f, i) =>
              f.capability === frames[i]!.capability &&
              f.payload.equals(frames[i]!.payload) &&
              f.type === frames[i]!.type &&
              f.source === frames[i]!.source,
          )
        );
      },
    ),
  );
  t.pass('round-trips');
});

t.test(
  'property: random and truncated bytes end in frames, a wait, or a reason, never a throw',
  async (t) => {
    const good = encodeFrame(frame());
    fc.assert(
      fc.property(
        fc.oneof(
          fc.uint8Array({ maxLength: 200 }).map((u) => Buffer.from(u)),
          fc.nat({ max: good.length }).map((n) => good.subarray(0, n)),
          fc
            .tuple(fc.nat({ max: good.length - 1 }), fc.integer({ min: 0, max: 255 }))
            .map(([i, v]) => {
              const b = Buffer.from(good);
              b[i] = v;
              return b;
            }),
        ),
        (bytes) => {
          const r = decodeAll([bytes], 4096);
          if (r.error !== null || r.unknown.length > 0) {
            return true;
          }
          // Otherwise every byte is accounted for: whole frames, then at most one partial frame.
          const consumed = r.frames.reduce(
            (n, f) => n + frameSize(f.capability, f.payload.length),
            0,
          );
          return consumed + r.pending === bytes.length && r.pending < 4096;
        },
      ),
      { numRuns: 2000 },
    );
    t.pass('no throw');
  },
);

t.test('channel payloads', async (t) => {
  t.same(decodeHello(encodeHello({ protocolVersion: 1, lane: 'bulk' })), {
    protocolVersion: 1,
    lane: 'bulk',
  });
  t.equal(decodeHello(Buffer.from([1, 2])), null);
  t.equal(decodeHello(Buffer.alloc(3)), null);
  t.equal(decodeSeq(encodeSeq(0xfffffffe)), 0xfffffffe);
  t.equal(decodeSeq(Buffer.alloc(3)), null);
  const adj = { origin: 3, boot: 1_700_000_000_123, counter: 9, neighbours: [1, 2] };
  t.same(decodeAdjacency(encodeAdjacency(adj)), adj);
  t.equal(decodeAdjacency(Buffer.alloc(10)), null);
  t.equal(decodeAdjacency(encodeAdjacency(adj).subarray(0, 18)), null);
  const nan = encodeAdjacency(adj);
  nan.writeDoubleBE(NaN, 2);
  t.equal(decodeAdjacency(nan), null);
  t.ok(isNewer({ ...adj, counter: 10 }, adj));
  t.notOk(isNewer(adj, adj), 'equal is stale');
  t.ok(isNewer({ ...adj, boot: adj.boot + 1, counter: 0 }, adj), 'a restart wins');
  t.notOk(isNewer({ ...adj, counter: 8 }, adj));
});

t.test('node urls', async (t) => {
  t.same(parseNodeUrl('bin:10.0.0.1:5566'), { tls: false, host: '10.0.0.1', port: 5566 });
  t.same(parseNodeUrl('bins:[::1]:5567'), { tls: true, host: '::1', port: 5567 });
  t.throws(() => parseNodeUrl('udp:1.2.3.4:5'), { code: 'TANDEM_ERR_CONFIG' });
  t.throws(() => parseNodeUrl('bin:1.2.3.4:70000'), { code: 'TANDEM_ERR_CONFIG' });
});
