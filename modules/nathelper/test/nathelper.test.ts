/**
 * nathelper: NAT detection tests, Contact and REGISTER fixing, and the keep-alive pinger
 * (OPTIONS counted until a dead binding is removed, CRLF, sharing-tag gating).
 */
import t from 'tap';
import { silentLogger } from '../../../src/core/logger.js';
import type {
  SipOriginator,
  ScriptContext,
  UacRequest,
  UacResult,
} from '../../../src/module/index.js';
import { parseMessage, type SipRequest } from '../../../src/sip/index.js';
import type { SendTarget } from '../../../src/transport/types.js';
import { contactInput, MemoryLocation } from '../../registrar/test/memory-location.js';
import { ContactFlags, RECEIVED_VAR, type ContactInput } from '../../usrloc/api.js';
import { fixNatedContact, isPrivateAddress, natUacTest, NatTest, receivedUri } from '../detect.js';
import { Pinger } from '../ping.js';

function invite(contact: string, via = '192.168.1.20:5060', sdp = ''): SipRequest {
  const text =
    'INVITE sip:bob@example.com SIP/2.0\r\n' +
    `Via: SIP/2.0/UDP ${via};branch=z9hG4bKnat1;rport\r\n` +
    'Max-Forwards: 70\r\nFrom: <sip:alice@example.com>;tag=a\r\nTo: <sip:bob@example.com>\r\n' +
    'Call-ID: nat-1\r\nCSeq: 1 INVITE\r\n' +
    `Contact: ${contact}\r\n` +
    (sdp === '' ? '' : 'Content-Type: application/sdp\r\n') +
    `Content-Length: ${String(sdp.length)}\r\n\r\n${sdp}`;
  return parseMessage(Buffer.from(text, 'latin1')) as SipRequest;
}

function ctxOf(msg: SipRequest, src = '203.0.113.7', port = 40312, proto = 'udp'): ScriptContext {
  const vars = new Map<string, unknown>();
  return {
    msg,
    src_ip: src,
    src_port: port,
    proto,
    vars,
    method: msg.method,
  } as unknown as ScriptContext;
}

t.test('private addresses', async (t) => {
  for (const a of [
    '10.1.2.3',
    '172.16.0.1',
    '172.31.255.255',
    '192.168.0.1',
    '100.64.0.1',
    'fd00::1',
    '[fe80::1]',
  ]) {
    t.ok(isPrivateAddress(a), a);
  }
  for (const a of ['172.32.0.1', '8.8.8.8', '100.128.0.1', '2001:db8::1', 'example.com']) {
    t.notOk(isPrivateAddress(a), a);
  }
});

t.test('nat_uac_test finds each sign of NAT it is asked for', async (t) => {
  const behind = ctxOf(invite('<sip:alice@192.168.1.20:5060>'));
  t.ok(natUacTest(behind), 'default tests');
  t.ok(natUacTest(behind, NatTest.CONTACT_PRIVATE));
  t.ok(natUacTest(behind, NatTest.VIA_RECEIVED));
  t.ok(natUacTest(behind, NatTest.VIA_PRIVATE));
  t.ok(natUacTest(behind, NatTest.VIA_PORT));
  t.ok(natUacTest(behind, NatTest.CONTACT_SOURCE));
  t.notOk(natUacTest(behind, NatTest.SOURCE_PRIVATE));
  t.notOk(natUacTest(behind, NatTest.SDP_PRIVATE), 'no SDP');
  const sdp = 'v=0\r\no=- 1 1 IN IP4 192.168.1.20\r\ns=-\r\nc=IN IP4 192.168.1.20\r\nt=0 0\r\n';
  t.ok(natUacTest(ctxOf(invite('<sip:a@x>', '203.0.113.7:40312', sdp)), NatTest.SDP_PRIVATE));
  const direct = ctxOf(invite('<sip:alice@203.0.113.7:40312>', '203.0.113.7:40312'));
  t.notOk(natUacTest(direct), 'a public UA is not NATed');
  t.ok(natUacTest(ctxOf(invite('<sip:a@10.0.0.1>'), '10.9.9.9'), NatTest.SOURCE_PRIVATE));
});

t.test('fix_nated_contact and fix_nated_register', async (t) => {
  const ctx = ctxOf(invite('"Alice" <sip:alice@192.168.1.20:5060;transport=udp>;expires=60'));
  t.ok(fixNatedContact(ctx));
  t.equal(ctx.msg.get('contact'), '"Alice" <sip:alice@203.0.113.7:40312;transport=udp>;expires=60');
  const star = ctxOf(
    parseMessage(
      Buffer.from(
        'REGISTER sip:example.com SIP/2.0\r\nVia: SIP/2.0/UDP 10.0.0.1;branch=z9hG4bKx\r\nMax-Forwards: 70\r\n' +
          'From: <sip:a@example.com>;tag=1\r\nTo: <sip:a@example.com>\r\nCall-ID: s\r\nCSeq: 1 REGISTER\r\n' +
          'Contact: *\r\nExpires: 0\r\nContent-Length: 0\r\n\r\n',
        'latin1',
      ),
    ) as SipRequest,
  );
  t.notOk(fixNatedContact(star), 'nothing to fix in Contact: *');
  t.equal(receivedUri(ctx), 'sip:203.0.113.7:40312');
  t.equal(
    receivedUri(ctxOf(ctx.msg, '2001:db8::7', 5061, 'tls')),
    'sips:[2001:db8::7]:5061;transport=tls',
  );
  t.equal(
    receivedUri(ctxOf(ctx.msg, '198.51.100.1', 443, 'wss')),
    'sips:198.51.100.1:443;transport=ws',
  );
  t.equal(RECEIVED_VAR, 'usrloc:received');
});

const NOW = 1_800_000_000_000;

/** A NATed binding registered through socket udp:127.0.0.1:5060, owned by tag vip/1. */
const binding = (uri: string, over: Partial<ContactInput> = {}): ContactInput =>
  contactInput(uri, {
    received: 'sip:203.0.113.7:40312',
    sourceAddress: '203.0.113.7',
    sourcePort: 40312,
    socket: 'udp:127.0.0.1:5060',
    expires: NOW + 3_600_000,
    flags: ContactFlags.NAT,
    owner: 'vip/1',
    ...over,
  });

class FakeSip implements SipOriginator {
  readonly requests: UacRequest[] = [];
  readonly raw: { target: SendTarget; data: Buffer }[] = [];
  answer: (r: UacRequest) => UacResult = () => ({ status: 408, response: null });

  request(r: UacRequest): Promise<UacResult> {
    this.requests.push(r);
    return Promise.resolve(this.answer(r));
  }

  sendRaw(target: SendTarget, data: Buffer): void {
    this.raw.push({ target, data });
  }
}

const flush = () => new Promise<void>((r) => setImmediate(r));

t.test('OPTIONS pings: NATed only, answered keeps, silence removes after N', async (t) => {
  const ul = new MemoryLocation(() => NOW);
  ul.save(binding('sip:alice@192.168.1.20:5060'));
  ul.save(binding('sip:alice@198.51.100.9', { flags: 0, received: null }));
  ul.save(binding('sip:alice@10.0.0.8', { path: ['<sip:edge.example.net;lr>'] }));
  const sip = new FakeSip();
  let active = true;
  ul.selects = () => active;
  const pinger = new Pinger(
    ul,
    { sip },
    { method: 'OPTIONS', all: false, maxUnanswered: 2 },
    silentLogger,
  );
  sip.answer = (r) =>
    r.uri.includes('10.0.0.8')
      ? { status: 404, response: {} as UacResult['response'] }
      : { status: 408, response: null };
  t.equal(pinger.round(), 2, 'only the NATed contacts');
  const [first, second] = sip.requests;
  t.equal(first?.method, 'OPTIONS');
  t.equal(first?.dst, 'sip:203.0.113.7:40312', 'sent to the received address');
  t.equal(first?.socketId, 'udp:127.0.0.1:5060');
  t.same(second?.routes, ['<sip:edge.example.net;lr>'], 'with a Path, along it');
  t.equal(second?.dst, null);
  await flush();
  t.equal(ul.lookup('alice@example.com').length, 3, 'one miss is not enough');
  active = false;
  t.equal(pinger.round(), 0, 'a backup node does not ping');
  active = true;
  pinger.round();
  await flush();
  t.same(
    ul
      .lookup('alice@example.com')
      .map((c) => c.uri)
      .sort(),
    ['sip:alice@10.0.0.8', 'sip:alice@198.51.100.9'],
    'the silent contact went; the one that answered 404 stays',
  );
  t.same(
    ul.removed.map((r) => r.reason),
    ['ping'],
  );
  t.same(pinger.stats, { pings_sent: 4, pings_unanswered: 2, contacts_removed: 1 });
});

t.test('CRLF keep-alives go to where the REGISTER came from', async (t) => {
  const ul = new MemoryLocation(() => NOW);
  ul.save(binding('sip:alice@192.168.1.20:5060', { protocol: 'tcp' }));
  ul.save(binding('sip:alice@192.168.1.21', { received: null, sourcePort: 5099 }));
  const sip = new FakeSip();
  const pinger = new Pinger(
    ul,
    { sip },
    { method: 'CRLF', all: false, maxUnanswered: 3 },
    silentLogger,
  );
  t.equal(pinger.round(), 2);
  t.same(
    sip.raw.map((r) => `${r.target.protocol} ${r.target.address}:${String(r.target.port)}`).sort(),
    ['tcp 203.0.113.7:40312', 'udp 203.0.113.7:5099'],
  );
  t.equal(sip.raw[0]?.data.toString(), '\r\n\r\n');
  t.equal(sip.requests.length, 0);
});
