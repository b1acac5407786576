import t from 'tap';
import { b, feed, feedSplit, record, request, SDP } from '../helpers/framer.js';

t.test(
  'RFC 3261 §18.3: one byte at a time, each message is framed by Content-Length',
  async (t) => {
    const r = record();
    const first = request(SDP).length;
    const wire = b(request(SDP) + request());
    const held: number[] = [];
    for (let i = 0; i < wire.length; i++) {
      r.framer.push(wire.subarray(i, i + 1));
      held.push(r.framer.buffered);
    }
    t.equal(held[first - 2], first - 1, 'a partial message is held');
    t.equal(held[first - 1], 0, 'and released when complete');
    t.equal(held[wire.length - 2], wire.length - 1 - first);
    t.same(r.events, [`msg:${request(SDP)}`, `msg:${request()}`]);
    t.equal(r.framer.buffered, 0);
    t.end();
  },
);

t.test('RFC 3261 §7.5: several messages in one chunk are cut at each Content-Length', async (t) => {
  const r = record();
  const one = request(SDP);
  const wire = b(one + request() + one);
  r.framer.push(wire);
  t.same(r.events, [`msg:${one}`, `msg:${request()}`, `msg:${one}`]);
  t.equal(r.messages[0]!.buffer, wire.buffer, 'a message inside one chunk is a zero-copy view');
  t.end();
});

t.test('RFC 3261 §18.3: every split point of a two-message stream frames the same', async (t) => {
  const stream = b(request(SDP) + request('\r\n\r\n'));
  const want = [`msg:${request(SDP)}`, `msg:${request('\r\n\r\n')}`];
  for (let i = 0; i <= stream.length; i++) {
    const r = record();
    feedSplit(r, stream, [i]);
    if (JSON.stringify(r.events) !== JSON.stringify(want)) {
      t.same(r.events, want, `split at ${i}`);
      break;
    }
  }
  t.pass('all split points agree');
  t.end();
});

t.test(
  'RFC 3261 §18.3: every pair of split points in a short stream frames the same',
  async (t) => {
    const short = 'OPTIONS sip:x SIP/2.0\r\nl: 2\r\n\r\nab';
    const stream = b(short + short);
    let bad = 0;
    for (let i = 0; i <= stream.length; i++) {
      for (let j = i; j <= stream.length; j++) {
        const r = record();
        feedSplit(r, stream, [i, j]);
        if (r.events.length !== 2 || r.events.some((e) => e !== `msg:${short}`)) {
          bad++;
        }
      }
    }
    t.equal(bad, 0);
    t.end();
  },
);

t.test(
  'RFC 3261 §7.4: a body holding CRLFCRLF and header-like text is not read as a head',
  async (t) => {
    const body = 'Content-Length: 99\r\n\r\nl: 5\r\n\r\n\n\n';
    t.same(feed(record(), request(body) + request()), [`msg:${request(body)}`, `msg:${request()}`]);
    t.end();
  },
);

t.test('RFC 3261 §20.14: Content-Length 0 and a large body frame exactly', async (t) => {
  const big = 'x'.repeat(65536);
  t.same(feed(record(), request(), request(big)), [`msg:${request()}`, `msg:${request(big)}`]);
  t.end();
});

t.test(
  'RFC 3261 §20.14 and §7.3.1: compact, case-blind, spaced and folded forms are found',
  async (t) => {
    const forms = [
      'l: 3',
      'L:3',
      'l \t: 3',
      'cOnTeNt-LeNgTh: 3',
      'Content-Length    :    3   \t',
      'Content-Length:\r\n 3',
      'Content-Length:\r\n\t\r\n 3 \r\n  ',
      'Content-Length: 3\r\nl: 3',
      'Content-Length: 003',
    ];
    for (const cl of forms) {
      const msg = request('abc', cl);
      t.same(feed(record(), msg), [`msg:${msg}`], JSON.stringify(cl));
      const r = record();
      feedSplit(
        r,
        b(msg),
        Array.from({ length: msg.length }, (_, i) => i),
      );
      t.same(r.events, [`msg:${msg}`], `${JSON.stringify(cl)} one byte at a time`);
    }
    t.end();
  },
);

t.test(
  'RFC 3261 §7.3.1: look-alike names, folded text and the start line are not Content-Length',
  async (t) => {
    const extra = [
      'Content-Lengthy: 99',
      'Content-Length-X: 99',
      'Content-Type: text/plain',
      'Contact: <sip:l@x>',
      'Lines: 99',
      'Content: 99',
      'Content Length: 99',
      'c: text/plain',
      'l-: 99',
      'Content\rLength: 99',
      'Subject: folded\r\n Content-Length: 99',
      'Content-Length 99',
    ];
    for (const h of extra) {
      const msg = `MESSAGE sip:l:9@x SIP/2.0\r\n${h}\r\nl: 2\r\n\r\nhi`;
      t.same(feed(record(), msg), [`msg:${msg}`], JSON.stringify(h));
    }
    const noStart = ' l: 5\r\nContent-Length: 2\r\n\r\nhi';
    t.same(feed(record(), `X\r\n${noStart}`), [`msg:X\r\n${noStart}`], 'fold after the start line');
    t.end();
  },
);

t.test('RFC 3261 §7: a bare-LF head end is accepted from lenient peers', async (t) => {
  const lf = 'SIP/2.0 200 OK\nl: 2\n\nok';
  const mixed = 'SIP/2.0 200 OK\r\nl: 2\r\n\nok';
  const crlfLf = 'SIP/2.0 200 OK\nl: 2\n\r\nok';
  t.same(feed(record(), lf + mixed + crlfLf), [`msg:${lf}`, `msg:${mixed}`, `msg:${crlfLf}`]);
  t.end();
});

t.test('RFC 3261 §18.3: Content-Length is mandatory on a stream', async (t) => {
  const r = record();
  feed(r, 'OPTIONS sip:x SIP/2.0\r\nVia: SIP/2.0/TCP h\r\n\r\n');
  t.same(r.events, ['error:SIP_ERR_CONTENT_LENGTH']);
  t.equal(r.errors[0]!.reason, 'Missing Content-Length');
  t.equal(r.errors[0]!.status, 400);
  t.end();
});

t.test('RFC 3261 §20.14: a Content-Length that is not 1*DIGIT breaks framing', async (t) => {
  const bad: [string, string][] = [
    ['Content-Length: -1', 'SIP_ERR_CONTENT_LENGTH'],
    ['Content-Length: 12a', 'SIP_ERR_CONTENT_LENGTH'],
    ['Content-Length: abc', 'SIP_ERR_CONTENT_LENGTH'],
    ['Content-Length: +3', 'SIP_ERR_CONTENT_LENGTH'],
    ['Content-Length: 1 2', 'SIP_ERR_CONTENT_LENGTH'],
    ['Content-Length: 1\r\n 2', 'SIP_ERR_CONTENT_LENGTH'],
    ['Content-Length:', 'SIP_ERR_CONTENT_LENGTH'],
    ['Content-Length:  \r\nVia: x', 'SIP_ERR_CONTENT_LENGTH'],
    ['l: 3\r\nContent-Length: 4', 'SIP_ERR_CONTENT_LENGTH_MISMATCH'],
    ['l: 3\r\nl: 4\r\nX: y', 'SIP_ERR_CONTENT_LENGTH_MISMATCH'],
    ['l: 3\r\n\rjunk\r\nl: 4', 'SIP_ERR_CONTENT_LENGTH_MISMATCH'],
    ['l: \r\n\rjunk', 'SIP_ERR_CONTENT_LENGTH'],
    ['Content-Length: 1\n 2', 'SIP_ERR_CONTENT_LENGTH'],
    ['Content-Length: 1\r\n\t2', 'SIP_ERR_CONTENT_LENGTH'],
  ];
  for (const [cl, code] of bad) {
    const r = record();
    feed(r, request('abc', cl), request());
    t.same(r.events, [`error:${code}`], JSON.stringify(cl));
  }
  t.end();
});

t.test(
  'RFC 3261 §20.14: a Content-Length over maxBodyBytes fails before the body is sent',
  async (t) => {
    const r = record({ maxBodyBytes: 100 });
    feed(r, request('', 'Content-Length: 101'));
    t.same(r.events, ['error:SIP_ERR_BODY_TOO_LARGE']);
    t.equal(r.errors[0]!.status, 513);
    const huge = record();
    feed(huge, 'OPTIONS sip:x SIP/2.0\r\nl: 99999999999999999999999999');
    t.same(huge.events, ['error:SIP_ERR_BODY_TOO_LARGE'], 'no need to wait for the line end');
    const edge = record({ maxBodyBytes: 3 });
    t.same(feed(edge, request('abc')), [`msg:${request('abc')}`], 'exactly the limit is fine');
    t.end();
  },
);

t.test('RFC 3261 §18.3: a head without an end within maxHeadBytes fails at the cap', async (t) => {
  const r = record({ maxHeadBytes: 64 });
  r.framer.push(b('OPTIONS sip:x SIP/2.0\r\n'));
  r.framer.push(b(`X-Pad: ${'a'.repeat(200)}`));
  t.same(r.events, ['error:SIP_ERR_HEAD_TOO_LARGE']);
  t.equal(r.framer.buffered, 0, 'nothing is kept');

  const slow = record({ maxHeadBytes: 64 });
  for (let i = 0; i < 63; i++) {
    slow.framer.push(b('a'));
  }
  t.equal(slow.framer.buffered, 63);
  t.same(slow.events, []);
  slow.framer.push(b('a'));
  t.same(slow.events, ['error:SIP_ERR_HEAD_TOO_LARGE'], 'fails on the byte that reaches the cap');

  const head = 'OPTIONS sip:x SIP/2.0\r\nl: 1\r\n\r\n';
  const fits = record({ maxHeadBytes: head.length });
  t.same(feed(fits, `${head}z`), [`msg:${head}z`], 'a head of exactly the cap is fine');
  const over = record({ maxHeadBytes: head.length - 1 });
  t.same(feed(over, `${head}z`), ['error:SIP_ERR_HEAD_TOO_LARGE']);
  t.end();
});
