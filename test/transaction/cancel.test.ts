/** RFC 3261 §9.1 CANCEL through TransactionLayer.cancel(). */
import t from 'tap';
import { parseMessage, type SipRequest } from '../../src/sip/index.js';
import { InviteClientTransaction } from '../../src/transaction/invite-client.js';
import {
  RecordingClientUser,
  makeLayer,
  outgoing,
  response,
  rxInfo,
  target,
  times,
} from './helpers.js';

function setup() {
  const env = makeLayer();
  const user = new RecordingClientUser(env.clock);
  const req = outgoing({ routes: ['<sip:edge.example.org;lr>'] });
  const invite = env.layer.createClientTransaction(req, target(), user);
  return { ...env, user, req, invite };
}

t.test('after a provisional: CANCEL sent at once, built per §9.1', async (t) => {
  const { layer, transport, req, invite, clock } = setup();
  layer.onResponse(response({ status: 180 }), rxInfo());
  const cancelUser = new RecordingClientUser(clock);
  const cancelTx = layer.cancel(invite, cancelUser);
  t.not(cancelTx, null);
  t.equal(cancelTx!.state, 'trying');
  t.same(cancelTx!.target, invite.target, 'to the same target');
  t.equal(cancelTx!.id, 'z9hG4bKproxy1 CANCEL');
  const sent = transport.lines('CANCEL');
  t.equal(sent.length, 1);
  const cancel = parseMessage(sent[0]!.data) as SipRequest;
  t.equal(cancel.method, 'CANCEL');
  t.equal(cancel.uri, req.uri);
  t.equal(cancel.callId(), req.callId());
  t.equal(cancel.get('from'), req.get('from'));
  t.equal(cancel.get('to'), req.get('to'), 'the To of the INVITE, no tag added');
  t.same(cancel.cseq(), { seq: req.cseq().seq, method: 'CANCEL' });
  t.same(cancel.getAll('via'), [req.getList('via')[0]], 'a single Via: the INVITE top Via');
  t.same(cancel.getAll('route'), ['<sip:edge.example.org;lr>']);
  t.equal(cancel.maxForwards(), 70);
  t.equal(layer.cancel(invite), cancelTx, 'idempotent');
  t.equal(transport.lines('CANCEL').length, 1);
  // Its responses reach the CANCEL's user; the INVITE's 487 reaches the INVITE's.
  layer.onResponse(response({ status: 200, method: 'CANCEL' }), rxInfo());
  t.same(cancelUser.events, ['200@0']);
  t.equal(layer.stats.UAC_transactions, 2);
});

t.test('before any provisional: deferred, sent when one arrives (§9.1)', async (t) => {
  const { layer, transport, invite, clock, user } = setup();
  t.equal(layer.cancel(invite), null);
  t.equal(layer.cancel(invite), null, 'still deferred');
  t.ok(invite instanceof InviteClientTransaction && invite.cancelPending);
  clock.advance(2000); // INVITE retransmissions continue, no CANCEL
  t.equal(transport.lines('CANCEL').length, 0);
  t.same(times(transport, 'INVITE'), [0, 500, 1500]);
  layer.onResponse(response({ status: 100, toTag: null }), rxInfo());
  t.same(times(transport, 'CANCEL'), [2000]);
  t.same(user.events, ['100@2000']);
  t.ok(invite instanceof InviteClientTransaction && !invite.cancelPending);
  const again = layer.cancel(invite);
  t.not(again, null, 'now the CANCEL transaction');
  t.equal(again!.request.method, 'CANCEL');
  // With no user, CANCEL outcomes are only logged.
  layer.onResponse(response({ status: 200, method: 'CANCEL' }), rxInfo());
  t.equal(again!.state, 'completed');
});

t.test('deferred CANCEL dropped when a final response or Timer B comes first', async (t) => {
  for (const end of [200, 486, 'timeout'] as const) {
    const { layer, transport, invite, clock } = setup();
    t.equal(layer.cancel(invite), null);
    if (end === 'timeout') {
      clock.advance(32_000);
    } else {
      layer.onResponse(response({ status: end }), rxInfo());
      layer.onResponse(response({ status: 180 }), rxInfo());
    }
    clock.advance(100_000);
    t.equal(transport.lines('CANCEL').length, 0, `no CANCEL after ${end}`);
  }
});

t.test('after a final response: no CANCEL (§9.1: "an effective no-op")', async (t) => {
  const { layer, transport, invite } = setup();
  layer.onResponse(response({ status: 486 }), rxInfo());
  t.equal(layer.cancel(invite), null);
  t.equal(transport.lines('CANCEL').length, 0);
});

t.test('cancel() refuses what is not a live INVITE client transaction', async (t) => {
  const { layer, clock, invite } = setup();
  const user = new RecordingClientUser(clock);
  const options = layer.createClientTransaction(
    outgoing({ method: 'OPTIONS', ourBranch: 'z9hG4bKopt' }),
    target(),
    user,
  );
  t.throws(() => layer.cancel(options), { code: 'TANDEM_ERR_INVALID_ARGUMENT' });
  layer.onResponse(response({ status: 486 }), rxInfo());
  clock.advance(40_000);
  t.equal(invite.state, 'terminated');
  t.throws(() => layer.cancel(invite), { code: 'TANDEM_ERR_INVALID_ARGUMENT' });
  const other = makeLayer();
  t.throws(() => other.layer.cancel(options), { code: 'TANDEM_ERR_INVALID_ARGUMENT' });
});

t.test('the CANCEL transaction times out and fails like any non-INVITE one', async (t) => {
  const { layer, transport, invite, clock } = setup();
  layer.onResponse(response({ status: 183 }), rxInfo());
  const cancelUser = new RecordingClientUser(clock);
  const cancelTx = layer.cancel(invite, cancelUser);
  clock.advance(32_000);
  t.equal(cancelTx!.state, 'terminated');
  t.same(cancelUser.events, ['timeout@32000']);
  // The logging default user takes timeouts and transport errors too.
  const env = setup();
  env.layer.onResponse(response({ status: 183 }), rxInfo());
  env.transport.failWith = new Error('down');
  const quiet = env.layer.cancel(env.invite);
  await new Promise((r) => setImmediate(r));
  t.equal(quiet!.state, 'terminated');
  const env2 = setup();
  env2.layer.onResponse(response({ status: 183 }), rxInfo());
  const quiet2 = env2.layer.cancel(env2.invite);
  env2.clock.advance(32_000);
  t.equal(quiet2!.state, 'terminated');
  t.ok(transport.lines('CANCEL').length > 1);
});
