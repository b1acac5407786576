import t from 'tap';
import { createResponse } from '../../src/sip/index.js';
import { InviteServerTransaction } from '../../src/transaction/invite-server.js';
import { flush, makeLayer, request, rxInfo, sendError } from './helpers.js';

function setup(protocol: 'udp' | 'tcp' = 'udp', extra: string[] = []) {
  const env = makeLayer();
  const req = request({ transport: protocol.toUpperCase(), extra });
  const rx = rxInfo(protocol);
  const tx = env.layer.createServerTransaction(req, rx);
  let terminated = 0;
  tx.onTerminated = () => {
    terminated++;
  };
  return {
    ...env,
    req,
    rx,
    tx,
    terminatedCount: () => terminated,
    statuses: () => env.transport.responses.map((r) => `${r.res.status}@${r.at}`),
  };
}

t.test('100 Trying after 200 ms when the TU has not answered', async (t) => {
  const { clock, transport, tx, req, rx } = setup('udp', ['Timestamp: 54.3']);
  t.ok(tx instanceof InviteServerTransaction);
  t.equal(tx.state, 'proceeding');
  t.equal(tx.request, req);
  t.equal(tx.rx, rx);
  clock.advance(199);
  t.equal(transport.responses.length, 0);
  clock.advance(1);
  t.equal(transport.responses.length, 1);
  const trying = transport.responses[0]!;
  t.equal(trying.res.status, 100);
  t.equal(trying.rx, rx, 'sent where the request came from');
  t.equal(trying.res.toTag(), null, 'no To tag on 100');
  t.equal(trying.res.get('timestamp'), '54.3', '§8.2.6.1: Timestamp copied');
  t.equal(tx.lastResponse, trying.res);
  t.equal(clock.pending(), 0, 'Proceeding holds no timer after that');
});

t.test('no 100 Trying when the TU sends a provisional within 200 ms', async (t) => {
  const { clock, tx, req, statuses } = setup();
  clock.advance(50);
  t.ok(tx.respond(createResponse(req, 180, { toTag: 'uas' })));
  clock.advance(1000);
  t.same(statuses(), ['180@50']);
  t.equal(tx.state, 'proceeding');
});

t.test('no 100 Trying when the TU answers finally within 200 ms', async (t) => {
  const { clock, tx, req, statuses } = setup('tcp');
  clock.advance(10);
  t.ok(tx.respond(createResponse(req, 404, { toTag: 'uas' })));
  clock.advance(1000);
  t.same(statuses(), ['404@10']);
});

t.test('100 Trying has no Timestamp when the request had none', async (t) => {
  const { clock, transport } = setup();
  clock.advance(200);
  t.equal(transport.responses[0]!.res.get('timestamp'), undefined);
});

t.test('retransmitted INVITE in Proceeding: the last provisional again', async (t) => {
  const { clock, tx, req, layer, rx, statuses, tu } = setup();
  layer.onRequest(request(), rx); // before any response: nothing to resend
  t.same(statuses(), []);
  tx.respond(createResponse(req, 180, { toTag: 'uas' }));
  tx.respond(createResponse(req, 183, { toTag: 'uas' }));
  clock.advance(500);
  layer.onRequest(request(), rx);
  t.same(statuses(), ['180@0', '183@0', '183@500']);
  t.equal(tu.requests.length, 0, 'not passed to the TU');
  t.equal(layer.stats.retransmissions, 1);
});

t.test('non-2xx final over UDP: Timer G capped at T2, Timer H fails it', async (t) => {
  const { clock, tx, req, layer, statuses, terminatedCount } = setup();
  clock.advance(300); // the 100 Trying went out at 200
  const busy = createResponse(req, 486, { toTag: 'uas' });
  t.ok(tx.respond(busy));
  t.equal(tx.state, 'completed');
  t.equal(tx.lastResponse, busy);
  t.equal(layer.stats['4xx_transactions'], 1);
  t.notOk(tx.respond(createResponse(req, 500, { toTag: 'uas' })), 'one final only');
  clock.advance(40_000);
  // §17.2.1: G at T1, then MIN(2G, T2) until H = 64*T1.
  const g = [500, 1500, 3500, 7500, 11500, 15500, 19500, 23500, 27500, 31500].map(
    (d) => `486@${300 + d}`,
  );
  t.same(statuses(), ['100@200', '486@300', ...g]);
  t.equal(tx.state, 'terminated');
  t.equal((tx as InviteServerTransaction).failure, 'timeout', 'H: the ACK never came');
  t.equal(terminatedCount(), 1);
  t.equal(layer.size(), 0);
  t.equal(layer.stats.retransmissions, 10);
});

t.test('ACK in Completed: Confirmed, G stops, Timer I = T4', async (t) => {
  const { clock, tx, req, layer, rx, statuses, tu, terminatedCount } = setup();
  tx.respond(createResponse(req, 603, { toTag: 'uas' }));
  clock.advance(600); // one G retransmission at 500
  layer.onRequest(request({ method: 'ACK', toTag: 'uas' }), rx);
  t.equal(tx.state, 'confirmed');
  t.equal(tu.requests.length, 0, 'absorbed');
  layer.onRequest(request({ method: 'ACK', toTag: 'uas' }), rx);
  layer.onRequest(request(), rx); // INVITE retransmission: absorbed in Confirmed
  t.equal(tu.requests.length, 0);
  clock.advance(4999);
  t.equal(tx.state, 'confirmed');
  clock.advance(1);
  t.equal(tx.state, 'terminated');
  t.equal((tx as InviteServerTransaction).failure, null);
  t.same(statuses(), ['603@0', '603@500']);
  t.equal(terminatedCount(), 1);
  t.equal(layer.stats['6xx_transactions'], 1);
});

t.test('retransmitted INVITE in Completed: the final response again', async (t) => {
  const { clock, tx, req, layer, rx, statuses } = setup();
  tx.respond(createResponse(req, 302, { toTag: 'uas' }));
  clock.advance(100);
  layer.onRequest(request(), rx);
  t.same(statuses(), ['302@0', '302@100']);
  t.equal(layer.stats['3xx_transactions'], 1);
});

t.test('non-2xx final over TCP: no G; the ACK ends it at once (I = 0)', async (t) => {
  const { clock, tx, req, layer, rx, statuses, terminatedCount } = setup('tcp');
  tx.respond(createResponse(req, 480, { toTag: 'uas' }));
  t.equal(clock.pending(), 1, 'only H');
  clock.advance(10_000);
  t.same(statuses(), ['480@0']);
  layer.onRequest(request({ method: 'ACK', toTag: 'uas', transport: 'TCP' }), rx);
  t.equal(tx.state, 'terminated');
  t.equal(terminatedCount(), 1);
  t.equal(clock.pending(), 0);
});

t.test('Timer H runs on TCP too', async (t) => {
  const { clock, tx, req } = setup('tcp');
  tx.respond(createResponse(req, 500, { toTag: 'uas' }));
  clock.advance(32_000);
  t.equal(tx.state, 'terminated');
  t.equal((tx as InviteServerTransaction).failure, 'timeout');
});

t.test('2xx: Accepted (RFC 6026), Timer L, INVITE absorbed, more 2xx sent', async (t) => {
  for (const protocol of ['udp', 'tcp'] as const) {
    const { clock, tx, req, layer, rx, statuses, tu } = setup(protocol);
    clock.advance(100);
    t.ok(tx.respond(createResponse(req, 200, { toTag: 'uas' })));
    t.equal(tx.state, 'accepted');
    t.equal(layer.stats['2xx_transactions'], 1);
    clock.advance(1000);
    layer.onRequest(request({ transport: protocol.toUpperCase() }), rx);
    t.equal(tu.requests.length, 0, 'INVITE retransmission absorbed, not re-answered');
    t.ok(tx.respond(createResponse(req, 200, { toTag: 'fork2' })), 'another 2xx goes out');
    t.notOk(tx.respond(createResponse(req, 486, { toTag: 'uas' })), 'a non-2xx does not');
    t.notOk(tx.respond(createResponse(req, 180, { toTag: 'uas' })));
    // An ACK matching an Accepted transaction acknowledges the 2xx: it belongs to the TU.
    layer.onRequest(
      request({ method: 'ACK', toTag: 'uas', transport: protocol.toUpperCase() }),
      rx,
    );
    t.equal(tu.requests.length, 1);
    t.equal(tu.requests[0]!.req.method, 'ACK');
    t.same(statuses(), ['200@100', '200@1100'], 'the transaction never retransmits a 2xx');
    clock.advance(32_000 - 1000 - 1);
    t.equal(tx.state, 'accepted');
    clock.advance(1);
    t.equal(tx.state, 'terminated', `Timer L = 64*T1 over ${protocol}`);
    t.equal((tx as InviteServerTransaction).failure, null);
  }
});

t.test('respond() checks the status and refuses after Terminated', async (t) => {
  const { clock, tx, req } = setup('tcp');
  const bad = createResponse(req, 200);
  bad.status = 99;
  t.throws(() => tx.respond(bad), { code: 'TANDEM_ERR_INVALID_ARGUMENT' });
  bad.status = 700;
  t.throws(() => tx.respond(bad), { code: 'TANDEM_ERR_INVALID_ARGUMENT' });
  tx.respond(createResponse(req, 200));
  clock.advance(40_000);
  t.equal(tx.state, 'terminated');
  t.notOk(tx.respond(createResponse(req, 200)));
});

t.test('transport error on a response: failure, Terminated (§17.2.4)', async (t) => {
  const { clock, transport, tx, req, terminatedCount, layer } = setup();
  transport.failWith = sendError();
  tx.respond(createResponse(req, 486, { toTag: 'uas' }));
  await flush();
  t.equal(tx.state, 'terminated');
  t.equal((tx as InviteServerTransaction).failure, 'transport');
  t.equal(terminatedCount(), 1);
  t.equal(clock.pending(), 0);
  t.equal(layer.size(), 0);
});

t.test('a synchronous send error on the 100 Trying ends the transaction cleanly', async (t) => {
  const { clock, transport, tx } = setup();
  transport.failWith = sendError();
  transport.syncErrors = true;
  clock.advance(200);
  t.equal(tx.state, 'terminated');
  t.equal(clock.pending(), 0);
});
