import t from 'tap';
import fc from 'fast-check';
import { isSipParseError } from '../../../src/core/errors.js';
import { formatAuth, isDigest, parseAuth } from '../../../src/sip/headers/auth.js';
import type { AuthValue } from '../../../src/sip/types.js';
import { header } from '../../helpers/corpus.js';
import { assertWarmUnder, flat, timed } from '../../helpers/timing.js';

const RFC3261_CREDENTIALS =
  'Digest username="bob", realm="biloxi.com", nonce="dcd98b7102dd2f0e8b11d0f600bfb0c093", ' +
  'uri="sip:bob@biloxi.com", qop=auth, nc=00000001, cnonce="0a4f113b", ' +
  'response="6629fae49393a05397450978507c4ef1", opaque="5ccc069c403ebaf9f0171e9517f40e41"';

t.test('parseAuth reads Digest credentials (RFC 3261 §20.7, §22.4)', async (t) => {
  const v = parseAuth(RFC3261_CREDENTIALS);
  t.equal(v.scheme, 'Digest');
  t.equal(isDigest(v), true);
  t.same(
    [...v.params],
    [
      ['username', 'bob'],
      ['realm', 'biloxi.com'],
      ['nonce', 'dcd98b7102dd2f0e8b11d0f600bfb0c093'],
      ['uri', 'sip:bob@biloxi.com'],
      ['qop', 'auth'],
      ['nc', '00000001'],
      ['cnonce', '0a4f113b'],
      ['response', '6629fae49393a05397450978507c4ef1'],
      ['opaque', '5ccc069c403ebaf9f0171e9517f40e41'],
    ],
  );
  t.equal(v.token68, undefined);
  t.end();
});

t.test(
  'parseAuth lower-cases names, unquotes values and resolves quoted-pairs (RFC 7616 §3.3)',
  async (t) => {
    const v = parseAuth('DIGEST Realm="a \\"b\\" \\\\ c",STALE=TRUE,qop="auth,auth-int"');
    t.equal(isDigest(v), true);
    t.same(
      [...v.params],
      [
        ['realm', 'a "b" \\ c'],
        ['stale', 'TRUE'],
        ['qop', 'auth,auth-int'],
      ],
    );
    t.end();
  },
);

t.test('parseAuth tolerates LWS around "=" and "," (RFC 3261 §25.1 EQUAL, COMMA)', async (t) => {
  const v = parseAuth('  Digest   realm  =  "x"  ,\tnonce=\t"y" ,  algorithm = MD5  ');
  t.same(
    [...v.params],
    [
      ['realm', 'x'],
      ['nonce', 'y'],
      ['algorithm', 'MD5'],
    ],
  );
  t.same(parseAuth('Digest'), { scheme: 'Digest', params: new Map() });
  t.end();
});

t.test('parseAuth reads an unknown scheme (RFC 4475 §3.3.7 regaut01)', async (t) => {
  const v = parseAuth(header('regaut01', 'authorization'));
  t.equal(v.scheme, 'NoOneKnowsThisScheme');
  t.equal(isDigest(v), false);
  t.same([...v.params], [['opaque-data', 'here']]);
  t.end();
});

t.test(
  'parseAuth reads token68 credentials such as Bearer (RFC 7235 §2.1, RFC 8898 §3)',
  async (t) => {
    t.same(parseAuth('Bearer mF_9.B5f-4.1JqM'), {
      scheme: 'Bearer',
      params: new Map(),
      token68: 'mF_9.B5f-4.1JqM',
    });
    t.equal(
      parseAuth('Basic QWxhZGRpbjpvcGVuIHNlc2FtZQ== ').token68,
      'QWxhZGRpbjpvcGVuIHNlc2FtZQ==',
    );
    t.equal(formatAuth(parseAuth('Bearer abc/def+=')), 'Bearer abc/def+=');
    t.end();
  },
);

t.test('parseAuth rejects repeated parameter names (RFC 7235 §2.1)', async (t) => {
  t.throws(() => parseAuth('Digest realm="a", REALM="b"'), {
    code: 'SIP_ERR_AUTH',
    reason: 'Duplicate auth parameter',
  });
  t.end();
});

t.test('parseAuth rejects malformed credentials with SIP_ERR_AUTH (RFC 3261 §25.1)', async (t) => {
  for (const [bad, reason] of [
    ['', 'Missing auth scheme'],
    ['"Digest"', 'Missing auth scheme'],
    ['Digest,realm="a"', 'Missing whitespace after auth scheme'],
    ['Digest realm="a",, nonce="b"', 'Empty auth parameter'],
    ['Digest realm="a",', 'Empty auth parameter'],
    ['Digest , realm="a"', 'Empty auth parameter'],
    ['Digest "realm"="a"', 'Bad auth parameter name'],
    ['Digest realm "a"', 'Missing = after auth parameter name'],
    ['Digest realm=, nonce=1', 'Bad auth parameter value'],
    ['Digest realm=a b', 'Missing comma between auth parameters'],
    ['Digest realm="a" nonce="b"', 'Missing comma between auth parameters'],
    ['Digest realm="a', 'Unterminated quoted-string'],
    ['Digest realm="a\x00"', 'Bad character in quoted-string'],
    ['Digest uri=sip:a@b', 'Missing comma between auth parameters'],
  ] as const) {
    t.throws(() => parseAuth(bad), { code: 'SIP_ERR_AUTH', reason }, bad);
  }
  t.end();
});

t.test(
  'formatAuth quotes what RFC 7616 quotes and leaves its tokens bare (RFC 7616 §3.3, §3.4)',
  async (t) => {
    t.equal(formatAuth(parseAuth(RFC3261_CREDENTIALS)), RFC3261_CREDENTIALS);
    const challenge: AuthValue = {
      scheme: 'Digest',
      params: new Map([
        ['realm', 'atlanta.com'],
        ['domain', 'sip:ss1.carrier.com'],
        ['qop', 'auth,auth-int'],
        ['nonce', 'f84f1cec41e6cbe5aea9c8e88d359'],
        ['opaque', ''],
        ['stale', 'FALSE'],
        ['algorithm', 'MD5'],
        ['userhash', 'true'],
        ['charset', 'UTF-8'],
      ]),
    };
    t.equal(
      formatAuth(challenge, 'challenge'),
      'Digest realm="atlanta.com", domain="sip:ss1.carrier.com", qop="auth,auth-int", ' +
        'nonce="f84f1cec41e6cbe5aea9c8e88d359", opaque="", stale=FALSE, algorithm=MD5, ' +
        'userhash=true, charset=UTF-8',
    );
    // A token-typed parameter whose value is not a token must still be quoted to be parseable.
    t.equal(
      formatAuth({ scheme: 'X', params: new Map([['algorithm', 'a b']]) }),
      'X algorithm="a b"',
    );
    t.equal(formatAuth({ scheme: 'X', params: new Map([['q', 'a"b\\']]) }), 'X q="a\\"b\\\\"');
    t.equal(formatAuth({ scheme: 'X', params: new Map([['nc', '']]) }), 'X nc=""');
    t.equal(formatAuth({ scheme: 'X', params: new Map() }), 'X');
    t.end();
  },
);

t.test('parseAuth round-trips through formatAuth (RFC 3261 §20.7)', async (t) => {
  const unit = fc.constantFrom(...'Digest a=", \\b'.split(''), 'qop=', 'nc=', 'realm="x"');
  fc.assert(
    fc.property(
      fc.string({ unit, maxLength: 30 }),
      fc.constantFrom('credentials', 'challenge' as const),
      (s, kind) => {
        let v;
        try {
          v = parseAuth(s);
        } catch (err) {
          return isSipParseError(err);
        }
        const again = parseAuth(formatAuth(v, kind));
        return (
          JSON.stringify([again.scheme, [...again.params], again.token68]) ===
          JSON.stringify([v.scheme, [...v.params], v.token68])
        );
      },
    ),
    { numRuns: 5000 },
  );
  t.end();
});

t.test(
  'parseAuth is linear on pathological input (20,000 params, quoted-pairs, commas)',
  async (t) => {
    const params = flat('Digest ' + Array.from({ length: 20000 }, (_, k) => `p${k}=v`).join(','));
    const p = timed(() => t.equal(parseAuth(params).params.size, 20000));
    const dups = flat('Digest a=1' + ',a=1'.repeat(20000));
    const d = timed(() => t.throws(() => parseAuth(dups), { code: 'SIP_ERR_AUTH' }));
    const quoted = flat('Digest realm="' + '\\"'.repeat(20000) + '"');
    const q = timed(() => t.equal(parseAuth(quoted).params.get('realm')?.length, 20000));
    assertWarmUnder(t, 50, [
      ['20,000 params', p],
      ['20,001 duplicate params', d],
      ['20,000 quoted-pairs', q],
    ]);
    t.end();
  },
);
