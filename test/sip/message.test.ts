import t from 'tap';
import { createResponse, parseMessage, SipRequest, type SipResponse } from '../../src/sip/index.js';
import { INVITE } from '../fixtures/messages.js';

const b = (s: string): Buffer => Buffer.from(s, 'latin1');
const parseReq = (s: string): SipRequest => parseMessage(b(s)) as SipRequest;

/** Lines of a serialized message's header block. */
function lines(buf: Buffer): string[] {
  const text = buf.toString('latin1');
  return text.slice(0, text.indexOf('\r\n\r\n')).split('\r\n');
}

t.test(
  'pushVia adds the new Via on top and leaves the others byte-identical (RFC 3261 §16.6 item 8)',
  async (t) => {
    const m = parseReq(INVITE);
    m.pushVia('SIP/2.0/UDP 203.0.113.1;branch=z9hG4bKproxy1');
    const out = lines(m.toBuffer());
    t.equal(out[1], 'Via: SIP/2.0/UDP 203.0.113.1;branch=z9hG4bKproxy1');
    t.equal(out[2], 'Via: SIP/2.0/UDP pc33.atlanta.example.com:5060;branch=z9hG4bK776asdhds;rport');
    t.equal(m.topVia()?.params.get('branch'), 'z9hG4bKproxy1');
    t.equal(m.vias().length, 3);
  },
);

t.test(
  'popVia removes the top Via value, splitting a multi-value line (RFC 3261 §16.7 item 3)',
  async (t) => {
    const m = parseReq(
      'SIP/2.0 200 OK\r\nVia: SIP/2.0/UDP a;branch=z9hG4bK1, SIP/2.0/UDP b;branch=z9hG4bK2\r\nVia: SIP/2.0/TCP c;branch=z9hG4bK3\r\nl: 0\r\n\r\n'.replace(
        'SIP/2.0 200 OK',
        'OPTIONS sip:x SIP/2.0',
      ),
    );
    const first = m.popVia();
    t.equal(first?.host, 'a');
    t.equal(m.topVia()?.host, 'b');
    t.same(lines(m.toBuffer()).slice(1, 3), [
      'Via: SIP/2.0/UDP b;branch=z9hG4bK2',
      'Via: SIP/2.0/TCP c;branch=z9hG4bK3',
    ]);
    t.equal(m.popVia()?.host, 'b');
    t.equal(m.popVia()?.host, 'c');
    t.equal(m.popVia(), null);
    t.equal(m.vias().length, 0);
  },
);

t.test(
  'decrementMaxForwards lowers the value, or adds 69 when absent (RFC 3261 §16.6 item 3)',
  async (t) => {
    const m = parseReq(INVITE);
    t.equal(m.decrementMaxForwards(), 69);
    t.equal(m.maxForwards(), 69);
    t.ok(lines(m.toBuffer()).includes('Max-Forwards: 69'));
    const bare = parseReq('OPTIONS sip:x SIP/2.0\r\nl: 0\r\n\r\n');
    t.equal(bare.maxForwards(), null);
    t.equal(bare.decrementMaxForwards(), 69);
    t.equal(bare.get('max-forwards'), '69');
    const zero = parseReq('OPTIONS sip:x SIP/2.0\r\nMax-Forwards: 0\r\n\r\n');
    t.equal(zero.decrementMaxForwards(), 0, 'never goes negative');
  },
);

t.test('popRoute removes our loose-route entry (RFC 3261 §16.4)', async (t) => {
  const m = parseReq(INVITE);
  const r = m.popRoute();
  t.ok(r?.uri.kind === 'sip' && r.uri.host === 'proxy.example.com');
  t.equal(m.has('route'), false);
  t.equal(m.routes().length, 0);
  t.notOk(m.toString().includes('Route: <sip:proxy'));
  t.equal(m.popRoute(), null);
});

t.test('popRoute keeps the rest of a multi-value Route line', async (t) => {
  const m = parseReq(
    'OPTIONS sip:x SIP/2.0\r\nRoute: <sip:a;lr>, <sip:b;lr>\r\nRoute: <sip:c;lr>\r\nl: 0\r\n\r\n',
  );
  t.equal(m.routes().length, 3);
  m.popRoute();
  t.same(
    m.routes().map((r) => (r.uri.kind === 'sip' ? r.uri.host : '')),
    ['b', 'c'],
  );
  t.same(m.getAll('route'), ['<sip:b;lr>', '<sip:c;lr>']);
});

t.test('popRoute on a multi-value line not parsed before keeps the rest of it', async (t) => {
  const m = parseReq(
    'OPTIONS sip:x SIP/2.0\r\nRoute: <sip:a;lr>, <sip:b;lr>\r\nRoute: <sip:c;lr>\r\nl: 0\r\n\r\n',
  );
  const first = m.popRoute();
  t.equal(first?.uri.kind === 'sip' ? first.uri.host : '', 'a');
  t.same(m.getAll('route'), ['<sip:b;lr>', '<sip:c;lr>']);
  const second = m.popRoute();
  t.equal(second?.uri.kind === 'sip' ? second.uri.host : '', 'b');
  // The line that held one value is gone whole; the next Route line is now first.
  t.same(m.getAll('route'), ['<sip:c;lr>']);
  t.same(
    m.routes().map((r) => (r.uri.kind === 'sip' ? r.uri.host : '')),
    ['c'],
  );
  t.notOk(m.toString().includes('sip:b'));
});

t.test('addRecordRoute and addRoute put new entries where RFC 3261 §16.6 wants them', async (t) => {
  const m = parseReq(INVITE);
  m.addRecordRoute('<sip:203.0.113.1;lr>');
  t.same(m.getAll('record-route'), ['<sip:203.0.113.1;lr>', '<sip:edge.atlanta.example.com;lr>']);
  t.equal(m.recordRoutes().length, 2);
  m.addRoute('<sip:last;lr>', 'bottom');
  m.addRoute('<sip:first;lr>');
  t.same(m.getAll('route'), ['<sip:first;lr>', '<sip:proxy.example.com;lr>', '<sip:last;lr>']);
  const bare = parseReq('OPTIONS sip:x SIP/2.0\r\nl: 0\r\n\r\n');
  bare.addRoute('<sip:only;lr>');
  t.same(bare.getAll('route'), ['<sip:only;lr>']);
});

t.test(
  'setUri rewrites the Request-URI and keeps every header byte (RFC 3261 §16.6 item 2)',
  async (t) => {
    const m = parseReq(INVITE);
    const before = lines(m.toBuffer()).slice(1);
    m.setUri('sip:bob@192.0.2.4:5062');
    const out = lines(m.toBuffer());
    t.equal(out[0], 'INVITE sip:bob@192.0.2.4:5062 SIP/2.0');
    t.same(out.slice(1), before);
    const uri = m.requestUri();
    t.ok(uri.kind === 'sip' && uri.port === 5062);
  },
);

t.test('add, set and remove headers by any spelling of the name', async (t) => {
  const m = parseReq(INVITE);
  m.addHeader('X-Trace', 'one');
  m.addHeader('x-trace', 'two');
  m.addHeader('X-Trace', 'zero', 'top');
  t.same(m.getAll('X-TRACE'), ['zero', 'one', 'two']);
  m.setHeader('x-trace', 'only');
  t.same(m.getAll('x-trace'), ['only']);
  t.equal(m.removeHeader('X-Trace'), 1);
  t.equal(m.removeHeader('X-Trace'), 0);
  m.setHeader('Subject', 'new');
  t.ok(lines(m.toBuffer()).includes('Subject: new'));
  m.setHeader('i', 'replaced-call-id');
  t.equal(m.callId(), 'replaced-call-id', 'the cache follows a rewrite');
});

t.test('header caches are invalidated by every mutation', async (t) => {
  const m = parseReq(INVITE);
  t.equal(m.cseq().seq, 314159);
  m.setHeader('CSeq', '5 INVITE');
  t.equal(m.cseq().seq, 5);
  t.equal(m.fromTag(), '1928301774');
  m.setHeader('From', '<sip:x@y>;tag=new');
  t.equal(m.fromTag(), 'new');
  m.setHeader('To', '<sip:x@y>;tag=t2');
  t.equal(m.toTag(), 't2');
  m.removeHeader('Contact');
  t.equal(m.contact(), null);
  m.setHeader('Max-Forwards', '3');
  t.equal(m.maxForwards(), 3);
});

t.test('setBody updates Content-Length and Content-Type', async (t) => {
  const m = parseReq(INVITE);
  m.setBody('hello', 'text/plain');
  t.equal(m.get('content-length'), '5');
  t.equal(m.get('content-type'), 'text/plain');
  t.ok(m.toString().endsWith('\r\n\r\nhello'));
  m.setBody(Buffer.alloc(0));
  t.equal(m.has('content-type'), false);
  t.equal(m.get('content-length'), '0');
  const again = parseMessage(m.toBuffer());
  t.equal(again.body.length, 0);
});

t.test('serialization always writes a correct Content-Length', async (t) => {
  const noLength = parseReq('MESSAGE sip:x SIP/2.0\r\nTo: <sip:x>\r\n\r\nbody!');
  noLength.setHeader('Subject', 's');
  t.ok(noLength.toString().includes('Content-Length: 5\r\n'), 'added when absent');
  const wrong = parseReq('MESSAGE sip:x SIP/2.0\r\nl: 5\r\nContent-Length: 5\r\n\r\nbody!');
  wrong.body = Buffer.from('four');
  wrong.setHeader('Subject', 's');
  const text = wrong.toString();
  t.equal(text.match(/Content-Length/g)?.length, 1, 'duplicates collapse to one');
  t.ok(text.includes('Content-Length: 4\r\n'));
  // Assigning the body alone changes the message too: the received bytes are not reused.
  const assigned = parseReq('MESSAGE sip:x SIP/2.0\r\nContent-Length: 5\r\n\r\nbody!');
  assigned.body = Buffer.from('four');
  t.equal(assigned.toString(), 'MESSAGE sip:x SIP/2.0\r\nContent-Length: 4\r\n\r\nfour');
});

t.test('a message built in code serializes with canonical header spellings', async (t) => {
  const m = new SipRequest('OPTIONS', 'sip:a@b', []);
  m.addHeader('call-id', 'x');
  m.addHeader('cseq', '1 OPTIONS');
  m.addHeader('www-authenticate', 'Digest realm="r"');
  m.addHeader('max-forwards', '70');
  t.equal(
    m.toString(),
    'OPTIONS sip:a@b SIP/2.0\r\nCall-ID: x\r\nCSeq: 1 OPTIONS\r\nWWW-Authenticate: Digest realm="r"\r\nMax-Forwards: 70\r\nContent-Length: 0\r\n\r\n',
  );
});

t.test('a forwarded request parses back to the same fields (round trip)', async (t) => {
  const m = parseReq(INVITE);
  m.pushVia('SIP/2.0/TCP [2001:db8::1]:5060;branch=z9hG4bKv6');
  m.decrementMaxForwards();
  m.popRoute();
  m.addRecordRoute('<sip:[2001:db8::1];lr>');
  const again = parseMessage(m.toBuffer()) as SipRequest;
  t.equal(again.method, 'INVITE');
  t.equal(again.callId(), m.callId());
  t.same(again.cseq(), m.cseq());
  t.equal(again.fromTag(), m.fromTag());
  t.equal(again.topVia()?.host, '[2001:db8::1]');
  t.equal(again.vias().length, 3);
  t.equal(again.maxForwards(), 69);
  t.equal(again.routes().length, 0);
  t.ok(again.body.equals(m.body));
});

t.test('setStatus rewrites a response status line', async (t) => {
  const req = parseReq(INVITE);
  const res: SipResponse = createResponse(req, 503);
  res.setStatus(500, 'Server Internal Error');
  t.ok(res.toString().startsWith('SIP/2.0 500 Server Internal Error\r\n'));
});

t.test(
  'header names and values that would break the message are refused (no header injection)',
  async (t) => {
    const m = parseReq(INVITE);
    t.throws(
      () => {
        m.addHeader('X-Evil', 'a\r\nVia: SIP/2.0/UDP attacker');
      },
      {
        code: 'TANDEM_ERR_INVALID_ARGUMENT',
      },
    );
    t.throws(
      () => {
        m.setHeader('Subject', 'line\nbreak');
      },
      { code: 'TANDEM_ERR_INVALID_ARGUMENT' },
    );
    t.throws(
      () => {
        m.addHeader('Bad Name', 'v');
      },
      { code: 'TANDEM_ERR_INVALID_ARGUMENT' },
    );
    t.throws(
      () => {
        m.addHeader('X:Y', 'v');
      },
      { code: 'TANDEM_ERR_INVALID_ARGUMENT' },
    );
    t.throws(
      () => {
        m.setUri('sip:a@b\r\nX: y');
      },
      { code: 'TANDEM_ERR_INVALID_ARGUMENT' },
    );
    t.throws(
      () => {
        m.setUri('sip:a@b c');
      },
      { code: 'TANDEM_ERR_INVALID_ARGUMENT' },
    );
    t.throws(
      () => {
        m.setUri('');
      },
      { code: 'TANDEM_ERR_INVALID_ARGUMENT' },
    );
    const res = createResponse(m, 200);
    t.throws(
      () => {
        res.setStatus(700, 'Nope');
      },
      { code: 'TANDEM_ERR_INVALID_ARGUMENT' },
    );
    t.throws(
      () => {
        res.setStatus(200.5, 'OK');
      },
      { code: 'TANDEM_ERR_INVALID_ARGUMENT' },
    );
    t.throws(
      () => {
        res.setStatus(200, 'OK\r\nX: y');
      },
      { code: 'TANDEM_ERR_INVALID_ARGUMENT' },
    );
    t.equal(m.toString(), parseReq(INVITE).toString(), 'nothing was changed by the refused calls');
  },
);
