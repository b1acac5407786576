import t from 'tap';
import {
  boundedNumberB,
  bytesOf,
  hostHadUpper,
  isIPv4B,
  scanHostB,
  scanQuotedB,
  scanSetB,
} from '../../src/sip/bytes.js';
import { TOKEN } from '../../src/sip/chars.js';
import { HeaderField, RawSource } from '../../src/sip/header-field.js';
import { parseCSeq } from '../../src/sip/headers/cseq.js';
import { parseVia } from '../../src/sip/headers/via.js';
import { parseParams } from '../../src/sip/params.js';
import { parseUri } from '../../src/sip/uri.js';
import {
  parseMessage,
  SipRequest,
  validateRequest,
  type SipResponse,
} from '../../src/sip/index.js';
import { codeOf } from '../helpers/errors.js';

const host = (s: string): number => scanHostB(s, bytesOf(s), 0, s.length);
const req = (text: string): SipRequest => parseMessage(Buffer.from(text, 'latin1')) as SipRequest;

t.test('bytesOf gives one byte per character and turns wider characters into LF', async (t) => {
  t.same([...bytesOf('a\xe9b')], [0x61, 0xe9, 0x62]);
  t.same([...bytesOf('a€b')], [0x61, 0x0a, 0x62]);
  // Wherever a grammar refused a character above 0xFF, it still does.
  t.throws(() => parseParams(';x="a€"', 0), { code: 'SIP_ERR_PARAM' });
  t.throws(() => parseVia('SIP/2.0/UDP h€st'), { code: 'SIP_ERR_VIA' });
  t.equal(scanQuotedB(bytesOf('"a\\€"'), 0, 5), -2);
});

t.test('scanSetB stops at the first byte outside the set, wherever it falls', async (t) => {
  // Four bytes a round, then one at a time: a stop at every offset of a round and of the tail.
  for (let len = 0; len <= 11; len++) {
    for (let stop = 0; stop <= len; stop++) {
      const text = 'a'.repeat(stop) + (stop < len ? ' ' + 'b'.repeat(len - stop - 1) : '');
      t.equal(scanSetB(bytesOf(text), 0, len, TOKEN), stop, `${len}:${stop}`);
    }
  }
  // From an offset, and never past the end of the range it is given.
  const b = bytesOf('xx tokentoken rest');
  t.equal(scanSetB(b, 3, 18, TOKEN), 13);
  t.equal(scanSetB(b, 3, 9, TOKEN), 9);
  t.equal(scanSetB(b, 3, 3, TOKEN), 3);
});

t.test('the byte scanners bound every read by the range they are given', async (t) => {
  t.equal(boundedNumberB(bytesOf('5060'), 0, 4, 65535), 5060);
  t.equal(boundedNumberB(bytesOf('70000'), 0, 5, 65535), -1);
  t.equal(boundedNumberB(bytesOf('50a0'), 0, 4, 65535), -1);
  t.equal(boundedNumberB(bytesOf('1'), 0, 0, 9), -1, 'empty');
  t.ok(isIPv4B(bytesOf('192.0.2.1'), 0, 9));
  for (const bad of [
    '192.0.2',
    '192.0.2.1.5',
    '1..2.3',
    '256.0.0.1',
    '1.2.3.4a',
    '1234.0.0.1',
    '1.2.3.',
  ]) {
    t.notOk(isIPv4B(bytesOf(bad), 0, bad.length), bad);
  }
  t.equal(host('example.com;x'), 11);
  t.equal(host('Example.COM'), 11);
  t.ok(hostHadUpper, 'upper case noticed');
  t.equal(host('example.com.'), 12, 'a fully qualified name may end in a dot');
  t.equal(host('[2001:db8::1]:5060'), 13);
  t.equal(host('[2001:db8::1'), -1);
  t.equal(host('[2001:db8:::1]'), -1);
  for (const bad of ['', '-a.com', 'a-.com', 'a..com', '1.2.3', 'example.1com']) {
    t.equal(host(bad), -1, JSON.stringify(bad));
  }
  // A range that ends inside a longer host stops there.
  t.equal(scanHostB('a.example.com', bytesOf('a.example.com'), 0, 1), 1);
  t.equal(scanHostB('ab', bytesOf('ab'), 2, 2), -1, 'nothing left to scan');
});

t.test('header names are recognised in any case and in compact form', async (t) => {
  const m = req(
    'OPTIONS sip:x SIP/2.0\r\nVIA: SIP/2.0/UDP h\r\nv :SIP/2.0/UDP g\r\ncall-ID: c\r\ni: d\r\n' +
      'T : <sip:t@x>\r\nf:<sip:f@x>\r\nContent-length: 0\r\nViable: no\r\nX-Custom: 1\r\n' +
      'MAX-FORWARDS: 9\r\nCSeq: 1 OPTIONS\r\nm: <sip:c@h>\r\n\r\n',
  );
  t.same(
    m.headers.map((h) => h.name),
    [
      'via',
      'via',
      'call-id',
      'call-id',
      'to',
      'from',
      'content-length',
      'viable',
      'x-custom',
      'max-forwards',
      'cseq',
      'contact',
    ],
  );
  t.equal(m.vias()[1]?.host, 'g');
  t.equal(m.maxForwards(), 9);
  // A CR inside a name is not a "-".
  t.equal(
    codeOf(() => req('OPTIONS sip:x SIP/2.0\r\nCall\rID: c\r\n\r\n')),
    'SIP_ERR_HEADER_SYNTAX',
  );
});

t.test('a field whose source text does not start at byte 0 is read as a string', async (t) => {
  const buf = Buffer.from('\r\nVia: SIP/2.0/UDP h;branch=z9hG4bK1 \r\n', 'latin1');
  const src = new RawSource(buf, 2, buf.toString('latin1', 2));
  const f = HeaderField.received('via', src, 0, 34, 3);
  t.equal(f.valueFrom, -1);
  t.equal(f.value, 'SIP/2.0/UDP h;branch=z9hG4bK1');
  t.equal(f.raw, 'Via: SIP/2.0/UDP h;branch=z9hG4bK1');

  const m = new SipRequest('MESSAGE', 'sip:x', []);
  m.receivedBody(src, 7, 10);
  t.equal(m.body.toString('latin1'), 'SIP', 'buffer offsets');
  t.equal(m.contentLength(), 3);
  m.receivedUriAt(src, 0);
  t.equal(m.requestUri().kind, 'sip', 'the URI text is parsed instead');
});

t.test('values built in code, or unfolded, are parsed from their strings', async (t) => {
  const m = new SipRequest('REGISTER', 'sip:registrar.example.com', []);
  m.addHeader('Via', 'SIP/2.0/TCP client.example.com;branch=z9hG4bK7');
  m.addHeader('Max-Forwards', '70');
  m.addHeader('From', '"Bob" <sip:bob@example.com>;tag=a1');
  m.addHeader('To', 'Bob <sip:bob@example.com>');
  m.addHeader('Call-ID', 'x@y');
  m.addHeader('CSeq', '2 REGISTER');
  m.addHeader('Contact', '<sip:bob@192.0.2.4>;expires=60, <sip:bob@192.0.2.5>');
  m.addHeader('Route', '<sip:p1.example.com;lr>, <sip:p2.example.com;lr>');
  validateRequest(m);
  t.equal(m.topVia()?.transport, 'TCP');
  t.equal(m.fromTag(), 'a1');
  t.equal(m.toTag(), null);
  t.equal(m.from().displayName, 'Bob');
  t.equal(m.callId(), 'x@y');
  t.same(m.cseq(), { seq: 2, method: 'REGISTER' });
  t.equal(m.maxForwards(), 70);
  const c = m.contact();
  t.equal(c !== null && !c.star ? c.contacts.length : 0, 2);
  const first = m.popRoute();
  t.equal(first?.uri.kind === 'sip' ? first.uri.host : '', 'p1.example.com');
  t.equal(m.get('route'), '<sip:p2.example.com;lr>');

  const folded = req(
    'INVITE sip:x@y SIP/2.0\r\nVia: SIP/2.0/UDP\r\n h.example.com;branch=z9hG4bK1\r\nMax-Forwards: 7\r\n' +
      'From: <sip:a@b>\r\n ;tag=f\r\nTo: <sip:c@d>\r\nCall-ID:\r\n abc\r\nCSeq: 3\r\n INVITE\r\n' +
      'Content-Length:\r\n 2\r\n\r\nhi',
  );
  validateRequest(folded);
  t.equal(folded.topVia()?.host, 'h.example.com');
  t.equal(folded.fromTag(), 'f');
  t.equal(folded.callId(), 'abc');
  t.same(folded.cseq(), { seq: 3, method: 'INVITE' });
  folded.setHeader('Subject', 's');
  t.ok(folded.toString().endsWith('Content-Length:\r\n 2\r\nSubject: s\r\n\r\nhi'), 'kept');
});

t.test(
  'start lines of the usual shapes and every other shape give the same verdicts',
  async (t) => {
    const res = (line: string): SipResponse =>
      parseMessage(Buffer.from(`${line}\r\nContent-Length: 0\r\n\r\n`, 'latin1')) as SipResponse;
    t.equal(res('SIP/2.0 200').reason, '');
    t.equal(res('SIP/2.0 200 ').reason, '');
    t.equal(res('SIP/2.0 486 Busy Here').status, 486);
    t.equal(res('sip/2.0 200 OK').status, 200, 'a lower-case version takes the general path');
    t.equal(
      codeOf(() => res('SIP/2.0 200 O\x01K')),
      'SIP_ERR_START_LINE',
    );
    t.equal(
      codeOf(() => res('SIP/2.0 099 Low')),
      'SIP_ERR_STATUS_CODE',
    );
    t.equal(
      codeOf(() => res('SIP/2.0 700 High')),
      'SIP_ERR_STATUS_CODE',
    );
    t.equal(
      codeOf(() => res('SIP/2.0 2x0 Bad')),
      'SIP_ERR_STATUS_CODE',
    );
    t.equal(
      codeOf(() => res('SIP/2.0 2000 Long')),
      'SIP_ERR_STATUS_CODE',
    );

    const line = (l: string): string =>
      codeOf(() => parseMessage(Buffer.from(`${l}\r\nContent-Length: 0\r\n\r\n`, 'latin1')), 'ok');
    t.equal(line('FOO sip:x SIP/2.0'), 'ok');
    t.equal(line('INVITE  sip:x SIP/2.0'), 'SIP_ERR_START_LINE');
    t.equal(line('INVITE sip:x SIP/2.0 '), 'SIP_ERR_START_LINE');
    t.equal(line('INVITE sip:x SIP/3.0'), 'SIP_ERR_VERSION');
    t.equal(line('INVITE sip:x sip/2.0'), 'ok');
    t.equal(line('IN(VITE sip:x SIP/2.0'), 'SIP_ERR_METHOD');
    t.equal(req('INVITX sip:x SIP/2.0\r\n\r\n').method, 'INVITX');
    for (const method of ['INVITE', 'ACK', 'BYE', 'CANCEL', 'OPTIONS', 'REGISTER', 'PRACK']) {
      t.equal(req(`${method} sip:x SIP/2.0\r\nl: 0\r\n\r\n`).method, method);
    }
    for (const method of ['SUBSCRIBE', 'NOTIFY', 'PUBLISH', 'INFO', 'REFER', 'MESSAGE', 'UPDATE']) {
      t.equal(parseCSeq(`1 ${method}`).method, method);
    }
    t.equal(parseCSeq('1 INVITX').method, 'INVITX');
  },
);

t.test('Via transports, parameters and their checks', async (t) => {
  for (const tr of [
    'UDP',
    'TCP',
    'TLS',
    'SCTP',
    'WS',
    'WSS',
    'UDX',
    'TLX',
    'TCX',
    'WX',
    'SCTX',
    'WSX',
    'QUIC',
  ]) {
    t.equal(parseVia(`SIP/2.0/${tr} h`).transport, tr);
  }
  t.equal(parseVia('SIP/2.0/tcp h').transport, 'TCP');
  t.equal(parseVia('SIP/2.0/UDP h;received=192.0.2.1').params.get('received'), '192.0.2.1');
  t.equal(parseVia('SIP/2.0/UDP h;received=2001:db8::1').params.get('received'), '2001:db8::1');
  t.equal(parseVia('SIP/2.0/UDP h;received=[2001:db8::1];rport=5060').port, null);
  t.equal(parseVia('SIP/2.0/UDP h;ttl=16;maddr=239.1.1.1').params.get('ttl'), '16');
  for (const bad of [
    'SIP/2.0/UDP h;branch="x"',
    'SIP/2.0/UDP h;received=nope',
    'SIP/2.0/UDP h;received=[2001:db8::1',
    'SIP/2.0/UDP h;rport=x',
    'SIP/2.0/UDP h;ttl=256',
    'SIP/2.0/UDP h;ttl',
    'SIP/2.0/UDP h;maddr=a..b',
    'SIP/2.0/UDP h;maddr',
    'SIP/2.0/UDP h:70000',
  ]) {
    t.equal(
      codeOf(() => parseVia(bad)),
      'SIP_ERR_VIA',
      bad,
    );
  }
});

t.test('URI parameter names are case-insensitive constants when common', async (t) => {
  const u = parseUri('sip:h;LR;Transport=TCP;%6C%72;x');
  t.same(u.kind === 'sip' ? [...u.params] : [], [
    ['lr', null],
    ['transport', 'TCP'],
    ['x', null],
  ]);
});
