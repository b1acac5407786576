import dgram from 'node:dgram';
import net from 'node:net';
import t from 'tap';
import { createResponse } from '../../src/sip/index.js';
import { TransportLayer } from '../../src/transport/index.js';
import { Recorder, sipRequest, sipResponse, until } from '../helpers/sip-recorder.js';
import { StreamPeer } from '../helpers/stream-peer.js';
import { UdpPeer } from '../helpers/udp-peer.js';

async function ipv6Available(): Promise<boolean> {
  const s = dgram.createSocket('udp6');
  return new Promise((resolve) => {
    s.once('error', () => {
      s.close();
      resolve(false);
    });
    s.bind(0, '::1', () => {
      s.close();
      resolve(true);
    });
  });
}

t.test('start binds port 0 to real ports and describes each socket', async (t) => {
  const layer = new TransportLayer({
    listen: ['udp:127.0.0.1:0', { protocol: 'tcp', host: '127.0.0.1', port: 0 }],
  });
  t.same(layer.sockets(), [], 'nothing before start');
  await layer.start();
  t.teardown(() => layer.stop());
  const [udp, tcp] = layer.sockets();
  t.ok(udp!.port > 0);
  t.equal(udp!.id, `udp:127.0.0.1:${udp!.port}`);
  t.equal(udp!.family, 4);
  t.equal(udp!.sentByHost, '127.0.0.1');
  t.equal(udp!.sentByPort, udp!.port);
  t.equal(tcp!.protocol, 'tcp');
  await t.rejects(layer.start(), { code: 'TANDEM_ERR_INVALID_STATE' });
});

t.test(
  'start on a used port fails with TANDEM_ERR_LISTEN and releases what it bound',
  async (t) => {
    const blocker = net.createServer();
    await new Promise<void>((r) => blocker.listen(0, '127.0.0.1', r));
    t.teardown(() => new Promise((r) => blocker.close(r)));
    const used = (blocker.address() as net.AddressInfo).port;
    const free = await UdpPeer.open();
    const udpPort = free.port;
    await free.close();
    const layer = new TransportLayer({
      listen: [`udp:127.0.0.1:${udpPort}`, `tcp:127.0.0.1:${used}`],
    });
    await t.rejects(layer.start(), {
      code: 'TANDEM_ERR_LISTEN',
      message: new RegExp(`tcp:127\\.0\\.0\\.1:${used}: .*EADDRINUSE`),
    });
    // The UDP socket bound first was closed again: its port can be bound now.
    const again = dgram.createSocket('udp4');
    await new Promise<void>((resolve, reject) => {
      again.once('error', reject);
      again.bind(udpPort, '127.0.0.1', resolve);
    });
    again.close();
    await t.rejects(layer.start(), { code: 'TANDEM_ERR_INVALID_STATE' });
    await layer.stop();
    t.pass('stop after a failed start is harmless');
  },
);

t.test('advertise changes sentByHost/Port, and responses to it are ours', async (t) => {
  const rec = new Recorder();
  const layer = new TransportLayer({
    listen: [
      {
        protocol: 'udp',
        host: '127.0.0.1',
        port: 0,
        advertise: { host: '203.0.113.5', port: 5080 },
      },
      { protocol: 'tcp', host: '127.0.0.1', port: 0, advertise: { host: 'Sip.Example.com' } },
      { protocol: 'udp', host: '0.0.0.0', port: 0 },
    ],
    handler: rec,
  });
  await layer.start();
  t.teardown(() => layer.stop());
  const [udp, tcp, any] = layer.sockets();
  t.equal(udp!.sentByHost, '203.0.113.5');
  t.equal(udp!.sentByPort, 5080);
  t.equal(tcp!.sentByHost, 'Sip.Example.com');
  t.equal(tcp!.sentByPort, tcp!.port, 'the port defaults to the bound one');
  t.not(any!.sentByHost, '0.0.0.0', 'a wildcard socket advertises a real address');
  const peer = await UdpPeer.open();
  t.teardown(() => peer.close());
  await peer.send(sipResponse('SIP/2.0/UDP 203.0.113.5:5080;branch=z9hG4bK-adv'), udp!.port);
  t.equal((await rec.nextResponse()).msg.status, 200);
  await peer.send(
    sipResponse(`SIP/2.0/TCP sip.example.com:${tcp!.port};branch=z9hG4bK-n`),
    udp!.port,
  );
  t.equal((await rec.nextResponse()).msg.status, 200, 'names compare case-insensitively');
  await peer.send(sipResponse(`SIP/2.0/UDP 127.0.0.1:${udp!.port};branch=z9hG4bK-b`), udp!.port);
  t.equal((await rec.nextResponse()).msg.status, 200, 'the bound address is ours too');
});

t.test('socketFor: by id, by protocol and family, or TANDEM_ERR_NO_SOCKET', async (t) => {
  const layer = new TransportLayer({
    listen: ['udp:127.0.0.1:0', 'udp:127.0.0.1:0', 'tcp:127.0.0.1:0'],
  });
  await layer.start();
  t.teardown(() => layer.stop());
  const [u1, u2, tcp] = layer.sockets();
  t.equal(layer.socketFor({ protocol: 'udp', address: '192.0.2.1', port: 5060 }), u1, 'first one');
  t.equal(
    layer.socketFor({ protocol: 'udp', address: '192.0.2.1', port: 5060, socketId: u2!.id }),
    u2,
  );
  t.equal(layer.socketFor({ protocol: 'tcp', address: '192.0.2.1', port: 5060 }), tcp);
  t.throws(() => layer.socketFor({ protocol: 'udp', address: '2001:db8::1', port: 5060 }), {
    code: 'TANDEM_ERR_NO_SOCKET',
    message: /no udp socket for IPv6 \(\[2001:db8::1\]\)/,
  });
  t.throws(() => layer.socketFor({ protocol: 'wss', address: '192.0.2.1', port: 443 }), {
    code: 'TANDEM_ERR_NO_SOCKET',
  });
  t.throws(
    () =>
      layer.socketFor({
        protocol: 'udp',
        address: '192.0.2.1',
        port: 1,
        socketId: 'udp:1.2.3.4:5',
      }),
    {
      code: 'TANDEM_ERR_NO_SOCKET',
      message: /no socket udp:1\.2\.3\.4:5/,
    },
  );
  t.throws(
    () => layer.socketFor({ protocol: 'udp', address: '192.0.2.1', port: 1, socketId: tcp!.id }),
    {
      code: 'TANDEM_ERR_NO_SOCKET',
      message: /is not udp/,
    },
  );
});

const v6 = await ipv6Available();

t.test(
  'IPv6 on ::1: UDP and TCP',
  { skip: v6 ? false : '::1 is not available here' },
  async (t) => {
    const rec = new Recorder();
    const layer = new TransportLayer({ listen: ['udp:[::1]:0', 'tcp:[::1]:0'], handler: rec });
    await layer.start();
    t.teardown(() => layer.stop());
    const [udp, tcp] = layer.sockets();
    t.equal(udp!.id, `udp:[::1]:${udp!.port}`);
    t.equal(udp!.family, 6);
    t.equal(udp!.sentByHost, '[::1]');
    const peer = await UdpPeer.open(6);
    t.teardown(() => peer.close());
    // Sent-by spelled differently but the same address: no received (RFC 3261 §18.2.1).
    await peer.send(
      sipRequest({ via: `SIP/2.0/UDP [0:0::1]:${peer.port};branch=z9hG4bK-v6` }),
      udp!.port,
      '::1',
    );
    const first = await rec.nextRequest();
    t.equal(first.rx.sourceAddress, '::1');
    t.notOk(first.msg.topVia()?.params.has('received'));
    await peer.send(
      sipRequest({ via: 'SIP/2.0/UDP [2001:db8::9]:5060;rport;branch=z9hG4bK-v6b' }),
      udp!.port,
      '::1',
    );
    const { msg, rx } = await rec.nextRequest();
    t.equal(
      msg.get('via'),
      `SIP/2.0/UDP [2001:db8::9]:5060;received=::1;rport=${peer.port};branch=z9hG4bK-v6b`,
    );
    layer.sendResponse(createResponse(msg, 200), rx);
    t.match(await peer.nextText(), /^SIP\/2\.0 200 OK\r\n/);
    const stream = await StreamPeer.connect(tcp!.port, '::1');
    t.teardown(() => stream.close());
    stream.write(sipRequest({ via: 'SIP/2.0/TCP [::1]:5060;branch=z9hG4bK-v6t' }));
    const overTcp = await rec.nextRequest();
    t.equal(overTcp.rx.protocol, 'tcp');
    layer.sendResponse(createResponse(overTcp.msg, 200), overTcp.rx);
    t.match(await stream.nextMessage(), /^SIP\/2\.0 200 OK\r\n/);
  },
);

t.test('stop closes listeners and every connection; sends fail afterwards', async (t) => {
  const layer = new TransportLayer({
    listen: ['udp:127.0.0.1:0', 'tcp:127.0.0.1:0', 'ws:127.0.0.1:0'],
  });
  await layer.start();
  const [, tcp, ws] = layer.sockets();
  const a = await StreamPeer.connect(tcp!.port);
  const b = await StreamPeer.connectWs(`ws://127.0.0.1:${ws!.port}/`);
  a.write('\r\n\r\n');
  await a.next();
  await until(() => layer.connectionCount === 2);
  await layer.stop();
  t.ok(await a.closesWithin(2000), 'tcp peer closed');
  t.ok(await b.closesWithin(2000), 'ws peer closed');
  t.equal(layer.connectionCount, 0);
  t.equal(layer.stats.connections_open, 0);
  await t.rejects(StreamPeer.connect(tcp!.port), 'no longer listening');
  const err = await new Promise<Error | null>((resolve) => {
    layer.send({ protocol: 'udp', address: '127.0.0.1', port: 9 }, Buffer.from('x'), resolve);
  });
  t.match(err, { code: 'TANDEM_ERR_SEND', message: /not running/ });
  await layer.stop();
  t.pass('a second stop is harmless');
});

t.test('stop destroys connections whose peers do not close in time', async (t) => {
  const layer = new TransportLayer({ listen: ['tcp:127.0.0.1:0'], stopGraceMs: 100 });
  await layer.start();
  const port = layer.sockets()[0]!.port;
  // A half-open peer: it keeps its side open after our FIN.
  const sock = net.connect({ port, host: '127.0.0.1', allowHalfOpen: true });
  await new Promise((r) => sock.once('connect', r));
  sock.on('end', () => undefined);
  sock.write('\r\n\r\n');
  await until(() => layer.connectionCount === 1);
  const started = Date.now();
  await layer.stop();
  t.ok(Date.now() - started < 2000, 'stop did not wait for the peer');
  sock.destroy();
});

t.test('options are checked when the layer is built', async (t) => {
  t.throws(() => new TransportLayer({ listen: ['sctp:127.0.0.1:5060'] }), {
    code: 'TANDEM_ERR_CONFIG',
  });
  t.throws(
    () => new TransportLayer({ listen: [{ protocol: 'udp', host: 'example.com', port: 5060 }] }),
    {
      code: 'TANDEM_ERR_CONFIG',
      message: /host must be an IP literal/,
    },
  );
  t.throws(() => new TransportLayer({ listen: [], limits: { maxConnections: 0 } }), {
    code: 'TANDEM_ERR_INVALID_ARGUMENT',
    message: /limits\.maxConnections/,
  });
  const empty = new TransportLayer({ listen: [] });
  await empty.start();
  t.same(empty.sockets(), []);
  await empty.stop();
});

t.test('stop during start closes what start bound and start rejects', async (t) => {
  const layer = new TransportLayer({
    listen: ['udp:127.0.0.1:0', 'tcp:127.0.0.1:0', 'ws:127.0.0.1:0'],
  });
  const starting = layer.start();
  await layer.stop();
  await t.rejects(starting, {
    code: 'TANDEM_ERR_INVALID_STATE',
    message: /stop\(\) was called during start\(\)/,
  });
  t.same(layer.sockets(), [], 'the socket bound meanwhile was closed, not registered');
  const err = await new Promise<Error | null>((resolve) => {
    layer.send({ protocol: 'udp', address: '127.0.0.1', port: 9 }, Buffer.from('x'), resolve);
  });
  t.match(err, { code: 'TANDEM_ERR_SEND' });
});
