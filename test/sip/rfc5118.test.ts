/**
 * IPv6 in whole messages, in the style of the RFC 5118 torture tests: references in the
 * Request-URI, Via sent-by and `received`, Contact, Route and Record-Route, the port ambiguity
 * that brackets resolve, and an unbracketed address that must be refused.
 */
import t from 'tap';
import {
  parseMessage,
  validateMessage,
  type SipRequest,
  type SipResponse,
  type Uri,
} from '../../src/sip/index.js';
import { codeOf } from '../helpers/errors.js';

const b = (lines: string[]): Buffer => Buffer.from(lines.join('\r\n'), 'latin1');

function request(ruri: string, extra: string[] = []): SipRequest {
  const msg = parseMessage(
    b([
      `REGISTER ${ruri} SIP/2.0`,
      'To: <sip:user@[2001:db8::10]>',
      'From: <sip:user@[2001:db8::10]>;tag=81x2',
      'Via: SIP/2.0/UDP [2001:db8::9:1];branch=z9hG4bKas3-111',
      'Call-ID: SSG9559905523997077@hlau_4100',
      'Max-Forwards: 70',
      'Contact: "Caller" <sip:caller@[2001:db8::9:1]:5070>',
      'CSeq: 98176 REGISTER',
      ...extra,
      'Content-Length: 0',
      '',
      '',
    ]),
  );
  if (!msg.isRequest()) {
    throw new Error('expected a request');
  }
  return msg;
}

const sipHost = (u: Uri): string => (u.kind === 'sip' ? u.host : `not sip: ${u.kind}`);
const sipPort = (u: Uri): number | null | string => (u.kind === 'sip' ? u.port : 'not sip');

t.test('a REGISTER with IPv6 references everywhere validates (RFC 5118 §4.1)', async (t) => {
  const m = request('sip:[2001:db8::10]');
  validateMessage(m, { strictAddresses: true });
  t.equal(sipHost(m.requestUri()), '[2001:db8::10]');
  t.equal(m.topVia()?.host, '[2001:db8::9:1]');
  t.equal(m.topVia()?.port, null);
  const c = m.contact();
  const first = c !== null && !c.star ? c.contacts[0] : undefined;
  t.ok(first !== undefined);
  if (first !== undefined) {
    t.equal(sipHost(first.uri), '[2001:db8::9:1]');
    t.equal(sipPort(first.uri), 5070);
    t.equal(first.displayName, 'Caller');
  }
});

t.test(
  'brackets settle the port: [a::10]:5070 has a port, [a::10:5070] has none (RFC 5118 §4.2-4.3)',
  async (t) => {
    const withPort = request('sip:[2001:db8::10]:5070');
    t.equal(sipHost(withPort.requestUri()), '[2001:db8::10]');
    t.equal(sipPort(withPort.requestUri()), 5070);
    const noPort = request('sip:[2001:db8::10:5070]');
    t.equal(sipHost(noPort.requestUri()), '[2001:db8::10:5070]');
    t.equal(sipPort(noPort.requestUri()), null);
  },
);

t.test('an IPv6 address without brackets is refused in a SIP URI (RFC 5118 §4.4)', async (t) => {
  t.equal(
    codeOf(() => {
      validateMessage(request('sip:user@2001:db8::10'));
    }),
    'SIP_ERR_REQUEST_URI',
  );
  const badTo = request('sip:[2001:db8::10]').getAll('to')[0] ?? '';
  t.equal(badTo, '<sip:user@[2001:db8::10]>');
  const unbracketedContact = request('sip:[2001:db8::10]', []);
  unbracketedContact.setHeader('Contact', '<sip:caller@2001:db8::9:1>');
  t.equal(
    codeOf(() => unbracketedContact.contact()),
    'SIP_ERR_URI',
  );
});

t.test(
  'Via received may hold a bracketed or bare IPv6 address (RFC 5118 §4.5, RFC 3261 §20.42)',
  async (t) => {
    const res = parseMessage(
      b([
        'SIP/2.0 200 OK',
        'Via: SIP/2.0/UDP [2001:db8::9:1]:5060;branch=z9hG4bKas3-111;received=[2001:db8::9:255];rport=5061',
        'Via: SIP/2.0/UDP 192.0.2.1;branch=z9hG4bKv4;received=2001:db8::9:ff',
        'To: <sip:user@[2001:db8::10]>;tag=x',
        'From: <sip:user@[2001:db8::10]>;tag=81x2',
        'Call-ID: SSG9559905523997077@hlau_4100',
        'CSeq: 98176 REGISTER',
        'Content-Length: 0',
        '',
        '',
      ]),
    ) as SipResponse;
    validateMessage(res, { strictAddresses: true });
    const [top, second] = res.vias();
    t.equal(top?.host, '[2001:db8::9:1]');
    t.equal(top?.port, 5060);
    t.equal(top?.params.get('received'), '[2001:db8::9:255]');
    t.equal(top?.params.get('rport'), '5061');
    t.equal(second?.params.get('received'), '2001:db8::9:ff');
  },
);

t.test('IPv4-mapped IPv6 and mixed IPv4/IPv6 Vias parse (RFC 5118 §4.7-4.8)', async (t) => {
  const m = request('sip:[::ffff:192.0.2.10]', [
    'Via: SIP/2.0/TCP 192.0.2.1:5060;branch=z9hG4bKv4',
  ]);
  validateMessage(m, { strictAddresses: true });
  t.equal(sipHost(m.requestUri()), '[::ffff:192.0.2.10]');
  t.same(
    m.vias().map((v) => [v.transport, v.host]),
    [
      ['UDP', '[2001:db8::9:1]'],
      ['TCP', '192.0.2.1'],
    ],
  );
});

t.test(
  'a proxy on IPv6 forwards with its own Via, Record-Route and Route handling intact',
  async (t) => {
    const m = request('sip:[2001:db8::10]', [
      'Route: <sip:[2001:db8::1]:5060;lr>, <sip:[2001:db8::2];lr>',
    ]);
    const popped = m.popRoute();
    t.equal(popped === null ? '' : sipHost(popped.uri), '[2001:db8::1]');
    m.pushVia('SIP/2.0/TCP [2001:db8::1]:5060;branch=z9hG4bKproxy');
    m.addRecordRoute('<sip:[2001:db8::1]:5060;transport=tcp;lr>');
    const again = parseMessage(m.toBuffer()) as SipRequest;
    validateMessage(again, { strictAddresses: true });
    t.equal(again.topVia()?.host, '[2001:db8::1]');
    t.equal(again.topVia()?.transport, 'TCP');
    t.equal(again.vias().length, 2);
    t.same(
      again.routes().map((r) => sipHost(r.uri)),
      ['[2001:db8::2]'],
    );
    const rr = again.recordRoutes()[0];
    t.equal(rr === undefined ? '' : sipPort(rr.uri), 5060);
  },
);
