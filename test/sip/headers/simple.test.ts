import t from 'tap';
import fc from 'fast-check';
import { isSipParseError } from '../../../src/core/errors.js';
import {
  MAX_DELTA_SECONDS,
  parseCallId,
  parseContentType,
  parseDeltaSeconds,
  parseMaxForwards,
  parseTokenList,
  parseTokenWithParams,
} from '../../../src/sip/headers/simple.js';
import { header } from '../../helpers/corpus.js';
import { assertWarmUnder, flat, timed } from '../../helpers/timing.js';

t.test(
  'parseTokenList reads comma-separated tokens with LWS (RFC 3261 §20.37, §20.32)',
  async (t) => {
    t.same(parseTokenList('100rel, timer ,\tpath'), ['100rel', 'timer', 'path']);
    t.same(parseTokenList('INVITE,ACK,OPTIONS,CANCEL,BYE'), [
      'INVITE',
      'ACK',
      'OPTIONS',
      'CANCEL',
      'BYE',
    ]);
    t.same(parseTokenList('foo'), ['foo']);
    t.end();
  },
);

t.test(
  'parseTokenList gives [] for an empty Supported or Allow (RFC 3261 §20.37, §20.5)',
  async (t) => {
    t.same(parseTokenList(''), []);
    t.same(parseTokenList('   '), []);
    t.end();
  },
);

t.test('parseTokenList rejects empty elements and non-tokens (RFC 3261 §25.1)', async (t) => {
  for (const [bad, reason] of [
    ['a,,b', 'Empty list element'],
    ['a,', 'Empty list element'],
    [',a', 'Empty list element'],
    ['a b', 'Bad token in list'],
    ['a;b', 'Bad token in list'],
    ['"a"', 'Bad token in list'],
  ] as const) {
    t.throws(() => parseTokenList(bad), { code: 'SIP_ERR_HEADER_VALUE', reason }, bad);
  }
  t.throws(() => parseTokenList('a,,b', 'SIP_ERR_HEADER_SYNTAX'), {
    code: 'SIP_ERR_HEADER_SYNTAX',
  });
  t.end();
});

t.test(
  'parseTokenWithParams reads Event packages with dots and parameters (RFC 6665 §8.2.1)',
  async (t) => {
    t.same(parseTokenWithParams('presence.winfo'), { value: 'presence.winfo', params: new Map() });
    t.same(parseTokenWithParams(' dialog ; id = 1234 ;call-id="a@b"'), {
      value: 'dialog',
      params: new Map([
        ['id', '1234'],
        ['call-id', '"a@b"'],
      ]),
    });
    t.end();
  },
);

t.test(
  'parseTokenWithParams reads Subscription-State and Content-Disposition (RFC 6665 §8.2.3, RFC 3261 §20.11)',
  async (t) => {
    const ss = parseTokenWithParams('terminated;reason=timeout;retry-after=30');
    t.equal(ss.value, 'terminated');
    t.equal(ss.params.get('reason'), 'timeout');
    const cd = parseTokenWithParams('session;handling=optional');
    t.same([cd.value, [...cd.params]], ['session', [['handling', 'optional']]]);
    t.end();
  },
);

t.test(
  'parseTokenWithParams rejects a missing token or trailing garbage (RFC 3261 §25.1)',
  async (t) => {
    t.throws(() => parseTokenWithParams(''), {
      code: 'SIP_ERR_HEADER_VALUE',
      reason: 'Missing header value token',
    });
    t.throws(() => parseTokenWithParams(';id=1'), { code: 'SIP_ERR_HEADER_VALUE' });
    t.throws(() => parseTokenWithParams('a b'), { code: 'SIP_ERR_HEADER_VALUE' });
    t.throws(() => parseTokenWithParams('a,b', 'SIP_ERR_HEADER_SYNTAX'), {
      code: 'SIP_ERR_HEADER_SYNTAX',
    });
    t.throws(() => parseTokenWithParams('a;;'), { code: 'SIP_ERR_PARAM' });
    t.end();
  },
);

t.test(
  'parseContentType reads and lower-cases m-type and m-subtype (RFC 3261 §20.15; RFC 4475 §3.1.1.11 mpart01)',
  async (t) => {
    t.same(parseContentType('Application/SDP'), {
      type: 'application',
      subtype: 'sdp',
      params: new Map(),
    });
    t.same(parseContentType(header('mpart01', 'content-type')), {
      type: 'multipart',
      subtype: 'mixed',
      params: new Map([['boundary', '7a9cbec02ceef655']]),
    });
    t.same(parseContentType(' text / plain ; charset = "UTF-8" '), {
      type: 'text',
      subtype: 'plain',
      params: new Map([['charset', '"UTF-8"']]),
    });
    t.same(parseContentType(header('wsinv', 'content-type')).subtype, 'sdp');
    t.end();
  },
);

t.test('parseContentType rejects malformed media types (RFC 3261 §25.1 media-type)', async (t) => {
  for (const [bad, code, reason] of [
    ['', 'SIP_ERR_HEADER_VALUE', 'Missing media type'],
    ['application', 'SIP_ERR_HEADER_VALUE', 'Missing / in media type'],
    ['application/', 'SIP_ERR_HEADER_VALUE', 'Missing media subtype'],
    ['application/sdp x', 'SIP_ERR_HEADER_VALUE', 'Unexpected character in media type'],
    ['application/sdp;charset', 'SIP_ERR_PARAM', 'Media type parameter without value'],
    ['application/sdp;;', 'SIP_ERR_PARAM', 'Empty parameter name'],
  ] as const) {
    t.throws(() => parseContentType(bad), { code, reason }, bad);
  }
  t.end();
});

t.test(
  'parseDeltaSeconds reads 1*DIGIT and clamps at 2**32-1 (RFC 3261 §20.19; RFC 4475 §3.1.2.4 scalar02)',
  async (t) => {
    t.equal(parseDeltaSeconds('3600'), 3600);
    t.equal(parseDeltaSeconds(' 0 '), 0);
    t.equal(parseDeltaSeconds('0003600'), 3600);
    t.equal(parseDeltaSeconds('4294967295'), MAX_DELTA_SECONDS);
    t.equal(parseDeltaSeconds('4294967296'), MAX_DELTA_SECONDS);
    t.equal(parseDeltaSeconds(header('scalar02', 'expires')), MAX_DELTA_SECONDS);
    t.equal(parseDeltaSeconds('280297596632815'), MAX_DELTA_SECONDS);
    for (const bad of ['', ' ', '-1', '1.5', '60 s', 'Thu, 01 Dec 1994 16:00:00 GMT']) {
      t.throws(
        () => parseDeltaSeconds(bad),
        { code: 'SIP_ERR_HEADER_VALUE', reason: 'Bad delta-seconds' },
        bad,
      );
    }
    t.throws(() => parseDeltaSeconds('x', 'SIP_ERR_PARAM'), { code: 'SIP_ERR_PARAM' });
    t.end();
  },
);

t.test(
  'parseMaxForwards reads 0..255 with leading zeros (RFC 3261 §20.22; RFC 4475 §3.1.1.1 wsinv)',
  async (t) => {
    t.equal(parseMaxForwards(header('wsinv', 'max-forwards')), 68);
    t.equal(parseMaxForwards('0'), 0);
    t.equal(parseMaxForwards('255'), 255);
    t.equal(parseMaxForwards(header('intmeth', 'max-forwards')), 255);
    t.end();
  },
);

t.test(
  'parseMaxForwards rejects values above 255 and non-digits (RFC 3261 §20.22; RFC 4475 §3.1.2.4 scalar02)',
  async (t) => {
    t.throws(() => parseMaxForwards(header('scalar02', 'max-forwards')), {
      code: 'SIP_ERR_MAX_FORWARDS',
      reason: 'Max-Forwards above 255',
    });
    t.throws(() => parseMaxForwards('256'), { code: 'SIP_ERR_MAX_FORWARDS' });
    t.throws(() => parseMaxForwards('9'.repeat(400)), { code: 'SIP_ERR_MAX_FORWARDS' });
    for (const bad of ['', '-1', '7 0', 'seventy']) {
      t.throws(
        () => parseMaxForwards(bad),
        { code: 'SIP_ERR_MAX_FORWARDS', reason: 'Max-Forwards is not a number' },
        bad,
      );
    }
    t.end();
  },
);

t.test('parseCallId accepts word ["@" word] including RFC 4475 §3.1.1.2 intmeth', async (t) => {
  const intmeth = header('intmeth', 'call-id');
  t.equal(intmeth, 'intmeth.word%ZK-!.*_+\'@word`~)(><:\\/"][?}{');
  t.equal(parseCallId(intmeth), intmeth);
  t.equal(parseCallId(' a84b4c76e66710@pc33.atlanta.com '), 'a84b4c76e66710@pc33.atlanta.com');
  t.equal(parseCallId(header('esc01', 'i')), 'esc01.239409asdfakjkn23onasd0-3234');
  t.equal(
    parseCallId(header('mpart01', 'call-id')),
    '3d9485ad0c49859b@Zmx1ZmZ5LW1hYy0xNi5sb2NhbA..',
  );
  t.end();
});

t.test('parseCallId rejects anything but word ["@" word] (RFC 3261 §25.1 callid)', async (t) => {
  for (const bad of ['', '   ', '@b', 'a@', 'a@b@c', 'a b', 'a,b', 'a;b', 'a\x00b', 'a\xe9']) {
    t.throws(() => parseCallId(bad), { code: 'SIP_ERR_CALL_ID' }, JSON.stringify(bad));
  }
  t.end();
});

t.test('the simple parsers only ever throw SipParseError (RFC 3261 §25.1)', async (t) => {
  const unit = fc.constantFrom(...'ab1 ,;=/"@.\t'.split(''));
  const parsers = [
    parseTokenList,
    parseTokenWithParams,
    parseContentType,
    parseDeltaSeconds,
    parseMaxForwards,
    parseCallId,
  ];
  fc.assert(
    fc.property(fc.string({ unit, maxLength: 20 }), (s) =>
      parsers.every((p) => {
        try {
          p(s);
          return true;
        } catch (err) {
          return isSipParseError(err);
        }
      }),
    ),
    { numRuns: 3000 },
  );
  t.end();
});

t.test('the simple parsers are linear on pathological input (20,000 tokens, digits)', async (t) => {
  const list = flat(Array.from({ length: 20000 }, (_, k) => `t${k}`).join(' , '));
  const l = timed(() => t.equal(parseTokenList(list).length, 20000));
  const params = flat('presence' + ';a'.repeat(20000));
  const p = timed(() => t.equal(parseTokenWithParams(params).params.size, 1));
  const digits = flat('9'.repeat(20000));
  const d = timed(() => t.equal(parseDeltaSeconds(digits), MAX_DELTA_SECONDS));
  const words = flat('w'.repeat(20000) + '@' + 'w'.repeat(20000));
  const w = timed(() => t.equal(parseCallId(words).length, 40001));
  assertWarmUnder(t, 50, [
    ['20,000 list tokens', l],
    ['20,000 ;a', p],
    ['20,000 digits', d],
    ['40,001-byte Call-ID', w],
  ]);
  t.end();
});
