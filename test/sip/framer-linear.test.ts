import t from 'tap';
import fc from 'fast-check';
import { isSipParseError } from '../../src/core/errors.js';
import { b, feedSplit, record, request, SDP } from '../helpers/framer.js';

t.test('RFC 3261 §18.3: 1,000 messages one byte at a time frame in linear time', async (t) => {
  const one = request(SDP);
  const wire = b(one.repeat(1000));
  const r = record();
  const start = process.hrtime.bigint();
  for (let i = 0; i < wire.length; i++) {
    r.framer.push(wire.subarray(i, i + 1));
  }
  const ms = Number(process.hrtime.bigint() - start) / 1e6;
  t.comment(`1,000 messages (${wire.length} bytes) in 1-byte chunks: ${ms.toFixed(1)} ms`);
  t.equal(r.messages.length, 1000);
  t.ok(r.messages.every((m) => m.toString('latin1') === one));
  t.ok(ms < 2000, `took ${ms.toFixed(1)} ms`);
  t.end();
});

t.test('RFC 3261 §18.3: a 14 KB head one byte at a time frames in linear time', async (t) => {
  const pad = Array.from({ length: 260 }, (_, i) => `X-Header-${i}: ${'v'.repeat(40)}\r\n`);
  const msg = request('body', `${pad.join('')}Content-Length: 4`);
  t.ok(msg.length > 14000, 'a head of over 14 KB');
  const wire = b(msg);
  const r = record();
  const start = process.hrtime.bigint();
  for (let i = 0; i < wire.length; i++) {
    r.framer.push(wire.subarray(i, i + 1));
  }
  const ms = Number(process.hrtime.bigint() - start) / 1e6;
  t.same(r.events, [`msg:${msg}`]);
  t.ok(ms < 1000, `took ${ms.toFixed(1)} ms`);
  t.end();
});

t.test('RFC 3261 §18.3: a 64 KiB body one byte at a time frames in linear time', async (t) => {
  const body = 'y'.repeat(65536);
  const wire = b(request(body));
  const r = record();
  const start = process.hrtime.bigint();
  for (let i = 0; i < wire.length; i++) {
    r.framer.push(wire.subarray(i, i + 1));
  }
  const ms = Number(process.hrtime.bigint() - start) / 1e6;
  t.same(r.events, [`msg:${request(body)}`]);
  t.ok(ms < 2000, `took ${ms.toFixed(1)} ms`);
  t.end();
});

const bodyArb = fc.uint8Array({ maxLength: 300 }).map((u) => Buffer.from(u));
const messageArb = fc
  .tuple(bodyArb, fc.constantFrom('Content-Length: ', 'l: ', 'content-length :', 'L:\r\n '))
  .map(([body, name]) =>
    Buffer.concat([b(`MESSAGE sip:x SIP/2.0\r\nVia: h\r\n${name}${body.length}\r\n\r\n`), body]),
  );

/** Random cut points of a stream of length `n`. */
const cutsArb = (n: number): fc.Arbitrary<number[]> =>
  fc
    .uniqueArray(fc.integer({ min: 0, max: n }), { maxLength: 40 })
    .map((a) => a.sort((x, y) => x - y));

t.test(
  'RFC 3261 §18.3 (property): any chunking of valid messages frames them exactly',
  async (t) => {
    const streamArb = fc
      .array(fc.tuple(fc.constantFrom('', '\r\n', '\r\n\r\n'), messageArb), { maxLength: 8 })
      .chain((items) => {
        const stream = Buffer.concat(items.flatMap(([crlf, m]) => [b(crlf), m]));
        return fc.tuple(
          fc.constant(items.map(([, m]) => m)),
          fc.constant(stream),
          cutsArb(stream.length),
        );
      });
    fc.assert(
      fc.property(streamArb, ([messages, stream, cuts]) => {
        const r = record();
        feedSplit(r, stream, cuts);
        return (
          r.errors.length === 0 &&
          r.framer.buffered === 0 &&
          r.messages.length === messages.length &&
          r.messages.every((m, i) => m.equals(messages[i]!))
        );
      }),
      { numRuns: 500 },
    );
    t.end();
  },
);

t.test(
  'RFC 3261 §18.3 (property): random bytes only ever reach onError, never throw',
  async (t) => {
    const noise = fc.array(
      fc.oneof(
        fc.uint8Array({ maxLength: 64 }).map((u) => Buffer.from(u)),
        fc
          .constantFrom('\r\n', '\n', '\r', ' ', ':', 'l', 'Content-Length', '0', '9', 'SIP/2.0')
          .map(b),
      ),
      { maxLength: 60 },
    );
    fc.assert(
      fc.property(noise, fc.array(fc.nat(), { maxLength: 10 }), (pieces, sizes) => {
        const r = record({ maxHeadBytes: 256, maxBodyBytes: 512, maxKeepaliveBytes: 32 });
        const stream = Buffer.concat(pieces);
        let at = 0;
        for (const size of sizes) {
          r.framer.push(stream.subarray(at, at + size));
          at += size;
        }
        r.framer.push(stream.subarray(at));
        return r.errors.length <= 1 && r.errors.every(isSipParseError);
      }),
      { numRuns: 1000 },
    );
    t.end();
  },
);
