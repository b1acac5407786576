import t from 'tap';
import { parseMessage, type SipRequest, type SipResponse } from '../../src/sip/index.js';
import { INVITE, REGISTER } from '../fixtures/messages.js';
import { codeOf } from '../helpers/errors.js';

const b = (s: string): Buffer => Buffer.from(s, 'latin1');

const OPTIONS = [
  'OPTIONS sip:carol@chicago.example.com SIP/2.0',
  'Via: SIP/2.0/UDP pc33.atlanta.example.com;branch=z9hG4bKhjhs8ass877',
  'Max-Forwards: 70',
  'To: <sip:carol@chicago.example.com>',
  'From: Alice <sip:alice@atlanta.example.com>;tag=1928301774',
  'Call-ID: a84b4c76e66710',
  'CSeq: 63104 OPTIONS',
  'Content-Length: 0',
  '',
  '',
].join('\r\n');

t.test('parseMessage reads a request line, headers and body (RFC 3261 §7.1)', async (t) => {
  const m = parseMessage(b(INVITE)) as SipRequest;
  t.equal(m.isRequest(), true);
  t.equal(m.method, 'INVITE');
  t.equal(m.uri, 'sip:bob@biloxi.example.com');
  t.equal(m.version, 'SIP/2.0');
  t.equal(m.headers.length, 15);
  t.equal(m.headers[0]?.name, 'via');
  t.equal(m.body.toString('latin1').startsWith('v=0\r\n'), true);
  t.equal(m.contentLength(), m.body.length);
});

t.test('parseMessage keeps the body as a view into the received bytes, not a copy', async (t) => {
  const buf = b(INVITE);
  const m = parseMessage(buf);
  t.equal(m.body.buffer, buf.buffer);
  t.equal(m.body.byteOffset, buf.byteOffset + buf.indexOf('v=0'));
});

t.test('parseMessage reads a status line (RFC 3261 §7.2)', async (t) => {
  const m = parseMessage(
    b('SIP/2.0 180 Ringing\r\nVia: SIP/2.0/UDP h;branch=z9hG4bK1\r\n\r\n'),
  ) as SipResponse;
  t.equal(m.isRequest(), false);
  t.equal(m.status, 180);
  t.equal(m.reason, 'Ringing');
  t.equal(m.startLine(), 'SIP/2.0 180 Ringing');
});

t.test('a status line may omit the reason phrase separator', async (t) => {
  const m = parseMessage(b('SIP/2.0 200\r\n\r\n')) as SipResponse;
  t.equal(m.status, 200);
  t.equal(m.reason, '');
});

t.test(
  'status codes outside 100-699 or not three digits are rejected (RFC 3261 §7.2)',
  async (t) => {
    for (const line of [
      'SIP/2.0 099 Low',
      'SIP/2.0 700 High',
      'SIP/2.0 20 Short',
      'SIP/2.0 2000 Long',
      'SIP/2.0 2x0 Hex',
    ]) {
      t.equal(
        codeOf(() => parseMessage(b(`${line}\r\n\r\n`))),
        'SIP_ERR_STATUS_CODE',
        line,
      );
    }
    t.equal(
      codeOf(() => parseMessage(b('SIP/2.0\r\n\r\n'))),
      'SIP_ERR_START_LINE',
    );
  },
);

t.test('control characters in a reason phrase are rejected', async (t) => {
  t.equal(
    codeOf(() => parseMessage(b('SIP/2.0 200 O\x01K\r\n\r\n'))),
    'SIP_ERR_START_LINE',
  );
  t.equal((parseMessage(b('SIP/2.0 200 O\tK\r\n\r\n')) as SipResponse).reason, 'O\tK');
});

t.test(
  'SIP versions other than 2.0 earn 505; malformed versions earn 400 (RFC 3261 §8.2.2)',
  async (t) => {
    t.equal(
      codeOf(() => parseMessage(b('OPTIONS sip:a@b SIP/3.0\r\n\r\n'))),
      'SIP_ERR_VERSION',
    );
    t.equal(
      codeOf(() => parseMessage(b('SIP/1.0 200 OK\r\n\r\n'))),
      'SIP_ERR_VERSION',
    );
    for (const v of ['SIP/2', 'SIP/.0', 'SIP/2.', 'SIP/a.b', 'HTTP/1.1', 'SIP/2.0x']) {
      t.equal(
        codeOf(() => parseMessage(b(`OPTIONS sip:a@b ${v}\r\n\r\n`))),
        'SIP_ERR_START_LINE',
        v,
      );
    }
    const lower = parseMessage(b('OPTIONS sip:a@b sip/2.0\r\n\r\n')) as SipRequest;
    t.equal(lower.version, 'SIP/2.0', 'the SIP literal is case-insensitive (RFC 3261 §25.1)');
  },
);

t.test('request lines need exactly one SP between three elements (RFC 3261 §7.1)', async (t) => {
  for (const line of [
    'OPTIONS sip:a@b',
    'OPTIONS  sip:a@b SIP/2.0',
    'OPTIONS sip:a@b  SIP/2.0',
    'OPTIONS sip:a@b SIP/2.0 ',
    ' OPTIONS sip:a@b SIP/2.0',
    'OPTIONS',
  ]) {
    t.equal(
      codeOf(() => parseMessage(b(`${line}\r\n\r\n`))),
      'SIP_ERR_START_LINE',
      JSON.stringify(line),
    );
  }
  t.equal(
    codeOf(() => parseMessage(b('OPT<ONS sip:a@b SIP/2.0\r\n\r\n'))),
    'SIP_ERR_METHOD',
  );
  // The Request-URI is parsed when read, as validation does.
  t.equal(
    codeOf(() =>
      (parseMessage(b('OPTIONS sip:a@b\tc SIP/2.0\r\n\r\n')) as SipRequest).requestUri(),
    ),
    'SIP_ERR_REQUEST_URI',
  );
  t.equal(
    codeOf(() =>
      (parseMessage(b('OPTIONS sip:a@\x7fb SIP/2.0\r\n\r\n')) as SipRequest).requestUri(),
    ),
    'SIP_ERR_REQUEST_URI',
  );
});

t.test('CRLFs before the start line are skipped (RFC 3261 §7.5)', async (t) => {
  const m = parseMessage(b(`\r\n\r\n${OPTIONS}`));
  t.equal(m.callId(), 'a84b4c76e66710');
  t.equal(m.toBuffer().toString('latin1'), OPTIONS, 'the message bytes exclude the leading CRLFs');
});

t.test('empty input and CRLF-only input are SIP_ERR_EMPTY', async (t) => {
  t.equal(
    codeOf(() => parseMessage(Buffer.alloc(0))),
    'SIP_ERR_EMPTY',
  );
  t.equal(
    codeOf(() => parseMessage(b('\r\n\r\n'))),
    'SIP_ERR_EMPTY',
  );
});

t.test('a datagram may end after its last header line; a stream message may not', async (t) => {
  const m = parseMessage(b('OPTIONS sip:a@b SIP/2.0\r\nVia: x\r\n'));
  t.equal(m.get('via'), 'x');
  t.equal(m.body.length, 0);
  t.equal(
    m.toString(),
    'OPTIONS sip:a@b SIP/2.0\r\nVia: x\r\nContent-Length: 0\r\n\r\n',
    'forwarded whole',
  );
  t.equal(
    codeOf(() => parseMessage(b('OPTIONS sip:a@b SIP/2.0\r\nVia: x\r\n'), { datagram: false })),
    'SIP_ERR_NO_HEAD_END',
  );
  t.equal(
    codeOf(() => parseMessage(b('OPTIONS sip:a@b SIP/2.0\r\nVia: x'))),
    'SIP_ERR_NO_HEAD_END',
  );
});

t.test('bare-LF line endings are accepted from lenient peers', async (t) => {
  const m = parseMessage(b(OPTIONS.replaceAll('\r\n', '\n')));
  t.equal(m.cseq().seq, 63104);
  t.equal(m.headers.length, 7);
});

t.test('folded header lines are joined with one SP (RFC 3261 §7.3.1)', async (t) => {
  const m = parseMessage(
    b(
      'OPTIONS sip:a@b SIP/2.0\r\nSubject: I know\r\n   you are\r\n\tthere\r\nTo:\r\n <sip:a@b>\r\n\r\n',
    ),
  );
  t.equal(m.get('subject'), 'I know you are there');
  t.equal(m.get('to'), '<sip:a@b>');
  t.equal(m.headers[0]?.raw, 'Subject: I know\r\n   you are\r\n\tthere', 'raw keeps the folding');
  t.equal(
    codeOf(() => parseMessage(b('OPTIONS sip:a@b SIP/2.0\r\n folded: first\r\n\r\n'))),
    'SIP_ERR_HEADER_SYNTAX',
  );
});

t.test(
  'header names are case-insensitive and compact forms map to long names (RFC 3261 §7.3.3)',
  async (t) => {
    const m = parseMessage(
      b(
        'OPTIONS sip:a@b SIP/2.0\r\nv: SIP/2.0/UDP h\r\nI: abc\r\nCALL-id: x\r\nl: 0\r\nX-Custom : y\r\n\r\n',
      ),
    );
    t.same(
      m.headers.map((h) => h.name),
      ['via', 'call-id', 'call-id', 'content-length', 'x-custom'],
    );
    t.same(m.getAll('Call-ID'), ['abc', 'x']);
    t.equal(m.get('x-CUSTOM'), 'y');
    t.equal(m.count('i'), 2);
    t.equal(m.has('m'), false);
  },
);

t.test('every common name is recognised in any case, and near misses are not', async (t) => {
  // The names the parser recognises in place, four bytes at a time (src/sip/header-names.ts):
  // lengths 2 to 19, so that every shape of the last, overlapping word is covered.
  const names = [
    'to',
    'via',
    'from',
    'cseq',
    'allow',
    'route',
    'accept',
    'call-id',
    'contact',
    'supported',
    'user-agent',
    'min-expires',
    'max-forwards',
    'record-route',
    'content-type',
    'authorization',
    'content-length',
    'content-encoding',
    'www-authenticate',
    'subscription-state',
    'p-asserted-identity',
  ];
  const scramble = (n: string): string =>
    n.replace(/[a-z]/g, (c, i: number) => (i % 2 === 0 ? c.toUpperCase() : c));
  // Values are "0" so that the Content-Length lines are valid too.
  const parse = (lines: string[]): string[] =>
    parseMessage(b(['OPTIONS sip:a@b SIP/2.0', ...lines, '', ''].join('\r\n'))).headers.map(
      (h) => h.name,
    );
  for (const n of names) {
    t.same(parse([`${n}: 0`, `${n.toUpperCase()}:0`, `${scramble(n)} \t: 0`]), [n, n, n], n);
    // One byte more, one byte less, and the last letter changed are other names (one letter
    // less of "to" is its compact form).
    t.same(
      parse([`${n}x: 0`, `${n.slice(0, -1)}: 0`, `${n.slice(0, -1)}q: 0`]),
      [`${n}x`, n === 'to' ? 'to' : n.slice(0, -1), `${n.slice(0, -1)}q`],
      `${n} near misses`,
    );
  }
  // Under | 0x20, CR would read as "-" and "_" as DEL: neither may stand in for "-".
  t.equal(
    codeOf(() => parseMessage(b('OPTIONS sip:a@b SIP/2.0\r\nCall\rID: x\r\n\r\n'))),
    'SIP_ERR_HEADER_SYNTAX',
  );
  t.same(parse(['Call_ID: x', 'Max_Forwards: 1']), ['call_id', 'max_forwards']);
  // A name cut short by the end of the line is not read past it.
  t.equal(
    codeOf(() => parseMessage(b('OPTIONS sip:a@b SIP/2.0\r\nContent-Le\r\n\r\n'))),
    'SIP_ERR_HEADER_SYNTAX',
  );
});

t.test('header lines without a colon or with a bad name are rejected', async (t) => {
  t.equal(
    codeOf(() => parseMessage(b('OPTIONS sip:a@b SIP/2.0\r\nFoobar roobar\r\n\r\n'))),
    'SIP_ERR_HEADER_SYNTAX',
  );
  t.equal(
    codeOf(() => parseMessage(b('OPTIONS sip:a@b SIP/2.0\r\n: empty name\r\n\r\n'))),
    'SIP_ERR_HEADER_SYNTAX',
  );
  t.equal(
    codeOf(() => parseMessage(b('OPTIONS sip:a@b SIP/2.0\r\nBad Name: v\r\n\r\n'))),
    'SIP_ERR_HEADER_SYNTAX',
  );
  t.equal(
    codeOf(() => parseMessage(b('OPTIONS sip:a@b SIP/2.0\r\nNo-colon\r\nX: a:b\r\n\r\n'))),
    'SIP_ERR_HEADER_SYNTAX',
  );
});

t.test('header values lose surrounding SP/HTAB but keep other bytes such as 0xA0', async (t) => {
  const m = parseMessage(b('OPTIONS sip:a@b SIP/2.0\r\nX-A:  \t v\xa0 \t\r\nX-B:\r\n\r\n'));
  t.equal(m.get('x-a'), 'v\xa0');
  t.equal(m.get('x-b'), '');
});

t.test(
  'Content-Length frames the body and extra datagram bytes are discarded (RFC 3261 §18.3)',
  async (t) => {
    const m = parseMessage(
      b('MESSAGE sip:a@b SIP/2.0\r\nContent-Length: 5\r\n\r\nhello, and trailing junk'),
    );
    t.equal(m.body.toString(), 'hello');
    t.equal(m.toBuffer().toString(), 'MESSAGE sip:a@b SIP/2.0\r\nContent-Length: 5\r\n\r\nhello');
  },
);

t.test(
  'without Content-Length a datagram body runs to the end of the packet (RFC 3261 §18.3)',
  async (t) => {
    const m = parseMessage(b('MESSAGE sip:a@b SIP/2.0\r\nTo: x\r\n\r\nwhole rest'));
    t.equal(m.body.toString(), 'whole rest');
  },
);

t.test('without Content-Length a stream message is rejected (RFC 3261 §18.3)', async (t) => {
  t.equal(
    codeOf(() => parseMessage(b('MESSAGE sip:a@b SIP/2.0\r\nTo: x\r\n\r\n'), { datagram: false })),
    'SIP_ERR_CONTENT_LENGTH',
  );
  const m = parseMessage(b('MESSAGE sip:a@b SIP/2.0\r\nl: 2\r\n\r\nhi'), { datagram: false });
  t.equal(m.body.toString(), 'hi');
});

t.test('Content-Length must be digits only and duplicates must agree', async (t) => {
  for (const v of ['-1', '+5', '1 0', '0x10', '', '12345678901']) {
    t.equal(
      codeOf(() => parseMessage(b(`M sip:a@b SIP/2.0\r\nContent-Length: ${v}\r\n\r\n`))),
      'SIP_ERR_CONTENT_LENGTH',
      v,
    );
  }
  t.equal(
    codeOf(() => parseMessage(b('M sip:a@b SIP/2.0\r\nContent-Length: 1\r\nl: 2\r\n\r\nab'))),
    'SIP_ERR_CONTENT_LENGTH_MISMATCH',
  );
  const same = parseMessage(b('M sip:a@b SIP/2.0\r\nContent-Length: 2\r\nl: 2\r\n\r\nab'));
  t.equal(same.body.toString(), 'ab');
});

t.test(
  'a body shorter than Content-Length is an error on a datagram (RFC 3261 §18.3)',
  async (t) => {
    t.equal(
      codeOf(() => parseMessage(b('M sip:a@b SIP/2.0\r\nContent-Length: 10\r\n\r\nshort'))),
      'SIP_ERR_BODY_TRUNCATED',
    );
  },
);

t.test('limits: header block, header count and body size are capped', async (t) => {
  // A buffer past 2 GiB (offsets would not fit an int32) is refused before it is read; its
  // length is faked, not allocated.
  const huge = Object.defineProperty(Buffer.alloc(1), 'length', { value: 2 ** 31 });
  t.equal(
    codeOf(() => parseMessage(huge)),
    'SIP_ERR_BODY_TOO_LARGE',
  );
  const big = `M sip:a@b SIP/2.0\r\nX: ${'a'.repeat(200)}\r\n\r\n`;
  t.equal(
    codeOf(() => parseMessage(b(big), { maxHeadBytes: 100 })),
    'SIP_ERR_HEAD_TOO_LARGE',
  );
  t.equal(
    codeOf(() => parseMessage(b(big.slice(0, -4)), { maxHeadBytes: 100 })),
    'SIP_ERR_HEAD_TOO_LARGE',
  );
  const many = `M sip:a@b SIP/2.0\r\n${'X: 1\r\n'.repeat(11)}\r\n`;
  t.equal(
    codeOf(() => parseMessage(b(many), { maxHeaders: 10 })),
    'SIP_ERR_TOO_MANY_HEADERS',
  );
  t.equal(parseMessage(b(many), { maxHeaders: 11 }).headers.length, 11);
  t.equal(
    codeOf(() =>
      parseMessage(b('M sip:a@b SIP/2.0\r\nl: 20\r\n\r\n' + 'x'.repeat(20)), { maxBodyBytes: 10 }),
    ),
    'SIP_ERR_BODY_TOO_LARGE',
  );
  t.equal(
    codeOf(() =>
      parseMessage(b('M sip:a@b SIP/2.0\r\n\r\n' + 'x'.repeat(20)), { maxBodyBytes: 10 }),
    ),
    'SIP_ERR_BODY_TOO_LARGE',
  );
});

t.test('an untouched message serializes to exactly its received bytes', async (t) => {
  for (const text of [INVITE, REGISTER, OPTIONS]) {
    const buf = b(text);
    t.ok(parseMessage(buf).toBuffer().equals(buf));
  }
});

t.test(
  'header values are parsed lazily: a bad Via does not fail the parse, only its reader',
  async (t) => {
    const m = parseMessage(
      b(
        OPTIONS.replace(
          'Via: SIP/2.0/UDP pc33.atlanta.example.com;branch=z9hG4bKhjhs8ass877',
          'Via: garbage',
        ),
      ),
    );
    t.equal(m.callId(), 'a84b4c76e66710');
    t.equal(
      codeOf(() => m.topVia()),
      'SIP_ERR_VIA',
    );
  },
);
