import t from 'tap';
import fc from 'fast-check';
import { isSipParseError } from '../../src/core/errors.js';
import { formatParams, parseParams, quotedEnd, unquoteParam } from '../../src/sip/params.js';
import { assertWarmUnder, flat, timed } from '../helpers/timing.js';

t.test('parseParams lower-cases names and keeps values as written (RFC 3261 §7.3.1)', async (t) => {
  const { params, end } = parseParams(';Tag=AbC;LR;Expires=60', 0);
  t.same(
    params,
    new Map<string, string | null>([
      ['tag', 'AbC'],
      ['lr', null],
      ['expires', '60'],
    ]),
  );
  t.equal(end, 22);
  t.end();
});

t.test('parseParams accepts LWS around ";" and "=" (RFC 3261 §25.1 SEMI, EQUAL)', async (t) => {
  const s = ' ;   tag    = 1918181833n ;\tq = 0.33 ; secondparam';
  const { params, end } = parseParams(s, 0);
  t.same(
    [...params],
    [
      ['tag', '1918181833n'],
      ['q', '0.33'],
      ['secondparam', null],
    ],
  );
  t.equal(end, s.length);
  t.end();
});

t.test('parseParams keeps the first of repeated names (RFC 3261 §7.3.1)', async (t) => {
  t.same([...parseParams(';a=1;A=2;a', 0).params], [['a', '1']]);
  t.end();
});

t.test(
  'parseParams stores quoted-string values with their quotes (RFC 3261 §25.1 gen-value)',
  async (t) => {
    const { params } = parseParams(';+sip.instance="<urn:uuid:1;2,3>";x="a\\"b"', 0);
    t.equal(params.get('+sip.instance'), '"<urn:uuid:1;2,3>"');
    t.equal(params.get('x'), '"a\\"b"');
    t.equal(unquoteParam(params.get('x') ?? ''), 'a"b');
    t.end();
  },
);

t.test('parseParams accepts an IPv6reference value (RFC 5118 §4.5)', async (t) => {
  t.equal(parseParams(';maddr=[2001:db8::9:255]', 0).params.get('maddr'), '[2001:db8::9:255]');
  t.throws(() => parseParams(';maddr=[2001:db8:::1]', 0), { code: 'SIP_ERR_PARAM' });
  t.throws(() => parseParams(';maddr=[2001:db8::1', 0), { code: 'SIP_ERR_PARAM' });
  t.end();
});

t.test(
  'parseParams allows a bare IPv6address only for the named parameter (RFC 3261 §20.42)',
  async (t) => {
    const s = ';received=2001:db8::9:255;branch=z9hG4bK1';
    t.equal(parseParams(s, 0, 'SIP_ERR_VIA', 'received').params.get('received'), '2001:db8::9:255');
    // Without the allowance the value stops at ":", which is not a parameter start.
    const r = parseParams(s, 0);
    t.equal(r.params.get('received'), '2001');
    t.equal(r.end, 14);
    t.end();
  },
);

t.test(
  'parseParams stops at the first character that does not start a parameter (RFC 3261 §25.1)',
  async (t) => {
    const s = '<sip:a@b>;tag=1 , <sip:c@d>';
    const r = parseParams(s, 9);
    t.equal(r.end, 16);
    t.equal(s[r.end], ',');
    t.equal(parseParams('abc', 0).end, 0);
    t.equal(parseParams('', 0).params.size, 0);
    t.end();
  },
);

t.test(
  'parseParams rejects a ";" with no name, such as ";;" (RFC 4475 §3.1.2.1 badinv01)',
  async (t) => {
    for (const bad of [';;', ';', ';=x', ' ; ', ';a;;b', ';"x"']) {
      t.throws(
        () => parseParams(bad, 0),
        { code: 'SIP_ERR_PARAM', reason: 'Empty parameter name' },
        bad,
      );
    }
    t.throws(() => parseParams(';;', 0, 'SIP_ERR_VIA'), { code: 'SIP_ERR_VIA' });
    t.end();
  },
);

t.test('parseParams rejects "=" with no value (RFC 3261 §25.1 gen-value)', async (t) => {
  for (const bad of [';a=', ';a= ', ';a=;b', ';a=,']) {
    t.throws(
      () => parseParams(bad, 0),
      { code: 'SIP_ERR_PARAM', reason: 'Empty parameter value' },
      bad,
    );
  }
  t.end();
});

t.test('parseParams rejects malformed quoted-strings (RFC 3261 §25.1 quoted-string)', async (t) => {
  t.throws(() => parseParams(';a="abc', 0), {
    code: 'SIP_ERR_PARAM',
    reason: 'Unterminated quoted-string',
  });
  t.throws(() => parseParams(';a="a\rb"', 0), {
    code: 'SIP_ERR_PARAM',
    reason: 'Bad character in quoted-string',
  });
  t.throws(() => parseParams(';a="a\\\nb"', 0), {
    code: 'SIP_ERR_PARAM',
    reason: 'Bad character in quoted-string',
  });
  t.end();
});

t.test('quotedEnd returns the index after the closing DQUOTE (RFC 3261 §25.1)', async (t) => {
  t.equal(quotedEnd('x"ab\\"c"y', 1, 'SIP_ERR_PARAM'), 8);
  t.equal(quotedEnd('""', 0, 'SIP_ERR_PARAM'), 2);
  t.equal(quotedEnd('"\xe2\x82\xac\\\x07"', 0, 'SIP_ERR_PARAM'), 7);
  t.throws(() => quotedEnd('"\\', 0, 'SIP_ERR_AUTH'), { code: 'SIP_ERR_AUTH' });
  t.end();
});

t.test('formatParams writes ";name" and ";name=value" as stored (RFC 3261 §25.1)', async (t) => {
  const s = ';tag=AbC;lr;x="a b";maddr=[::1]';
  t.equal(formatParams(parseParams(s, 0).params), s);
  t.equal(formatParams(new Map()), '');
  t.end();
});

t.test('unquoteParam resolves quoted-pairs and leaves tokens alone (RFC 3261 §25.1)', async (t) => {
  t.equal(unquoteParam('"a\\\\b\\"c"'), 'a\\b"c');
  t.equal(unquoteParam('token'), 'token');
  t.equal(unquoteParam('"'), '"');
  t.equal(unquoteParam('""'), '');
  t.end();
});

t.test('parseParams round-trips through formatParams (RFC 3261 §25.1)', async (t) => {
  const unit = fc.constantFrom(';', '=', 'a', 'B', ' ', '"', '\\', '[', ']', ':', '1', '.', ',');
  fc.assert(
    fc.property(fc.string({ unit, maxLength: 30 }), (s) => {
      let r;
      try {
        r = parseParams(s, 0);
      } catch (err) {
        return isSipParseError(err);
      }
      const again = parseParams(formatParams(r.params), 0).params;
      return JSON.stringify([...again]) === JSON.stringify([...r.params]);
    }),
    { numRuns: 3000 },
  );
  t.end();
});

t.test(
  'parseParams is linear in the number of parameters (20,000 ";a", 20,000 quoted-pairs)',
  async (t) => {
    const many = flat(';a'.repeat(20000));
    const m = timed(() => t.equal(parseParams(many, 0).end, many.length));
    const quoted = flat(';a="' + '\\"'.repeat(20000) + '"');
    const q = timed(() => t.equal(parseParams(quoted, 0).params.get('a')?.length, 40002));
    assertWarmUnder(t, 50, [
      ['20,000 ;a', m],
      ['20,000 quoted-pairs', q],
    ]);
    t.end();
  },
);
