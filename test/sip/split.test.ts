import t from 'tap';
import fc from 'fast-check';
import { isSipParseError } from '../../src/core/errors.js';
import { splitList } from '../../src/sip/split.js';
import { headerValues } from '../helpers/corpus.js';
import { assertWarmUnder, flat, timed } from '../helpers/timing.js';

t.test('splitList splits at top-level commas and trims LWS (RFC 3261 §7.3.1)', async (t) => {
  t.same(splitList('a,b'), ['a', 'b']);
  t.same(splitList('  a  ,\tb\t, c '), ['a', 'b', 'c']);
  t.same(splitList('single'), ['single']);
  t.end();
});

t.test('splitList gives an empty list for an empty or blank value (RFC 3261 §20.37)', async (t) => {
  t.same(splitList(''), []);
  t.same(splitList(' \t '), []);
  t.end();
});

t.test('splitList does not split inside a quoted-string (RFC 3261 §25.1)', async (t) => {
  t.same(splitList('"Bell, Alexander" <sip:a@b>, <sip:c@d>'), [
    '"Bell, Alexander" <sip:a@b>',
    '<sip:c@d>',
  ]);
  t.same(splitList('"a \\", b" <sip:x@y>,z'), ['"a \\", b" <sip:x@y>', 'z']);
  t.end();
});

t.test('splitList does not split inside <...> (RFC 3261 §20.10)', async (t) => {
  t.same(splitList('<sip:a,b@host;x=1>;q=1, <sip:c@d>'), ['<sip:a,b@host;x=1>;q=1', '<sip:c@d>']);
  t.end();
});

t.test('splitList splits the folded Accept list of RFC 4475 semiuri (§3.1.1.9)', async (t) => {
  const [accept] = headerValues('semiuri', 'accept');
  t.same(splitList(accept ?? ''), [
    'application/sdp',
    'application/pkcs7-mime',
    'multipart/mixed',
    'multipart/signed',
    'message/sip',
    'message/sipfrag',
  ]);
  t.end();
});

t.test('splitList rejects empty list elements (RFC 3261 §7.3.1)', async (t) => {
  for (const bad of ['a,,b', 'a,', ',a', ' , ', 'a, ,b']) {
    t.throws(() => splitList(bad), { code: 'SIP_ERR_HEADER_VALUE' }, bad);
  }
  const [unusual] = headerValues('wsinv', 'unknownheaderwithunusualvalue');
  t.equal(unusual, ';;,,;;,;');
  t.throws(() => splitList(unusual ?? ''), { code: 'SIP_ERR_HEADER_VALUE' });
  t.end();
});

t.test(
  'splitList rejects an unterminated quoted-string or < (RFC 4475 §3.1.2.6 quotbal)',
  async (t) => {
    const [to] = headerValues('quotbal', 'to');
    t.throws(() => splitList(to ?? ''), {
      code: 'SIP_ERR_HEADER_VALUE',
      reason: 'Unterminated quoted-string',
    });
    t.throws(() => splitList('"a\\'), { code: 'SIP_ERR_HEADER_VALUE' });
    t.throws(() => splitList('<sip:a@b, c'), {
      code: 'SIP_ERR_HEADER_VALUE',
      reason: 'Unterminated <',
    });
    t.throws(() => splitList('"a\x01b"'), {
      code: 'SIP_ERR_HEADER_VALUE',
      reason: 'Bad character in quoted-string',
    });
    t.end();
  },
);

t.test('splitList only ever throws SipParseError (RFC 3261 §25.1 robustness)', async (t) => {
  fc.assert(
    fc.property(fc.string({ unit: fc.constantFrom('a', ',', '"', '\\', '<', '>', ' ') }), (s) => {
      try {
        const parts = splitList(s);
        return parts.every((p) => p.length > 0 && p.trim() === p);
      } catch (err) {
        return isSipParseError(err);
      }
    }),
    { numRuns: 2000 },
  );
  t.end();
});

t.test('splitList is linear on pathological input (20,000 elements, quotes, <)', async (t) => {
  const quoted = flat(Array.from({ length: 20000 }, () => '"\\"\\",x"').join(','));
  const q = timed(() => t.equal(splitList(quoted).length, 20000));
  const angles = flat('<'.repeat(20000));
  const a = timed(() => t.throws(() => splitList(angles), { code: 'SIP_ERR_HEADER_VALUE' }));
  const open = flat('"'.repeat(20001));
  const o = timed(() => t.throws(() => splitList(open), { code: 'SIP_ERR_HEADER_VALUE' }));
  assertWarmUnder(t, 50, [
    ['20,000 quoted elements', q],
    ['20,000 "<"', a],
    ['20,001 DQUOTE', o],
  ]);
  t.end();
});
