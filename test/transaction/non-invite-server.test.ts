import t from 'tap';
import { createResponse } from '../../src/sip/index.js';
import { NonInviteServerTransaction } from '../../src/transaction/non-invite-server.js';
import { flush, makeLayer, request, rxInfo, sendError } from './helpers.js';

function setup(protocol: 'udp' | 'tcp' = 'udp') {
  const env = makeLayer();
  const req = request({ method: 'REGISTER', transport: protocol.toUpperCase() });
  const rx = rxInfo(protocol);
  const tx = env.layer.createServerTransaction(req, rx);
  let terminated = 0;
  tx.onTerminated = () => {
    terminated++;
  };
  const again = () => {
    env.layer.onRequest(request({ method: 'REGISTER', transport: protocol.toUpperCase() }), rx);
  };
  return {
    ...env,
    req,
    rx,
    tx,
    again,
    terminatedCount: () => terminated,
    statuses: () => env.transport.responses.map((r) => `${r.res.status}@${r.at}`),
  };
}

t.test('Trying: no timer, no 100, retransmissions discarded', async (t) => {
  const { clock, tx, again, statuses, tu } = setup();
  t.ok(tx instanceof NonInviteServerTransaction);
  t.equal(tx.state, 'trying');
  t.equal(clock.pending(), 0);
  again();
  clock.advance(5000);
  t.same(statuses(), []);
  t.equal(tu.requests.length, 0, 'absorbed, not passed to the TU');
});

t.test('provisional: Proceeding; retransmission gets the last provisional', async (t) => {
  const { clock, tx, req, again, statuses } = setup();
  t.ok(tx.respond(createResponse(req, 100)));
  t.equal(tx.state, 'proceeding');
  t.ok(tx.respond(createResponse(req, 183, { toTag: 'uas' })));
  clock.advance(700);
  again();
  t.same(statuses(), ['100@0', '183@0', '183@700']);
});

t.test('final over UDP: Completed, final resent on retransmission, Timer J = 64*T1', async (t) => {
  for (const provisional of [false, true]) {
    const { clock, tx, req, again, statuses, terminatedCount, layer, transport } = setup();
    if (provisional) {
      tx.respond(createResponse(req, 100));
    }
    const ok = createResponse(req, 200, { toTag: 'uas' });
    t.ok(tx.respond(ok));
    t.equal(tx.state, 'completed');
    // Timer J's resends need only the bytes and their target: the parsed response is let go.
    t.equal(tx.lastResponse, null);
    t.equal(tx.lastToTag, 'uas');
    t.notOk(tx.respond(createResponse(req, 500, { toTag: 'uas' })), 'later finals discarded');
    t.notOk(tx.respond(createResponse(req, 100)));
    clock.advance(1000);
    again();
    t.same(statuses(), [...(provisional ? ['100@0'] : []), '200@0', '200@1000']);
    const finals = transport.responses.filter((r) => r.res.status === 200);
    t.equal(finals[1]!.res.toString(), finals[0]!.res.toString(), 'the same bytes resent');
    clock.advance(32_000 - 1000 - 1);
    t.equal(tx.state, 'completed');
    clock.advance(1);
    t.equal(tx.state, 'terminated');
    t.equal(terminatedCount(), 1);
    t.equal(layer.size(), 0);
    t.equal(layer.stats['2xx_transactions'], 1);
    t.equal(layer.stats.retransmissions, 1);
  }
});

t.test('final over TCP: Timer J zero', async (t) => {
  const { clock, tx, req, terminatedCount, layer, statuses } = setup('tcp');
  tx.respond(createResponse(req, 401, { toTag: 'uas' }));
  t.equal(tx.state, 'terminated');
  t.same(statuses(), ['401@0'], 'the response still went out');
  t.equal(terminatedCount(), 1);
  t.equal(clock.pending(), 0);
  t.equal(layer.size(), 0);
  t.equal(layer.stats['4xx_transactions'], 1);
});

t.test('each final class is counted', async (t) => {
  const { layer, rx } = setup();
  const statuses = [301, 404, 503, 600, 202];
  statuses.forEach((status, i) => {
    const r = request({ method: 'OPTIONS', branch: `z9hG4bKcount${i}` });
    layer.createServerTransaction(r, rx).respond(createResponse(r, status, { toTag: 'x' }));
  });
  t.equal(layer.stats['2xx_transactions'], 1);
  t.equal(layer.stats['3xx_transactions'], 1);
  t.equal(layer.stats['4xx_transactions'], 1);
  t.equal(layer.stats['5xx_transactions'], 1);
  t.equal(layer.stats['6xx_transactions'], 1);
  t.equal(layer.stats.UAS_transactions, 6);
});

t.test('transport error: failure, Terminated', async (t) => {
  const { transport, tx, req, terminatedCount, clock } = setup();
  transport.failWith = sendError();
  tx.respond(createResponse(req, 200, { toTag: 'uas' }));
  await flush();
  t.equal(tx.state, 'terminated');
  t.equal((tx as NonInviteServerTransaction).failure, 'transport');
  t.equal(terminatedCount(), 1);
  t.equal(clock.pending(), 0);
  t.notOk(tx.respond(createResponse(req, 200)));
});
