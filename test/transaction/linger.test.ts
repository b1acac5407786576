/**
 * After the final response a transaction lingers to absorb retransmissions (up to 64*T1) and
 * keeps only what that needs: never the request, and in Accepted not even the 2xx.
 */
import t from 'tap';
import { createResponse } from '../../src/sip/index.js';
import {
  RecordingClientUser,
  makeLayer,
  outgoing,
  request,
  response,
  rxInfo,
  target,
} from './helpers.js';

const RELEASED = { code: 'TANDEM_ERR_INVALID_STATE' };

t.test('INVITE server, 2xx: Accepted keeps the To tag, not the request or the 2xx', async (t) => {
  const { layer, transport, clock } = makeLayer();
  const req = request();
  const tx = layer.createServerTransaction(req, rxInfo());
  t.equal(tx.request, req, 'readable while proceeding');
  const ok = createResponse(req, 200, { toTag: 'uas1' });
  tx.respond(ok);
  t.equal(tx.state, 'accepted');
  t.throws(() => tx.request, RELEASED);
  t.equal(tx.lastResponse, null);
  t.equal(tx.lastToTag, 'uas1');
  // Another fork's 2xx still goes out (RFC 6026 §8.7) and is not kept either.
  t.ok(tx.respond(createResponse(req, 200, { toTag: 'uas2' })));
  t.equal(transport.responses.length, 2);
  t.equal(tx.lastResponse, null);
  // An INVITE retransmission is absorbed.
  layer.onRequest(request(), rxInfo());
  t.equal(transport.responses.length, 2);
  clock.advance(32_000);
  t.equal(tx.state, 'terminated', 'Timer L');
});

t.test('INVITE server, non-2xx: Completed keeps the response for Timer G', async (t) => {
  const { layer, transport, clock } = makeLayer();
  const req = request();
  const tx = layer.createServerTransaction(req, rxInfo());
  const busy = createResponse(req, 486, { toTag: 'uas1' });
  tx.respond(busy);
  t.throws(() => tx.request, RELEASED);
  t.equal(tx.lastResponse, busy);
  t.equal(tx.lastToTag, 'uas1');
  clock.advance(500);
  t.equal(transport.responses.length, 2, 'Timer G resent the 486');
});

t.test('RFC 2543 ACK matching uses the To tag of the final response', async (t) => {
  const { layer, tu } = makeLayer();
  const old = { branch: '1234', extra: [] };
  const req = request(old);
  const tx = layer.createServerTransaction(req, rxInfo());
  tx.respond(createResponse(req, 486, { toTag: 'uas1' }));
  layer.onRequest(request({ ...old, method: 'ACK', toTag: 'uas1' }), rxInfo());
  t.equal(tx.state, 'confirmed', 'the ACK matched without a branch');
  t.equal(tu.requests.length, 0);
});

t.test('non-INVITE server: Completed answers a retransmission without the request', async (t) => {
  const { layer, transport } = makeLayer();
  const req = request({ method: 'BYE' });
  const tx = layer.createServerTransaction(req, rxInfo());
  tx.respond(createResponse(req, 200, { toTag: 'uas1' }));
  t.throws(() => tx.request, RELEASED);
  t.equal(tx.lastToTag, 'uas1');
  layer.onRequest(request({ method: 'BYE' }), rxInfo());
  t.equal(transport.responses.length, 2, 'the 200 resent');
});

t.test('client transactions let the request go with the final response', async (t) => {
  const { layer, transport, clock } = makeLayer();
  const user = new RecordingClientUser(clock);
  const invite = layer.createClientTransaction(outgoing(), target(), user);
  const bye = layer.createClientTransaction(
    outgoing({ method: 'BYE', ourBranch: 'z9hG4bKproxy2' }),
    target(),
    user,
  );
  t.equal(invite.request.method, 'INVITE', 'readable while calling');
  layer.onResponse(response({ status: 486 }), rxInfo());
  t.equal(invite.state, 'completed');
  t.throws(() => invite.request, RELEASED);
  const acks = () =>
    transport.sent.filter((s) => s.data.toString('latin1').startsWith('ACK')).length;
  t.equal(acks(), 1);
  layer.onResponse(response({ status: 486 }), rxInfo());
  t.equal(acks(), 2, 'Timer D re-ACKs a retransmitted 486 from the kept ACK bytes');
  layer.onResponse(response({ status: 200, method: 'BYE', branch: 'z9hG4bKproxy2' }), rxInfo());
  t.equal(bye.state, 'completed');
  t.throws(() => bye.request, RELEASED);
  const accepted = layer.createClientTransaction(
    outgoing({ ourBranch: 'z9hG4bKproxy3' }),
    target(),
    user,
  );
  layer.onResponse(response({ status: 200, branch: 'z9hG4bKproxy3' }), rxInfo());
  t.equal(accepted.state, 'accepted');
  t.throws(() => accepted.request, RELEASED);
});
