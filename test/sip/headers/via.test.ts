import t from 'tap';
import fc from 'fast-check';
import { isSipParseError } from '../../../src/core/errors.js';
import {
  BRANCH_COOKIE,
  formatVia,
  hasRfc3261Branch,
  parseVia,
  parseViaList,
  viaBranch,
  viaReceived,
  viaRport,
  viaSentBy,
} from '../../../src/sip/headers/via.js';
import { header, headerValues } from '../../helpers/corpus.js';
import { assertWarmUnder, flat, timed } from '../../helpers/timing.js';

t.test('parseVia reads sent-protocol, sent-by and parameters (RFC 3261 §20.42)', async (t) => {
  const via = parseVia('SIP/2.0/UDP pc33.atlanta.com:5060;branch=z9hG4bK776asdhds;rport');
  t.same(via, {
    protocol: 'SIP/2.0',
    transport: 'UDP',
    host: 'pc33.atlanta.com',
    port: 5060,
    params: new Map([
      ['branch', 'z9hG4bK776asdhds'],
      ['rport', null],
    ]),
  });
  t.equal(viaBranch(via), 'z9hG4bK776asdhds');
  t.equal(viaRport(via), true);
  t.equal(viaReceived(via), null);
  t.equal(viaSentBy(via), 'pc33.atlanta.com:5060');
  t.equal(hasRfc3261Branch(via), true);
  t.equal(BRANCH_COOKIE, 'z9hG4bK');
  t.end();
});

t.test(
  'parseVia upper-cases protocol and transport and lower-cases the host (RFC 3261 §7.3.1)',
  async (t) => {
    const via = parseVia('sip/2.0/tcp Host.Example.COM');
    t.equal(via.protocol, 'SIP/2.0');
    t.equal(via.transport, 'TCP');
    t.equal(via.host, 'host.example.com');
    t.equal(via.port, null);
    t.equal(viaSentBy(via), 'host.example.com');
    t.equal(viaBranch(via), null);
    t.equal(viaRport(via), null);
    t.equal(hasRfc3261Branch(via), false);
    t.equal(hasRfc3261Branch(parseVia('SIP/2.0/UDP h;branch=1234')), false);
    t.end();
  },
);

t.test(
  'parseVia accepts LWS around the slashes of sent-protocol (RFC 3261 §25.1; RFC 4475 §3.1.1.1 wsinv)',
  async (t) => {
    const [via] = parseViaList(header('wsinv', 'via'));
    t.equal(via?.protocol, 'SIP/2.0');
    t.equal(via?.transport, 'UDP');
    t.equal(via?.host, '192.0.2.2');
    t.equal(via && viaBranch(via), '390skdjuw');
    const v = parseViaList(header('wsinv', 'v'));
    t.same(
      v.map((x) => [x.protocol, x.transport, x.host, viaBranch(x)]),
      [
        ['SIP/2.0', 'TCP', 'spindle.example.com', 'z9hG4bK9ikj8'],
        ['SIP/2.0', 'UDP', '192.168.255.111', 'z9hG4bK30239'],
      ],
    );
    t.equal(parseVia('sip / 2.0 / udp h').protocol, 'SIP/2.0');
    t.equal(parseVia('SIP /2.0/UDP h').protocol, 'SIP/2.0');
    t.equal(parseVia('SIP/ 2.0/UDP h').protocol, 'SIP/2.0');
    t.equal(parseVia('SIP/2.0 /UDP h').protocol, 'SIP/2.0');
    t.equal(parseVia('Foo/3/UDP h').protocol, 'FOO/3');
    t.end();
  },
);

t.test('parseVia accepts LWS around the sent-by colon (RFC 3261 §25.1 COLON)', async (t) => {
  const via = parseVia('SIP/2.0/UDP host : 5070 ;branch=z9hG4bKx');
  t.equal(via.port, 5070);
  t.equal(viaBranch(via), 'z9hG4bKx');
  t.end();
});

t.test('parseVia reads every transport of RFC 4475 §3.1.1.10 transports', async (t) => {
  const vias = headerValues('transports', 'via').map(parseVia);
  t.same(
    vias.map((v) => v.transport),
    ['UDP', 'SCTP', 'TLS', 'UNKNOWN', 'TCP'],
  );
  t.end();
});

t.test('parseVia reads the 34 Via headers of RFC 4475 §3.1.1.7 longreq', async (t) => {
  const vias = headerValues('longreq', 'via', 'v').map(parseVia);
  t.equal(vias.length, 34);
  t.equal(vias[33] && viaReceived(vias[33]), '192.0.2.5');
  t.ok(vias[33] && viaBranch(vias[33])?.startsWith('verylonglong'));
  t.end();
});

t.test('parseVia reads IPv6 sent-by and received with brackets (RFC 5118 §4.5)', async (t) => {
  const via = parseVia(
    'SIP/2.0/UDP [2001:db8::9:1];received=[2001:db8::9:255];branch=z9hG4bKas3-111',
  );
  t.equal(via.host, '[2001:db8::9:1]');
  t.equal(via.port, null);
  t.equal(viaReceived(via), '[2001:db8::9:255]');
  t.equal(viaBranch(via), 'z9hG4bKas3-111');
  const withPort = parseVia('SIP/2.0/TCP [2001:DB8::1]:5061;branch=z9hG4bK1');
  t.equal(withPort.host, '[2001:db8::1]');
  t.equal(withPort.port, 5061);
  t.equal(viaSentBy(withPort), '[2001:db8::1]:5061');
  t.end();
});

t.test(
  'parseVia reads received as IPv4address or unbracketed IPv6address (RFC 3261 §20.42)',
  async (t) => {
    t.equal(viaReceived(parseVia('SIP/2.0/UDP h;received=2001:db8::9:255')), '2001:db8::9:255');
    t.equal(viaReceived(parseVia('SIP/2.0/UDP h;received=::ffff:192.0.2.1')), '::ffff:192.0.2.1');
    t.equal(viaReceived(parseVia('SIP/2.0/UDP h;received=192.0.2.1')), '192.0.2.1');
    for (const bad of [
      'SIP/2.0/UDP h;received=host.example.com',
      'SIP/2.0/UDP h;received',
      'SIP/2.0/UDP h;received=[2001:db8:::1]',
      'SIP/2.0/UDP h;received=2001:db8:::1',
      'SIP/2.0/UDP h;received=256.0.0.1',
      'SIP/2.0/UDP h;received="192.0.2.1"',
    ]) {
      t.throws(() => parseVia(bad), { code: 'SIP_ERR_VIA' }, bad);
    }
    t.end();
  },
);

t.test('parseVia reads rport with and without a value (RFC 3581 §3)', async (t) => {
  t.equal(viaRport(parseVia('SIP/2.0/UDP h;rport=5060')), 5060);
  t.equal(viaRport(parseVia('SIP/2.0/UDP h;rport=0')), 0);
  t.equal(viaRport(parseVia('SIP/2.0/UDP h;rport')), true);
  for (const bad of [
    'SIP/2.0/UDP h;rport=65536',
    'SIP/2.0/UDP h;rport=x',
    'SIP/2.0/UDP h;rport="1"',
  ]) {
    t.throws(() => parseVia(bad), { code: 'SIP_ERR_VIA', reason: 'Bad Via rport' }, bad);
  }
  t.end();
});

t.test('parseVia checks branch, ttl and maddr grammar (RFC 3261 §20.42, §25.1)', async (t) => {
  t.equal(viaBranch(parseVia(header('badbranch', 'via'))), 'z9hG4bK');
  t.equal(parseVia('SIP/2.0/UDP h;ttl=255;maddr=224.2.0.1').params.get('ttl'), '255');
  t.equal(parseVia('SIP/2.0/UDP h;maddr=[ff02::1]').params.get('maddr'), '[ff02::1]');
  t.equal(parseVia('SIP/2.0/UDP h;maddr=Example.com').params.get('maddr'), 'Example.com');
  for (const [bad, reason] of [
    ['SIP/2.0/UDP h;branch', 'Bad Via branch'],
    ['SIP/2.0/UDP h;branch="z9hG4bK1"', 'Bad Via branch'],
    ['SIP/2.0/UDP h;branch=[::1]', 'Bad Via branch'],
    ['SIP/2.0/UDP h;ttl=256', 'Bad Via ttl'],
    ['SIP/2.0/UDP h;ttl=0001', 'Bad Via ttl'],
    ['SIP/2.0/UDP h;ttl', 'Bad Via ttl'],
    ['SIP/2.0/UDP h;ttl=', 'Empty parameter value'],
    ['SIP/2.0/UDP h;maddr', 'Bad Via maddr'],
    ['SIP/2.0/UDP h;maddr=a_b', 'Bad Via maddr'],
    ['SIP/2.0/UDP h;maddr="h"', 'Bad Via maddr'],
  ] as const) {
    t.throws(() => parseVia(bad), { code: 'SIP_ERR_VIA', reason }, bad);
  }
  t.end();
});

t.test(
  'parseViaList rejects the extraneous separators of RFC 4475 §3.1.2.1 badinv01',
  async (t) => {
    const value = header('badinv01', 'via');
    t.equal(value, 'SIP/2.0/UDP 192.0.2.15;;,;,,');
    t.throws(() => parseViaList(value), { code: 'SIP_ERR_VIA', reason: 'Empty parameter name' });
    t.throws(() => parseViaList('SIP/2.0/UDP 192.0.2.15,,SIP/2.0/UDP h'), {
      code: 'SIP_ERR_VIA',
      reason: 'Empty Via',
    });
    t.throws(() => parseViaList('SIP/2.0/UDP 192.0.2.15,'), {
      code: 'SIP_ERR_VIA',
      reason: 'Empty Via',
    });
    t.throws(() => parseViaList(''), { code: 'SIP_ERR_VIA', reason: 'Empty Via' });
    t.end();
  },
);

t.test('parseVia rejects malformed via-parms with SIP_ERR_VIA (RFC 3261 §25.1)', async (t) => {
  for (const [bad, reason] of [
    ['SIP', 'Missing / in Via sent-protocol'],
    ['/2.0/UDP h', 'Missing protocol name in Via sent-protocol'],
    ['SIP//UDP h', 'Missing protocol version in Via sent-protocol'],
    ['SIP/2.0 UDP h', 'Missing / in Via sent-protocol'],
    ['SIP/2.0/ h', 'Missing whitespace before Via sent-by'],
    ['SIP/2.0/', 'Missing transport in Via sent-protocol'],
    ['SIP/2.0/UDP', 'Missing whitespace before Via sent-by'],
    ['SIP/2.0/UDPh', 'Missing whitespace before Via sent-by'],
    ['SIP/2.0/UDP ', 'Bad Via sent-by host'],
    ['SIP/2.0/UDP -h', 'Bad Via sent-by host'],
    ['SIP/2.0/UDP [::1', 'Bad Via sent-by host'],
    ['SIP/2.0/UDP h:', 'Bad Via sent-by port'],
    ['SIP/2.0/UDP h:65536', 'Bad Via sent-by port'],
    ['SIP/2.0/UDP h x', 'Unexpected character in Via'],
    ['SIP/2.0/UDP h, SIP/2.0/UDP g', 'Unexpected character in Via'],
  ] as const) {
    t.throws(() => parseVia(bad), { code: 'SIP_ERR_VIA', reason }, bad);
  }
  t.throws(() => parseViaList('SIP/2.0/UDP h x'), { code: 'SIP_ERR_VIA' });
  t.end();
});

t.test('formatVia writes a via-parm that parses back the same (RFC 3261 §20.42)', async (t) => {
  t.equal(
    formatVia(parseVia('sip / 2.0 / udp  H:5060 ; branch = z9hG4bK1 ; rport ; received=[::1]')),
    'SIP/2.0/UDP h:5060;branch=z9hG4bK1;rport;received=[::1]',
  );
  for (const file of [
    'wsinv',
    'intmeth',
    'esc02',
    'transports',
    'longreq',
    'mpart01',
    'badbranch',
  ]) {
    for (const value of headerValues(file, 'via', 'v')) {
      for (const via of parseViaList(value)) {
        t.same(parseVia(formatVia(via)), via, `${file}: ${formatVia(via).slice(0, 40)}`);
      }
    }
  }
  const bare6 = parseVia('SIP/2.0/UDP h;received=2001:db8::1');
  t.same(parseVia(formatVia(bare6)), bare6);
  t.end();
});

t.test(
  'parseViaList only ever throws SipParseError, and what it parses round-trips (RFC 3261 §25.1)',
  async (t) => {
    const unit = fc.constantFrom(
      ...'SIP/2.0UDPh ;:=,[]1"'.split(''),
      'SIP/2.0/UDP ',
      ';branch=',
      ';received=',
      ';rport',
      ';ttl=',
      ';maddr=',
      '::',
    );
    fc.assert(
      fc.property(fc.string({ unit, maxLength: 20 }), (s) => {
        let vias;
        try {
          vias = parseViaList(s);
        } catch (err) {
          return isSipParseError(err);
        }
        const again = parseViaList(vias.map(formatVia).join(', '));
        return (
          JSON.stringify(again.map((v) => [v, [...v.params]])) ===
          JSON.stringify(vias.map((v) => [v, [...v.params]]))
        );
      }),
      { numRuns: 5000 },
    );
    t.end();
  },
);

t.test(
  'parseVia is linear on pathological input (20,000 params, badinv01 separators)',
  async (t) => {
    const params = flat('SIP/2.0/UDP h' + ';a'.repeat(20000));
    const p = timed(() => t.equal(parseVia(params).params.size, 1));
    const seps = flat('SIP/2.0/UDP 192.0.2.15' + ';;,;,,'.repeat(20000));
    const s = timed(() => t.throws(() => parseViaList(seps), { code: 'SIP_ERR_VIA' }));
    const slashes = flat('SIP' + ' /'.repeat(20000));
    const sl = timed(() => t.throws(() => parseVia(slashes), { code: 'SIP_ERR_VIA' }));
    assertWarmUnder(t, 50, [
      ['20,000 ;a', p],
      ['20,000 badinv01 separators', s],
      ['20,000 slashes', sl],
    ]);
    t.end();
  },
);
