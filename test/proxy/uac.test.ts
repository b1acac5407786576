/**
 * Requests the node originates (src/proxy/uac.ts): built with defaults or the caller's dialog
 * fields, sent through a client transaction from the chosen socket, and ended by exactly one
 * final status (the response's, 408 on timeout, 503 when nothing can send).
 */
import t from 'tap';
import { silentLogger } from '../../src/core/logger.js';
import { Uac } from '../../src/proxy/uac.js';
import { harness, settle } from '../helpers/proxy-fakes.js';

function setup() {
  const h = harness();
  const uac = new Uac({
    transport: h.transport,
    transactions: h.tx,
    resolver: h.resolver,
    logger: silentLogger,
  });
  return { h, uac };
}

t.test('an OPTIONS ping with defaults ends with the final response', async (t) => {
  const { h, uac } = setup();
  const done = uac.request({ method: 'OPTIONS', uri: 'sip:alice@10.0.0.5:5070' });
  await settle();
  const tx = h.tx.clients[0]!;
  t.equal(tx.target.address, '10.0.0.5');
  t.equal(tx.target.port, 5070);
  const req = tx.request;
  t.equal(req.method, 'OPTIONS');
  t.equal(req.cseq().method, 'OPTIONS');
  t.match(req.get('from'), /^<sip:tandem@.+>;tag=.+/);
  t.equal(req.get('to'), '<sip:alice@10.0.0.5:5070>');
  t.ok(req.topVia()?.params.get('branch')?.startsWith('z9hG4bK'));
  tx.respond(180);
  tx.respond(200);
  const r = await done;
  t.equal(r.status, 200);
  t.equal(r.response?.status, 200);
  t.equal(uac.stats.uac_requests, 1);
});

t.test('dialog fields, route set and destination are the caller’s', async (t) => {
  const { h, uac } = setup();
  const done = uac.request({
    method: 'BYE',
    uri: 'sip:bob@198.51.100.7',
    routes: ['<sip:10.0.0.9;lr>'],
    from: '<sip:alice@example.com>;tag=a1',
    to: '<sip:bob@example.com>;tag=b1',
    callId: 'call-7',
    cseq: 42,
    headers: [['Reason', 'SIP;cause=200;text="timeout"']],
    body: 'x',
    contentType: 'text/plain',
  });
  await settle();
  const tx = h.tx.clients[0]!;
  t.equal(tx.target.address, '10.0.0.9', 'sent along the route set');
  t.equal(tx.request.get('route'), '<sip:10.0.0.9;lr>');
  t.equal(tx.request.get('cseq'), '42 BYE');
  t.equal(tx.request.callId(), 'call-7');
  t.equal(tx.request.get('reason'), 'SIP;cause=200;text="timeout"');
  t.equal(tx.request.body.toString(), 'x');
  tx.user.onTimeout(tx);
  t.same(await done, { status: 408, response: null });
  t.equal(uac.stats.uac_timeouts, 1);

  const viaDst = uac.request({
    method: 'OPTIONS',
    uri: 'sip:a@10.1.1.1',
    dst: 'sip:192.0.2.1:6000',
  });
  await settle();
  const tx2 = h.tx.clients[1]!;
  t.equal(`${tx2.target.address}:${String(tx2.target.port)}`, '192.0.2.1:6000');
  tx2.user.onTransportError(new Error('refused'), tx2);
  t.equal((await viaDst).status, 503);
});

t.test('unsendable requests end in 503; INVITE cannot be originated', async (t) => {
  const { uac } = setup();
  t.equal((await uac.request({ method: 'OPTIONS', uri: 'sip:a@unknown.invalid' })).status, 503);
  t.equal((await uac.request({ method: 'OPTIONS', uri: 'tel:+123' })).status, 503);
  await t.rejects(uac.request({ method: 'INVITE', uri: 'sip:a@10.0.0.1' }), {
    code: 'TANDEM_ERR_INVALID_ARGUMENT',
  });
  t.equal(uac.stats.uac_failures, 2);
});
