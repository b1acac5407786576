/**
 * Property tests: whatever bytes arrive, the parser and every header reader end in a value or a
 * coded SipParseError, never another exception and never a hang; and what is accepted
 * round-trips through the serializer.
 */
import fc from 'fast-check';
import t from 'tap';
import { isSipParseError } from '../../src/core/errors.js';
import { parseMessage, validateMessage, type SipMessage } from '../../src/sip/index.js';
import { INVITE, REGISTER } from '../fixtures/messages.js';
import { corpusFiles, readCorpus } from '../helpers/corpus.js';

const corpus = corpusFiles().map(readCorpus);
const seeds = [Buffer.from(INVITE, 'latin1'), Buffer.from(REGISTER, 'latin1'), ...corpus];

/** Slowest single input allowed: a generous bound, since the machine is shared and noisy. */
const MAX_MS = 200;

/** Read everything a proxy might read; returns normally or throws whatever the code threw. */
function readAll(msg: SipMessage): void {
  const readers: (() => unknown)[] = [
    () => msg.topVia(),
    () => msg.vias(),
    () => msg.from(),
    () => msg.to(),
    () => msg.callId(),
    () => msg.cseq(),
    () => msg.maxForwards(),
    () => msg.contact(),
    () => msg.routes(),
    () => msg.recordRoutes(),
    () => (msg.isRequest() ? msg.requestUri() : null),
    () => {
      validateMessage(msg);
    },
  ];
  for (const read of readers) {
    try {
      read();
    } catch (err) {
      if (!isSipParseError(err)) {
        throw err;
      }
    }
  }
}

/** Parse and read; only SipParseError may escape, and it is swallowed here. */
function survive(buf: Buffer): SipMessage | null {
  const start = performance.now();
  let msg: SipMessage | null = null;
  try {
    msg = parseMessage(buf);
    readAll(msg);
  } catch (err) {
    if (!isSipParseError(err)) {
      throw err;
    }
  }
  const ms = performance.now() - start;
  if (ms > MAX_MS) {
    throw new Error(`took ${ms.toFixed(1)} ms on ${buf.length} bytes`);
  }
  return msg;
}

/** Header names and values in order, Content-Length aside (the serializer rewrites it). */
function sameFields(a: SipMessage, b: SipMessage): boolean {
  const fa = a.headers.filter((h) => h.name !== 'content-length');
  const fb = b.headers.filter((h) => h.name !== 'content-length');
  return (
    fa.length === fb.length && fa.every((h, i) => h.name === fb[i]?.name && h.value === fb[i].value)
  );
}

/** Byte-level mutations of a seed message: flips, inserts, deletes, truncation, splices. */
const mutated = fc
  .record({
    seed: fc.constantFrom(...seeds),
    edits: fc.array(
      fc.record({
        kind: fc.constantFrom('flip', 'insert', 'delete', 'truncate', 'dup'),
        at: fc.nat(),
        byte: fc.constantFrom(
          0,
          9,
          10,
          13,
          32,
          34,
          44,
          58,
          59,
          60,
          62,
          64,
          92,
          0x80,
          0xa0,
          0xff,
          37,
          61,
        ),
        len: fc.integer({ min: 1, max: 40 }),
      }),
      { minLength: 1, maxLength: 8 },
    ),
  })
  .map(({ seed, edits }) => {
    let buf = Buffer.from(seed);
    for (const e of edits) {
      const at = buf.length === 0 ? 0 : e.at % buf.length;
      switch (e.kind) {
        case 'flip':
          if (buf.length > 0) {
            buf[at] = e.byte;
          }
          break;
        case 'insert':
          buf = Buffer.concat([buf.subarray(0, at), Buffer.alloc(e.len, e.byte), buf.subarray(at)]);
          break;
        case 'delete':
          buf = Buffer.concat([buf.subarray(0, at), buf.subarray(at + e.len)]);
          break;
        case 'truncate':
          buf = buf.subarray(0, at);
          break;
        case 'dup':
          buf = Buffer.concat([buf.subarray(0, at + e.len), buf.subarray(at)]);
          break;
      }
    }
    return buf;
  });

t.test('random bytes never throw anything but a coded SipParseError, and never hang', async (t) => {
  fc.assert(
    fc.property(fc.uint8Array({ maxLength: 2048 }), (bytes) => {
      survive(Buffer.from(bytes));
    }),
    { numRuns: 3000 },
  );
  t.pass('3000 random inputs handled');
});

t.test(
  'random printable text shaped like SIP never throws anything but SipParseError',
  async (t) => {
    const line = fc.string({
      unit: fc.constantFrom(...'abcSIP/2.0 :;,<>"\\@=%[]?&\t-_.!~*\'()0123456789'.split('')),
      maxLength: 60,
    });
    fc.assert(
      fc.property(
        fc.array(line, { maxLength: 20 }),
        fc.string({ maxLength: 50 }),
        (lines, body) => {
          survive(
            Buffer.from(`INVITE sip:a@b SIP/2.0\r\n${lines.join('\r\n')}\r\n\r\n${body}`, 'latin1'),
          );
          survive(
            Buffer.from(
              `SIP/2.0 200 OK\r\n${lines.map((l) => `Via: ${l}`).join('\r\n')}\r\n\r\n`,
              'latin1',
            ),
          );
        },
      ),
      { numRuns: 2000 },
    );
    t.pass('2000 structured inputs handled');
  },
);

t.test(
  'mutated real messages never throw anything but SipParseError, and never hang',
  async (t) => {
    fc.assert(
      fc.property(mutated, (buf) => {
        survive(buf);
      }),
      { numRuns: 4000 },
    );
    t.pass('4000 mutated messages handled');
  },
);

t.test(
  'any accepted message round-trips: re-serialized and re-parsed, its fields are the same',
  async (t) => {
    let accepted = 0;
    fc.assert(
      fc.property(mutated, (buf) => {
        let msg: SipMessage;
        try {
          msg = parseMessage(buf);
          validateMessage(msg);
        } catch (err) {
          if (isSipParseError(err)) {
            return;
          }
          throw err;
        }
        accepted++;
        // Force the slow path: a rewritten header makes the serializer rebuild the message.
        msg.setHeader('X-Round-Trip', '1');
        const again = parseMessage(msg.toBuffer());
        validateMessage(again);
        if (
          again.startLine() !== msg.startLine() ||
          !sameFields(again, msg) ||
          !again.body.equals(msg.body) ||
          again.callId() !== msg.callId() ||
          again.cseq().seq !== msg.cseq().seq ||
          again.fromTag() !== msg.fromTag() ||
          again.topVia()?.params.get('branch') !== msg.topVia()?.params.get('branch')
        ) {
          throw new Error(`round trip changed the message:\n${buf.toString('latin1')}`);
        }
      }),
      { numRuns: 3000 },
    );
    t.ok(accepted > 0, `some mutated messages were accepted and round-tripped (${accepted})`);
  },
);

t.test('a 20,000-token From parses or fails in well under a millisecond per KB', async (t) => {
  const from = `From: ${'tok '.repeat(20000)}<sip:a@b>;tag=1`;
  const buf = Buffer.from(`OPTIONS sip:a@b SIP/2.0\r\n${from}\r\nl: 0\r\n\r\n`, 'latin1');
  const start = performance.now();
  const msg = parseMessage(buf, { maxHeadBytes: 1 << 20 });
  t.equal(msg.from().displayName?.length, 20000 * 4 - 1);
  const ms = performance.now() - start;
  t.ok(ms < 50, `80 KB From parsed in ${ms.toFixed(2)} ms`);
  const quotes = Buffer.from(
    `OPTIONS sip:a@b SIP/2.0\r\nFrom: ${'"\\"'.repeat(20000)}<sip:a@b>\r\nl: 0\r\n\r\n`,
    'latin1',
  );
  const s2 = performance.now();
  t.throws(() => parseMessage(quotes, { maxHeadBytes: 1 << 20 }).from());
  t.ok(performance.now() - s2 < 50, 'pathological quoting fails fast');
});
