import t from 'tap';
import {
  createResponse,
  parseMessage,
  reasonPhrase,
  type SipRequest,
  type SipResponse,
} from '../../src/sip/index.js';
import { INVITE } from '../fixtures/messages.js';

const parseReq = (s: string): SipRequest => parseMessage(Buffer.from(s, 'latin1')) as SipRequest;

t.test(
  'createResponse copies Via, From, Call-ID and CSeq byte for byte (RFC 3261 §8.2.6.2)',
  async (t) => {
    const req = parseReq(INVITE);
    const res = createResponse(req, 486, { toTag: 'abc' });
    const text = res.toString();
    t.ok(text.startsWith('SIP/2.0 486 Busy Here\r\n'));
    for (const h of req.headers.filter((h) =>
      ['via', 'from', 'call-id', 'cseq'].includes(h.name),
    )) {
      t.ok(text.includes(`${h.raw ?? ''}\r\n`), `${h.name} copied verbatim`);
    }
    t.notOk(text.includes('Route:'), 'Route is not copied');
    t.notOk(text.includes('Contact:'), 'Contact is not copied');
    t.ok(text.endsWith('Content-Length: 0\r\n\r\n'));
    const again = parseMessage(res.toBuffer()) as SipResponse;
    t.equal(again.status, 486);
    t.equal(again.toTag(), 'abc');
    t.equal(again.vias().length, 2);
    t.equal(again.callId(), req.callId());
  },
);

t.test('createResponse adds a To tag except on 100 Trying (RFC 3261 §8.2.6.2)', async (t) => {
  const req = parseReq(INVITE);
  t.equal(createResponse(req, 100).toTag(), null);
  const tag = createResponse(req, 180).toTag();
  t.ok(tag !== null && tag.length >= 16, 'a random tag of at least 96 bits');
  const tagged = parseReq(
    INVITE.replace(
      'To: Bob <sip:bob@biloxi.example.com>',
      'To: Bob <sip:bob@biloxi.example.com>;tag=existing',
    ),
  );
  t.equal(createResponse(tagged, 200).toTag(), 'existing', 'an existing tag is kept');
});

t.test('createResponse takes a reason, extra headers and a body', async (t) => {
  const req = parseReq(INVITE);
  const res = createResponse(req, 401, {
    reason: 'Unauthorized Here',
    headers: [['WWW-Authenticate', 'Digest realm="biloxi.example.com", nonce="n"']],
    body: Buffer.from('{}'),
    contentType: 'application/json',
  });
  t.equal(res.reason, 'Unauthorized Here');
  t.equal(res.get('www-authenticate'), 'Digest realm="biloxi.example.com", nonce="n"');
  const again = parseMessage(res.toBuffer());
  t.equal(again.body.toString(), '{}');
  t.equal(again.get('content-type'), 'application/json');
});

t.test('reasonPhrase knows RFC 3261 §21 phrases and falls back per class', async (t) => {
  t.equal(reasonPhrase(200), 'OK');
  t.equal(reasonPhrase(483), 'Too Many Hops');
  t.equal(reasonPhrase(199), 'Early Dialog Terminated');
  t.equal(reasonPhrase(150), 'Progress');
  t.equal(reasonPhrase(299), 'OK');
  t.equal(reasonPhrase(399), 'Redirection');
  t.equal(reasonPhrase(499), 'Client Error');
  t.equal(reasonPhrase(599), 'Server Error');
  t.equal(reasonPhrase(699), 'Global Failure');
});

t.test('a request whose To does not parse still gets a response with a To tag', async (t) => {
  const bad = parseMessage(
    Buffer.from(
      'INVITE sip:a@b SIP/2.0\r\nVia: SIP/2.0/UDP 192.0.2.1;branch=z9hG4bKx\r\n' +
        'From: <sip:c@d>;tag=1\r\nTo: Bob, Jr <sip:a@b>\r\nCall-ID: x\r\nCSeq: 1 INVITE\r\n' +
        'Max-Forwards: 70\r\nContent-Length: 0\r\n\r\n',
      'latin1',
    ),
  ) as SipRequest;
  t.throws(() => bad.toTag(), 'the To value itself is malformed');
  const res = createResponse(bad, 400, { toTag: 'fixed' });
  t.equal(res.get('to'), 'Bob, Jr <sip:a@b>;tag=fixed');
  const tagged = parseMessage(
    Buffer.from(
      'INVITE sip:a@b SIP/2.0\r\nVia: SIP/2.0/UDP 192.0.2.1;branch=z9hG4bKy\r\n' +
        'From: <sip:c@d>;tag=1\r\nTo: Bob, Jr <sip:a@b>;tag=9\r\nCall-ID: y\r\nCSeq: 1 INVITE\r\n' +
        'Max-Forwards: 70\r\nContent-Length: 0\r\n\r\n',
      'latin1',
    ),
  ) as SipRequest;
  t.equal(createResponse(tagged, 400).get('to'), 'Bob, Jr <sip:a@b>;tag=9', 'existing tag kept');
});
