import t, { type Test } from 'tap';
import type { ClusterPacket } from '../../../src/cluster/types.js';
import { Topology } from '../../../src/cluster/net/topology.js';
import { TcpCutter } from '../../helpers/tcp-cutter.js';
import {
  FAST_TIMERS,
  allUp,
  linkOf,
  makeCluster,
  reachable,
  waitFor,
  type TestCluster,
} from './harness.js';

const adj = (origin: number, counter: number, neighbours: number[]) => ({
  origin,
  boot: 1,
  counter,
  neighbours,
});

t.test('shortest paths need both ends to list a link; stale updates are ignored', async (t) => {
  const topo = new Topology(1);
  t.ok(topo.accept(adj(2, 1, [1, 3])));
  t.ok(topo.accept(adj(3, 1, [2, 4])));
  t.ok(topo.accept(adj(4, 1, [3])));
  t.notOk(topo.accept(adj(2, 1, [1])), 'same sequence is stale');
  t.notOk(topo.accept(adj(1, 5, [2])), 'our own id is never taken from others');
  const r = topo.routes([2], () => true);
  t.same(r.get(4), { nextHop: 2, hops: 3 });
  t.equal(topo.routes([2], (id) => id !== 3).has(4), false, 'a disabled node carries nothing');
  t.ok(topo.accept(adj(4, 2, [])));
  t.equal(topo.routes([2], () => true).has(4), false, '3 lists 4 but 4 no longer lists 3');
  topo.forget(4);
  t.same(
    topo
      .all()
      .map((a) => a.origin)
      .sort(),
    [2, 3],
  );
  t.same(
    [...topo.adjacency([2]).entries()].sort((a, b) => a[0] - b[0]),
    [
      [1, [2]],
      [2, [1, 3]],
      [3, [2, 4]],
    ],
  );
});

/** Nodes 1, 2, 3; node 1 reaches node 3 through a cutter, node 2 reaches it directly. */
async function triangle(t: Test, rerouting = true): Promise<{ c: TestCluster; cutter: TcpCutter }> {
  // Ports are picked free before the nodes bind them, and another test may take one meanwhile:
  // like makeCluster, stop everything and build again on other ports (a node left running
  // would keep the test from ending).
  for (let attempt = 1; ; attempt++) {
    const cut = { port: 0 };
    const c = await makeCluster({
      ids: [1, 2, 3],
      start: false,
      extra: { enableRerouting: rerouting },
      urlFor: (viewer, target, port) => (viewer === 1 && target === 3 ? cut.port || port : port),
    });
    const k = new TcpCutter(c.ports.get(3)!);
    try {
      cut.port = await k.start();
      // The urls were read at build time: rebuild node 1 now that the cutter port is known.
      await Promise.all([c.net(2).start(), c.net(3).start()]);
      await c.restart(1);
    } catch (err) {
      await c.stop();
      await k.stop();
      if (attempt >= 3 || (err as { code?: string }).code !== 'TANDEM_ERR_LISTEN') {
        throw err;
      }
      continue;
    }
    t.teardown(async () => {
      await c.stop();
      await k.stop();
    });
    await waitFor(() => allUp(c), 5000, 'all Up');
    t.ok(k.connections >= 1, 'node 1 reaches node 3 through the cutter');
    return { c, cutter: k };
  }
}

t.test('with the 1-3 link cut, 1 reaches 3 through 2', async (t) => {
  const { c, cutter } = await triangle(t);
  const events: string[] = [];
  c.net(1).onReachability((_c, n, r) => {
    events.push(`${n}:${r}`);
  });
  cutter.cut();
  await waitFor(
    () => linkOf(c.net(1), 3) === 'Down' && linkOf(c.net(3), 1) === 'Down',
    3000,
    '1-3 Down',
  );
  await waitFor(
    () =>
      c
        .net(1)
        .peers(1)
        .find((p) => p.nodeId === 3)?.nextHop === 2,
    3000,
    'next hop 2',
  );
  t.ok(reachable(c.net(1), 3), 'still reachable');
  t.ok(reachable(c.net(3), 1), 'and back');
  t.same(events, [], 'reachability never flapped');
  const got: ClusterPacket[] = [];
  c.net(3).onPacket('relay-test', (p) => got.push(p));
  const back: ClusterPacket[] = [];
  c.net(1).onPacket('relay-test', (p) => back.push(p));
  for (const lane of ['control', 'data', 'bulk'] as const) {
    t.equal(
      await c.net(1).send(
        {
          clusterId: 1,
          destination: 3,
          capability: 'relay-test',
          type: 1,
          payload: Buffer.from(lane),
        },
        lane,
      ),
      'queued',
    );
  }
  await waitFor(() => got.length === 3, 3000, 'relayed packets');
  t.same(
    got.map((p) => [p.source, p.payload.toString()]),
    [
      [1, 'control'],
      [1, 'data'],
      [1, 'bulk'],
    ],
  );
  t.ok(c.net(2).stats().relayed >= 3);
  c.net(3).send({
    clusterId: 1,
    destination: 1,
    capability: 'relay-test',
    type: 2,
    payload: Buffer.from('pong'),
  });
  await waitFor(() => back.length === 1, 3000, 'reply relayed');
  t.same(c.net(1).topology(1).get(2), [1, 3]);

  // A sync stream relayed by 2: back-pressure passes through the relay, nothing is lost.
  let bytes = 0;
  c.net(3).onPacket('relay-bulk', (p) => {
    bytes += p.payload.length;
  });
  const chunk = Buffer.alloc(60 * 1024, 1);
  const total = 40 * 1024 * 1024;
  const refused: string[] = [];
  for (let sent = 0; sent < total; sent += chunk.length) {
    const r = c
      .net(1)
      .send(
        { clusterId: 1, destination: 3, capability: 'relay-bulk', type: 1, payload: chunk },
        'bulk',
      );
    const res = r instanceof Promise ? await r : r;
    if (res !== 'queued') {
      refused.push(res);
    }
  }
  t.same(refused, [], 'every bulk send queued');
  await waitFor(() => bytes >= total, 20_000, 'relayed stream complete');
  t.equal(bytes, Math.ceil(total / chunk.length) * chunk.length);
  t.equal(
    c
      .net(1)
      .pingStats(1)
      .reduce((n, p) => n + p.pingTimeouts, 0),
    0,
    'no ping lost meanwhile',
  );

  // The direct link returns.
  cutter.restore();
  await waitFor(() => linkOf(c.net(1), 3) === 'Up', 3000, '1-3 Up again');
  await waitFor(
    () =>
      c
        .net(1)
        .peers(1)
        .find((p) => p.nodeId === 3)?.nextHop === 3,
    3000,
    'direct again',
  );

  // A peer that hangs (bytes vanish, the connection stays): pings time out.
  cutter.blackhole();
  const bound =
    FAST_TIMERS.pingTimeoutMs * (FAST_TIMERS.noPingRetries + 1) + FAST_TIMERS.pingIntervalMs;
  const took = await waitFor(() => linkOf(c.net(1), 3) === 'Down', 3000, 'Down by pings');
  t.ok(took <= bound + 500, `Down after ${took} ms (bound ${bound} ms)`);
  t.ok(reachable(c.net(1), 3), 'reachable through 2 meanwhile');
});

t.test('without rerouting only direct links count', async (t) => {
  const { c, cutter } = await triangle(t, false);
  cutter.cut();
  await waitFor(() => !reachable(c.net(1), 3), 3000, '3 unreachable from 1');
  t.equal(
    c
      .net(1)
      .send({ clusterId: 1, destination: 3, capability: 'x', type: 1, payload: Buffer.alloc(0) }),
    'unreachable',
  );
  t.ok(reachable(c.net(1), 2));
});

t.test('set_status: the local node and a peer, disabled and enabled again', async (t) => {
  const c = await makeCluster({ ids: [1, 2] });
  t.teardown(() => c.stop());
  await waitFor(() => allUp(c), 3000);
  const n1 = c.net(1);
  const pkt = { clusterId: 1, destination: 2, capability: 'st', type: 1, payload: Buffer.alloc(1) };
  const got: ClusterPacket[] = [];
  n1.onPacket('st', (p) => got.push(p));

  n1.setStatus(1, 1, false);
  t.equal(n1.send(pkt), 'disabled');
  t.equal(n1.broadcast(1, 'st', 1, Buffer.alloc(0)), 0);
  t.notOk(reachable(n1, 2));
  await waitFor(() => linkOf(c.net(2), 1) === 'Down', 3000, 'node 2 sees the disabled node Down');
  // Node 2 dropped the silent links; node 1 (the dialler) dials again, but stays Down while disabled.
  await new Promise((r) => setTimeout(r, 400));
  t.equal(linkOf(n1, 2), 'Down', 'a disabled node shows its links Down');
  c.net(2).send({ ...pkt, destination: 1 });
  n1.setStatus(1, 1, true);
  await waitFor(() => allUp(c), 3000, 'Up after enabling');
  t.equal(got.length, 0, 'nothing was delivered while disabled');

  n1.setStatus(1, 2, false);
  t.equal(linkOf(n1, 2), 'Down');
  t.equal(n1.peers(1)[0]!.enabled, false);
  t.equal(n1.send(pkt), 'unreachable');
  await waitFor(() => linkOf(c.net(2), 1) === 'Down', 3000);
  n1.setStatus(1, 2, true);
  await waitFor(() => allUp(c), 3000, 'Up after enabling the peer');
  t.equal(n1.send(pkt), 'queued');
  t.throws(
    () => {
      n1.setStatus(1, 9, false);
    },
    { code: 'TANDEM_ERR_INVALID_ARGUMENT' },
  );
  t.throws(
    () => {
      n1.setStatus(5, 1, false);
    },
    { code: 'TANDEM_ERR_INVALID_ARGUMENT' },
  );
});

t.test(
  'remove_node refuses a node until it is provisioned again; reprovision keeps live links',
  async (t) => {
    const c = await makeCluster({ ids: [1, 2, 3] });
    t.teardown(() => c.stop());
    await waitFor(() => allUp(c), 3000);
    const n2 = c.net(2);
    const downs: string[] = [];
    n2.onReachability((_c, n, r) => {
      downs.push(`${n}:${r}`);
    });
    n2.reprovision(1, c.infos(2));
    t.same(downs, [], 'a reload with the same nodes drops nothing');
    t.ok(n2.removeNode(1, 1));
    t.notOk(n2.removeNode(1, 1), 'already gone');
    t.notOk(n2.removeNode(7, 1), 'no such cluster');
    t.same(
      n2.peers(1).map((p) => p.nodeId),
      [3],
    );
    const r0 = n2.stats().refusedConnections;
    await waitFor(() => n2.stats().refusedConnections > r0, 3000, 'node 1 refused when it redials');
    n2.reprovision(1, c.infos(2));
    await waitFor(
      () => linkOf(n2, 1) === 'Up' && linkOf(c.net(1), 2) === 'Up',
      3000,
      'back after reprovisioning',
    );
    n2.reprovision(
      1,
      c.infos(2).filter((n) => n.nodeId !== 3),
    );
    t.same(
      n2.peers(1).map((p) => p.nodeId),
      [1],
    );
    t.equal(
      n2.send({ clusterId: 1, destination: 3, capability: 'x', type: 1, payload: Buffer.alloc(0) }),
      'unknown_node',
    );
    t.equal(
      n2.send({ clusterId: 4, destination: 3, capability: 'x', type: 1, payload: Buffer.alloc(0) }),
      'unknown_node',
    );
    t.throws(
      () => {
        n2.reprovision(4, []);
      },
      { code: 'TANDEM_ERR_INVALID_ARGUMENT' },
    );
    t.same(n2.clusterIds(), [1]);
    t.same(n2.peers(4), []);
  },
);
