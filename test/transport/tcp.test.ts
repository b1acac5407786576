import net from 'node:net';
import t, { type Test } from 'tap';
import { createResponse } from '../../src/sip/index.js';
import { TransportLayer, type TransportLayerOptions } from '../../src/transport/index.js';
import { Recorder, header, sipRequest, sipResponse, until } from '../helpers/sip-recorder.js';
import { PeerServer, StreamPeer } from '../helpers/stream-peer.js';

async function setup(t: Test, extra: Partial<TransportLayerOptions> = {}) {
  const rec = new Recorder();
  const layer = new TransportLayer({ listen: ['tcp:127.0.0.1:0'], handler: rec, ...extra });
  await layer.start();
  t.teardown(() => layer.stop());
  const port = layer.sockets()[0]!.port;
  const connect = async (): Promise<StreamPeer> => {
    const peer = await StreamPeer.connect(port);
    t.teardown(() => peer.close());
    return peer;
  };
  return { rec, layer, port, connect };
}

const tcpVia = (port: number, branch = 'z9hG4bK-t'): string =>
  `SIP/2.0/TCP 127.0.0.1:${port};branch=${branch}`;

t.test('a request over TCP carries its connection in ReceiveInfo', async (t) => {
  const { rec, layer, connect } = await setup(t);
  const peer = await connect();
  peer.write(sipRequest({ via: tcpVia(peer.localPort) }));
  const { msg, rx } = await rec.nextRequest();
  t.equal(msg.method, 'OPTIONS');
  t.equal(rx.protocol, 'tcp');
  t.equal(rx.sourcePort, peer.localPort);
  t.type(rx.connectionId, 'number');
  t.equal(layer.connectionCount, 1);
  t.equal(layer.stats.connections_open, 1);
});

t.test('RFC 3261 §18.3: two messages in one write, and one byte per write', async (t) => {
  const { rec, connect } = await setup(t);
  const peer = await connect();
  const via = tcpVia(peer.localPort);
  peer.write(sipRequest({ via, callId: 'a' }) + sipRequest({ via, callId: 'b', body: 'xyz' }));
  t.equal((await rec.nextRequest()).msg.callId(), 'a');
  const second = await rec.nextRequest();
  t.equal(second.msg.callId(), 'b');
  t.equal(second.msg.body.toString(), 'xyz');
  const slow = Buffer.from(sipRequest({ via, callId: 'c' }), 'latin1');
  for (const byte of slow) {
    peer.write(Buffer.from([byte]));
    await new Promise((r) => setImmediate(r));
  }
  t.equal((await rec.nextRequest()).msg.callId(), 'c');
});

t.test('a framing error closes that connection only', async (t) => {
  const { rec, layer, connect } = await setup(t);
  const bad = await connect();
  const good = await connect();
  // RFC 3261 §18.3: Content-Length is mandatory on streams.
  bad.write(sipRequest({ via: tcpVia(bad.localPort), contentLength: false }));
  t.ok(await bad.closesWithin(2000), 'the bad connection is closed');
  t.equal(layer.stats.bad_messages, 1);
  good.write(sipRequest({ via: tcpVia(good.localPort), callId: 'still-here' }));
  t.equal((await rec.nextRequest()).msg.callId(), 'still-here');
  t.ok(good.open);
});

t.test('an invalid request on a stream is answered on it; the connection stays', async (t) => {
  const { rec, connect } = await setup(t);
  const peer = await connect();
  peer.write(sipRequest({ via: tcpVia(peer.localPort), omit: ['CSeq'] }));
  t.match(await peer.nextMessage(), /^SIP\/2\.0 400 Missing CSeq Header\r\n/);
  peer.write(sipRequest({ via: tcpVia(peer.localPort), callId: 'after' }));
  t.equal((await rec.nextRequest()).msg.callId(), 'after');
});

t.test('RFC 3261 §18.2.2: a response goes back on the request connection', async (t) => {
  const { rec, layer, connect } = await setup(t);
  const peer = await connect();
  // A sent-by the server cannot reach: only the open connection gets the answer there.
  peer.write(sipRequest({ via: 'SIP/2.0/TCP client.invalid;branch=z9hG4bK-c' }));
  const { msg, rx } = await rec.nextRequest();
  const err = await new Promise<Error | null>((resolve) => {
    layer.sendResponse(createResponse(msg, 200), rx, resolve);
  });
  t.equal(err, null);
  const reply = await peer.nextMessage();
  t.match(reply, /^SIP\/2\.0 200 OK\r\n/);
  t.match(header(reply, 'Via') ?? '', /received=127\.0\.0\.1/);
  t.equal(layer.stats.sent_messages, 1);
});

t.test('sendResponse opens a new connection when the request connection is gone', async (t) => {
  const { rec, layer, connect } = await setup(t);
  const server = await PeerServer.listen('tcp');
  t.teardown(() => server.close());
  const peer = await connect();
  peer.write(sipRequest({ via: `SIP/2.0/TCP 127.0.0.1:${server.port};branch=z9hG4bK-gone` }));
  const { msg, rx } = await rec.nextRequest();
  await peer.close();
  await until(() => layer.connectionCount === 0);
  layer.sendResponse(createResponse(msg, 200), rx);
  const fresh = await server.accept();
  t.match(await fresh.nextMessage(), /^SIP\/2\.0 200 OK\r\n/, 'to sent-by host and port');
});

t.test('send reuses the inbound connection from that address and port', async (t) => {
  const { layer, connect } = await setup(t);
  const peer = await connect();
  peer.write('\r\n\r\n'); // some traffic first, so the connection is in the table
  await peer.next();
  const target = { protocol: 'tcp' as const, address: '127.0.0.1', port: peer.localPort };
  layer.send(target, Buffer.from(sipRequest({ callId: 'by-address' }), 'latin1'));
  t.match(await peer.nextMessage(), /Call-ID: by-address/);
  const err = await new Promise<Error | null>((resolve) => {
    layer.send(
      { protocol: 'tcp', address: '192.0.2.1', port: 9, connectionId: 1 },
      Buffer.from(sipRequest({ callId: 'by-id' }), 'latin1'),
      resolve,
    );
  });
  t.equal(err, null);
  t.match(await peer.nextMessage(), /Call-ID: by-id/);
  t.equal(layer.connectionCount, 1, 'no new connection');
});

t.test('outbound: connect, queue until up, reuse, and receive responses on it', async (t) => {
  const { rec, layer, port } = await setup(t);
  const server = await PeerServer.listen('tcp');
  t.teardown(() => server.close());
  const target = { protocol: 'tcp' as const, address: '127.0.0.1', port: server.port };
  const results: (Error | null)[] = [];
  layer.send(target, Buffer.from(sipRequest({ callId: 'o1' }), 'latin1'), (e) => results.push(e));
  layer.send(target, Buffer.from(sipRequest({ callId: 'o2' }), 'latin1'), (e) => results.push(e));
  const far = await server.accept();
  t.match(await far.nextMessage(), /Call-ID: o1/);
  t.match(await far.nextMessage(), /Call-ID: o2/);
  layer.send(target, Buffer.from(sipRequest({ callId: 'o3' }), 'latin1'));
  t.match(await far.nextMessage(), /Call-ID: o3/);
  t.same(results, [null, null]);
  t.equal(server.count, 1, 'one connection for all three');
  far.write(sipResponse(`SIP/2.0/TCP 127.0.0.1:${port};branch=z9hG4bK-out`));
  const { rx } = await rec.nextResponse();
  t.equal(rx.protocol, 'tcp');
  t.equal(rx.sourcePort, server.port);
  t.equal(rx.socket, layer.sockets()[0], 'the listener is the local socket');
});

t.test('outbound: a refused connection fails every queued send', async (t) => {
  const { layer } = await setup(t);
  const probe = net.createServer();
  await new Promise<void>((r) => probe.listen(0, '127.0.0.1', r));
  const closedPort = (probe.address() as net.AddressInfo).port;
  await new Promise((r) => probe.close(r));
  const target = { protocol: 'tcp' as const, address: '127.0.0.1', port: closedPort };
  const errs = await Promise.all(
    [1, 2].map(
      (n) =>
        new Promise<Error | null>((resolve) => {
          layer.send(target, Buffer.from(`m${n}`), resolve);
        }),
    ),
  );
  for (const err of errs) {
    t.match(err, { code: 'TANDEM_ERR_SEND', message: /ECONNREFUSED/ });
  }
  t.equal(layer.stats.send_failures, 2);
  t.equal(layer.connectionCount, 0);
});

t.test('outbound: no listener for the protocol is a send failure', async (t) => {
  const { layer } = await setup(t);
  const err = await new Promise<Error | null>((resolve) => {
    layer.send({ protocol: 'tls', address: '127.0.0.1', port: 5061 }, Buffer.from('x'), resolve);
  });
  t.match(err, { code: 'TANDEM_ERR_SEND', message: /no tls socket/ });
});

t.test('idle connections are closed; traffic keeps them open', async (t) => {
  const { layer, connect } = await setup(t, { limits: { idleTimeoutMs: 300 } });
  const busy = await connect();
  const idle = await connect();
  const keepBusy = setInterval(() => {
    busy.write('\r\n\r\n');
  }, 60);
  t.teardown(() => {
    clearInterval(keepBusy);
  });
  t.ok(await idle.closesWithin(3000), 'the idle connection closes');
  t.ok(busy.open, 'the busy one stays');
  clearInterval(keepBusy);
  t.ok(await busy.closesWithin(3000), 'and closes once quiet');
  await until(() => layer.connectionCount === 0);
  t.pass('the table is empty');
});

t.test('connection cap: inbound beyond it is refused, outbound fails', async (t) => {
  const { layer, connect } = await setup(t, { limits: { maxConnections: 2 } });
  const a = await connect();
  const b = await connect();
  a.write('\r\n\r\n');
  b.write('\r\n\r\n');
  await a.next();
  await b.next();
  const c = await connect();
  t.ok(await c.closesWithin(2000), 'the third is closed at once');
  t.equal(layer.stats.connections_refused, 1);
  t.equal(layer.connectionCount, 2);
  const err = await new Promise<Error | null>((resolve) => {
    layer.send({ protocol: 'tcp', address: '127.0.0.1', port: 9 }, Buffer.from('x'), resolve);
  });
  t.match(err, { code: 'TANDEM_ERR_SEND', message: /2 connections open/ });
});

t.test('RFC 5626 §4.4.1: a CRLFCRLF ping gets a CRLF pong', async (t) => {
  const { layer, connect } = await setup(t);
  const peer = await connect();
  peer.write('\r\n\r\n');
  t.same(await peer.next(), { kind: 'pong' });
  t.equal(layer.stats.bad_messages, 0);
});

t.test('RFC 5923: a request with ;alias makes its sent-by reach the connection', async (t) => {
  const { rec, layer, connect } = await setup(t);
  const peer = await connect();
  peer.write(sipRequest({ via: 'SIP/2.0/TCP 127.0.0.1:45999;alias;branch=z9hG4bK-al' }));
  await rec.nextRequest();
  layer.send(
    { protocol: 'tcp', address: '127.0.0.1', port: 45999 },
    Buffer.from(sipRequest({ callId: 'via-alias' }), 'latin1'),
  );
  t.match(await peer.nextMessage(), /Call-ID: via-alias/);
  t.equal(layer.connectionCount, 1);
});
