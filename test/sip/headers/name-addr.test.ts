import t from 'tap';
import fc from 'fast-check';
import { isSipParseError } from '../../../src/core/errors.js';
import {
  formatContact,
  formatNameAddr,
  parseContact,
  parseNameAddr,
  parseNameAddrList,
  tagOf,
} from '../../../src/sip/headers/name-addr.js';
import { formatUri } from '../../../src/sip/uri.js';
import type { NameAddr } from '../../../src/sip/types.js';
import { header, headerValues } from '../../helpers/corpus.js';
import { assertWarmUnder, flat, timed } from '../../helpers/timing.js';

/** The parts of a NameAddr that survive formatting (which always brackets), URI as text. */
function shape(na: NameAddr): unknown {
  return {
    displayName: na.displayName,
    quoted: na.quoted,
    uri: formatUri(na.uri),
    params: [...na.params],
  };
}

t.test(
  'parseNameAddr reads display name, URI and header parameters (RFC 3261 §20.20)',
  async (t) => {
    const na = parseNameAddr('"A. G. Bell" <sip:agb@bell-telephone.com> ;tag=a48s');
    t.equal(na.displayName, 'A. G. Bell');
    t.equal(na.quoted, true);
    t.equal(na.uriText, 'sip:agb@bell-telephone.com');
    t.equal(na.uri.kind, 'sip');
    t.equal(na.bracketed, true);
    t.same([...na.params], [['tag', 'a48s']]);
    t.equal(tagOf(na), 'a48s');
    const plain = parseNameAddr('<sip:bob@biloxi.com>');
    t.equal(plain.displayName, null);
    t.equal(plain.quoted, false);
    t.equal(tagOf(plain), null);
    t.equal(tagOf(parseNameAddr('<sip:a@b>;tag')), null);
    t.end();
  },
);

t.test('parseNameAddr reads the tortuous From and To of RFC 4475 §3.1.1.1 wsinv', async (t) => {
  const to = parseNameAddr(header('wsinv', 'to'));
  t.equal(to.bracketed, false);
  t.equal(to.uriText, 'sip:vivekg@chair-dnrc.example.com');
  t.equal(tagOf(to), '1918181833n');
  const from = parseNameAddr(header('wsinv', 'from'));
  t.equal(from.displayName, 'J Rosenberg \\"');
  t.equal(from.quoted, true);
  t.equal(tagOf(from), '98asjd8');
  const m = parseNameAddrList(header('wsinv', 'm'));
  t.equal(m.length, 1);
  t.equal(m[0]?.displayName, 'Quoted string ""');
  t.same(
    [...(m[0]?.params ?? [])],
    [
      ['newparam', 'newvalue'],
      ['secondparam', null],
      ['q', '0.33'],
    ],
  );
  const route = parseNameAddrList(header('wsinv', 'route'));
  t.equal(route[0]?.uriText, 'sip:services.example.com;lr;unknownwith=value;unknown-no-value');
  t.end();
});

t.test('parseNameAddr reads the unusual characters of RFC 4475 §3.1.1.2 intmeth', async (t) => {
  const to = parseNameAddr(header('intmeth', 'to'));
  t.equal(to.displayName, 'BEL:\x07 NUL:\x00 DEL:\x7f');
  t.equal(
    to.uri.kind === 'sip' ? to.uri.user : null,
    "1_unusual.URI~(to-be!sure)&isn't+it$/crazy?,/;;*",
  );
  const from = parseNameAddr(header('intmeth', 'from'));
  t.equal(from.displayName, "token1~` token2'+_ token3*%!.-");
  t.equal(from.quoted, false);
  t.equal(
    from.params.get("fromparam''~+*_!.-%"),
    '"\xd1\x80\xd0\xb0\xd0\xb1\xd0\xbe\xd1\x82\xd0\xb0\xd1\x8e\xd1\x89\xd0\xb8\xd0\xb9"',
  );
  t.equal(tagOf(from), "_token~1'+`*%!-.");
  t.end();
});

t.test(
  'parseNameAddr accepts a display name with no LWS before < (RFC 4475 §3.1.1.6 lwsdisp)',
  async (t) => {
    const from = parseNameAddr(header('lwsdisp', 'from'));
    t.equal(from.displayName, 'caller');
    t.equal(tagOf(from), '323');
    t.equal(parseNameAddr('"x"<sip:a@b>').displayName, 'x');
    t.end();
  },
);

t.test(
  'parseNameAddr folds whitespace in a token display name to one SP (RFC 3261 §25.1)',
  async (t) => {
    t.equal(parseNameAddr('Alice   B\tC <sip:a@b>').displayName, 'Alice B C');
    t.equal(parseNameAddr('  Alice B  <sip:a@b>').displayName, 'Alice B');
    t.equal(parseNameAddr('A  B C D <sip:a@b>').displayName, 'A B C D');
    t.end();
  },
);

t.test(
  'parseNameAddr reads escapes in addresses (RFC 4475 §3.1.1.3 esc01, §3.1.1.4 escnull, §3.1.1.5 esc02)',
  async (t) => {
    const to = parseNameAddr(header('esc01', 'to'));
    t.equal(to.uri.kind === 'sip' ? to.uri.user : null, '%75se%72');
    const contact = parseContact(header('esc01', 'contact'));
    t.equal(contact.star, false);
    const c = contact.star ? undefined : contact.contacts[0];
    t.same(c?.uri.kind === 'sip' ? [...c.uri.params.keys()] : [], ['lr', 'name']);
    for (const v of headerValues('escnull', 'to', 'from', 'contact')) {
      t.doesNotThrow(() => parseNameAddr(v), v);
    }
    t.equal(parseNameAddr(header('esc02', 'to')).displayName, '%Z%45');
    t.end();
  },
);

t.test(
  'parseNameAddr keeps a bare addr-spec parameter as a header parameter (RFC 4475 §3.3.12 cparam01, §3.3.13 cparam02)',
  async (t) => {
    const bare = parseNameAddr(header('cparam01', 'contact'));
    t.equal(bare.bracketed, false);
    t.same([...bare.params], [['unknownparam', null]]);
    t.equal(bare.uri.kind === 'sip' ? bare.uri.params.size : -1, 0);
    const bracketed = parseNameAddr(header('cparam02', 'contact'));
    t.equal(bracketed.params.size, 0);
    t.same(bracketed.uri.kind === 'sip' ? [...bracketed.uri.params] : [], [['unknownparam', null]]);
    t.end();
  },
);

t.test('parseNameAddr accepts unknown URI schemes (RFC 4475 §3.3.4 unksm2)', async (t) => {
  t.equal(formatUri(parseNameAddr(header('unksm2', 'to')).uri), 'isbn:2983792873');
  const from = parseNameAddr(header('unksm2', 'from'));
  t.equal(from.uri.scheme, 'http');
  t.equal(tagOf(from), '3234233');
  t.equal(formatUri(parseNameAddr(header('unksm2', 'contact')).uri), 'name:John_Smith');
  const tel = parseNameAddr('tel:+1-555;tag=x');
  t.equal(tel.uri.kind, 'tel');
  t.equal(tagOf(tel), 'x');
  t.end();
});

t.test(
  'parseNameAddr rejects an unterminated quoted display name (RFC 4475 §3.1.2.6 quotbal)',
  async (t) => {
    t.throws(() => parseNameAddr(header('quotbal', 'to')), {
      code: 'SIP_ERR_NAME_ADDR',
      reason: 'Unterminated quoted-string',
    });
    t.throws(() => parseNameAddr('"a\x01" <sip:a@b>'), { code: 'SIP_ERR_NAME_ADDR' });
    t.end();
  },
);

t.test(
  'parseNameAddr rejects whitespace inside <addr-spec> (RFC 4475 §3.1.2.14 badaspec)',
  async (t) => {
    t.throws(() => parseNameAddr(header('badaspec', 'to')), {
      code: 'SIP_ERR_NAME_ADDR',
      reason: 'Whitespace inside <addr-spec>',
    });
    t.throws(() => parseNameAddr('<sip:a@b\t>'), { code: 'SIP_ERR_NAME_ADDR' });
    t.end();
  },
);

t.test(
  'parseNameAddr rejects non-token characters in an unquoted display name (RFC 4475 §3.1.2.15 baddn)',
  async (t) => {
    for (const v of headerValues('baddn', 'from', 'to')) {
      t.throws(
        () => parseNameAddr(v),
        { code: 'SIP_ERR_NAME_ADDR', reason: 'Bad character in display name' },
        v,
      );
    }
    t.throws(() => parseNameAddr('Alice sip:a@b'), { code: 'SIP_ERR_NAME_ADDR' });
    t.throws(() => parseNameAddr('Alice "B" <sip:a@b>'), { code: 'SIP_ERR_NAME_ADDR' });
    t.end();
  },
);

t.test(
  'parseNameAddr rejects a bare addr-spec holding "?" (RFC 3261 §20.10; RFC 4475 §3.1.2.13 regbadct)',
  async (t) => {
    t.throws(() => parseContact(header('regbadct', 'contact')), {
      code: 'SIP_ERR_NAME_ADDR',
      reason: 'URI with ? must be enclosed in <>',
    });
    const ok = parseContact(header('regescrt', 'm'));
    t.equal(ok.star ? null : ok.contacts[0]?.uri.kind, 'sip');
    t.end();
  },
);

t.test(
  'parseNameAddr reports malformed addresses with SIP_ERR_NAME_ADDR (RFC 3261 §25.1)',
  async (t) => {
    for (const [bad, reason] of [
      ['', 'Empty address'],
      ['   ', 'Empty address'],
      [',<sip:a@b>', 'Empty address'],
      ['@x', 'Bad character at start of address'],
      ['"Joe"', 'Missing < after quoted display name'],
      ['"Joe" sip:a@b', 'Missing < after quoted display name'],
      ['Joe', 'Missing <addr-spec> after display name'],
      ['<sip:a@b', 'Unterminated <addr-spec>'],
      ['<sip:a@b> x', 'Unexpected character after address'],
      ['<sip:a@b>, <sip:c@d>', 'Unexpected character after address'],
      ['sip:a@b x', 'Unexpected character after address'],
    ] as const) {
      t.throws(() => parseNameAddr(bad), { code: 'SIP_ERR_NAME_ADDR', reason }, bad);
    }
    t.throws(() => parseNameAddr('<sip:a@b c>'), { code: 'SIP_ERR_NAME_ADDR' });
    t.throws(() => parseNameAddr('<sip:a@>'), { code: 'SIP_ERR_URI' });
    t.throws(() => parseNameAddr('<sip:a@b>;;'), { code: 'SIP_ERR_PARAM' });
    t.throws(() => parseNameAddr('sip:a@b;tag='), { code: 'SIP_ERR_PARAM' });
    t.end();
  },
);

t.test('parseNameAddrList reads comma-separated addresses (RFC 3261 §20.30, §20.34)', async (t) => {
  const list = parseNameAddrList(
    '<sip:p1.example.com;lr>, "A, B" <sip:p2.example.com;lr> ;x=1 ,sip:p3.example.com,<sip:a,b@h>',
  );
  t.same(
    list.map((na) => na.uriText),
    ['sip:p1.example.com;lr', 'sip:p2.example.com;lr', 'sip:p3.example.com', 'sip:a,b@h'],
  );
  t.equal(list[1]?.displayName, 'A, B');
  t.equal(list[1]?.params.get('x'), '1');
  // Unbracketed, a comma in the user part ends the element (RFC 3261 §20.10).
  t.throws(() => parseNameAddrList('sip:a,b@h'), { code: 'SIP_ERR_NAME_ADDR' });
  t.end();
});

t.test(
  'parseNameAddrList rejects empty elements (RFC 3261 §7.3.1; RFC 4475 §3.1.2.1 badinv01)',
  async (t) => {
    for (const bad of [
      '<sip:a@b>,,<sip:c@d>',
      '<sip:a@b>,',
      ',<sip:a@b>',
      '',
      '<sip:a@b> <sip:c@d>',
    ]) {
      t.throws(() => parseNameAddrList(bad), { code: 'SIP_ERR_NAME_ADDR' }, bad);
    }
    t.throws(() => parseNameAddrList(header('badinv01', 'contact')), { code: 'SIP_ERR_PARAM' });
    t.end();
  },
);

t.test('parseContact reads "*" and address lists (RFC 3261 §20.10)', async (t) => {
  t.same(parseContact('*'), { star: true });
  t.same(parseContact('  *  '), { star: true });
  const c = parseContact('<sip:a@b>;expires=60;q=0.5, <sip:c@d>');
  t.equal(c.star ? 0 : c.contacts.length, 2);
  t.throws(() => parseContact('*;expires=0'), { code: 'SIP_ERR_NAME_ADDR' });
  t.throws(() => parseContact('*, <sip:a@b>'), { code: 'SIP_ERR_NAME_ADDR' });
  t.throws(() => parseContact(''), { code: 'SIP_ERR_NAME_ADDR' });
  const scalar = parseContact(header('scalar02', 'contact'));
  t.equal(scalar.star ? null : scalar.contacts[0]?.params.get('expires'), '280297596632815');
  t.end();
});

t.test(
  'formatNameAddr brackets the URI and quotes the display name when needed (RFC 3261 §20.10)',
  async (t) => {
    t.equal(formatNameAddr(parseNameAddr('sip:a@b;tag=1')), '<sip:a@b>;tag=1');
    t.equal(formatNameAddr(parseNameAddr('Alice  B <sip:a@b>')), 'Alice B <sip:a@b>');
    t.equal(formatNameAddr(parseNameAddr('"Alice" <sip:a@b>')), '"Alice" <sip:a@b>');
    t.equal(formatNameAddr(parseNameAddr('"" <sip:a@b>')), '"" <sip:a@b>');
    t.equal(formatNameAddr(parseNameAddr('"a\\"b\\\\c" <sip:a@b>')), '"a\\"b\\\\c" <sip:a@b>');
    const hand: NameAddr = { ...parseNameAddr('<sip:a@b>'), displayName: 'Bell, A.\r\n' };
    t.equal(formatNameAddr(hand), '"Bell, A.  " <sip:a@b>');
    t.equal(formatNameAddr({ ...hand, displayName: '' }), '<sip:a@b>');
    t.equal(formatNameAddr({ ...hand, displayName: ' x' }), '" x" <sip:a@b>');
    t.equal(formatNameAddr({ ...hand, displayName: 'x ' }), '"x " <sip:a@b>');
    t.equal(formatNameAddr({ ...hand, displayName: 'a  b' }), '"a  b" <sip:a@b>');
    t.equal(formatContact({ star: true }), '*');
    t.equal(
      formatContact(parseContact('<sip:a@b>, c <sip:c@d>;q=1')),
      '<sip:a@b>, c <sip:c@d>;q=1',
    );
    t.end();
  },
);

t.test('formatNameAddr round-trips every RFC 4475 address header (RFC 3261 §20.10)', async (t) => {
  const names = ['to', 't', 'from', 'f', 'contact', 'm', 'route', 'record-route'];
  for (const file of [
    'wsinv',
    'intmeth',
    'esc01',
    'escnull',
    'esc02',
    'lwsdisp',
    'longreq',
    'semiuri',
    'transports',
    'cparam01',
    'cparam02',
    'regescrt',
    'unksm2',
    'mpart01',
  ]) {
    for (const v of headerValues(file, ...names)) {
      const first = parseNameAddrList(v);
      const again = parseNameAddrList(first.map(formatNameAddr).join(', '));
      t.same(again.map(shape), first.map(shape), `${file}: ${v.slice(0, 40)}`);
    }
  }
  t.end();
});

t.test(
  'parseNameAddr only ever throws SipParseError, and what it parses round-trips (RFC 3261 §25.1)',
  async (t) => {
    const unit = fc.constantFrom(...'"\\<> ,;=a1:@.?*'.split(''), 'sip:', 'sip:a@b', 'tel:+1');
    fc.assert(
      fc.property(fc.string({ unit, maxLength: 30 }), (s) => {
        let list;
        try {
          list = parseNameAddrList(s);
        } catch (err) {
          return isSipParseError(err);
        }
        const again = parseNameAddrList(list.map(formatNameAddr).join(','));
        return JSON.stringify(again.map(shape)) === JSON.stringify(list.map(shape));
      }),
      { numRuns: 5000 },
    );
    t.end();
  },
);

t.test(
  'parseNameAddr is linear on pathological input (20,000 tokens, params, quoted-pairs)',
  async (t) => {
    const tokens = flat('a '.repeat(20000) + '<sip:x@y>');
    const tk = timed(() => t.equal(parseNameAddr(tokens).displayName?.length, 39999));
    const spaced = flat('a  '.repeat(20000) + '<sip:x@y>');
    const sp = timed(() => t.equal(parseNameAddr(spaced).displayName?.length, 39999));
    const noAngle = flat('a '.repeat(20000));
    const na = timed(() => t.throws(() => parseNameAddr(noAngle), { code: 'SIP_ERR_NAME_ADDR' }));
    const quotes = flat('"' + '\\"'.repeat(20000) + '" <sip:x@y>');
    const q = timed(() => t.equal(parseNameAddr(quotes).displayName?.length, 20000));
    const openQuotes = flat('"'.repeat(20001));
    const oq = timed(() =>
      t.throws(() => parseNameAddrList(openQuotes), { code: 'SIP_ERR_NAME_ADDR' }),
    );
    const params = flat('<sip:x@y>' + ';a'.repeat(20000));
    const p = timed(() => t.equal(parseNameAddr(params).params.size, 1));
    assertWarmUnder(t, 50, [
      ['20,000-token display name', tk],
      ['20,000 tokens, double spaces', sp],
      ['20,000 tokens, no <', na],
      ['20,000 quoted-pairs', q],
      ['20,001 DQUOTE', oq],
      ['20,000 ;a', p],
    ]);
    // 20,000 whole addresses build 60,000 Maps: linear but real work, so a per-element bound.
    const list = flat(Array(20000).fill('<sip:x@y>').join(','));
    const l = timed(() => t.equal(parseNameAddrList(list).length, 20000));
    t.comment(`20,000 addresses: cold ${l.cold.toFixed(2)} ms, warm ${l.warm.toFixed(2)} ms`);
    t.ok(l.warm < 20000 * 0.025, '20,000 addresses at under 25 µs each');
    t.end();
  },
);
