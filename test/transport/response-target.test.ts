import t from 'tap';
import { parseVia } from '../../src/sip/index.js';
import { responseRoute } from '../../src/transport/response-target.js';
import { makeSocketInfo } from '../../src/transport/sockets.js';
import type { Protocol, ReceiveInfo } from '../../src/transport/types.js';

function rx(
  protocol: Protocol,
  family: 4 | 6 = 4,
  connectionId: number | null = null,
): ReceiveInfo {
  const host = family === 4 ? '10.0.0.1' : '2001:db8::1';
  const socket = makeSocketInfo({ protocol, host, port: 5060 }, 5060);
  return {
    socket,
    protocol,
    sourceAddress: '192.0.2.9',
    sourcePort: 40000,
    connectionId,
    receivedAt: 0,
  };
}

const route = (via: string, r: ReceiveInfo) => responseRoute(parseVia(via), r);

t.test('UDP: received + rport (RFC 3581 §4), from the receiving socket', async (t) => {
  t.same(
    route('SIP/2.0/UDP 10.1.1.1:4540;received=192.0.2.9;rport=9988;branch=z9hG4bK1', rx('udp')),
    {
      ok: true,
      target: { protocol: 'udp', address: '192.0.2.9', port: 9988, socketId: 'udp:10.0.0.1:5060' },
    },
  );
});

t.test('UDP: received without rport uses the sent-by port, else 5060', async (t) => {
  t.same(route('SIP/2.0/UDP 10.1.1.1:4540;received=192.0.2.9', rx('udp')), {
    ok: true,
    target: { protocol: 'udp', address: '192.0.2.9', port: 4540, socketId: 'udp:10.0.0.1:5060' },
  });
  t.match(route('SIP/2.0/UDP host.example;received=192.0.2.9', rx('udp')), {
    target: { port: 5060 },
  });
});

t.test('UDP: maddr wins with the sent-by port (RFC 3261 §18.2.2)', async (t) => {
  t.match(
    route('SIP/2.0/UDP 10.1.1.1:4540;maddr=239.1.1.1;received=192.0.2.9;rport=1', rx('udp')),
    {
      ok: true,
      target: { address: '239.1.1.1', port: 4540 },
    },
  );
  t.match(route('SIP/2.0/UDP 10.1.1.1;maddr=10.2.2.2', rx('udp')), { target: { port: 5060 } });
  t.match(route('SIP/2.0/UDP 10.1.1.1;maddr=mcast.example.com', rx('udp')), {
    ok: false,
    reason: /mcast\.example\.com is not an IP address/,
  });
});

t.test('UDP: no received: the sent-by, which must be an IP literal here', async (t) => {
  t.match(route('SIP/2.0/UDP 10.1.1.1:4540', rx('udp')), {
    target: { address: '10.1.1.1', port: 4540 },
  });
  t.match(route('SIP/2.0/UDP pc.example.com:4540', rx('udp')), { ok: false, reason: /no DNS/ });
});

t.test('IPv6: brackets dropped; the socket is pinned only when the family matches', async (t) => {
  t.same(route('SIP/2.0/UDP [2001:db8::9]:5062;received=2001:db8::9;rport=7000', rx('udp', 6)), {
    ok: true,
    target: {
      protocol: 'udp',
      address: '2001:db8::9',
      port: 7000,
      socketId: 'udp:[2001:db8::1]:5060',
    },
  });
  t.same(route('SIP/2.0/UDP [2001:db8::9]:5062;received=[2001:db8::9]', rx('udp', 4)), {
    ok: true,
    target: { protocol: 'udp', address: '2001:db8::9', port: 5062 },
  });
});

t.test('reliable: back to received/sent-by with rport, sent-by port or the default', async (t) => {
  t.same(route('SIP/2.0/TCP 10.1.1.1:5070;received=192.0.2.9', rx('tcp', 4, 7)), {
    ok: true,
    target: {
      protocol: 'tcp',
      address: '192.0.2.9',
      port: 5070,
      connectionId: 7,
      socketId: 'tcp:10.0.0.1:5060',
    },
  });
  t.match(route('SIP/2.0/TLS 10.1.1.1', rx('tls')), {
    target: { address: '10.1.1.1', port: 5061 },
  });
  t.match(route('SIP/2.0/TCP 10.1.1.1;received=192.0.2.9;rport=41000', rx('tcp')), {
    target: { port: 41000 },
  });
});

t.test('WebSocket: no connection, no way back (RFC 7118)', async (t) => {
  t.match(route('SIP/2.0/WSS abc.invalid;received=192.0.2.9', rx('wss', 4, 3)), {
    ok: false,
    reason: /wss connection of the request is closed/,
  });
});

t.test('a response without a Via has nowhere to go', async (t) => {
  t.same(responseRoute(undefined, rx('udp')), { ok: false, reason: 'response has no Via' });
});
