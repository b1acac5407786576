import t from 'tap';
import fc from 'fast-check';
import { isSipParseError } from '../../../src/core/errors.js';
import { formatCSeq, parseCSeq } from '../../../src/sip/headers/cseq.js';
import { header } from '../../helpers/corpus.js';
import { assertWarmUnder, flat, timed } from '../../helpers/timing.js';

t.test('parseCSeq reads the sequence number and method (RFC 3261 §20.16)', async (t) => {
  t.same(parseCSeq('4711 INVITE'), { seq: 4711, method: 'INVITE' });
  t.same(parseCSeq('  0 ACK  '), { seq: 0, method: 'ACK' });
  t.same(parseCSeq('1\tinvite'), { seq: 1, method: 'invite' });
  t.end();
});

t.test('parseCSeq accepts leading zeros and folded LWS (RFC 4475 §3.1.1.1 wsinv)', async (t) => {
  t.equal(header('wsinv', 'cseq'), '0009 INVITE');
  t.same(parseCSeq(header('wsinv', 'cseq')), { seq: 9, method: 'INVITE' });
  t.same(parseCSeq('0009   \t  INVITE'), { seq: 9, method: 'INVITE' });
  t.same(parseCSeq('0'.repeat(100) + '7 BYE'), { seq: 7, method: 'BYE' });
  t.end();
});

t.test(
  'parseCSeq keeps an extension method token as written (RFC 4475 §3.1.1.2 intmeth)',
  async (t) => {
    t.same(parseCSeq(header('intmeth', 'cseq')), {
      seq: 139122385,
      method: "!interesting-Method0123456789_*+`.%indeed'~",
    });
    t.same(parseCSeq(header('esc02', 'cseq')), { seq: 29344, method: 'RE%47IST%45R' });
    t.end();
  },
);

t.test(
  'parseCSeq requires the number to be below 2**31 (RFC 3261 §8.1.1.5; RFC 4475 §3.1.2.4 scalar02)',
  async (t) => {
    t.same(parseCSeq('2147483647 INVITE'), { seq: 2147483647, method: 'INVITE' });
    for (const bad of ['2147483648 INVITE', '4294967296 INVITE', header('scalar02', 'cseq')]) {
      t.throws(
        () => parseCSeq(bad),
        { code: 'SIP_ERR_CSEQ', reason: 'CSeq number not below 2**31' },
        bad,
      );
    }
    t.end();
  },
);

t.test('parseCSeq rejects anything but 1*DIGIT LWS Method (RFC 3261 §25.1)', async (t) => {
  for (const [bad, reason] of [
    ['', 'Missing CSeq number'],
    ['INVITE', 'Missing CSeq number'],
    ['-1 INVITE', 'Missing CSeq number'],
    ['1', 'Missing CSeq method'],
    ['1   ', 'Missing CSeq method'],
    ['1INVITE', 'Bad character in CSeq number'],
    ['1.5 INVITE', 'Bad character in CSeq number'],
    ['1 INVITE x', 'Bad CSeq method'],
    ['1 INV"ITE', 'Bad CSeq method'],
    ['1 @', 'Bad CSeq method'],
  ] as const) {
    t.throws(() => parseCSeq(bad), { code: 'SIP_ERR_CSEQ', reason }, bad);
  }
  t.end();
});

t.test('formatCSeq writes "seq method" that parses back the same (RFC 3261 §20.16)', async (t) => {
  t.equal(formatCSeq(parseCSeq('0009   INVITE')), '9 INVITE');
  fc.assert(
    fc.property(
      fc.integer({ min: 0, max: 2 ** 31 - 1 }),
      fc.constantFrom('INVITE', 'ACK', 'x.y'),
      (seq, method) => {
        const c = { seq, method };
        return JSON.stringify(parseCSeq(formatCSeq(c))) === JSON.stringify(c);
      },
    ),
  );
  fc.assert(
    fc.property(fc.string({ unit: fc.constantFrom(...'0123456789 \tINV@-'.split('')) }), (s) => {
      try {
        const c = parseCSeq(s);
        return c.seq < 2 ** 31 && c.method.length > 0;
      } catch (err) {
        return isSipParseError(err);
      }
    }),
    { numRuns: 3000 },
  );
  t.end();
});

t.test('parseCSeq is linear on pathological input (20,000 digits, 20,000 spaces)', async (t) => {
  const digits = flat('9'.repeat(20000) + ' INVITE');
  const d = timed(() => t.throws(() => parseCSeq(digits), { code: 'SIP_ERR_CSEQ' }));
  const spaces = flat('1' + ' '.repeat(20000) + 'INVITE');
  const s = timed(() => t.equal(parseCSeq(spaces).method, 'INVITE'));
  assertWarmUnder(t, 50, [
    ['20,000 digits', d],
    ['20,000 spaces', s],
  ]);
  t.end();
});
