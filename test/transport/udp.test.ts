import t, { type Test } from 'tap';
import { createResponse } from '../../src/sip/index.js';
import { TransportLayer, type TransportLayerOptions } from '../../src/transport/index.js';
import { Recorder, header, sipRequest, sipResponse } from '../helpers/sip-recorder.js';
import { UdpPeer } from '../helpers/udp-peer.js';

/** A started layer on one UDP socket, a recorder and a raw peer; all closed at teardown. */
async function setup(t: Test, extra: Partial<TransportLayerOptions> = {}) {
  const rec = new Recorder();
  const layer = new TransportLayer({ listen: ['udp:127.0.0.1:0'], handler: rec, ...extra });
  await layer.start();
  const peer = await UdpPeer.open();
  t.teardown(async () => {
    await peer.close();
    await layer.stop();
  });
  const port = layer.sockets()[0]!.port;
  return { rec, layer, peer, port };
}

t.test('a request is delivered with its ReceiveInfo', async (t) => {
  const { rec, layer, peer, port } = await setup(t);
  const via = `SIP/2.0/UDP 127.0.0.1:${peer.port};branch=z9hG4bK-1`;
  const text = sipRequest({ via });
  await peer.send(text, port);
  const { msg, rx } = await rec.nextRequest();
  t.equal(msg.method, 'OPTIONS');
  t.equal(rx.protocol, 'udp');
  t.equal(rx.socket, layer.sockets()[0]);
  t.equal(rx.sourceAddress, '127.0.0.1');
  t.equal(rx.sourcePort, peer.port);
  t.equal(rx.connectionId, null);
  t.type(rx.receivedAt, 'number');
  // RFC 3261 §18.2.1: sent-by equals the source and no rport: the Via is left alone.
  t.equal(msg.toBuffer().toString('latin1'), text, 'untouched message, byte for byte');
  t.equal(layer.stats.received_requests, 1);
});

t.test('RFC 3581 §4: rport is filled and received added, in parameter order', async (t) => {
  const { rec, peer, port } = await setup(t);
  await peer.send(
    sipRequest({ via: 'SIP/2.0/UDP 10.1.1.1:4540;rport;branch=z9hG4bKkjshdyff' }),
    port,
  );
  const { msg } = await rec.nextRequest();
  t.equal(
    msg.get('via'),
    `SIP/2.0/UDP 10.1.1.1:4540;received=127.0.0.1;rport=${peer.port};branch=z9hG4bKkjshdyff`,
  );
});

t.test('RFC 3261 §18.2.1: received is added when sent-by differs, even a name', async (t) => {
  const { rec, peer, port } = await setup(t);
  await peer.send(sipRequest({ via: 'SIP/2.0/UDP pc33.example.com;branch=z9hG4bK-2;ttl=3' }), port);
  const { msg } = await rec.nextRequest();
  t.equal(msg.get('via'), 'SIP/2.0/UDP pc33.example.com;branch=z9hG4bK-2;ttl=3;received=127.0.0.1');
  // A stale received is replaced where it stands.
  await peer.send(
    sipRequest({ via: 'SIP/2.0/UDP 192.0.2.1:5060;received=192.0.2.99;branch=z9hG4bK-3' }),
    port,
  );
  const second = await rec.nextRequest();
  t.equal(second.msg.get('via'), 'SIP/2.0/UDP 192.0.2.1:5060;received=127.0.0.1;branch=z9hG4bK-3');
  t.equal(second.msg.vias().length, 1, 'still one Via');
});

t.test('a request failing validation gets a 400 naming the problem', async (t) => {
  const { rec, layer, peer, port } = await setup(t);
  await peer.send(
    sipRequest({ via: 'SIP/2.0/UDP 192.0.2.7:5060;rport;branch=z9hG4bK-bad', omit: ['Call-ID'] }),
    port,
  );
  const reply = await peer.nextText();
  t.match(reply, /^SIP\/2\.0 400 Missing Call-ID Header\r\n/);
  t.equal(
    header(reply, 'Via'),
    `SIP/2.0/UDP 192.0.2.7:5060;received=127.0.0.1;rport=${peer.port};branch=z9hG4bK-bad`,
    'answered at the real source (received/rport)',
  );
  t.match(header(reply, 'To') ?? '', /;tag=/);
  t.equal(layer.stats.bad_messages, 1);
  t.equal(layer.stats.received_requests, 0);
  t.equal(rec.all.length, 0, 'nothing delivered');
});

t.test('an invalid ACK is dropped without an answer', async (t) => {
  const { layer, peer, port } = await setup(t);
  const via = `SIP/2.0/UDP 127.0.0.1:${peer.port};branch=z9hG4bK-ack`;
  await peer.send(sipRequest({ method: 'ACK', via, omit: ['Call-ID'] }), port);
  t.ok(await peer.silentFor(150));
  t.equal(layer.stats.bad_messages, 1);
});

t.test('a request the parser refuses is still answered when its Via can be read', async (t) => {
  const { layer, peer, port } = await setup(t);
  const via = `SIP/2.0/UDP 127.0.0.1:${peer.port};branch=z9hG4bK-v3`;
  await peer.send(sipRequest({ via }).replace('SIP/2.0\r\n', 'SIP/3.0\r\n'), port);
  t.match(await peer.nextText(), /^SIP\/2\.0 505 Version Not Supported \(SIP\/3\.0\)\r\n/);
  await peer.send(sipRequest({ via, headers: ['Content-Length: -1'], contentLength: false }), port);
  const reply = await peer.nextText();
  t.match(reply, /^SIP\/2\.0 400 Bad Content-Length\r\n/);
  t.equal(header(reply, 'Call-ID'), 'call-1@test');
  t.equal(header(reply, 'CSeq'), '1 OPTIONS');
  t.equal(layer.stats.bad_messages, 2);
});

t.test('garbage is dropped and counted; CRLF keep-alives are ignored', async (t) => {
  const { rec, layer, peer, port } = await setup(t);
  await peer.send('\x16\x03\x01 not sip at all', port);
  await peer.send('SIP/2.0 200 OK\r\nVia: ???\r\n\r\n', port);
  await peer.send('\r\n\r\n', port);
  await peer.send('\r\n', port);
  t.ok(await peer.silentFor(150), 'no answer');
  t.equal(layer.stats.bad_messages, 2, 'keep-alives are not bad messages');
  t.equal(rec.all.length, 0);
});

t.test('RFC 3261 §18.1.2: a response is delivered only when its sent-by is ours', async (t) => {
  const { rec, layer, peer, port } = await setup(t);
  await peer.send(sipResponse('SIP/2.0/UDP 192.0.2.1:5060;branch=z9hG4bK-foreign'), port);
  await peer.send(sipResponse(`SIP/2.0/UDP 127.0.0.1:${port};branch=z9hG4bK-ours`), port);
  const { msg, rx } = await rec.nextResponse();
  t.equal(msg.status, 200);
  t.equal(msg.topVia()?.params.get('branch'), 'z9hG4bK-ours');
  t.equal(rx.sourcePort, peer.port);
  t.equal(layer.stats.dropped_responses, 1);
  t.equal(layer.stats.received_replies, 1);
  // A response with no port in sent-by matches only the default port, which is not ours.
  await peer.send(sipResponse('SIP/2.0/UDP 127.0.0.1;branch=z9hG4bK-noport'), port);
  await t.rejects(rec.next(150));
  t.equal(layer.stats.dropped_responses, 2);
});

t.test('a response naming a configured alias is ours (nodes behind one virtual IP)', async (t) => {
  const { rec, layer, peer, port } = await setup(t, {
    aliases: [{ host: '192.0.2.10', port: 5070 }, { host: 'vip.example.com' }],
  });
  await peer.send(sipResponse('SIP/2.0/UDP 192.0.2.10:5070;branch=z9hG4bK-vip'), port);
  await peer.send(sipResponse('SIP/2.0/UDP VIP.example.com:7000;branch=z9hG4bK-anyport'), port);
  await peer.send(sipResponse('SIP/2.0/UDP 192.0.2.10:5071;branch=z9hG4bK-otherport'), port);
  t.equal((await rec.nextResponse()).msg.topVia()?.params.get('branch'), 'z9hG4bK-vip');
  t.equal((await rec.nextResponse()).msg.topVia()?.params.get('branch'), 'z9hG4bK-anyport');
  await t.rejects(rec.next(150), 'another port of an alias with a port is not ours');
  t.equal(layer.stats.dropped_responses, 1);
});

t.test('sendResponse: received + rport, from the socket the request came in on', async (t) => {
  const { rec, layer, peer, port } = await setup(t);
  await peer.send(sipRequest({ via: 'SIP/2.0/UDP 192.0.2.1:5060;rport;branch=z9hG4bK-r' }), port);
  const { msg, rx } = await rec.nextRequest();
  const sent = new Promise<Error | null>((resolve) => {
    layer.sendResponse(createResponse(msg, 200), rx, resolve);
  });
  const d = await peer.next();
  t.equal(await sent, null);
  t.equal(d.port, port, 'sent from the receiving socket (RFC 3581 §4 symmetric routing)');
  t.match(d.data.toString('latin1'), /^SIP\/2\.0 200 OK\r\n/);
  t.equal(layer.stats.sent_messages, 1);
});

t.test('sendResponse: received without rport uses the sent-by port', async (t) => {
  const { rec, layer, peer, port } = await setup(t);
  await peer.send(sipRequest({ via: `SIP/2.0/UDP 192.0.2.1:${peer.port};branch=z9hG4bK-s` }), port);
  const { msg, rx } = await rec.nextRequest();
  t.equal(msg.topVia()?.params.get('received'), '127.0.0.1');
  layer.sendResponse(createResponse(msg, 180), rx);
  t.match(await peer.nextText(), /^SIP\/2\.0 180 Ringing\r\n/);
});

t.test('sendResponse: maddr wins, with the sent-by port', async (t) => {
  const { rec, layer, peer, port } = await setup(t);
  const other = await UdpPeer.open();
  t.teardown(() => other.close());
  const via = `SIP/2.0/UDP 192.0.2.1:${other.port};maddr=127.0.0.1;branch=z9hG4bK-m`;
  await peer.send(sipRequest({ via }), port);
  const { msg, rx } = await rec.nextRequest();
  layer.sendResponse(createResponse(msg, 200), rx);
  t.match(await other.nextText(), /^SIP\/2\.0 200 OK\r\n/, 'went to maddr');
  t.ok(await peer.silentFor(100), 'not to the source');
});

t.test('sendResponse: a name with no received cannot be sent without DNS', async (t) => {
  const { rec, layer, peer, port } = await setup(t);
  await peer.send(sipRequest({ via: `SIP/2.0/UDP 127.0.0.1:${peer.port};branch=z9hG4bK-n` }), port);
  const { msg, rx } = await rec.nextRequest();
  msg.popVia();
  msg.pushVia('SIP/2.0/UDP proxy.example.com:5060;branch=z9hG4bK-n');
  const err = await new Promise<Error | null>((resolve) => {
    layer.sendResponse(createResponse(msg, 200), rx, resolve);
  });
  t.match(err, { code: 'TANDEM_ERR_SEND', message: /proxy\.example\.com is not an IP address/ });
  t.equal(layer.stats.send_failures, 1);
});

t.test('send: a datagram leaves from the listen socket', async (t) => {
  const { layer, peer, port } = await setup(t);
  const err = await new Promise<Error | null>((resolve) => {
    layer.send(
      { protocol: 'udp', address: '127.0.0.1', port: peer.port },
      Buffer.from('hello'),
      resolve,
    );
  });
  t.equal(err, null);
  const d = await peer.next();
  t.equal(d.data.toString(), 'hello');
  t.equal(d.port, port);
  layer.send(
    { protocol: 'udp', address: '127.0.0.1', port: peer.port },
    Buffer.from('no callback'),
  );
  t.equal((await peer.next()).data.toString(), 'no callback');
  t.equal(layer.stats.sent_messages, 2);
});

t.test('send: no socket for the family fails through the callback', async (t) => {
  const { layer } = await setup(t);
  let sync = true;
  const err = await new Promise<Error | null>((resolve) => {
    layer.send({ protocol: 'udp', address: '::1', port: 5060 }, Buffer.from('x'), (e) => {
      t.notOk(sync, 'asynchronously');
      resolve(e);
    });
    sync = false;
  });
  t.match(err, { code: 'TANDEM_ERR_SEND', message: /no udp socket for IPv6/ });
  t.equal(layer.stats.send_failures, 1);
  // Without a callback the failure is only counted.
  layer.send({ protocol: 'udp', address: '::1', port: 5060 }, Buffer.from('x'));
  t.equal(layer.stats.send_failures, 2);
});

t.test('a handler that throws is counted and logged; the next message still flows', async (t) => {
  const rec = new Recorder();
  let calls = 0;
  const { layer, peer, port } = await setup(t, {
    handler: {
      onRequest: (req, rx) => {
        calls++;
        if (calls === 1) {
          throw new Error('boom');
        }
        rec.onRequest(req, rx);
      },
      onResponse: () => {
        throw new Error('boom');
      },
    },
  });
  const via = `SIP/2.0/UDP 127.0.0.1:${peer.port};branch=z9hG4bK-h`;
  await peer.send(sipRequest({ via, callId: 'first' }), port);
  await peer.send(sipRequest({ via, callId: 'second' }), port);
  const { msg } = await rec.nextRequest();
  t.equal(msg.callId(), 'second');
  await peer.send(sipResponse(`SIP/2.0/UDP 127.0.0.1:${port};branch=z9hG4bK-x`), port);
  await new Promise((r) => setTimeout(r, 100));
  t.equal(layer.stats.handler_errors, 2);
});

t.test('without a handler messages are counted and dropped', async (t) => {
  const layer = new TransportLayer({ listen: ['udp:127.0.0.1:0'] });
  await layer.start();
  const peer = await UdpPeer.open();
  t.teardown(async () => {
    await peer.close();
    await layer.stop();
  });
  const port = layer.sockets()[0]!.port;
  await peer.send(sipRequest({ via: `SIP/2.0/UDP 127.0.0.1:${peer.port};branch=z9hG4bK-o` }), port);
  await peer.send(sipResponse(`SIP/2.0/UDP 127.0.0.1:${port};branch=z9hG4bK-o`), port);
  await new Promise((r) => setTimeout(r, 100));
  t.equal(layer.stats.received_requests, 1);
  t.equal(layer.stats.received_replies, 1);
  const rec = new Recorder();
  layer.setHandler(rec);
  await peer.send(sipRequest({ via: `SIP/2.0/UDP 127.0.0.1:${peer.port};branch=z9hG4bK-p` }), port);
  t.equal((await rec.nextRequest()).msg.method, 'OPTIONS');
});

t.test('UDP sockets ask for a larger receive buffer, or keep the system default', async (t) => {
  const { UdpListener } = await import('../../src/transport/udp.js');
  const { systemClock } = await import('../../src/core/clock.js');
  const { silentLogger } = await import('../../src/core/logger.js');
  const sink = { clock: systemClock, logger: silentLogger, receiver: { receive() {} } };
  const plain = new UdpListener(sink, 4);
  const grown = new UdpListener(sink, 4, 1024 * 1024);
  await plain.listen('127.0.0.1', 0);
  await grown.listen('127.0.0.1', 0);
  t.teardown(async () => {
    await plain.close();
    await grown.close();
  });
  t.ok(
    grown.recvBufferSize() > plain.recvBufferSize(),
    `grown ${grown.recvBufferSize()} > default ${plain.recvBufferSize()}`,
  );
});
