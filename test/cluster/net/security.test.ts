import { connect, type Socket } from 'node:net';
import t from 'tap';
import { BinNetwork } from '../../../src/cluster/net/index.js';
import { encodeFrame } from '../../../src/cluster/net/codec.js';
import { NetType, encodeHello } from '../../../src/cluster/net/core-messages.js';
import { clusterCerts } from '../../helpers/cluster-certs.js';
import { freePort } from '../../helpers/ports.js';
import {
  FAST_TIMERS,
  allUp,
  coreFrame,
  linkOf,
  makeCluster,
  nodeInfo,
  waitFor,
} from './harness.js';

const hello = (source: number, destination: number, clusterId = 1): Buffer =>
  encodeFrame(
    coreFrame({
      clusterId,
      source,
      destination,
      type: NetType.HELLO,
      payload: encodeHello({ protocolVersion: 1, lane: 'main' }),
    }),
  );

/** Connect, write `bytes`, and resolve when the node closes the connection. */
function sendRaw(port: number, ...bytes: Buffer[]): Promise<void> {
  return new Promise((resolve) => {
    const s: Socket = connect(port, '127.0.0.1', () => {
      for (const b of bytes) {
        s.write(b);
      }
    });
    s.on('error', () => undefined);
    s.on('data', () => undefined);
    s.on('close', () => {
      resolve();
    });
  });
}

t.test('a node that is not provisioned is refused and counted', async (t) => {
  const c = await makeCluster({ ids: [2, 3], extra: { handshakeTimeoutMs: 300 } });
  t.teardown(() => c.stop());
  const rogue = new BinNetwork({
    myNodeId: 1,
    clusters: [
      { clusterId: 1, nodes: [nodeInfo(1, 1, await freePort()), nodeInfo(1, 2, c.ports.get(2)!)] },
    ],
    timers: FAST_TIMERS,
  });
  t.teardown(() => rogue.stop());
  await rogue.start();
  await waitFor(() => c.net(2).stats().refusedConnections >= 2, 3000, 'refusals');
  t.not(linkOf(rogue, 2), 'Up');
  await waitFor(() => allUp(c), 3000);
  const port = c.ports.get(2)!;
  const before = c.net(2).stats().refusedConnections;
  await sendRaw(port, hello(3, 2, 9)); // unknown cluster
  await sendRaw(port, hello(3, 7)); // addressed to another node
  await sendRaw(port, hello(3, 2).subarray(0, 5), Buffer.alloc(0)); // then silence until the handshake timeout
  const v2hello = hello(3, 2);
  v2hello[v2hello.length - 2] = 2; // HELLO payload: protocol version 2
  await sendRaw(port, v2hello);
  t.ok(c.net(2).stats().refusedConnections >= before + 4);
  // A disabled peer's dials are refused until it is enabled again.
  c.net(3).setStatus(1, 2, false);
  const r1 = c.net(3).stats().refusedConnections;
  await waitFor(() => c.net(3).stats().refusedConnections > r1, 3000, 'disabled peer refused');
  c.net(3).setStatus(1, 2, true);
  await waitFor(() => allUp(c), 3000, 'Up once enabled');
});

t.test('garbage and truncated frames on the bin port are survived', async (t) => {
  const c = await makeCluster({ ids: [1, 2], extra: { handshakeTimeoutMs: 300 } });
  t.teardown(() => c.stop());
  await waitFor(() => allUp(c), 3000);
  const port = c.ports.get(2)!;
  const bad0 = c.net(2).stats().badFrames;
  const refused0 = c.net(2).stats().refusedConnections;
  await sendRaw(port, Buffer.from('GET / HTTP/1.1\r\nHost: x\r\n\r\n'));
  const huge = Buffer.from(hello(1, 2));
  huge.writeUInt32BE(0x7fffffff, 4);
  await sendRaw(port, huge);
  t.equal(c.net(2).stats().badFrames, bad0 + 2, 'bad magic and oversize counted');
  // Before the handshake, 1 KiB is the most a stranger can make the node buffer.
  const big = encodeFrame(coreFrame({ type: NetType.HELLO, payload: Buffer.alloc(2000) }));
  await sendRaw(port, big.subarray(0, 100));
  t.equal(c.net(2).stats().badFrames, bad0 + 3, 'a large first frame closes at once');
  // Truncated: the node waits for the rest, then drops the silent connection.
  await sendRaw(port, hello(1, 2).subarray(0, 10));
  t.equal(c.net(2).stats().refusedConnections, refused0 + 1, 'truncated handshake timed out');
  const v2 = Buffer.from(hello(1, 2));
  v2.writeUInt8(2, 2);
  await sendRaw(port, v2, Buffer.from('junk after it'));
  t.equal(c.net(2).stats().unknownVersionFrames, 1, 'unknown version skipped and counted');
  await waitFor(() => allUp(c), 3000, 'links still Up');
  t.equal(linkOf(c.net(1), 2), 'Up');
});

t.test('bins: mutual TLS, identity checked both ways', async (t) => {
  const certs = clusterCerts();
  const c = await makeCluster({ ids: [1, 2], tls: true });
  t.teardown(() => c.stop());
  await waitFor(() => allUp(c), 5000, 'TLS pair Up');
  const port2 = c.ports.get(2)!;

  // Plaintext to a bins listener.
  const r0 = c.net(2).stats().refusedConnections;
  await sendRaw(port2, hello(1, 2));
  await waitFor(() => c.net(2).stats().refusedConnections > r0, 2000, 'plaintext refused');

  // A certificate from another CA, naming node-1.
  const mkRogue = async (
    id: number,
    tls: { cert: Buffer; key: Buffer; ca: Buffer },
  ): Promise<BinNetwork> => {
    const n = new BinNetwork({
      myNodeId: id,
      clusters: [
        {
          clusterId: 1,
          nodes: [nodeInfo(1, id, await freePort(), true), nodeInfo(1, 2, port2, true)],
        },
      ],
      timers: FAST_TIMERS,
      tls: { ...tls, ca: certs.ca },
    });
    t.teardown(() => n.stop());
    await n.start();
    return n;
  };
  const r1 = c.net(2).stats().refusedConnections;
  const foreign = await mkRogue(1, certs.foreign);
  await waitFor(() => c.net(2).stats().refusedConnections > r1, 3000, 'foreign CA refused');
  await foreign.stop();

  // Signed by the cluster CA, but naming node-99 while claiming to be node 1.
  const r2 = c.net(2).stats().refusedConnections;
  const misnamed = await mkRogue(1, certs.misnamed);
  await waitFor(() => c.net(2).stats().refusedConnections > r2, 3000, 'misnamed refused');
  t.not(linkOf(misnamed, 2), 'Up');
  await misnamed.stop();
  t.equal(linkOf(c.net(1), 2), 'Up', 'the real node 1 stays Up');
});

t.test('a dialler refuses a listener whose certificate names another node', async (t) => {
  const certs = clusterCerts();
  const p1 = await freePort();
  const p2 = await freePort();
  const nodes = [nodeInfo(1, 1, p1, true), nodeInfo(1, 2, p2, true)];
  const n1 = new BinNetwork({
    myNodeId: 1,
    clusters: [{ clusterId: 1, nodes }],
    timers: FAST_TIMERS,
    tls: certs.node(1),
  });
  const n2 = new BinNetwork({
    myNodeId: 2,
    clusters: [{ clusterId: 1, nodes }],
    timers: FAST_TIMERS,
    tls: certs.misnamed,
  });
  t.teardown(async () => {
    await n1.stop();
    await n2.stop();
  });
  await n2.start();
  await n1.start();
  await waitFor(() => n1.stats().refusedConnections >= 1, 3000, 'dialler refusal');
  t.not(linkOf(n1, 2), 'Up');
});
