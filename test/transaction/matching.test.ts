/** §17.2.3 and §17.1.3 matching, ACK absorption and CANCEL lookup through the layer. */
import t from 'tap';
import {
  createResponse,
  parseMessage,
  type SipRequest,
  type SipResponse,
} from '../../src/sip/index.js';
import {
  makeLayer,
  outgoing,
  RecordingClientUser,
  request,
  response,
  rxInfo,
  target,
} from './helpers.js';

t.test('RFC 3261 matching: branch, sent-by and method', async (t) => {
  const { layer, tu, transport } = makeLayer();
  const rx = rxInfo();
  const inv = request();
  const tx = layer.createServerTransaction(inv, rx);
  tx.respond(createResponse(inv, 180, { toTag: 'uas' }));
  // The same request again: absorbed, last response resent.
  layer.onRequest(request(), rx);
  t.equal(tu.requests.length, 0);
  t.equal(transport.responses.length, 2);
  // Same branch, other sent-by: a different transaction.
  layer.onRequest(request({ sentBy: 'other.example.com:5060' }), rx);
  // Same branch and sent-by, no port written: a different sent-by.
  layer.onRequest(request({ sentBy: 'client.example.com' }), rx);
  // Same branch and sent-by, another method: a different transaction.
  layer.onRequest(request({ method: 'BYE' }), rx);
  // Other branch.
  layer.onRequest(request({ branch: 'z9hG4bKclient2' }), rx);
  t.same(
    tu.requests.map((r) => r.req.method),
    ['INVITE', 'INVITE', 'BYE', 'INVITE'],
  );
  t.ok(tu.requests.every((r) => r.inviteTx === null));
  t.equal(transport.responses.length, 2);
  t.equal(tx.id, 'z9hG4bKclient1 client.example.com:5060 INVITE');
  t.equal(layer.size(), 1);
});

t.test('createServerTransaction refuses an ACK and a duplicate', async (t) => {
  const { layer } = makeLayer();
  const rx = rxInfo();
  layer.createServerTransaction(request(), rx);
  t.throws(() => layer.createServerTransaction(request(), rx), {
    code: 'TANDEM_ERR_INVALID_STATE',
  });
  t.throws(() => layer.createServerTransaction(request({ method: 'ACK' }), rx), {
    code: 'TANDEM_ERR_INVALID_STATE',
  });
  t.equal(layer.stats.UAS_transactions, 1);
  t.equal(layer.stats.inuse_transactions, 1);
});

t.test('ACK: absorbed for a non-2xx, to the TU for a 2xx or when nothing matches', async (t) => {
  const { layer, tu, clock } = makeLayer();
  const rx = rxInfo();
  const inv = request();
  const tx = layer.createServerTransaction(inv, rx);
  // An ACK before any final response belongs to the TU.
  layer.onRequest(request({ method: 'ACK', toTag: 'uas' }), rx);
  t.equal(tu.requests.length, 1);
  tx.respond(createResponse(inv, 404, { toTag: 'uas' }));
  // The ACK for the 404 carries the INVITE's branch (§17.1.1.3): absorbed.
  layer.onRequest(request({ method: 'ACK', toTag: 'uas' }), rx);
  t.equal(tx.state, 'confirmed');
  t.equal(tu.requests.length, 1);
  // An ACK for a 2xx has its own branch (§13.2.2.4): no transaction, to the TU.
  layer.onRequest(request({ method: 'ACK', branch: 'z9hG4bKack2xx', toTag: 'uas' }), rx);
  t.equal(tu.requests.length, 2);
  t.equal(tu.requests[1]!.inviteTx, null);
  clock.advance(10_000);
  // After the transaction ended, a late ACK goes to the TU as well.
  layer.onRequest(request({ method: 'ACK', toTag: 'uas' }), rx);
  t.equal(tu.requests.length, 3);
});

t.test('CANCEL: its own transaction, handed to the TU with the INVITE it cancels', async (t) => {
  const { layer, tu } = makeLayer();
  const rx = rxInfo();
  const inv = request();
  const inviteTx = layer.createServerTransaction(inv, rx);
  layer.onRequest(request({ method: 'CANCEL' }), rx);
  t.equal(tu.requests.length, 1);
  t.equal(tu.requests[0]!.inviteTx, inviteTx, '§9.2: same key but the method');
  // The TU answers the CANCEL through its own server transaction.
  const cancel = tu.requests[0]!.req;
  const cancelTx = layer.createServerTransaction(cancel, rx);
  t.not(cancelTx.id, inviteTx.id);
  cancelTx.respond(createResponse(cancel, 200, { toTag: 'uas' }));
  layer.onRequest(request({ method: 'CANCEL' }), rx); // retransmitted CANCEL: absorbed
  t.equal(tu.requests.length, 1);
  // A CANCEL for nothing.
  layer.onRequest(request({ method: 'CANCEL', branch: 'z9hG4bKnothing' }), rx);
  t.equal(tu.requests[1]!.inviteTx, null);
  // A CANCEL whose branch matches a non-INVITE transaction: no INVITE to cancel.
  const opt = request({ method: 'OPTIONS', branch: 'z9hG4bKopt' });
  layer.createServerTransaction(opt, rx);
  layer.onRequest(request({ method: 'CANCEL', branch: 'z9hG4bKopt' }), rx);
  t.equal(tu.requests[2]!.inviteTx, null);
});

t.test('RFC 2543 fallback: no magic cookie', async (t) => {
  const { layer, tu, transport } = makeLayer();
  const rx = rxInfo();
  const old = { branch: '1234old', cseq: 7 };
  const inv = request(old);
  const tx = layer.createServerTransaction(inv, rx);
  t.match(tx.id, /^2543 /);
  tx.respond(createResponse(inv, 180, { toTag: 'uas' }));
  // Retransmission: every field equal, absorbed.
  layer.onRequest(request(old), rx);
  t.equal(tu.requests.length, 0);
  t.equal(transport.responses.length, 2);
  // Any field different: another request.
  const variants = [
    { ...old, uri: 'sip:carol@example.com' },
    { ...old, fromTag: 'other' },
    { ...old, callId: 'other-call' },
    { ...old, cseq: 8 },
    { ...old, toTag: 'sometag' },
    { ...old, sentBy: 'elsewhere.example.com' },
    { ...old, transport: 'TCP' },
    { branch: '5678old', cseq: 7 },
    { via: 'SIP/2.0/UDP client.example.com:5060', cseq: 7 },
  ];
  for (const v of variants) {
    layer.onRequest(request(v), rx);
  }
  t.equal(tu.requests.length, variants.length, 'none of the variants matched');

  // CANCEL: same fields, method ignored, To tag compared with the INVITE's.
  layer.onRequest(request({ ...old, method: 'CANCEL' }), rx);
  t.equal(tu.requests.at(-1)!.inviteTx, tx);
  layer.onRequest(request({ ...old, method: 'CANCEL', toTag: 'x' }), rx);
  t.equal(tu.requests.at(-1)!.inviteTx, null);

  // ACK: matched through the To tag of the response sent.
  tx.respond(createResponse(inv, 486, { toTag: 'uas' }));
  const before = tu.requests.length;
  layer.onRequest(request({ ...old, method: 'ACK', toTag: 'wrong' }), rx);
  t.equal(tu.requests.length, before + 1, 'an ACK with another To tag is not ours');
  t.equal(tx.state, 'completed');
  layer.onRequest(request({ ...old, method: 'ACK', toTag: 'uas' }), rx);
  t.equal(tx.state, 'confirmed', 'absorbed');
  t.equal(tu.requests.length, before + 1);
});

t.test('RFC 2543 fallback: a re-INVITE with a To tag, ACKed with the same tag', async (t) => {
  const { layer, tu } = makeLayer();
  const rx = rxInfo();
  const spec = { via: 'SIP/2.0/UDP client.example.com:5060', toTag: 'dialog', cseq: 9 };
  const inv = request(spec);
  const tx = layer.createServerTransaction(inv, rx);
  tx.respond(createResponse(inv, 491));
  t.equal(tx.lastResponse!.toTag(), 'dialog', 'the response keeps the dialog tag');
  layer.onRequest(request({ ...spec, method: 'ACK' }), rx);
  t.equal(tx.state, 'confirmed');
  t.equal(tu.requests.length, 0);
  // An ACK with no To tag matches no 2543 transaction whose response had one.
  layer.onRequest(request({ ...spec, method: 'ACK', toTag: null }), rx);
  t.equal(tu.requests.length, 1);
});

t.test('RFC 2543 fallback: an ACK before any response reaches the TU', async (t) => {
  const { layer, tu } = makeLayer();
  const rx = rxInfo();
  const spec = { branch: 'old', cseq: 3 };
  layer.createServerTransaction(request(spec), rx);
  layer.onRequest(request({ ...spec, method: 'ACK', toTag: 'x' }), rx);
  layer.onRequest(request({ ...spec, method: 'ACK' }), rx);
  t.equal(tu.requests.length, 2);
});

t.test('responses: matched by top Via branch and CSeq method, else stray', async (t) => {
  const { layer, tu, clock } = makeLayer();
  const user = new RecordingClientUser(clock);
  const tx = layer.createClientTransaction(outgoing(), target(), user);
  layer.onResponse(response({ status: 180 }), rxInfo());
  t.same(user.events, ['180@0']);
  // Same branch, CSeq method CANCEL: the CANCEL's transaction, not the INVITE's.
  layer.onResponse(response({ status: 200, method: 'CANCEL' }), rxInfo());
  // Another branch.
  layer.onResponse(response({ status: 200, branch: 'z9hG4bKnotours' }), rxInfo());
  // No branch at all, and no Via at all.
  const noBranch = parseMessage(
    Buffer.from(
      'SIP/2.0 200 OK\r\nVia: SIP/2.0/UDP a.example.com\r\nFrom: <sip:a@b>;tag=1\r\n' +
        'To: <sip:b@c>\r\nCall-ID: x\r\nCSeq: 1 INVITE\r\nContent-Length: 0\r\n\r\n',
      'latin1',
    ),
  );
  layer.onResponse(noBranch as SipResponse, rxInfo());
  layer.onResponse(response({ status: 200, noVia: true }), rxInfo());
  t.equal(tu.strays.length, 3);
  t.equal(layer.droppedMessages, 1, 'a response without Via cannot be matched: dropped');
  t.same(user.events, ['180@0']);
  t.equal(tx.id, 'z9hG4bKproxy1 INVITE');
});

t.test('malformed input is dropped and counted, never thrown', async (t) => {
  const { layer, tu } = makeLayer();
  const rx = rxInfo();
  const bad = request({ via: 'SIP/2.0/UDP ;;;' });
  t.doesNotThrow(() => {
    layer.onRequest(bad, rx);
  });
  const noCseq = parseMessage(
    Buffer.from(
      'OPTIONS sip:x@y SIP/2.0\r\nVia: SIP/2.0/UDP h;branch=old\r\nFrom: <sip:a@b>;tag=1\r\n' +
        'To: <sip:b@c>\r\nCall-ID: x\r\nContent-Length: 0\r\n\r\n',
      'latin1',
    ),
  ) as SipRequest;
  layer.onRequest(noCseq, rx);
  const badCseq = parseMessage(
    Buffer.from(
      'SIP/2.0 200 OK\r\nVia: SIP/2.0/UDP h;branch=z9hG4bKx\r\nFrom: <sip:a@b>;tag=1\r\n' +
        'To: <sip:b@c>\r\nCall-ID: x\r\nCSeq: banana\r\nContent-Length: 0\r\n\r\n',
      'latin1',
    ),
  );
  layer.onResponse(badCseq as SipResponse, rx);
  t.equal(layer.droppedMessages, 3);
  t.equal(tu.requests.length, 0);
  t.equal(tu.strays.length, 0);
});

t.test('createClientTransaction refuses ACK, a missing branch and a duplicate', async (t) => {
  const { layer, clock } = makeLayer();
  const user = new RecordingClientUser(clock);
  t.throws(() => layer.createClientTransaction(outgoing({ method: 'ACK' }), target(), user), {
    code: 'TANDEM_ERR_INVALID_ARGUMENT',
  });
  const noBranch = request();
  noBranch.pushVia('SIP/2.0/UDP proxy.example.net:5060');
  t.throws(() => layer.createClientTransaction(noBranch, target(), user), {
    code: 'TANDEM_ERR_INVALID_ARGUMENT',
  });
  layer.createClientTransaction(outgoing(), target(), user);
  t.throws(() => layer.createClientTransaction(outgoing(), target(), user), {
    code: 'TANDEM_ERR_INVALID_STATE',
  });
  // Same branch, other method: a separate transaction (as a CANCEL is).
  layer.createClientTransaction(outgoing({ method: 'OPTIONS' }), target(), user);
  t.equal(layer.size(), 2);
  t.equal(layer.stats.UAC_transactions, 2);
  t.equal(layer.stats.inuse_transactions, 2);
});

t.test('stop(): every timer cancelled, table emptied, input ignored', async (t) => {
  const { layer, clock, tu, transport } = makeLayer();
  const user = new RecordingClientUser(clock);
  const rx = rxInfo();
  const inv = request();
  const stx = layer.createServerTransaction(inv, rx);
  stx.respond(createResponse(inv, 486, { toTag: 'uas' }));
  layer.createClientTransaction(outgoing(), target(), user);
  layer.createClientTransaction(
    outgoing({ method: 'OPTIONS', ourBranch: 'z9hG4bKo' }),
    target(),
    user,
  );
  t.ok(clock.pending() > 0);
  layer.stop();
  t.equal(clock.pending(), 0);
  t.equal(layer.size(), 0);
  t.equal(layer.stats.inuse_transactions, 0);
  t.equal(stx.state, 'terminated');
  const sends = transport.sent.length;
  clock.advance(100_000);
  t.equal(transport.sent.length, sends);
  layer.onRequest(request({ branch: 'z9hG4bKnew' }), rx);
  layer.onResponse(response({ status: 200 }), rx);
  t.equal(tu.requests.length, 0);
  t.equal(tu.strays.length, 0);
  t.same(user.events, [], 'no callbacks on stop');
  t.throws(() => layer.createServerTransaction(request({ branch: 'z9hG4bKn2' }), rx), {
    code: 'TANDEM_ERR_INVALID_STATE',
  });
  t.throws(
    () => layer.createClientTransaction(outgoing({ ourBranch: 'z9hG4bKn3' }), target(), user),
    {
      code: 'TANDEM_ERR_INVALID_STATE',
    },
  );
});
