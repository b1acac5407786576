import fc from 'fast-check';
import t from 'tap';
import { silentLogger } from '../../src/core/logger.js';
import { parseMessage, type SipRequest, type SipResponse } from '../../src/sip/index.js';
import { arrival } from '../../src/transport/connection.js';
import { Receiver, SentBySet } from '../../src/transport/receive.js';
import { salvageRequest } from '../../src/transport/salvage.js';
import { makeSocketInfo } from '../../src/transport/sockets.js';
import { TransportStats } from '../../src/transport/stats.js';
import { annotateReceived } from '../../src/transport/via-received.js';
import type { ReceiveInfo } from '../../src/transport/types.js';
import { Recorder, sipRequest, sipResponse } from '../helpers/sip-recorder.js';

const socket = makeSocketInfo({ protocol: 'udp', host: '10.0.0.1', port: 5060 }, 5060);
const rxFrom = (address = '192.0.2.9', port = 40000): ReceiveInfo =>
  arrival(socket, 'udp', address, port, null, 0);

function harness() {
  const stats = new TransportStats();
  const sentBy = new SentBySet();
  sentBy.add('10.0.0.1', 5060);
  sentBy.add('[2001:DB8::1]', 5061);
  const replies: SipResponse[] = [];
  const receiver = new Receiver(
    {
      stats,
      logger: silentLogger,
      sentBy,
      reply: (res) => replies.push(res),
      alias: () => undefined,
    },
    { maxHeadBytes: 4096, maxBodyBytes: 4096 },
  );
  const rec = new Recorder();
  receiver.handler = rec;
  const feed = (text: string | Buffer, rx = rxFrom()): void => {
    receiver.receive(typeof text === 'string' ? Buffer.from(text, 'latin1') : text, rx, true);
  };
  return { stats, replies, rec, feed, receiver };
}

const request = (via: string): SipRequest =>
  parseMessage(Buffer.from(sipRequest({ via }), 'latin1')) as SipRequest;

t.test('annotateReceived: the RFC 3261 §18.2.1 and RFC 3581 §4 cases', async (t) => {
  const cases: [string, string, string | null][] = [
    // [top Via, source, expected Via or null for unchanged]
    ['SIP/2.0/UDP 192.0.2.9:5060;branch=z9hG4bK1', '192.0.2.9', null],
    [
      'SIP/2.0/UDP 192.0.2.9:5060;branch=z9hG4bK1',
      '192.0.2.10',
      'SIP/2.0/UDP 192.0.2.9:5060;branch=z9hG4bK1;received=192.0.2.10',
    ],
    [
      'SIP/2.0/UDP 192.0.2.9;rport;branch=z9hG4bK1',
      '192.0.2.9',
      'SIP/2.0/UDP 192.0.2.9;received=192.0.2.9;rport=40000;branch=z9hG4bK1',
    ],
    [
      'SIP/2.0/UDP 192.0.2.9;branch=z9hG4bK1;rport=1234',
      '192.0.2.9',
      'SIP/2.0/UDP 192.0.2.9;branch=z9hG4bK1;received=192.0.2.9;rport=1234',
    ],
    [
      'SIP/2.0/UDP a.example;received=1.2.3.4;rport;branch=z9hG4bK1',
      '192.0.2.9',
      'SIP/2.0/UDP a.example;received=192.0.2.9;rport=40000;branch=z9hG4bK1',
    ],
    [
      'SIP/2.0/UDP [2001:db8::9];branch=z9hG4bK1',
      '2001:db8::10',
      'SIP/2.0/UDP [2001:db8::9];branch=z9hG4bK1;received=2001:db8::10',
    ],
    ['SIP/2.0/UDP [2001:db8:0::9];branch=z9hG4bK1', '2001:db8::9', null],
    [
      'SIP/2.0/UDP 192.0.2.9:5060;branch=z9hG4bK1;x="a b";flag',
      '192.0.2.10',
      'SIP/2.0/UDP 192.0.2.9:5060;branch=z9hG4bK1;x="a b";flag;received=192.0.2.10',
    ],
  ];
  for (const [via, source, want] of cases) {
    const req = request(via);
    const changed = annotateReceived(req, source, 40000);
    t.equal(changed, want !== null, `${via} from ${source}: changed`);
    t.equal(req.get('via'), want ?? via, `${via} from ${source}`);
  }
  const two = parseMessage(
    Buffer.from(
      sipRequest({ via: 'SIP/2.0/UDP a.example;rport, SIP/2.0/UDP b.example' }),
      'latin1',
    ),
  ) as SipRequest;
  annotateReceived(two, '192.0.2.9', 5);
  t.same(two.getAll('via'), [
    'SIP/2.0/UDP a.example;received=192.0.2.9;rport=5',
    'SIP/2.0/UDP b.example',
  ]);
  t.equal(two.vias().length, 2, 'the rest of a shared line is kept');
});

t.test('SentBySet: default ports per transport, IPv6 spellings', async (t) => {
  const { stats, rec, feed } = harness();
  feed(sipResponse('SIP/2.0/UDP 10.0.0.1;branch=z9hG4bK1'));
  feed(sipResponse('SIP/2.0/TLS [2001:db8:0::1];branch=z9hG4bK2'));
  feed(sipResponse('SIP/2.0/UDP [2001:db8::1];branch=z9hG4bK3'));
  feed(sipResponse('SIP/2.0/UDP 10.0.0.2:5060;branch=z9hG4bK4'));
  t.equal(rec.all.length, 2);
  t.equal(stats.received_replies, 2);
  t.equal(stats.dropped_responses, 2);
});

t.test('a response that fails validation is counted and dropped', async (t) => {
  const { stats, rec, replies, feed } = harness();
  feed(sipResponse('SIP/2.0/UDP 10.0.0.1;branch=z9hG4bK1').replace('CSeq: 1 OPTIONS\r\n', ''));
  t.equal(stats.bad_messages, 1);
  t.equal(rec.all.length, 0);
  t.equal(replies.length, 0, 'responses are never answered');
});

t.test('stream mode: Content-Length is required', async (t) => {
  const { stats, replies, receiver } = harness();
  const text = sipRequest({ via: 'SIP/2.0/TCP 192.0.2.9;branch=z9hG4bK1', contentLength: false });
  receiver.receive(Buffer.from(text, 'latin1'), rxFrom(), false);
  t.equal(stats.bad_messages, 1);
  t.match(replies[0]?.reason, /Missing Content-Length/);
});

t.test('salvageRequest: what the parser refused, enough to answer', async (t) => {
  const folded =
    'INVITE sip:x SIP/3.0\r\nv: SIP/2.0/UDP 192.0.2.9\r\n ;branch=z9hG4bKf\r\n' +
    'f: <sip:a@x>;tag=1\r\nt: <sip:b@x>\r\ni: id1\r\nCSeq: 2 INVITE\r\nSubject: hi\r\nbogus line\r\n\r\n';
  const req = salvageRequest(Buffer.from(`\r\n${folded}`, 'latin1'), 4096);
  t.ok(req);
  t.equal(req?.method, 'INVITE');
  t.equal(req?.topVia()?.params.get('branch'), 'z9hG4bKf', 'folded Via joined');
  t.equal(req?.callId(), 'id1');
  t.same(
    req?.headers.map((h) => h.name),
    ['via', 'from', 'to', 'call-id', 'cseq'],
  );
  const none = [
    'SIP/2.0 200 OK\r\nVia: SIP/2.0/UDP 192.0.2.9\r\nCSeq: 1 X\r\n\r\n',
    'ACK sip:x SIP/3.0\r\nVia: SIP/2.0/UDP 192.0.2.9\r\nCSeq: 1 ACK\r\n\r\n',
    'X sip:x SIP/3.0\r\nVia: SIP/2.0/UDP 192.0.2.9\r\nCSeq: 1 ACK\r\n\r\n',
    'INVITE sip:x SIP/3.0\r\nVia: garbage\r\nCSeq: 1 INVITE\r\n\r\n',
    'INVITE sip:x SIP/3.0\r\nCSeq: 1 INVITE\r\n\r\n',
    'INVITE sip:x SIP/3.0\r\nVia: SIP/2.0/UDP 192.0.2.9\r\n\r\n',
    'INV@TE sip:x SIP/3.0\r\nVia: SIP/2.0/UDP 192.0.2.9\r\nCSeq: 1 INVITE\r\n\r\n',
    'nonsense',
    '',
  ];
  for (const text of none) {
    t.equal(salvageRequest(Buffer.from(text, 'latin1'), 4096), null, JSON.stringify(text));
  }
  const huge = `OPTIONS sip:x SIP/3.0\r\nVia: SIP/2.0/UDP 192.0.2.9\r\nCSeq: 1 OPTIONS\r\nX: ${'a'.repeat(5000)}`;
  t.ok(salvageRequest(Buffer.from(huge, 'latin1'), 4096), 'reads at most the head limit');
});

t.test('random bytes never throw out of the receive path', async (t) => {
  const { stats, feed, receiver } = harness();
  const seeds = [
    sipRequest({ via: 'SIP/2.0/UDP 192.0.2.9;rport;branch=z9hG4bK1' }),
    sipResponse('SIP/2.0/UDP 10.0.0.1;branch=z9hG4bK1'),
  ];
  fc.assert(
    fc.property(
      fc.constantFrom(...seeds),
      fc.array(fc.tuple(fc.nat(400), fc.integer({ min: 0, max: 255 })), { maxLength: 6 }),
      fc.boolean(),
      (seed, edits, datagram) => {
        const buf = Buffer.from(seed, 'latin1');
        for (const [at, byte] of edits) {
          if (at < buf.length) {
            buf[at] = byte;
          }
        }
        receiver.receive(buf, rxFrom(), datagram);
      },
    ),
    { numRuns: 2000, seed: 42 },
  );
  fc.assert(
    fc.property(fc.uint8Array({ maxLength: 300 }), (bytes) => {
      feed(Buffer.from(bytes));
    }),
    { numRuns: 1000, seed: 7 },
  );
  t.ok(stats.bad_messages > 0, 'mutations were counted as bad');
});
