import http from 'node:http';
import t, { type Test } from 'tap';
import { createResponse } from '../../src/sip/index.js';
import { TransportLayer, type TransportLayerOptions } from '../../src/transport/index.js';
import { Recorder, sipRequest, sipResponse, until } from '../helpers/sip-recorder.js';
import { PeerServer, StreamPeer } from '../helpers/stream-peer.js';
import { testCerts } from '../helpers/tls-certs.js';

const certs = testCerts();

async function setup(t: Test, extra: Partial<TransportLayerOptions> = {}) {
  const rec = new Recorder();
  const layer = new TransportLayer({
    listen: ['ws:127.0.0.1:0', 'wss:127.0.0.1:0'],
    tls: { cert: certs.serverCert, key: certs.serverKey, ca: certs.ca },
    handler: rec,
    ...extra,
  });
  await layer.start();
  t.teardown(() => layer.stop());
  const [ws, wss] = layer.sockets();
  return { rec, layer, wsPort: ws!.port, wssPort: wss!.port };
}

t.test('RFC 7118 §4: a handshake without the sip subprotocol is refused', async (t) => {
  const { layer, wsPort } = await setup(t);
  await t.rejects(StreamPeer.connectWs(`ws://127.0.0.1:${wsPort}/`, ['chat']), /400/);
  await t.rejects(StreamPeer.connectWs(`ws://127.0.0.1:${wsPort}/`, []), /400/);
  t.equal(layer.connectionCount, 0);
});

t.test('a plain HTTP request is told to upgrade', async (t) => {
  const { wsPort } = await setup(t);
  const status = await new Promise<number | undefined>((resolve, reject) => {
    http
      .get(`http://127.0.0.1:${wsPort}/`, (res) => {
        res.resume();
        resolve(res.statusCode);
      })
      .on('error', reject);
  });
  t.equal(status, 426);
});

t.test('WS: request in, response back on the same WebSocket', async (t) => {
  const { rec, layer, wsPort } = await setup(t);
  const peer = await StreamPeer.connectWs(`ws://127.0.0.1:${wsPort}/`);
  t.teardown(() => peer.close());
  // RFC 7118 §5.1: the WebSocket message frames the SIP message; Content-Length may be absent.
  peer.write(
    sipRequest({ via: 'SIP/2.0/WS df7jal23ls0d.invalid;branch=z9hG4bK-ws', contentLength: false }),
  );
  const { msg, rx } = await rec.nextRequest();
  t.equal(rx.protocol, 'ws');
  t.equal(msg.topVia()?.params.get('received'), '127.0.0.1');
  layer.sendResponse(createResponse(msg, 200), rx);
  t.match(await peer.nextMessage(), /^SIP\/2\.0 200 OK\r\n/);
  peer.write('\r\n\r\n');
  t.ok(
    await peer.next(100).then(
      () => false,
      () => true,
    ),
    'a CRLF message is ignored',
  );
  t.equal(layer.stats.bad_messages, 0);
  // A bad request is answered on the WebSocket.
  peer.write(
    sipRequest({ via: 'SIP/2.0/WS df7jal23ls0d.invalid;branch=z9hG4bK-ws2', omit: ['From'] }),
  );
  t.match(await peer.nextMessage(), /^SIP\/2\.0 400 Missing From Header\r\n/);
});

t.test('WSS: request in, response back', async (t) => {
  const { rec, layer, wssPort } = await setup(t);
  const peer = await StreamPeer.connectWs(`wss://127.0.0.1:${wssPort}/`, ['sip'], { ca: certs.ca });
  t.teardown(() => peer.close());
  peer.write(sipRequest({ via: 'SIP/2.0/WSS df7jal23ls0d.invalid;branch=z9hG4bK-wss' }));
  const { msg, rx } = await rec.nextRequest();
  t.equal(rx.protocol, 'wss');
  layer.sendResponse(createResponse(msg, 486), rx);
  t.match(await peer.nextMessage(), /^SIP\/2\.0 486 Busy Here\r\n/);
});

t.test('RFC 7118: a response whose WebSocket is gone cannot be delivered', async (t) => {
  const { rec, layer, wsPort } = await setup(t);
  const peer = await StreamPeer.connectWs(`ws://127.0.0.1:${wsPort}/`);
  peer.write(sipRequest({ via: 'SIP/2.0/WS df7jal23ls0d.invalid;branch=z9hG4bK-gone' }));
  const { msg, rx } = await rec.nextRequest();
  await peer.close();
  await until(() => layer.connectionCount === 0);
  const err = await new Promise<Error | null>((resolve) => {
    layer.sendResponse(createResponse(msg, 200), rx, resolve);
  });
  t.match(err, { code: 'TANDEM_ERR_SEND', message: /ws connection of the request is closed/ });
});

t.test('outbound WS: connect with the sip subprotocol, responses come back on it', async (t) => {
  const { rec, layer, wsPort } = await setup(t);
  const server = await PeerServer.listen('ws');
  t.teardown(() => server.close());
  const target = { protocol: 'ws' as const, address: '127.0.0.1', port: server.port };
  const err = await new Promise<Error | null>((resolve) => {
    layer.send(target, Buffer.from(sipRequest({ callId: 'ws-out' }), 'latin1'), resolve);
  });
  t.equal(err, null);
  const far = await server.accept();
  t.match(await far.nextMessage(), /Call-ID: ws-out/);
  // A body that is not UTF-8 travels intact (binary frame).
  layer.send(target, Buffer.from([0x49, 0x4e, 0xff, 0xfe]));
  t.same(Buffer.from(await far.nextMessage(), 'latin1'), Buffer.from([0x49, 0x4e, 0xff, 0xfe]));
  far.write(sipResponse(`SIP/2.0/WS 127.0.0.1:${wsPort};branch=z9hG4bK-ws-out`));
  const { rx } = await rec.nextResponse();
  t.equal(rx.protocol, 'ws');
  t.equal(server.count, 1);
});

t.test('outbound WS to a port that is not listening fails the send', async (t) => {
  const { layer } = await setup(t);
  const server = await PeerServer.listen('ws');
  const port = server.port;
  await server.close();
  const err = await new Promise<Error | null>((resolve) => {
    layer.send({ protocol: 'ws', address: '127.0.0.1', port }, Buffer.from('x'), resolve);
  });
  t.match(err, { code: 'TANDEM_ERR_SEND', message: /ECONNREFUSED/ });
});

t.test('the connection cap refuses WebSocket upgrades', async (t) => {
  const { layer, wsPort } = await setup(t, { limits: { maxConnections: 1 } });
  const first = await StreamPeer.connectWs(`ws://127.0.0.1:${wsPort}/`);
  t.teardown(() => first.close());
  await t.rejects(StreamPeer.connectWs(`ws://127.0.0.1:${wsPort}/`));
  t.equal(layer.stats.connections_refused, 1);
});

t.test('an idle WebSocket is closed', async (t) => {
  const { wsPort } = await setup(t, { limits: { idleTimeoutMs: 200 } });
  const peer = await StreamPeer.connectWs(`ws://127.0.0.1:${wsPort}/`);
  t.teardown(() => peer.close());
  t.ok(await peer.closesWithin(3000));
});
