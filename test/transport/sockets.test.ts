import t from 'tap';
import {
  bracketHost,
  canonicalAddress,
  checkListenSpec,
  connectionKey,
  defaultPort,
  defaultPortForVia,
  familyOf,
  isWildcard,
  makeSocketInfo,
  parseAdvertise,
  parseListenSpec,
  sameAddress,
  socketId,
  unbracketHost,
} from '../../src/transport/sockets.js';

t.test('parseListenSpec reads proto:host:port with IPv6 in brackets', async (t) => {
  t.same(parseListenSpec('udp:127.0.0.1:5060'), { protocol: 'udp', host: '127.0.0.1', port: 5060 });
  t.same(parseListenSpec('TLS:[::1]:5061'), { protocol: 'tls', host: '::1', port: 5061 });
  t.same(parseListenSpec('ws:0.0.0.0:0'), { protocol: 'ws', host: '0.0.0.0', port: 0 });
  const bad: [string, RegExp][] = [
    ['sctp:127.0.0.1:5060', /expected <udp\|tcp\|tls\|ws\|wss>:<ip>:<port>/],
    ['udp127.0.0.1', /expected/],
    ['udp:127.0.0.1', /missing port/],
    ['udp:127.0.0.1:70000', /port must be 0\.\.65535, got "70000"/],
    ['udp:127.0.0.1:5x', /port must be/],
    ['udp:::1:5060', /write IPv6 addresses in brackets/],
    ['udp:[::1:5060', /unterminated IPv6 reference/],
    ['udp:[::1]5060', /expected ":port"/],
    ['udp::5060', /missing host/],
    ['udp:example.com:5060', /host must be an IP literal/],
  ];
  for (const [text, message] of bad) {
    t.throws(() => parseListenSpec(text), { code: 'TANDEM_ERR_CONFIG', message }, text);
  }
});

t.test('parseAdvertise takes a name or an address, port optional', async (t) => {
  t.same(parseAdvertise('sip.example.com'), { host: 'sip.example.com' });
  t.same(parseAdvertise('203.0.113.5:5080'), { host: '203.0.113.5', port: 5080 });
  t.same(parseAdvertise('[2001:db8::5]:5061'), { host: '2001:db8::5', port: 5061 });
  t.same(parseAdvertise('[2001:db8::5]'), { host: '2001:db8::5' });
});

t.test('checkListenSpec refuses what cannot be bound or advertised', async (t) => {
  t.doesNotThrow(() => {
    checkListenSpec({ protocol: 'udp', host: '::', port: 5060 });
  });
  const bad = [
    { protocol: 'udp', host: '127.0.0.1', port: -1 },
    { protocol: 'udp', host: '127.0.0.1', port: 1.5 },
    { protocol: 'udp', host: '127.0.0.1', port: 5060, advertise: { host: '' } },
    { protocol: 'udp', host: '127.0.0.1', port: 5060, advertise: { host: 'a;b' } },
    { protocol: 'udp', host: '127.0.0.1', port: 5060, advertise: { host: 'a', port: 0 } },
    { protocol: 'quic', host: '127.0.0.1', port: 5060 },
  ] as const;
  for (const spec of bad) {
    t.throws(
      () => {
        checkListenSpec(spec as never);
      },
      { code: 'TANDEM_ERR_CONFIG' },
      JSON.stringify(spec),
    );
  }
});

t.test('makeSocketInfo: ids, families and sent-by', async (t) => {
  t.same(makeSocketInfo({ protocol: 'tls', host: '::1', port: 0 }, 5061), {
    id: 'tls:[::1]:5061',
    protocol: 'tls',
    host: '::1',
    port: 5061,
    family: 6,
    sentByHost: '[::1]',
    sentByPort: 5061,
  });
  const adv = makeSocketInfo(
    {
      protocol: 'udp',
      host: '10.0.0.1',
      port: 5060,
      advertise: { host: '2001:db8::1', port: 5062 },
    },
    5060,
  );
  t.equal(adv.sentByHost, '[2001:db8::1]');
  t.equal(adv.sentByPort, 5062);
  t.ok(Object.isFrozen(adv));
});

t.test('address helpers', async (t) => {
  t.equal(bracketHost('::1'), '[::1]');
  t.equal(bracketHost('[::1]'), '[::1]');
  t.equal(bracketHost('10.0.0.1'), '10.0.0.1');
  t.equal(unbracketHost('[::1]'), '::1');
  t.equal(unbracketHost('::1'), '::1');
  t.equal(canonicalAddress('[2001:DB8:0:0::1]'), '2001:db8::1');
  t.equal(canonicalAddress('Example.COM'), 'example.com');
  t.equal(canonicalAddress('not:an:ipv6::x:y:z:w:v'), 'not:an:ipv6::x:y:z:w:v', 'garbage is kept');
  t.ok(sameAddress('[0:0::1]', '::1'));
  t.ok(sameAddress('10.0.0.1', '10.0.0.1'));
  t.notOk(sameAddress('10.0.0.1', '10.0.0.2'));
  t.notOk(sameAddress('[::2]', '::1'));
  t.equal(familyOf('::1'), 6);
  t.equal(familyOf('10.0.0.1'), 4);
  t.equal(socketId('udp', '::1', 5060), 'udp:[::1]:5060');
  t.equal(connectionKey('tcp', '[2001:DB8::1]', 5060), connectionKey('tcp', '2001:db8::1', 5060));
  t.ok(isWildcard('0.0.0.0'));
  t.ok(isWildcard('0:0::0'));
  t.notOk(isWildcard('127.0.0.1'));
});

t.test('RFC 3261 §18.2.2 default ports per transport', async (t) => {
  t.same(
    (['udp', 'tcp', 'tls', 'ws', 'wss'] as const).map(defaultPort),
    [5060, 5060, 5061, 80, 443],
  );
  t.equal(defaultPortForVia('TLS'), 5061);
  t.equal(defaultPortForVia('UDP'), 5060);
  t.equal(defaultPortForVia('SCTP'), 5060, 'unknown transports use 5060');
});
