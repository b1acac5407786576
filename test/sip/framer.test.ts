import t from 'tap';
import fc from 'fast-check';
import { isSipParseError, type SipParseError } from '../../src/core/errors.js';
import { StreamFramer, type FramerLimits } from '../../src/sip/framer.js';

/** What a framer reported, in order: `msg:<bytes as latin1>`, `ping`, `pong`, `error:<code>`. */
interface Recorder {
  framer: StreamFramer;
  events: string[];
  errors: SipParseError[];
  messages: Buffer[];
}

function record(limits: Partial<FramerLimits> = {}): Recorder {
  const events: string[] = [];
  const errors: SipParseError[] = [];
  const messages: Buffer[] = [];
  const framer = new StreamFramer(
    {
      onMessage(m) {
        messages.push(m);
        events.push(`msg:${m.toString('latin1')}`);
      },
      onPing() {
        events.push('ping');
      },
      onPong() {
        events.push('pong');
      },
      onError(err) {
        errors.push(err);
        events.push(`error:${err.code}`);
      },
    },
    limits,
  );
  return { framer, events, errors, messages };
}

const b = (s: string): Buffer => Buffer.from(s, 'latin1');

/** A request with the given body, its Content-Length header written as `cl` (default exact). */
function request(body = '', cl = `Content-Length: ${Buffer.byteLength(body, 'latin1')}`): string {
  return (
    'INVITE sip:bob@biloxi.example.com SIP/2.0\r\n' +
    'Via: SIP/2.0/TCP client.atlanta.example.com:5060;branch=z9hG4bK74bf9\r\n' +
    'Contact: <sip:alice@client.atlanta.example.com;transport=tcp>\r\n' +
    'Call-ID: 3848276298220188511@atlanta.example.com\r\n' +
    'CSeq: 1 INVITE\r\n' +
    'Content-Type: application/sdp\r\n' +
    `${cl}\r\n\r\n${body}`
  );
}

function feed(r: Recorder, ...chunks: string[]): string[] {
  for (const c of chunks) {
    r.framer.push(b(c));
  }
  return r.events;
}

/** Push `stream` cut at the given offsets. */
function feedSplit(r: Recorder, stream: Buffer, cuts: number[]): void {
  let from = 0;
  for (const cut of [...cuts, stream.length]) {
    r.framer.push(stream.subarray(from, cut));
    from = cut;
  }
}

const SDP = 'v=0\r\no=alice 2890844526 2890844526 IN IP4 host.atlanta.example.com\r\ns=-\r\n';

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

t.test('RFC 5626 §3.5.1: a double CRLF is a ping and a single CRLF a pong', async (t) => {
  t.same(feed(record(), '\r\n\r\n'), ['ping']);
  t.same(feed(record(), '\r\n'), ['pong']);
  t.same(feed(record(), '\r\n\r\n\r\n'), ['ping', 'pong']);
  t.same(feed(record(), '\r\n\r\n', '\r\n\r\n'), ['ping', 'ping']);
  t.same(feed(record(), request(), '\r\n\r\n', request()), [
    `msg:${request()}`,
    'ping',
    `msg:${request()}`,
  ]);
  t.end();
});

t.test('RFC 5626 §4.4.1: a ping split across chunks is a pong at once, then a ping', async (t) => {
  // A pong cannot wait for the next byte (the pinger times out after 10 s), so a lone CRLF at
  // the end of a chunk is a pong; the CRLF that then completes a ping still yields the ping.
  t.same(feed(record(), '\r\n', '\r\n'), ['pong', 'ping']);
  t.same(feed(record(), '\r', '\n\r', '\n'), ['pong', 'ping']);
  t.same(feed(record(), '\r\n\r', '\n'), ['pong', 'ping']);
  t.same(feed(record(), '\r\n', '\r\n\r\n'), ['pong', 'ping', 'pong'], 'a pong, then a ping');
  t.same(feed(record(), '\r\n', request()), ['pong', `msg:${request()}`]);
  t.end();
});

t.test('RFC 3261 §7.5: CRLFs before a start line are not part of the message', async (t) => {
  t.same(feed(record(), `\r\n\r\n${request()}`), ['ping', `msg:${request()}`]);
  t.same(feed(record(), `\r\n${request()}`), ['pong', `msg:${request()}`]);
  t.same(feed(record(), `\n\n\r\r${request()}`), [`msg:${request()}`], 'stray CR and LF');
  t.same(feed(record(), `\r\n\n${request()}`), ['pong', `msg:${request()}`]);
  t.same(feed(record(), '\r\n', `\n${request()}`), ['pong', `msg:${request()}`]);
  t.end();
});

t.test('RFC 3261 §7.5: more than maxKeepaliveBytes CRLF bytes in one run is a flood', async (t) => {
  const r = record();
  feed(r, '\r\n'.repeat(512));
  t.equal(r.events.length, 256, '1024 bytes are 256 pings');
  const flood = record();
  feed(flood, '\r\n'.repeat(512) + '\r');
  t.equal(flood.events.at(-1), 'error:SIP_ERR_FLOOD');
  t.equal(flood.events.length, 257);
  const lf = record({ maxKeepaliveBytes: 10 });
  for (let i = 0; i < 11; i++) {
    lf.framer.push(b('\n'));
  }
  t.same(lf.events, ['error:SIP_ERR_FLOOD'], 'bare LFs in separate writes still add up');
  const none = record({ maxKeepaliveBytes: 0 });
  t.same(feed(none, '\r'), ['error:SIP_ERR_FLOOD']);
  t.end();
});

t.test('RFC 5626 §4.4.1: an idle flow pinging once per write never floods', async (t) => {
  const r = record({ maxKeepaliveBytes: 16 });
  for (let i = 0; i < 1000; i++) {
    r.framer.push(b('\r\n\r\n'));
  }
  t.equal(r.events.length, 1000);
  t.ok(r.events.every((e) => e === 'ping'));
  t.end();
});

t.test('RFC 3261 §18.3: after a framing error the framer ignores all input', async (t) => {
  const r = record();
  feed(r, 'OPTIONS sip:x SIP/2.0\r\nl: x\r\n\r\n', request(), '\r\n\r\n');
  t.same(r.events, ['error:SIP_ERR_CONTENT_LENGTH']);
  t.equal(r.framer.buffered, 0);
  const inside = record();
  feed(inside, `OPTIONS sip:x SIP/2.0\r\n\r\n${request()}`);
  t.same(inside.events, ['error:SIP_ERR_CONTENT_LENGTH'], 'the rest of the chunk is dropped');
  t.end();
});

t.test('RFC 3261 §18.3: reset() drops a partial message and revives a failed framer', async (t) => {
  const r = record();
  feed(r, request().slice(0, 40));
  t.equal(r.framer.buffered, 40);
  r.framer.reset();
  t.equal(r.framer.buffered, 0);
  feed(r, request(), 'garbage\r\n\r\n');
  r.framer.reset();
  t.same(feed(r, request('ab')), [
    `msg:${request()}`,
    'error:SIP_ERR_CONTENT_LENGTH',
    `msg:${request('ab')}`,
  ]);
  t.end();
});

t.test(
  'a handler that throws gets the rest of the chunk delivered, then push() rethrows',
  async (t) => {
    const seen: string[] = [];
    let calls = 0;
    const boom = new Error('handler bug');
    const framer = new StreamFramer({
      onMessage(m) {
        seen.push(m.toString('latin1'));
        calls++;
        if (calls <= 2) {
          throw calls === 1 ? boom : new Error('second');
        }
      },
      onPing() {
        seen.push('ping');
        throw new Error('ping');
      },
      onPong() {
        throw new Error('pong');
      },
      onError() {
        throw new Error('error');
      },
    });
    t.throws(() => {
      framer.push(b(request() + request('a') + request('b').slice(0, 30)));
    }, boom);
    t.same(seen, [request(), request('a')]);
    framer.push(b(request('b').slice(30)));
    t.same(seen.at(-1), request('b'), 'the state was kept across the throw');
    t.throws(() => {
      framer.push(b('\r\n\r\n'));
    }, /ping/);
    t.throws(() => {
      framer.push(b('\r\n'));
    }, /pong/);
    t.throws(() => {
      framer.push(b('X\r\n\r\n'));
    }, /error/);
    t.doesNotThrow(() => {
      framer.push(b(request()));
    }, 'dead: no more calls');
    t.end();
  },
);

t.test('a handler may reset() the framer; it must not push() into it', async (t) => {
  const seen: string[] = [];
  const framer: StreamFramer = new StreamFramer({
    onMessage(m) {
      seen.push(m.toString('latin1'));
      if (seen.length === 1) {
        framer.reset();
      } else {
        framer.push(b('\r\n'));
      }
    },
    onPing() {
      framer.reset();
    },
    onPong() {
      seen.push('pong');
    },
    onError() {
      framer.reset();
    },
  });
  framer.push(b(request() + request('a')));
  t.same(seen, [request()], 'reset() drops the rest of the chunk');
  t.throws(
    () => {
      framer.push(b(request('b')));
    },
    { name: 'CoreError', code: 'TANDEM_ERR_INVALID_STATE' },
  );
  framer.push(b('\r\n\r\n\r\n'));
  t.same(seen.length, 2, 'a ping handler reset() drops the trailing CRLF');
  framer.push(b('X\r\n\r\n'));
  framer.push(b('\r\n'));
  t.same(seen.at(-1), 'pong', 'an onError reset() revives it');
  t.end();
});

t.test('an onError handler that calls reset() stops the failed chunk at once', async (t) => {
  const bad = [
    'OPTIONS sip:x SIP/2.0\r\nl: 1\r\nl: 2\r\n\r\nz',
    'OPTIONS sip:x SIP/2.0\r\nl: x\r\n\r\n',
    'OPTIONS sip:x SIP/2.0\r\nl:\r\n\r\n',
    'OPTIONS sip:x SIP/2.0\r\nl: 1\r\n\rx\r\nl: 2\r\n\r\nz',
    'OPTIONS sip:x SIP/2.0\r\n\r\n',
  ];
  for (const wire of bad) {
    const seen: string[] = [];
    const framer: StreamFramer = new StreamFramer({
      onMessage(m) {
        seen.push(m.toString('latin1'));
      },
      onPing() {},
      onPong() {},
      onError(err) {
        seen.push(err.code);
        framer.reset();
      },
    });
    framer.push(b(wire + request()));
    t.equal(seen.length, 1, JSON.stringify(wire));
    framer.push(b(request()));
    t.same(seen.at(-1), request(), 'and the framer works again');
  }
  t.end();
});

t.test('the constructor rejects limits that are not non-negative integers', async (t) => {
  const h = { onMessage() {}, onPing() {}, onPong() {}, onError() {} };
  for (const bad of [{ maxHeadBytes: 0 }, { maxBodyBytes: -1 }, { maxKeepaliveBytes: 1.5 }]) {
    t.throws(() => new StreamFramer(h, bad), { code: 'TANDEM_ERR_INVALID_ARGUMENT' });
  }
  t.doesNotThrow(() => new StreamFramer(h, { maxBodyBytes: 0, maxKeepaliveBytes: 0 }));
  t.end();
});

t.test('RFC 3261 §18.3: 1,000 messages one byte at a time frame in linear time', async (t) => {
  const one = request(SDP);
  const wire = b(one.repeat(1000));
  const r = record();
  const start = process.hrtime.bigint();
  for (let i = 0; i < wire.length; i++) {
    r.framer.push(wire.subarray(i, i + 1));
  }
  const ms = Number(process.hrtime.bigint() - start) / 1e6;
  t.comment(`1,000 messages (${wire.length} bytes) in 1-byte chunks: ${ms.toFixed(1)} ms`);
  t.equal(r.messages.length, 1000);
  t.ok(r.messages.every((m) => m.toString('latin1') === one));
  t.ok(ms < 2000, `took ${ms.toFixed(1)} ms`);
  t.end();
});

t.test('RFC 3261 §18.3: a 14 KB head one byte at a time frames in linear time', async (t) => {
  const pad = Array.from({ length: 260 }, (_, i) => `X-Header-${i}: ${'v'.repeat(40)}\r\n`);
  const msg = request('body', `${pad.join('')}Content-Length: 4`);
  t.ok(msg.length > 14000, 'a head of over 14 KB');
  const wire = b(msg);
  const r = record();
  const start = process.hrtime.bigint();
  for (let i = 0; i < wire.length; i++) {
    r.framer.push(wire.subarray(i, i + 1));
  }
  const ms = Number(process.hrtime.bigint() - start) / 1e6;
  t.same(r.events, [`msg:${msg}`]);
  t.ok(ms < 1000, `took ${ms.toFixed(1)} ms`);
  t.end();
});

t.test('RFC 3261 §18.3: a 64 KiB body one byte at a time frames in linear time', async (t) => {
  const body = 'y'.repeat(65536);
  const wire = b(request(body));
  const r = record();
  const start = process.hrtime.bigint();
  for (let i = 0; i < wire.length; i++) {
    r.framer.push(wire.subarray(i, i + 1));
  }
  const ms = Number(process.hrtime.bigint() - start) / 1e6;
  t.same(r.events, [`msg:${request(body)}`]);
  t.ok(ms < 2000, `took ${ms.toFixed(1)} ms`);
  t.end();
});

const bodyArb = fc.uint8Array({ maxLength: 300 }).map((u) => Buffer.from(u));
const messageArb = fc
  .tuple(bodyArb, fc.constantFrom('Content-Length: ', 'l: ', 'content-length :', 'L:\r\n '))
  .map(([body, name]) =>
    Buffer.concat([b(`MESSAGE sip:x SIP/2.0\r\nVia: h\r\n${name}${body.length}\r\n\r\n`), body]),
  );

/** Random cut points of a stream of length `n`. */
const cutsArb = (n: number): fc.Arbitrary<number[]> =>
  fc
    .uniqueArray(fc.integer({ min: 0, max: n }), { maxLength: 40 })
    .map((a) => a.sort((x, y) => x - y));

t.test(
  'RFC 3261 §18.3 (property): any chunking of valid messages frames them exactly',
  async (t) => {
    const streamArb = fc
      .array(fc.tuple(fc.constantFrom('', '\r\n', '\r\n\r\n'), messageArb), { maxLength: 8 })
      .chain((items) => {
        const stream = Buffer.concat(items.flatMap(([crlf, m]) => [b(crlf), m]));
        return fc.tuple(
          fc.constant(items.map(([, m]) => m)),
          fc.constant(stream),
          cutsArb(stream.length),
        );
      });
    fc.assert(
      fc.property(streamArb, ([messages, stream, cuts]) => {
        const r = record();
        feedSplit(r, stream, cuts);
        return (
          r.errors.length === 0 &&
          r.framer.buffered === 0 &&
          r.messages.length === messages.length &&
          r.messages.every((m, i) => m.equals(messages[i]!))
        );
      }),
      { numRuns: 500 },
    );
    t.end();
  },
);

t.test(
  'RFC 3261 §18.3 (property): random bytes only ever reach onError, never throw',
  async (t) => {
    const noise = fc.array(
      fc.oneof(
        fc.uint8Array({ maxLength: 64 }).map((u) => Buffer.from(u)),
        fc
          .constantFrom('\r\n', '\n', '\r', ' ', ':', 'l', 'Content-Length', '0', '9', 'SIP/2.0')
          .map(b),
      ),
      { maxLength: 60 },
    );
    fc.assert(
      fc.property(noise, fc.array(fc.nat(), { maxLength: 10 }), (pieces, sizes) => {
        const r = record({ maxHeadBytes: 256, maxBodyBytes: 512, maxKeepaliveBytes: 32 });
        const stream = Buffer.concat(pieces);
        let at = 0;
        for (const size of sizes) {
          r.framer.push(stream.subarray(at, at + size));
          at += size;
        }
        r.framer.push(stream.subarray(at));
        return r.errors.length <= 1 && r.errors.every(isSipParseError);
      }),
      { numRuns: 1000 },
    );
    t.end();
  },
);
