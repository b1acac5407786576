import t from 'tap';
import { StreamFramer } from '../../src/sip/framer.js';
import { b, feed, record, request } from '../helpers/framer.js';

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
