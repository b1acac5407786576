import net from 'node:net';
import t, { type Test } from 'tap';
import { createResponse } from '../../src/sip/index.js';
import { TransportLayer, type TransportLayerOptions } from '../../src/transport/index.js';
import { Recorder, sipRequest, sipResponse } from '../helpers/sip-recorder.js';
import { PeerServer, StreamPeer } from '../helpers/stream-peer.js';
import { testCerts } from '../helpers/tls-certs.js';

const certs = testCerts();

async function setup(t: Test, extra: Partial<TransportLayerOptions> = {}) {
  const rec = new Recorder();
  const layer = new TransportLayer({
    listen: ['tls:127.0.0.1:0'],
    tls: { cert: certs.serverCert, key: certs.serverKey, ca: certs.ca },
    handler: rec,
    ...extra,
  });
  await layer.start();
  t.teardown(() => layer.stop());
  return { rec, layer, port: layer.sockets()[0]!.port };
}

t.test('a request in over TLS and its response back on the same connection', async (t) => {
  const { rec, layer, port } = await setup(t);
  const peer = await StreamPeer.connect(port, '127.0.0.1', { ca: certs.ca });
  t.teardown(() => peer.close());
  peer.write(sipRequest({ via: 'SIP/2.0/TLS client.invalid;branch=z9hG4bK-tls' }));
  const { msg, rx } = await rec.nextRequest();
  t.equal(rx.protocol, 'tls');
  t.type(rx.connectionId, 'number');
  layer.sendResponse(createResponse(msg, 200), rx);
  t.match(await peer.nextMessage(), /^SIP\/2\.0 200 OK\r\n/);
  peer.write('\r\n\r\n');
  t.same(await peer.next(), { kind: 'pong' }, 'keep-alives over TLS too');
});

t.test('verifyPeer: a client certificate from the CA is accepted', async (t) => {
  const { rec, port } = await setup(t, {
    tls: { cert: certs.serverCert, key: certs.serverKey, ca: certs.ca, verifyPeer: true },
  });
  const peer = await StreamPeer.connect(port, '127.0.0.1', {
    ca: certs.ca,
    cert: certs.clientCert,
    key: certs.clientKey,
  });
  t.teardown(() => peer.close());
  peer.write(sipRequest({ via: 'SIP/2.0/TLS client.test;branch=z9hG4bK-mtls' }));
  t.equal((await rec.nextRequest()).rx.protocol, 'tls');
});

t.test('verifyPeer: an untrusted client certificate is refused', async (t) => {
  const { rec, port } = await setup(t, {
    tls: { cert: certs.serverCert, key: certs.serverKey, ca: certs.ca, verifyPeer: true },
  });
  for (const client of [{ cert: certs.rogueCert, key: certs.rogueKey }, {}]) {
    let peer: StreamPeer | null = null;
    try {
      // TLS 1.3 may report the handshake done before the server checks the certificate.
      peer = await StreamPeer.connect(port, '127.0.0.1', { ca: certs.ca, ...client });
      peer.write(sipRequest({ via: 'SIP/2.0/TLS rogue.test;branch=z9hG4bK-rogue' }));
      t.ok(await peer.closesWithin(3000), 'closed by the server');
    } catch (err) {
      t.match(err, Error, 'handshake failed');
    } finally {
      await peer?.close();
    }
  }
  await t.rejects(rec.next(100), 'nothing delivered');
});

t.test('outbound TLS: the server certificate is verified against the CA', async (t) => {
  const { rec, layer, port } = await setup(t);
  const server = await PeerServer.listen('tls', { cert: certs.serverCert, key: certs.serverKey });
  t.teardown(() => server.close());
  const target = { protocol: 'tls' as const, address: '127.0.0.1', port: server.port };
  const err = await new Promise<Error | null>((resolve) => {
    layer.send(target, Buffer.from(sipRequest({ callId: 'tls-out' }), 'latin1'), resolve);
  });
  t.equal(err, null);
  const far = await server.accept();
  t.match(await far.nextMessage(), /Call-ID: tls-out/);
  far.write(sipResponse(`SIP/2.0/TLS 127.0.0.1:${port};branch=z9hG4bK-tls-out`));
  t.equal((await rec.nextResponse()).rx.protocol, 'tls');
});

t.test('outbound TLS: an unknown CA fails the send', async (t) => {
  const { layer } = await setup(t, {
    tls: { cert: certs.serverCert, key: certs.serverKey }, // no ca: Node's roots only
  });
  const server = await PeerServer.listen('tls', { cert: certs.serverCert, key: certs.serverKey });
  t.teardown(() => server.close());
  const err = await new Promise<Error | null>((resolve) => {
    layer.send(
      { protocol: 'tls', address: '127.0.0.1', port: server.port },
      Buffer.from('x'),
      resolve,
    );
  });
  t.match(err, { code: 'TANDEM_ERR_SEND', message: /certificate/ });
  t.equal(layer.connectionCount, 0);
});

t.test('outbound: a handshake that never completes times out', async (t) => {
  const { layer } = await setup(t, { limits: { connectTimeoutMs: 200 } });
  const silent = net.createServer(() => undefined); // accepts, never speaks TLS
  const held: net.Socket[] = [];
  silent.on('connection', (s) => held.push(s));
  await new Promise<void>((r) => silent.listen(0, '127.0.0.1', r));
  t.teardown(async () => {
    for (const s of held) {
      s.destroy();
    }
    await new Promise((r) => silent.close(r));
  });
  const port = (silent.address() as net.AddressInfo).port;
  const started = Date.now();
  const err = await new Promise<Error | null>((resolve) => {
    layer.send({ protocol: 'tls', address: '127.0.0.1', port }, Buffer.from('x'), resolve);
  });
  t.match(err, { code: 'TANDEM_ERR_SEND', message: /connect timeout/ });
  t.ok(Date.now() - started < 3000, 'within a generous bound');
});

t.test('the connection cap applies before the TLS handshake', async (t) => {
  const { layer, port } = await setup(t, { limits: { maxConnections: 1 } });
  const first = await StreamPeer.connect(port, '127.0.0.1', { ca: certs.ca });
  t.teardown(() => first.close());
  first.write('\r\n\r\n');
  await first.next();
  let refused: boolean;
  try {
    const second = await StreamPeer.connect(port, '127.0.0.1', { ca: certs.ca });
    refused = await second.closesWithin(2000);
  } catch {
    refused = true;
  }
  t.ok(refused, 'the second connection is refused');
  t.equal(layer.stats.connections_refused, 1);
});

t.test('a TLS listener without certificates is a config error', async (t) => {
  t.throws(() => new TransportLayer({ listen: ['tls:127.0.0.1:0'] }), {
    code: 'TANDEM_ERR_CONFIG',
    message: /tls:127\.0\.0\.1:0: a TLS listener needs tls\.cert and tls\.key/,
  });
});
