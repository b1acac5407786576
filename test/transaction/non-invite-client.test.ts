import t from 'tap';
import { NonInviteClientTransaction } from '../../src/transaction/non-invite-client.js';
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
  const req = outgoing({ method: 'OPTIONS' });
  const tx = env.layer.createClientTransaction(req, target(protocol), user);
  return { ...env, user, req, tx };
}

const ok = (status = 200) => response({ status, method: 'OPTIONS' });

t.test('Trying over UDP: Timer E doubles up to T2, Timer F times out at 64*T1', async (t) => {
  const { clock, transport, user, tx, layer } = setup();
  t.ok(tx instanceof NonInviteClientTransaction);
  t.equal(tx.state, 'trying');
  clock.advance(40_000);
  // §17.1.2.2: E at T1, then MIN(2E, T2): intervals 500, 1000, 2000, 4000, 4000, ...
  t.same(
    times(transport, 'OPTIONS'),
    [0, 500, 1500, 3500, 7500, 11500, 15500, 19500, 23500, 27500, 31500],
  );
  t.same(user.events, ['timeout@32000']);
  t.same(user.states, ['terminated']);
  t.equal(layer.stats.retransmissions, 10);
  t.equal(layer.size(), 0);
  t.equal(clock.pending(), 0);
});

t.test('Trying over TCP: no retransmission, F still fires', async (t) => {
  const { clock, transport, user } = setup('tcp');
  clock.advance(40_000);
  t.equal(transport.sent.length, 1);
  t.same(user.events, ['timeout@32000']);
});

t.test('a configured Timer F and T2 apply', async (t) => {
  const { clock, transport, user } = setup('udp', { timerF: 5000, t2: 1000 });
  clock.advance(10_000);
  t.same(times(transport, 'OPTIONS'), [0, 500, 1500, 2500, 3500, 4500]);
  t.same(user.events, ['timeout@5000']);
});

t.test('Proceeding keeps the E and F schedule, with E at T2 from then on', async (t) => {
  const { clock, transport, user, tx, layer } = setup();
  clock.advance(700); // E fired at 500; next due at 1500
  layer.onResponse(ok(100), rxInfo());
  t.equal(tx.state, 'proceeding');
  t.same(user.states, ['proceeding']);
  layer.onResponse(ok(180), rxInfo()); // more provisionals go to the TU too
  clock.advance(40_000);
  // §17.1.2.2: E keeps its pending expiry (1500), then fires every T2 in Proceeding.
  t.same(
    times(transport, 'OPTIONS'),
    [0, 500, 1500, 5500, 9500, 13500, 17500, 21500, 25500, 29500],
  );
  t.same(user.events, ['100@700', '180@700', 'timeout@32000'], 'F not restarted');
});

t.test('Proceeding over TCP keeps only F', async (t) => {
  const { clock, user, layer } = setup('tcp');
  clock.advance(10_000);
  layer.onResponse(ok(100), rxInfo());
  t.equal(clock.pending(), 1);
  clock.advance(30_000);
  t.same(user.events, ['100@10000', 'timeout@32000']);
});

t.test('final response: Completed, retransmissions absorbed, Timer K = T4', async (t) => {
  for (const first of [null, 100]) {
    const { clock, transport, user, tx, layer } = setup();
    if (first !== null) {
      layer.onResponse(ok(first), rxInfo());
    }
    clock.advance(600);
    layer.onResponse(ok(404), rxInfo());
    t.equal(tx.state, 'completed');
    t.equal(tx.lastStatus, 404);
    t.equal(clock.pending(), 1, 'only K');
    layer.onResponse(ok(404), rxInfo());
    layer.onResponse(ok(200), rxInfo());
    t.same(user.events, [...(first === null ? [] : ['100@0']), '404@600']);
    clock.advance(4999);
    t.equal(tx.state, 'completed');
    clock.advance(1);
    t.equal(tx.state, 'terminated');
    t.same(times(transport, 'OPTIONS'), [0, 500], 'no retransmission after the final');
    t.equal(layer.size(), 0);
  }
});

t.test('final response over TCP: Timer K zero', async (t) => {
  const { clock, user, tx, layer } = setup('tcp');
  layer.onResponse(ok(200), rxInfo());
  t.equal(tx.state, 'terminated');
  t.same(user.states, ['terminated']);
  t.equal(clock.pending(), 0);
  t.equal(layer.size(), 0);
});

t.test('transport error: TU told, Terminated', async (t) => {
  const { clock, transport, user, tx } = setup();
  transport.failWith = sendError();
  clock.advance(500);
  await flush();
  t.same(user.events, ['error@500']);
  t.equal(tx.state, 'terminated');
  t.equal(clock.pending(), 0);
});

t.test('a late send error after the final response is ignored', async (t) => {
  const { clock, transport, user, tx, layer } = setup();
  transport.failWith = sendError();
  clock.advance(500);
  layer.onResponse(ok(200), rxInfo());
  await flush();
  t.same(user.events, ['200@500']);
  t.equal(tx.state, 'completed');
});
