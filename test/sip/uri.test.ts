import t from 'tap';
import fc from 'fast-check';
import { isSipParseError } from '../../src/core/errors.js';
import { isIPv6, parseIPv6 } from '../../src/sip/chars.js';
import { formatUri, hostPortOf, parseUri, unescape, uriEquals } from '../../src/sip/uri.js';
import type { SipUri, Uri } from '../../src/sip/types.js';
import { readCorpus } from '../helpers/corpus.js';
import { assertWarmUnder, flat, timed } from '../helpers/timing.js';

/** The Request-URI of an RFC 4475 message. */
function requestUri(file: string): string {
  const text = readCorpus(file).toString('latin1');
  const line = text.slice(0, text.indexOf('\r\n'));
  return line.slice(line.indexOf(' ') + 1, line.lastIndexOf(' '));
}

function sip(text: string): SipUri {
  const u = parseUri(text);
  if (u.kind !== 'sip') {
    throw new Error(`not a SIP URI: ${text}`);
  }
  return u;
}

const eq = (a: string, b: string): boolean => uriEquals(parseUri(a), parseUri(b));

t.test('parseUri reads every part of a SIP URI (RFC 3261 §19.1.1)', async (t) => {
  t.same(parseUri('sip:alice:secretword@atlanta.com:5061;transport=tcp;lr?subject=project&x='), {
    kind: 'sip',
    scheme: 'sip',
    user: 'alice',
    password: 'secretword',
    host: 'atlanta.com',
    port: 5061,
    params: new Map([
      ['transport', 'tcp'],
      ['lr', null],
    ]),
    headers: new Map([
      ['subject', 'project'],
      ['x', ''],
    ]),
  });
  const bare = sip('sip:atlanta.com');
  t.equal(bare.user, null);
  t.equal(bare.password, null);
  t.equal(bare.port, null);
  t.equal(sip('sip:alice:@atlanta.com').password, '');
  t.end();
});

t.test('parseUri treats the scheme case-insensitively (RFC 3261 §19.1.4)', async (t) => {
  t.equal(parseUri('SIP:alice@atlanta.com').scheme, 'sip');
  t.equal(parseUri('SiPs:alice@atlanta.com').scheme, 'sips');
  t.equal(parseUri('TEL:+1').scheme, 'tel');
  t.equal(parseUri('sipx:whatever').kind, 'other');
  t.equal(parseUri('si:whatever').kind, 'other');
  t.equal(parseUri('tell:whatever').kind, 'other');
  t.equal(parseUri('sipsx:whatever').kind, 'other');
  t.end();
});

t.test('parseUri lower-cases the host and keeps the user case (RFC 3261 §19.1.4)', async (t) => {
  const u = sip('sip:ALICE@AtLanTa.CoM');
  t.equal(u.user, 'ALICE');
  t.equal(u.host, 'atlanta.com');
  t.equal(sip('sip:[2001:DB8::A]').host, '[2001:db8::a]');
  t.end();
});

t.test(
  'parseUri validates hostnames and IPv4 addresses (RFC 3261 §25.1, RFC 5954 §4.1)',
  async (t) => {
    for (const ok of [
      'sip:192.0.2.1',
      'sip:example.com.',
      'sip:a',
      'sip:123.example.com',
      'sip:a-b.c9',
    ]) {
      t.doesNotThrow(() => parseUri(ok), ok);
    }
    for (const bad of [
      'sip:256.1.1.1',
      'sip:1.2.3',
      'sip:1.2.3.4.',
      'sip:1.2.3.4.5',
      'sip:01234.1.1.1',
      'sip:example.123',
      'sip:-bad.com',
      'sip:bad-.com',
      'sip:a..b',
      'sip:.',
      'sip:.a',
      'sip:under_score.com',
      'sip:',
      'sip:user@',
      'sip:h\u0100',
      'sip:\u0100',
      'sip:a.-b',
      'sip:a-',
    ]) {
      t.throws(() => parseUri(bad), { code: 'SIP_ERR_URI' }, bad);
    }
    t.end();
  },
);

t.test('parseUri reads ports 0-65535 and rejects others (RFC 3261 §25.1 port)', async (t) => {
  t.equal(sip('sip:h:0').port, 0);
  t.equal(sip('sip:h:65535').port, 65535);
  t.equal(sip('sip:h:05060').port, 5060);
  for (const bad of [
    'sip:h:65536',
    'sip:h:',
    'sip:h:99999999999999999999',
    'sip:h:5x',
    'sip:h:-1',
  ]) {
    t.throws(() => parseUri(bad), { code: 'SIP_ERR_URI' }, bad);
  }
  t.end();
});

t.test('parseUri reads IPv6 references and their ports (RFC 5118 §4.1, §4.3, §4.4)', async (t) => {
  const withPort = sip('sip:[2001:db8::10]:5070');
  t.equal(withPort.host, '[2001:db8::10]');
  t.equal(withPort.port, 5070);
  const noPort = sip('sip:[2001:db8::10:5070]');
  t.equal(noPort.host, '[2001:db8::10:5070]');
  t.equal(noPort.port, null);
  t.equal(sip('sip:alice@[2001:db8::10]').host, '[2001:db8::10]');
  t.end();
});

t.test(
  'parseUri accepts IPv4-mapped and embedded IPv4 addresses (RFC 5118 §4.8, §4.9)',
  async (t) => {
    t.equal(sip('sip:[::ffff:192.0.2.128]').host, '[::ffff:192.0.2.128]');
    t.equal(sip('sip:[2001:db8::192.0.2.1]').host, '[2001:db8::192.0.2.1]');
    t.equal(sip('sip:[1:2:3:4:5:6:1.2.3.4]').host, '[1:2:3:4:5:6:1.2.3.4]');
    t.end();
  },
);

t.test('parseUri rejects malformed IPv6 references (RFC 5118 §4.1, §4.9)', async (t) => {
  for (const bad of [
    'sip:[2001:db8:::192.0.2.1]',
    'sip:[2001:db8::10]:',
    'sip:[2001:db8::10',
    'sip:user@2001:db8::10',
    'sip:[1:2:3:4:5:6:7:8:9]',
    'sip:[1:2:3:4:5:6:7]',
    'sip:[1::2::3]',
    'sip:[12345::1]',
    'sip:[:1::2]',
    'sip:[1:]',
    'sip:[1::2:]',
    'sip:[1:2:3:4:5:6:7:1.2.3.4]',
    'sip:[::1.2.3]',
    'sip:[1:2:3:4:5:6:7:8::]',
    'sip:[1.2.3.4]',
    'sip:[]',
    'sip:[:]',
    'sip:[::g]',
    'sip:[1::2]x',
  ]) {
    t.throws(() => parseUri(bad), { code: 'SIP_ERR_URI' }, bad);
  }
  t.end();
});

t.test('isIPv6 and parseIPv6 implement the RFC 5954 §4.1 IPv6address grammar', async (t) => {
  for (const ok of [
    '::',
    '::1',
    '1::',
    '1:2:3:4:5:6:7:8',
    '1:2:3:4:5:6:7::',
    '::ffff:1.2.3.4',
    'a:B:c:D::',
  ]) {
    t.ok(isIPv6(ok), ok);
  }
  for (const bad of [
    '',
    ':',
    ':::',
    '1',
    '1:2',
    '::1::',
    '1:2:3:4:5:6:7:8:9',
    'g::',
    '::1.2.3.256',
    '1x::',
  ]) {
    t.notOk(isIPv6(bad), bad);
  }
  const out = new Uint16Array(8);
  t.ok(parseIPv6('1::ffff:192.0.2.128', 0, 19, out));
  t.same([...out], [1, 0, 0, 0, 0, 0xffff, 0xc000, 0x0280]);
  t.ok(parseIPv6('::', 0, 2, out));
  t.same([...out], [0, 0, 0, 0, 0, 0, 0, 0]);
  t.end();
});

t.test(
  'parseUri reads the RFC 4475 userinfo torture cases (§3.1.1.2, §3.1.1.3, §3.1.1.4, §3.1.1.9)',
  async (t) => {
    const intmeth = sip(requestUri('intmeth'));
    t.equal(intmeth.user, "1_unusual.URI~(to-be!sure)&isn't+it$/crazy?,/;;*");
    t.equal(intmeth.password, "&it+has=1,weird!*pas$wo~d_too.(doesn't-it)");
    t.equal(intmeth.host, 'example.com');
    const esc01 = sip(requestUri('esc01'));
    t.equal(esc01.user, 'sips%3Auser%40example.com');
    t.equal(unescape(esc01.user ?? ''), 'sips:user@example.com');
    t.equal(esc01.host, 'example.net');
    t.equal(sip('sip:null-%00-null@example.com').user, 'null-%00-null');
    t.equal(sip('sip:%00%00@host5.example.com').user, '%00%00');
    const semiuri = sip(requestUri('semiuri'));
    t.equal(semiuri.user, 'user;par=u%40example.net');
    t.equal(semiuri.host, 'example.com');
    t.equal(semiuri.params.size, 0);
    t.end();
  },
);

t.test(
  'parseUri rejects bad escapes and bad userinfo (RFC 3261 §25.1 escaped, user, password)',
  async (t) => {
    for (const [bad, reason] of [
      ['sip:%ZZ@example.com', 'Bad escape in URI user'],
      ['sip:user%4@example.com', 'Bad escape in URI user'],
      ['sip:u:p%g0@example.com', 'Bad escape in URI password'],
      ['sip:u:p;x@example.com', 'Bad character in URI password'],
      ['sip::pw@example.com', 'Empty URI user'],
      ['sip:@example.com', 'Empty URI user'],
      ['sip:u@h@example.com', 'Bad character in SIP URI'],
      ['sip:h;a=%4', 'Bad escape in URI parameter'],
    ] as const) {
      t.throws(() => parseUri(bad), { code: 'SIP_ERR_URI', reason }, bad);
    }
    t.end();
  },
);

t.test(
  'parseUri unescapes and lower-cases URI parameter names (RFC 4475 §3.1.1.3 esc01)',
  async (t) => {
    const u = sip('sip:cal%6Cer@host5.example.net;%6C%72;n%61me=v%61lue%25%34%31');
    t.same(
      [...u.params],
      [
        ['lr', null],
        ['name', 'v%61lue%25%34%31'],
      ],
    );
    t.equal(unescape(u.params.get('name') ?? ''), 'value%41');
    // An escape that stands for a character pname cannot hold stays escaped.
    t.same([...sip('sip:h;%3Bx=1;%25=2').params.keys()], ['%3bx', '%25']);
    t.end();
  },
);

t.test(
  'parseUri reads uri-parameters and keeps the first of repeated names (RFC 3261 §19.1.1)',
  async (t) => {
    const u = sip('sip:h;Transport=TCP;lr;LR=x;maddr=[::1];user=phone');
    t.same(
      [...u.params],
      [
        ['transport', 'TCP'],
        ['lr', null],
        ['maddr', '[::1]'],
        ['user', 'phone'],
      ],
    );
    for (const [bad, reason] of [
      ['sip:h;', 'Empty URI parameter name'],
      ['sip:h;;lr', 'Empty URI parameter name'],
      ['sip:h;a=', 'Empty URI parameter value'],
      ['sip:h;a=b=c', 'Bad character in SIP URI'],
    ] as const) {
      t.throws(() => parseUri(bad), { code: 'SIP_ERR_URI', reason }, bad);
    }
    t.end();
  },
);

t.test(
  'parseUri reads URI headers (RFC 3261 §19.1.1; RFC 4475 §3.1.2.11 escruri, §3.3.14 regescrt)',
  async (t) => {
    const u = sip(requestUri('escruri'));
    t.same([...u.headers], [['Route', '%3Csip:example.com%3E']]);
    t.same(
      [...sip('sip:h?a=1&b=&a=3').headers],
      [
        ['a', '1'],
        ['b', ''],
      ],
    );
    for (const bad of [
      'sip:h?',
      'sip:h?=x',
      'sip:h?a',
      'sip:h?a=1&',
      'sip:h?a=b;c',
      'sip:h?a=%zz',
    ]) {
      t.throws(() => parseUri(bad), { code: 'SIP_ERR_URI' }, bad);
    }
    t.end();
  },
);

t.test(
  'parseUri rejects whitespace and angle brackets anywhere (RFC 4475 §3.1.2.7, §3.1.2.8)',
  async (t) => {
    for (const bad of [
      'sip:alice@atlanta.com ',
      ' sip:alice@atlanta.com',
      'sip:al ice@atlanta.com',
      'sip:alice@atlanta.com ;lr',
      '<sip:alice@atlanta.com>',
      'sip:alice@atlanta.com>',
      'tel:+1 555',
      'foo:a b',
      'foo:a<b',
      'foo:"x"',
      'foo:a\tb',
    ]) {
      t.throws(() => parseUri(bad), { code: 'SIP_ERR_URI' }, bad);
    }
    t.end();
  },
);

t.test('parseUri reads tel URIs with parameters (RFC 3966 §3)', async (t) => {
  t.same(parseUri('tel:+1-201-555-0123;EXT=1234;isub=abc'), {
    kind: 'tel',
    scheme: 'tel',
    number: '+1-201-555-0123',
    params: new Map([
      ['ext', '1234'],
      ['isub', 'abc'],
    ]),
  });
  t.same(parseUri('tel:7042;phone-context=example.com;phone-context=x'), {
    kind: 'tel',
    scheme: 'tel',
    number: '7042',
    params: new Map([['phone-context', 'example.com']]),
  });
  t.doesNotThrow(() => parseUri('tel:*21#'));
  t.doesNotThrow(() => parseUri('tel:(555).12-34'));
  for (const [bad, reason] of [
    ['tel:', 'Bad tel URI number'],
    ['tel:+', 'Bad tel URI number'],
    ['tel:+--', 'Bad tel URI number'],
    ['tel:xyz', 'Bad tel URI number'],
    ['tel:+1a', 'Bad character in tel URI'],
    ['tel:+1;', 'Empty URI parameter name'],
    ['tel:+1;a_b=1', 'Bad character in tel URI'],
    ['tel:+1;a=', 'Empty URI parameter value'],
  ] as const) {
    t.throws(() => parseUri(bad), { code: 'SIP_ERR_URI', reason }, bad);
  }
  t.end();
});

t.test(
  'parseUri keeps other schemes opaque (RFC 4475 §3.3.2 unkscm, §3.3.3 novelsc, §3.3.4 unksm2)',
  async (t) => {
    t.same(parseUri(requestUri('unkscm')), {
      kind: 'other',
      scheme: 'nobodyknowsthisscheme',
      rest: 'totallyopaquecontent',
    });
    t.same(parseUri(requestUri('novelsc')), {
      kind: 'other',
      scheme: 'soap.beep',
      rest: '//192.0.2.103:3002',
    });
    t.same(parseUri('isbn:2983792873'), { kind: 'other', scheme: 'isbn', rest: '2983792873' });
    t.same(parseUri('http://www.example.com'), {
      kind: 'other',
      scheme: 'http',
      rest: '//www.example.com',
    });
    for (const [bad, reason] of [
      ['', 'Bad URI scheme'],
      ['1abc:x', 'Bad URI scheme'],
      ['abc', 'Missing URI scheme'],
      ['a_b:x', 'Missing URI scheme'],
      ['abc:', 'Bad character in URI'],
    ] as const) {
      t.throws(() => parseUri(bad), { code: 'SIP_ERR_URI', reason }, bad);
    }
    t.end();
  },
);

t.test('formatUri is the inverse of parseUri (RFC 3261 §19.1.1, RFC 3966 §3)', async (t) => {
  for (const text of [
    'sip:alice:secretword@atlanta.com:5061;transport=tcp;lr?subject=project&x=',
    'sips:[2001:db8::10]:5070;maddr=[::1]',
    'sip:alice:@h',
    requestUri('intmeth'),
    requestUri('esc01'),
    requestUri('semiuri'),
    'sip:cal%6Cer@host5.example.net;%6C%72;n%61me=v%61lue%25%34%31',
    'sip:h;%3Bx=1',
    'tel:+1-201-555-0123;ext=1234',
    'soap.beep://192.0.2.103:3002',
  ]) {
    const parsed = parseUri(text);
    t.same(parseUri(formatUri(parsed)), parsed, text);
  }
  t.equal(formatUri(parseUri('SIP:Alice@Example.COM:5060;LR')), 'sip:Alice@example.com:5060;lr');
  t.equal(formatUri(parseUri('TEL:+1;EXT=2')), 'tel:+1;ext=2');
  t.equal(formatUri(parseUri('Urn:X')), 'urn:X');
  t.end();
});

t.test(
  'unescape resolves %HH escapes and leaves stray "%" alone (RFC 3261 §25.1 escaped)',
  async (t) => {
    t.equal(unescape('%41%42c'), 'ABc');
    t.equal(unescape('%25%34%31'), '%41');
    t.equal(unescape('plain'), 'plain');
    t.equal(unescape('%zz%4'), '%zz%4');
    t.equal(unescape('a%2'), 'a%2');
    t.equal(unescape('%e2%82%AC'), '\xe2\x82\xac');
    t.end();
  },
);

t.test('hostPortOf writes host and optional port (RFC 3261 §19.1.1 hostport)', async (t) => {
  t.equal(hostPortOf(sip('sip:a@[::1]:5060')), '[::1]:5060');
  t.equal(hostPortOf(sip('sip:a@Example.com')), 'example.com');
  t.end();
});

t.test('uriEquals matches the equivalent URIs of RFC 3261 §19.1.4', async (t) => {
  t.ok(eq('sip:%61lice@atlanta.com;transport=TCP', 'sip:alice@AtLanTa.CoM;Transport=tcp'));
  t.ok(eq('sip:carol@chicago.com', 'sip:carol@chicago.com;newparam=5'));
  t.ok(eq('sip:carol@chicago.com', 'sip:carol@chicago.com;security=on'));
  t.ok(eq('sip:carol@chicago.com;newparam=5', 'sip:carol@chicago.com;security=on'));
  t.ok(
    eq(
      'sip:biloxi.com;transport=tcp;method=REGISTER?to=sip:bob%40biloxi.com',
      'sip:biloxi.com;method=REGISTER;transport=tcp?to=sip:bob%40biloxi.com',
    ),
  );
  t.ok(
    eq(
      'sip:alice@atlanta.com?subject=project%20x&priority=urgent',
      'sip:alice@atlanta.com?priority=urgent&subject=project%20x',
    ),
  );
  t.ok(eq('sip:a:p%41@h', 'sip:a:pA@h'));
  t.ok(eq('sip:a%3bb@h', 'sip:a%3Bb@h'));
  t.ok(eq('sip:h?Subject=A', 'sip:h?subject=a'));
  t.end();
});

t.test('uriEquals rejects the non-equivalent URIs of RFC 3261 §19.1.4', async (t) => {
  t.notOk(eq('SIP:ALICE@AtLanTa.CoM;Transport=udp', 'sip:alice@AtLanTa.CoM;Transport=UDP'));
  t.notOk(eq('sip:bob@biloxi.com', 'sip:bob@biloxi.com:5060'));
  t.notOk(eq('sip:bob@biloxi.com', 'sip:bob@biloxi.com;transport=udp'));
  t.notOk(eq('sip:bob@biloxi.com;transport=udp', 'sip:bob@biloxi.com'));
  t.notOk(eq('sip:bob@biloxi.com', 'sip:bob@biloxi.com:6000;transport=tcp'));
  t.notOk(eq('sip:carol@chicago.com', 'sip:carol@chicago.com?Subject=next%20meeting'));
  t.notOk(eq('sip:bob@phone21.boxesbybob.com', 'sip:bob@192.0.2.4'));
  t.notOk(eq('sip:carol@chicago.com;security=on', 'sip:carol@chicago.com;security=off'));
  t.notOk(eq('sip:h;maddr=a.b', 'sip:h'));
  t.notOk(eq('sip:h;user=phone', 'sip:h'));
  t.notOk(eq('sip:h;lr', 'sip:h;lr=on'));
  t.notOk(eq('sips:a@h', 'sip:a@h'));
  t.notOk(eq('sip:a@h', 'sip:h'));
  t.notOk(eq('sip:h', 'sip:a@h'));
  t.notOk(eq('sip:a:x@h', 'sip:a@h'));
  t.notOk(eq('sip:a%3Bb@h', 'sip:a;b@h'));
  t.notOk(eq('sip:h?a=1', 'sip:h?b=1'));
  t.notOk(eq('sip:h?a=1', 'sip:h?a=2'));
  t.notOk(eq('sip:h?a=1&b=2', 'sip:h?a=1'));
  t.end();
});

t.test('uriEquals compares IPv6 references by address (RFC 5118 §4.3)', async (t) => {
  t.ok(eq('sip:[::1]', 'sip:[0:0::1]'));
  t.ok(eq('sip:[2001:DB8::1]:5060', 'sip:[2001:db8:0:0:0:0:0:1]:5060'));
  t.ok(eq('sip:[::ffff:192.0.2.128]', 'sip:[::ffff:c000:280]'));
  t.notOk(eq('sip:[::1]', 'sip:[::2]'));
  t.notOk(eq('sip:[::1]', 'sip:localhost'));
  t.end();
});

t.test('uriEquals compares tel URIs as RFC 3966 §4 says', async (t) => {
  t.ok(eq('tel:+1-201-555-0123', 'tel:+12015550123'));
  t.ok(eq('tel:7042;phone-context=example.com', 'tel:7042;PHONE-CONTEXT=Example.COM'));
  t.ok(eq('tel:863-1234;phone-context=+1-914-555', 'tel:8631234;phone-context=+1914555'));
  t.ok(eq('tel:+1;ext=1-2', 'tel:+1;ext=12'));
  t.ok(eq('tel:abc', 'tel:ABC'));
  t.notOk(eq('tel:+1;ext=1', 'tel:+1'));
  t.notOk(eq('tel:+1', 'tel:+1;isub=x'));
  t.notOk(eq('tel:+1', 'tel:+2'));
  t.notOk(eq('tel:+1', 'sip:+1@h'));
  t.end();
});

t.test('uriEquals compares other schemes exactly (RFC 3261 §19.1.4)', async (t) => {
  t.ok(eq('urn:a', 'URN:a'));
  t.notOk(eq('urn:a', 'urn:A'));
  t.notOk(eq('urn:a', 'urx:a'));
  t.notOk(eq('sip:h', 'urn:h'));
  const hand: Uri = {
    kind: 'sip',
    scheme: 'sip',
    user: null,
    password: null,
    host: 'H',
    port: null,
    params: new Map(),
    headers: new Map(),
  };
  t.ok(uriEquals(hand, parseUri('sip:h')));
  t.end();
});

t.test(
  'parseUri only ever throws SipParseError, and what it parses round-trips (RFC 3261 §25.1)',
  async (t) => {
    const unit = fc.constantFrom(
      ...'sip:Tel+@[]:.;=?&%4a1ffe, <>"\\/-_x'.split(''),
      'sip:',
      'tel:',
      '::',
      '%4',
      '%41',
    );
    fc.assert(
      fc.property(fc.string({ unit, maxLength: 30 }), (s) => {
        let u;
        try {
          u = parseUri(s);
        } catch (err) {
          return isSipParseError(err);
        }
        const again = parseUri(formatUri(u));
        return uriEquals(again, u) && formatUri(again) === formatUri(u);
      }),
      { numRuns: 5000 },
    );
    t.end();
  },
);

t.test(
  'parseUri is linear on pathological input (20,000 params, userinfo, IPv6 digits)',
  async (t) => {
    const params = flat('sip:h' + ';a'.repeat(20000));
    const p = timed(() => t.equal(sip(params).params.size, 1));
    const user = flat('sip:' + 'a;'.repeat(20000) + 'b c@h');
    const u = timed(() => t.throws(() => parseUri(user), { code: 'SIP_ERR_URI' }));
    const v6 = flat('sip:[' + '1'.repeat(20000) + ']');
    const v = timed(() => t.throws(() => parseUri(v6), { code: 'SIP_ERR_URI' }));
    assertWarmUnder(t, 50, [
      ['20,000 ;a', p],
      ['20,000 userinfo characters', u],
      ['20,000 IPv6 digits', v],
    ]);
    t.end();
  },
);
