import t from 'tap';
import { parseMessage, type SipRequest } from '../../src/sip/index.js';
import { InviteClientTransaction } from '../../src/transaction/invite-client.js';
import {
  RecordingClientUser,
  flush,
  makeLayer,
  outgoing,
  response,
  rxInfo,
  sendError,
  target,
  times,
} from './helpers.js';

function setup(protocol: 'udp' | 'tcp' = 'udp', timers = {}) {
  const env = makeLayer(timers);
  const user = new RecordingClientUser(env.clock);
  const req = outgoing({ routes: ['<sip:edge.example.org;lr>', '<sip:core.example.org;lr>'] });
  const tx = env.layer.createClientTransaction(req, target(protocol), user);
  return { ...env, user, req, tx };
}

t.test('Calling over UDP: Timer A doubles from T1, Timer B times out at 64*T1', async (t) => {
  const { clock, transport, user, tx, layer } = setup();
  t.ok(tx instanceof InviteClientTransaction);
  t.equal(tx.state, 'calling');
  t.equal(transport.sent.length, 1, 'sent at once');
  clock.advance(32_000);
  // §17.1.1.2: A at T1, 2T1, 4T1, ... (no cap for INVITE): 500, 1500, 3500, 7500, 15500, 31500.
  t.same(times(transport, 'INVITE'), [0, 500, 1500, 3500, 7500, 15500, 31500]);
  t.ok(
    transport.sent.every((s) => s.data === transport.sent[0]!.data),
    'retransmits the same buffer',
  );
  t.same(user.events, ['timeout@32000']);
  t.same(user.states, ['terminated']);
  t.equal(tx.state, 'terminated');
  t.equal(layer.size(), 0);
  t.equal(clock.pending(), 0, 'no timer left');
  t.equal(layer.stats.retransmissions, 6);
});

t.test('Calling over TCP: no retransmission, Timer B still runs', async (t) => {
  const { clock, transport, user, tx } = setup('tcp');
  t.equal(clock.pending(), 1, 'only Timer B');
  clock.advance(40_000);
  t.equal(transport.sent.length, 1);
  t.same(user.events, ['timeout@32000']);
  t.equal(tx.state, 'terminated');
});

t.test('a configured Timer B shortens the INVITE timeout', async (t) => {
  const { clock, user } = setup('udp', { timerB: 4000 });
  clock.advance(10_000);
  t.same(user.events, ['timeout@4000']);
});

t.test('1xx: Proceeding stops A and B; more 1xx reach the TU', async (t) => {
  const { clock, transport, user, tx, layer, req } = setup();
  clock.advance(600); // one retransmission at 500
  layer.onResponse(response({ status: 100, toTag: null }), rxInfo());
  t.equal(tx.state, 'proceeding');
  t.equal(tx.lastStatus, 100);
  t.equal(clock.pending(), 0, 'Proceeding runs no timer');
  layer.onResponse(response({ status: 180 }), rxInfo());
  layer.onResponse(response({ status: 183 }), rxInfo());
  clock.advance(60_000);
  t.same(times(transport, 'INVITE'), [0, 500]);
  t.same(user.events, ['100@600', '180@600', '183@600']);
  t.equal(tx.lastStatus, 183);
  t.equal(tx.request, req);
  t.equal(layer.size(), 1, 'waits in Proceeding (the proxy runs Timer C)');
});

t.test('2xx: Accepted (RFC 6026), 2xx retransmissions to the TU, no ACK, Timer M', async (t) => {
  for (const first of [null, 180]) {
    const { clock, transport, user, tx, layer } = setup();
    if (first !== null) {
      layer.onResponse(response({ status: first }), rxInfo());
    }
    clock.advance(100);
    layer.onResponse(response({ status: 200, reason: 'OK' }), rxInfo());
    t.equal(tx.state, 'accepted');
    t.equal(tx.lastStatus, 200);
    clock.advance(1000);
    layer.onResponse(response({ status: 200 }), rxInfo()); // retransmission
    layer.onResponse(response({ status: 200, toTag: 'otherfork' }), rxInfo()); // another fork
    layer.onResponse(response({ status: 183 }), rxInfo()); // absorbed
    layer.onResponse(response({ status: 486 }), rxInfo()); // absorbed
    t.same(
      user.events,
      [...(first === null ? [] : ['180@0']), '200@100', '200@1100', '200@1100'],
      `after ${first ?? 'no'} provisional`,
    );
    t.equal(transport.lines('ACK').length, 0, 'a 2xx is never ACKed by the transaction');
    t.same(times(transport, 'INVITE'), [0], 'retransmissions stopped');
    clock.advance(100 + 32_000 - 1100 - 1);
    t.equal(tx.state, 'accepted');
    clock.advance(1);
    t.equal(tx.state, 'terminated', 'Timer M = 64*T1 after the 2xx');
    layer.onResponse(response({ status: 200 }), rxInfo());
    t.equal(layer.size(), 0);
  }
});

t.test('Timer M runs on reliable transports too', async (t) => {
  const { clock, tx, layer } = setup('tcp');
  layer.onResponse(response({ status: 200 }), rxInfo());
  t.equal(tx.state, 'accepted');
  clock.advance(31_999);
  t.equal(tx.state, 'accepted');
  clock.advance(1);
  t.equal(tx.state, 'terminated');
});

t.test('non-2xx final: ACK built per §17.1.1.3, Completed, Timer D', async (t) => {
  const { clock, transport, user, tx, layer, req } = setup();
  clock.advance(700);
  layer.onResponse(response({ status: 486, reason: 'Busy Here', toTag: 'uas-tag' }), rxInfo());
  t.equal(tx.state, 'completed');
  t.same(user.events, ['486@700']);
  t.same(user.states, ['completed']);
  const acks = transport.lines('ACK');
  t.equal(acks.length, 1);
  t.same(acks[0]!.target, target());
  const ack = parseMessage(acks[0]!.data) as SipRequest;
  t.equal(ack.method, 'ACK');
  t.equal(ack.uri, req.uri, 'same Request-URI');
  t.equal(ack.callId(), req.callId(), 'same Call-ID');
  t.equal(ack.get('from'), req.get('from'), 'same From');
  t.equal(ack.toTag(), 'uas-tag', "the response's To");
  t.equal(ack.get('to'), '<sip:bob@example.com>;tag=uas-tag');
  t.same(ack.cseq(), { seq: req.cseq().seq, method: 'ACK' });
  t.same(ack.getAll('via'), [req.getList('via')[0]], 'only the top Via of the INVITE');
  t.same(ack.getAll('route'), req.getAll('route'), 'the Route headers of the INVITE');
  t.equal(ack.maxForwards(), 70);
  t.equal(ack.get('contact'), undefined);
  t.equal(ack.get('content-length'), '0');
  t.equal(clock.pending(), 1, 'A and B gone, D armed');

  // Retransmitted final: ACK again, not passed to the TU.
  clock.advance(1000);
  layer.onResponse(response({ status: 486, toTag: 'uas-tag' }), rxInfo());
  t.equal(transport.lines('ACK').length, 2);
  t.equal(transport.lines('ACK')[1]!.data, acks[0]!.data, 'the same ACK bytes');
  layer.onResponse(response({ status: 200 }), rxInfo());
  layer.onResponse(response({ status: 180 }), rxInfo());
  t.equal(user.events.length, 1);
  t.equal(transport.lines('ACK').length, 2, 'only final non-2xx responses are re-ACKed');
  t.equal(layer.stats.retransmissions, 2, 'one INVITE retransmission, one ACK');

  // Timer D: 32 s for UDP.
  clock.advance(700 + 32_000 - 1700 - 1);
  t.equal(tx.state, 'completed');
  clock.advance(1);
  t.equal(tx.state, 'terminated');
  t.equal(layer.size(), 0);
});

t.test('Timer D is max(32 s, 64*T1) on UDP', async (t) => {
  const { clock, tx, layer } = setup('udp', { t1: 1000, t2: 4000 });
  layer.onResponse(response({ status: 404 }), rxInfo());
  clock.advance(63_999);
  t.equal(tx.state, 'completed');
  clock.advance(1);
  t.equal(tx.state, 'terminated');
});

t.test('non-2xx final over TCP: ACK sent, Timer D zero', async (t) => {
  const { clock, transport, user, tx, layer } = setup('tcp');
  layer.onResponse(response({ status: 180 }), rxInfo());
  layer.onResponse(response({ status: 603 }), rxInfo());
  t.equal(transport.lines('ACK').length, 1);
  t.equal(tx.state, 'terminated');
  t.same(user.states, ['proceeding', 'terminated']);
  t.equal(clock.pending(), 0);
  t.equal(layer.size(), 0);
  layer.onResponse(response({ status: 603 }), rxInfo());
  t.equal(layer.size(), 0);
});

t.test('a multi-value top Via line gives the ACK the first value only', async (t) => {
  const env = makeLayer();
  const user = new RecordingClientUser(env.clock);
  const req = outgoing();
  // Fold our Via and the next one onto one line.
  const vias = req.getList('via');
  req.removeHeader('via');
  req.pushVia(vias.join(', '));
  env.layer.createClientTransaction(req, target(), user);
  env.layer.onResponse(response({ status: 500 }), rxInfo());
  const ack = parseMessage(env.transport.lines('ACK')[0]!.data) as SipRequest;
  t.same(ack.getAll('via'), [vias[0]]);
});

t.test('transport error while Calling: TU told, Terminated (§17.1.4)', async (t) => {
  const env = makeLayer();
  const user = new RecordingClientUser(env.clock);
  env.transport.failWith = sendError();
  const tx = env.layer.createClientTransaction(outgoing(), target(), user);
  t.equal(tx.state, 'calling', 'the error arrives asynchronously');
  await flush();
  t.same(user.events, ['error@0']);
  t.equal(user.errors[0]!.message, 'Cannot send: connection refused');
  t.equal(tx.state, 'terminated');
  t.equal(env.clock.pending(), 0);
  t.equal(env.layer.size(), 0);
});

t.test('a synchronous send error leaves no timer behind', async (t) => {
  const env = makeLayer();
  const user = new RecordingClientUser(env.clock);
  env.transport.failWith = sendError();
  env.transport.syncErrors = true;
  const tx = env.layer.createClientTransaction(outgoing(), target(), user);
  t.equal(tx.state, 'terminated');
  t.same(user.events, ['error@0']);
  t.equal(env.clock.pending(), 0);
  t.equal(env.layer.size(), 0);
});

t.test('transport error on a retransmission while Proceeding ends the transaction', async (t) => {
  const { clock, transport, user, tx, layer } = setup();
  clock.advance(500); // the retransmission is sent...
  transport.failWith = sendError();
  clock.advance(1000); // ...and the next one fails
  layer.onResponse(response({ status: 180 }), rxInfo()); // arrives before the error report
  await flush();
  t.same(user.events, ['180@1500', 'error@1500']);
  t.equal(tx.state, 'terminated');
});

t.test('a send error after the final response is ignored', async (t) => {
  const { transport, user, tx, layer } = setup();
  transport.failWith = sendError();
  layer.onResponse(response({ status: 486 }), rxInfo()); // the ACK send fails
  await flush();
  t.equal(tx.state, 'completed', 'Completed keeps absorbing retransmissions');
  t.same(user.events, ['486@0']);
});
