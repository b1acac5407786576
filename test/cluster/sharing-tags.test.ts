/**
 * Sharing tags on the in-memory network: epochs, replays, split brain, automatic takeover,
 * callbacks and events, and the SDK's tag-gated jobs.
 */
import t from 'tap';
import type { Clusterer } from '../../src/cluster/clusterer.js';
import { clustererSchema, type ClustererConfig } from '../../src/cluster/config.js';
import { MemoryHub } from '../helpers/memory-network.js';
import { newer, SHTAG_CAPABILITY } from '../../src/cluster/sharing-tags.js';
import { z } from 'zod';
import { defineModule, installModules } from '../../src/module/index.js';
import { FakeClock } from '../helpers/fake-clock.js';
import { flush, memoryClusterer } from '../helpers/memory-clusterer.js';
import { registries } from '../helpers/module-registries.js';

interface Node {
  c: Clusterer;
  events: { event: string; params: Record<string, unknown> }[];
}

function config(me: number, ids: number[], extra: Record<string, unknown> = {}): ClustererConfig {
  return clustererSchema.parse({
    my_node_id: me,
    clusters: [
      {
        cluster_id: 1,
        nodes: ids.map((id) => ({
          node_id: id,
          url: `bin:127.0.0.1:${5000 + id}`,
          priority: id === 3 ? 10 : 0,
        })),
      },
    ],
    ...extra,
  });
}

/** Nodes 1..n on one hub; `tags[i]` are node i+1's configured sharing tags. */
async function cluster(
  n: number,
  tags: string[][],
  o: { clock?: FakeClock; extra?: Record<string, unknown> } = {},
): Promise<{ hub: MemoryHub; nodes: Node[] }> {
  const hub = new MemoryHub(1);
  const ids = Array.from({ length: n }, (_, i) => i + 1);
  const nodes: Node[] = [];
  for (const id of ids) {
    const cfg = config(id, ids, { sharing_tags: tags[id - 1] ?? [], ...o.extra });
    const events: Node['events'] = [];
    const c = memoryClusterer(hub, cfg, {
      clock: o.clock ?? new FakeClock(),
      raise: (event, params) => events.push({ event, params }),
    });
    nodes.push({ c, events });
  }
  for (const node of nodes) {
    await node.c.start();
  }
  await flush();
  return { hub, nodes };
}

const states = (nodes: Node[], tag = 'vip/1') => nodes.map((x) => x.c.tags.state(tag));

t.test('the newer rule: higher epoch, then the lower node id', async (t) => {
  t.ok(newer(2, 5, 1, 1));
  t.notOk(newer(1, 1, 2, 5));
  t.ok(newer(1, 1, 1, 2), 'tie: lower node id wins');
  t.notOk(newer(1, 2, 1, 1));
  t.notOk(newer(1, 1, 1, 1), 'the same activation is not newer');
  t.ok(newer(1, 3, 0, 0));
});

t.test('configured states; activation elsewhere makes the holder step down', async (t) => {
  const { nodes } = await cluster(2, [['vip/1=active'], ['vip/1=backup']]);
  t.same(states(nodes), ['active', 'backup']);
  t.equal(nodes[1]!.c.tags.list()[0]!.owner, 1, 'B learnt the holder from the exchange');
  t.ok(nodes[1]!.c.tags.activate('vip/1'));
  t.same(states(nodes), ['active', 'active'], 'B active at once, A told on the next tick');
  await flush();
  t.same(states(nodes), ['backup', 'active'], 'A stepped down');
  const a = nodes[0]!.c.tags.list()[0]!;
  t.same([a.epoch, a.owner], [2, 2], 'epoch = max seen + 1');
  const ev = nodes[0]!.events.find((e) => e.event === 'E_CLUSTERER_SHARING_TAG_CHANGED');
  t.match(ev?.params, { tag: 'vip', cluster: 1, state: 'backup', reason: /node 2 activated/ });
  t.equal(nodes[0]!.c.tags.isActive(null), true, 'data without owner is active');
  t.equal(nodes[0]!.c.tags.isActive('other/1'), false, 'an unknown tag is backup');
  t.equal(nodes[0]!.c.tags.activate('bad tag'), false);
  t.equal(nodes[0]!.c.tags.activate('vip/9'), false, 'not in cluster 9');
});

t.test('an old activation replayed is ignored and the sender corrected', async (t) => {
  const { nodes } = await cluster(3, [['vip/1=active'], [], []]);
  nodes[1]!.c.tags.activate('vip/1');
  await flush();
  nodes[2]!.c.tags.activate('vip/1');
  await flush();
  t.same(states(nodes), ['backup', 'backup', 'active']);
  // Node 1 re-sends its first activation (epoch 1), as a replay after a partition would.
  const replay = Buffer.from(JSON.stringify([{ t: 'vip/1', e: 1, n: 1 }]));
  nodes[0]!.c.network.send({
    clusterId: 1,
    destination: 3,
    capability: SHTAG_CAPABILITY,
    type: 1,
    payload: replay,
  });
  nodes[0]!.c.network.send({
    clusterId: 1,
    destination: 2,
    capability: SHTAG_CAPABILITY,
    type: 1,
    payload: replay,
  });
  await flush();
  t.same(states(nodes), ['backup', 'backup', 'active'], 'nothing changed');
  t.equal(nodes[2]!.c.tags.stats.stale_ignored, 1);
  t.equal(nodes[1]!.c.tags.stats.stale_ignored, 1);
  t.same(
    nodes.map((x) => x.c.tags.list()[0]!.epoch),
    [3, 3, 3],
    'everyone knows epoch 3',
  );
  // Garbage on the reserved capability is counted, never thrown.
  for (const payload of [
    '{',
    '{"t":1}',
    '[{"t":"vip/1","e":"x","n":1}]',
    '[1]',
    '[{"t":"vip/2","e":9,"n":1}]',
  ]) {
    nodes[0]!.c.network.send({
      clusterId: 1,
      destination: 3,
      capability: SHTAG_CAPABILITY,
      type: 1,
      payload: Buffer.from(payload),
    });
  }
  nodes[0]!.c.network.send({
    clusterId: 1,
    destination: 3,
    capability: SHTAG_CAPABILITY,
    type: 9,
    payload: Buffer.from('[]'),
  });
  await flush();
  t.equal(nodes[2]!.c.tags.stats.bad_packets, 6);
  t.same(states(nodes), ['backup', 'backup', 'active']);
});

t.test('split brain: both active while cut, exactly one active on both views after', async (t) => {
  const { hub, nodes } = await cluster(2, [['vip/1=active'], ['vip/1=backup']]);
  hub.cut(1, 2);
  await flush();
  nodes[1]!.c.tags.activate('vip/1'); // epoch 2 on B
  nodes[0]!.c.tags.activate('vip/1'); // A already active: no new epoch
  nodes[0]!.c.tags.activate('vip/1');
  t.same(states(nodes), ['active', 'active'], 'split brain while cut');
  hub.heal(1, 2);
  await flush();
  t.same(states(nodes), ['backup', 'active'], 'the newer activation (B, epoch 2) wins');
  for (const [i, n] of nodes.entries()) {
    const l = n.c.tags.list()[0]!;
    t.same([l.epoch, l.owner], [2, 2], `node ${i + 1} view`);
    t.equal(n.c.tags.stats.split_brains, 1, `node ${i + 1} logged it`);
    t.ok(
      n.events.some(
        (e) =>
          e.event === 'E_CLUSTERER_SHARING_TAG_CHANGED' &&
          /split brain/.test(String(e.params['reason'])),
      ),
      `node ${i + 1} raised it`,
    );
  }
});

t.test('split brain with equal epochs: the lower node id keeps it', async (t) => {
  const { hub, nodes } = await cluster(2, [[], []]);
  hub.cut(1, 2);
  await flush();
  nodes[0]!.c.tags.activate('vip/1');
  nodes[1]!.c.tags.activate('vip/1');
  hub.heal(1, 2);
  await flush();
  t.same(states(nodes), ['active', 'backup']);
});

t.test('an activation made while a node was away reaches it when it returns', async (t) => {
  const { hub, nodes } = await cluster(3, [['vip/1=active'], [], []]);
  hub.cut(1, 3);
  hub.cut(2, 3);
  await flush();
  nodes[1]!.c.tags.activate('vip/1');
  await flush();
  t.same(states(nodes), ['backup', 'active', 'backup']);
  t.equal(nodes[2]!.c.tags.list()[0]!.owner, 1, 'C still believes in A');
  hub.heal(1, 3);
  await flush();
  t.equal(nodes[2]!.c.tags.list()[0]!.owner, 2, 'C learnt B activation through A');
  const up = nodes[2]!.events.filter((e) => e.event === 'E_CLUSTERER_NODE_STATE_CHANGED');
  t.same(
    up.map((e) => [e.params['node_id'], e.params['new_state']]),
    [
      [1, 1],
      [2, 1],
      [1, 0],
      [2, 0],
      [1, 1],
    ],
  );
});

t.test('a restarted node configured active does not take the tag back', async (t) => {
  const { hub, nodes } = await cluster(2, [['vip/1=active'], []]);
  nodes[1]!.c.tags.activate('vip/1');
  await flush();
  await nodes[0]!.c.stop();
  // A new A process: configured active again, epoch 1.
  const cfg = config(1, [1, 2], { sharing_tags: ['vip/1=active'] });
  hub.nodes.delete(1);
  const a2 = memoryClusterer(hub, cfg);
  await a2.start();
  await flush();
  t.same([a2.tags.state('vip/1'), nodes[1]!.c.tags.state('vip/1')], ['backup', 'active']);
  await a2.stop();
});

t.test('failover auto: the best reachable backup takes over after node_timeout', async (t) => {
  const clock = new FakeClock();
  const extra = { node_timeout: 10, sharing_tag_options: { 'vip/1': { failover: 'auto' } } };
  const { hub, nodes } = await cluster(3, [['vip/1=active'], [], []], { clock, extra });
  hub.cut(1, 2);
  hub.cut(1, 3);
  await flush();
  clock.advance(9_000);
  t.same(states(nodes), ['active', 'backup', 'backup'], 'not before node_timeout');
  clock.advance(1_000);
  await flush();
  t.same(states(nodes), ['active', 'backup', 'active'], 'node 3 (priority 10) took over');
  t.equal(nodes[2]!.c.tags.stats.failovers, 1);
  t.equal(nodes[1]!.c.tags.stats.failovers, 0);
  t.equal(nodes[1]!.c.tags.list()[0]!.owner, 3);
  hub.heal(1, 2);
  hub.heal(1, 3);
  await flush();
  t.same(states(nodes), ['backup', 'backup', 'active'], 'the old holder steps down on return');
});

t.test('failover auto is cancelled when the holder comes back in time', async (t) => {
  const clock = new FakeClock();
  const extra = { node_timeout: 10, sharing_tag_options: { 'vip/1': { failover: 'auto' } } };
  const { hub, nodes } = await cluster(2, [['vip/1=active'], []], { clock, extra });
  hub.cut(1, 2);
  await flush();
  clock.advance(5_000);
  hub.heal(1, 2);
  await flush();
  clock.advance(10_000);
  t.same(states(nodes), ['active', 'backup']);
  t.equal(nodes[1]!.c.tags.stats.failovers, 0);
});

t.test('tag callbacks, and jobs gated by a tag start and stop with it', async (t) => {
  const clock = new FakeClock();
  const { nodes } = await cluster(2, [['vip/1=active'], ['vip/1=backup']], { clock });
  const b = nodes[1]!.c;
  const runs: string[] = [];
  const changes: string[] = [];
  const manifest = defineModule({
    name: 'gated',
    description: 'test',
    params: z.strictObject({ t: z.string().default('vip') }),
    jobs: {
      ping: { description: 'pings', shtag: { tag: 'vip/1' } },
      computed: { description: 'computed tag', shtag: { tag: (p: { t: string }) => `${p.t}/1` } },
      always: { description: 'everywhere', shtag: true },
    },
    init(host) {
      host.sharingTags.onChange((c) => changes.push(`${c.tag}=${c.state}`));
      host.every('ping', 1000, () => {
        runs.push('ping');
      });
      host.every('computed', 1000, () => {
        runs.push('computed');
      });
      host.every('always', 1000, () => {
        runs.push('always');
      });
      t.equal(host.cluster?.myNodeId, 2);
      t.equal(host.sharingTags.state('vip/1'), 'backup');
    },
  });
  const installed = await installModules(
    [manifest],
    registries({ clock, sharingTags: b.sharingTags(), cluster: b.api() }),
  );
  clock.advance(3000);
  t.same(
    runs.filter((r) => r !== 'always'),
    [],
    'backup: gated jobs do not run',
  );
  t.equal(runs.filter((r) => r === 'always').length, 3);
  runs.length = 0;
  b.sharingTags().activate('vip/1');
  t.same(changes.slice(-1), ['vip/1=active']);
  await flush();
  clock.advance(1000);
  t.same(runs.sort(), ['always', 'computed', 'ping'], 'active: gated jobs run');
  runs.length = 0;
  nodes[0]!.c.tags.activate('vip/1');
  await flush();
  t.same(changes.slice(-1), ['vip/1=backup']);
  clock.advance(3000);
  t.same(runs, ['always', 'always', 'always'], 'stepped down: gated jobs stopped');
  await installed.destroy();
});
