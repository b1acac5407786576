import { connect, type Socket } from 'node:net';
import t from 'tap';
import {
  BinNetwork,
  FrameDecoder,
  encodeFrame,
  type Frame,
} from '../../../src/cluster/net/index.js';
import {
  NET_CAPABILITY,
  NetType,
  encodeAdjacency,
  encodeHello,
  encodeSeq,
} from '../../../src/cluster/net/core-messages.js';
import type { ClusterPacket } from '../../../src/cluster/types.js';
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

t.test('options are validated', async (t) => {
  const n = (id: number, port = 5000, tls = false) => nodeInfo(1, id, port, tls);
  const bad = (o: Partial<ConstructorParameters<typeof BinNetwork>[0]>): void => {
    t.throws(
      () => new BinNetwork({ myNodeId: 1, clusters: [{ clusterId: 1, nodes: [n(1)] }], ...o }),
      { code: 'TANDEM_ERR_CONFIG' },
    );
  };
  bad({ myNodeId: 0 });
  bad({ clusters: [{ clusterId: 70000, nodes: [n(1)] }] });
  bad({
    clusters: [
      { clusterId: 1, nodes: [n(1)] },
      { clusterId: 1, nodes: [n(1)] },
    ],
  });
  bad({ clusters: [{ clusterId: 1, nodes: [n(1), n(1)] }] });
  bad({ clusters: [{ clusterId: 1, nodes: [n(2)] }] });
  bad({ clusters: [{ clusterId: 1, nodes: [n(1, 5000, true)] }] });
  bad({ timers: { pingIntervalMs: 0 } });
  bad({ timers: { pingTimeoutMs: -1 } });
  const ok = new BinNetwork({
    myNodeId: 1,
    clusters: [{ clusterId: 1, nodes: [n(1)] }],
    timers: { noPingRetries: 0 },
  });
  t.same(ok.clusterIds(), [1]);
  t.throws(
    () => {
      ok.onPacket(NET_CAPABILITY, () => undefined);
    },
    { code: 'TANDEM_ERR_INVALID_ARGUMENT' },
  );
});

t.test('start twice, and a port already taken', async (t) => {
  const c = await makeCluster({ ids: [1, 2] });
  t.teardown(() => c.stop());
  await t.rejects(c.net(1).start(), { code: 'TANDEM_ERR_INVALID_STATE' });
  const clash = new BinNetwork({
    myNodeId: 1,
    clusters: [{ clusterId: 1, nodes: c.infos(1) }],
    timers: FAST_TIMERS,
  });
  await t.rejects(clash.start(), { code: 'TANDEM_ERR_LISTEN' });
});

t.test('handlers that throw are contained; broadcast; packets without a handler', async (t) => {
  const c = await makeCluster({ ids: [1, 2, 3] });
  t.teardown(() => c.stop());
  await waitFor(() => allUp(c), 3000);
  const got: ClusterPacket[] = [];
  c.net(2).onPacket('cap', (p) => {
    got.push(p);
    throw new Error('module bug');
  });
  c.net(3).onPacket('cap', (p) => got.push(p));
  c.net(1).onReachability(() => {
    throw new Error('listener bug');
  });
  t.equal(c.net(1).broadcast(1, 'cap', 1, Buffer.from('x')), 2);
  t.equal(
    c
      .net(1)
      .send({ clusterId: 1, destination: 0, capability: 'cap', type: 2, payload: Buffer.alloc(0) }),
    'queued',
  );
  c.net(1).send({
    clusterId: 1,
    destination: 2,
    capability: 'nobody-listens',
    type: 1,
    payload: Buffer.alloc(0),
  });
  await waitFor(() => got.length === 4, 3000, 'delivered to both, twice');
  t.equal(c.net(1).broadcast(9, 'cap', 1, Buffer.alloc(0)), 0, 'unknown cluster');
  await c.net(2).stop();
  await c.net(3).stop();
  await waitFor(
    () =>
      c
        .net(1)
        .peers(1)
        .every((p) => !p.reachable),
    3000,
  );
  t.equal(
    c
      .net(1)
      .send({ clusterId: 1, destination: 0, capability: 'cap', type: 2, payload: Buffer.alloc(0) }),
    'unreachable',
  );
  t.equal(linkOf(c.net(1), 2), 'Down', 'the throwing listener did not stop the update');
});

/** A raw socket that completed the handshake as `source` towards node `to`. */
async function impersonate(
  port: number,
  source: number,
  to: number,
): Promise<{ s: Socket; frames: Frame[] }> {
  const frames: Frame[] = [];
  const dec = new FrameDecoder();
  const s = connect(port, '127.0.0.1');
  s.on('error', () => undefined);
  s.on('data', (chunk: Buffer) => {
    dec.push(chunk, { frame: (f) => frames.push(f), unknownVersion: () => undefined });
  });
  await new Promise((r) => s.once('connect', r));
  s.write(
    encodeFrame(
      coreFrame({
        source,
        destination: to,
        type: NetType.HELLO,
        payload: encodeHello({ protocolVersion: 1, lane: 'main' }),
      }),
    ),
  );
  await waitFor(() => frames.some((f) => f.type === NetType.HELLO), 2000, 'HELLO answer');
  return { s, frames };
}

t.test(
  'a peer speaking the wire by hand: pings, bad channel payloads, relaying and TTL',
  async (t) => {
    const c = await makeCluster({ ids: [1, 2, 3], start: false });
    t.teardown(() => c.stop());
    await Promise.all([c.net(2).start(), c.net(3).start()]);
    await waitFor(() => linkOf(c.net(2), 3) === 'Up', 3000);
    const { s, frames } = await impersonate(c.ports.get(2)!, 1, 2);
    t.teardown(() => s.destroy());
    await waitFor(() => frames.some((f) => f.type === NetType.PING), 2000, 'node 2 pings us');
    const ping = frames.find((f) => f.type === NetType.PING)!;
    s.write(encodeFrame(coreFrame({ type: NetType.PONG, payload: ping.payload })));
    await waitFor(() => linkOf(c.net(2), 1) === 'Up', 2000, 'our pong brings the link Up');
    s.write(encodeFrame(coreFrame({ type: NetType.PING, payload: encodeSeq(77) })));
    await waitFor(
      () => frames.some((f) => f.type === NetType.PONG && f.payload.readUInt32BE(0) === 77),
      2000,
      'pong 77',
    );
    // Adjacency: node 1 lists 2, so 2 may route to 1, and 3 learns it through 2.
    s.write(
      encodeFrame(
        coreFrame({
          type: NetType.TOPOLOGY,
          payload: encodeAdjacency({ origin: 1, boot: 1, counter: 1, neighbours: [2] }),
        }),
      ),
    );
    await waitFor(
      () =>
        c
          .net(3)
          .peers(1)
          .find((p) => p.nodeId === 1)?.reachable === true,
      2000,
      '3 reaches 1 via 2',
    );

    const bad0 = c.net(2).stats().badFrames;
    s.write(encodeFrame(coreFrame({ type: NetType.PING, payload: Buffer.alloc(2) })));
    s.write(encodeFrame(coreFrame({ type: NetType.PONG, payload: Buffer.alloc(2) })));
    s.write(encodeFrame(coreFrame({ type: NetType.TOPOLOGY, payload: Buffer.alloc(3) })));
    s.write(encodeFrame(coreFrame({ clusterId: 5, capability: 'cap' })));
    s.write(encodeFrame(coreFrame({ type: 99 })));
    await waitFor(() => c.net(2).stats().badFrames === bad0 + 4, 2000, 'four bad payloads counted');

    const at3: ClusterPacket[] = [];
    c.net(3).onPacket('cap', (p) => at3.push(p));
    const relayed0 = c.net(2).stats().relayed;
    s.write(
      encodeFrame(
        coreFrame({
          lane: 'data',
          destination: 3,
          ttl: 1,
          capability: 'cap',
          payload: Buffer.from('ttl1'),
        }),
      ),
    );
    s.write(
      encodeFrame(
        coreFrame({
          lane: 'bulk',
          destination: 3,
          ttl: 4,
          capability: 'cap',
          payload: Buffer.from('ttl4'),
        }),
      ),
    );
    s.write(
      encodeFrame(
        coreFrame({
          lane: 'data',
          destination: 9,
          ttl: 4,
          capability: 'cap',
          payload: Buffer.from('nobody'),
        }),
      ),
    );
    const bigPayload = Buffer.alloc(100_000, 7);
    s.write(
      encodeFrame(
        coreFrame({ lane: 'bulk', destination: 3, ttl: 4, capability: 'cap', payload: bigPayload }),
      ),
    );
    await waitFor(() => at3.length === 2, 2000, 'relayed to 3');
    t.ok(at3[1]!.payload.equals(bigPayload), 'large frames pass once the peer is known');
    t.equal(at3[0]!.payload.toString(), 'ttl4');
    t.equal(at3[0]!.source, 1);
    t.equal(
      c.net(2).stats().relayed,
      relayed0 + 2,
      'TTL 1 and an unknown destination are not relayed',
    );
    // Node 3 answers node 1 through 2, and the frame arrives on our socket with its TTL spent by one.
    c.net(3).send({
      clusterId: 1,
      destination: 1,
      capability: 'cap',
      type: 4,
      payload: Buffer.from('back'),
    });
    await waitFor(() => frames.some((f) => f.capability === 'cap'), 2000, 'reply relayed to us');
    t.equal(frames.find((f) => f.capability === 'cap')!.ttl, 15);
  },
);

t.test('admin no-ops and a moved node', async (t) => {
  const c = await makeCluster({ ids: [1, 2] });
  t.teardown(() => c.stop());
  await waitFor(() => allUp(c), 3000);
  const events: string[] = [];
  c.net(1).onReachability((_c, n, r) => {
    events.push(`${n}:${r}`);
  });
  c.net(1).setStatus(1, 1, true);
  c.net(1).setStatus(1, 2, true);
  t.same(events, [], 'enabling what is enabled changes nothing');
  // Node 2 "moves": same port, but the url is spelt differently, so node 1 redials.
  const moved = c
    .infos(1)
    .map((n) =>
      n.nodeId === 2 ? { ...n, url: n.url.replace('bin:127.0.0.1', 'bin:localhost') } : n,
    );
  c.net(1).reprovision(1, moved);
  t.equal(linkOf(c.net(1), 2), 'Down');
  await waitFor(() => allUp(c), 3000, 'Up at the new url');
  t.same(events, ['2:false', '2:true']);
});

t.test('two clusters over the same listener: one link per cluster', async (t) => {
  const [p1, p2] = [await freePort(), await freePort()];
  const both = (id: number): BinNetwork =>
    new BinNetwork({
      myNodeId: id,
      clusters: [1, 2].map((clusterId) => ({
        clusterId,
        nodes: [nodeInfo(clusterId, 1, p1), nodeInfo(clusterId, 2, p2)],
      })),
      timers: FAST_TIMERS,
    });
  const [a, b] = [both(1), both(2)];
  t.teardown(async () => {
    await a.stop();
    await b.stop();
  });
  await a.start();
  await b.start();
  await waitFor(() => linkOf(a, 2, 1) === 'Up' && linkOf(a, 2, 2) === 'Up', 3000, 'Up in both');
  const got: number[] = [];
  b.onPacket('cap', (p) => got.push(p.clusterId));
  a.send({ clusterId: 2, destination: 2, capability: 'cap', type: 1, payload: Buffer.alloc(0) });
  await waitFor(() => got.length === 1, 2000);
  t.same(got, [2], 'delivered with its cluster');
  a.setStatus(1, 1, false);
  t.equal(linkOf(a, 2, 1), 'Down');
  t.equal(linkOf(a, 2, 2), 'Up', 'the other cluster is untouched');
  t.same(a.topology(2).get(1), [2]);
  t.same(a.topology(7).size, 0);
});
