import t from 'tap';
import { SelfAddresses, uriProtocol } from '../../src/proxy/self.js';
import { parseUri, type SipUri } from '../../src/sip/index.js';
import { UDP_SOCKET } from '../helpers/proxy-fakes.js';

const sip = (u: string): SipUri => parseUri(u) as SipUri;

t.test('sockets, advertised addresses and aliases are ours', async (t) => {
  const self = new SelfAddresses(
    [{ ...UDP_SOCKET, sentByHost: '203.0.113.5', sentByPort: 5080 }],
    ['sip.example.com', '[2001:db8::1]:5070', 'EXAMPLE.net:5060', { host: 'fe80::1', port: 5090 }],
  );
  t.ok(self.isSelf('10.0.0.1', 5060));
  t.ok(self.isSelf('10.0.0.1', null), 'default port 5060');
  t.notOk(self.isSelf('10.0.0.1', 5061));
  t.ok(self.isSelf('203.0.113.5', 5080), 'advertised');
  t.ok(self.isSelf('sip.example.com', 9999), 'alias without port: any port');
  t.ok(self.isSelf('[2001:DB8::1]', 5070));
  t.ok(self.isSelf('2001:db8::1', 5070), 'IPv6 without brackets');
  t.ok(self.isSelf('example.NET', null));
  t.notOk(self.isSelf('example.net', 5061));
  t.ok(self.isSelf('[fe80::1]', 5090), 'alias object with an IPv6 host');
  t.ok(self.isSelfUri(sip('sip:10.0.0.1;lr')));
  t.notOk(self.isSelfUri(sip('sips:10.0.0.1')), 'sips defaults to 5061');
  t.notOk(self.isSelfUri(sip('sip:10.0.0.1;transport=tls')));
});

t.test('a wildcard bind answers on the local addresses', async (t) => {
  const self = new SelfAddresses([{ ...UDP_SOCKET, host: '0.0.0.0', sentByHost: '0.0.0.0' }]);
  t.ok(self.isSelf('127.0.0.1', 5060));
  self.setSockets([]);
  t.notOk(self.isSelf('127.0.0.1', 5060), 'sockets replaced');
});

t.test('uriProtocol reads the transport parameter', async (t) => {
  t.equal(uriProtocol(sip('sip:a@b;transport=TCP')), 'tcp');
  t.equal(uriProtocol(sip('sip:a@b;transport=wss')), 'wss');
  t.equal(uriProtocol(sip('sip:a@b;transport=sctp')), null);
  t.equal(uriProtocol(sip('sip:a@b')), null);
});
