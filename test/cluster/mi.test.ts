/**
 * The clusterer's MI commands (OpenSIPS names, shapes and errors), script functions, statistics,
 * capabilities and remote MI, on the in-memory network; and the `clusterer` config section.
 */
import { Redis } from 'ioredis';
import t from 'tap';
import { silentLogger } from '../../src/core/logger.js';
import { REMOTE_MI_TIMEOUT_MS, type Clusterer } from '../../src/cluster/clusterer.js';
import {
  clustererSchema,
  parseStoredNode,
  parseTag,
  type ClustererConfig,
} from '../../src/cluster/config.js';
import { MemoryHub } from '../helpers/memory-network.js';
import { clustererManifest } from '../../src/cluster/mi.js';
import { nodeSource } from '../../src/cluster/provisioning.js';
import { localMiRunner } from '../../src/cluster/setup.js';
import { configSchema } from '../../src/config/index.js';
import { JsonRpcEngine } from '../../src/mi/jsonrpc.js';
import {
  installModules,
  type CapabilityEvent,
  type CapabilityPacket,
} from '../../src/module/index.js';
import type { ScriptContext } from '../../src/script/context.js';
import { FakeClock } from '../helpers/fake-clock.js';
import { flush, memoryClusterer } from '../helpers/memory-clusterer.js';
import { registries } from '../helpers/module-registries.js';
import { HAVE_REDIS, startRedis } from '../helpers/redis-server.js';

function config(me: number, extra: Record<string, unknown> = {}): ClustererConfig {
  return clustererSchema.parse({
    my_node_id: me,
    clusters: [
      {
        cluster_id: 1,
        nodes: [1, 2, 3].map((id) => ({
          node_id: id,
          url: `bin:127.0.0.1:${5000 + id}`,
          description: id === 2 ? 'node two' : '',
        })),
      },
    ],
    sharing_tags: me === 1 ? ['vip/1=active'] : ['vip/1=backup'],
    ...extra,
  });
}

interface Node {
  c: Clusterer;
  call(method: string, params?: unknown): Promise<{ result?: unknown; error?: unknown }>;
  reg: ReturnType<typeof registries>;
}

async function nodes(clock = new FakeClock()): Promise<{ hub: MemoryHub; n: Node[] }> {
  const hub = new MemoryHub(1, true);
  const out: Node[] = [];
  for (const id of [1, 2, 3]) {
    const reg = registries({ clock });
    const c = memoryClusterer(hub, config(id), { clock, stats: reg.stats });
    await installModules([clustererManifest(c)], reg);
    const engine = new JsonRpcEngine({ registry: reg.commands, logger: silentLogger });
    c.localMi = localMiRunner(engine);
    const call = async (method: string, params: unknown = []) =>
      (await engine.handle({ jsonrpc: '2.0', method, params, id: 1 })) as {
        result?: unknown;
        error?: unknown;
      };
    out.push({ c, call, reg });
  }
  for (const x of out) {
    await x.c.start();
  }
  await flush();
  return { hub, n: out };
}

t.test('list, list_topology, list_shtags: OpenSIPS shapes', async (t) => {
  const { hub, n } = await nodes();
  hub.cut(1, 3);
  await flush();
  const list = await n[0]!.call('clusterer_list');
  t.same(list.result, {
    Clusters: [
      {
        cluster_id: 1,
        Nodes: [
          {
            node_id: 2,
            db_id: 2,
            url: 'bin:127.0.0.1:5002',
            link_state: 'Up',
            state: 'enabled',
            next_hop: '2',
            description: 'node two',
            rtt_ms: 0,
          },
          {
            node_id: 3,
            db_id: 3,
            url: 'bin:127.0.0.1:5003',
            link_state: 'Down',
            state: 'enabled',
            next_hop: '2',
            description: 'none',
            rtt_ms: 0,
          },
        ],
      },
    ],
  });
  t.same((await n[0]!.call('clusterer:list_topology')).result, {
    Clusters: [
      {
        cluster_id: 1,
        Nodes: [
          { node_id: 1, Neighbours: [2] },
          { node_id: 2, Neighbours: [1] },
          { node_id: 3, Neighbours: [] },
        ],
      },
    ],
  });
  t.same((await n[1]!.call('clusterer_list_shtags')).result, [
    { Tag: 'vip', Cluster: 1, State: 'backup', Epoch: 1, Holder: 1 },
  ]);
  await Promise.all(n.map((x) => x.c.stop()));
});

t.test('shtag_set_active and its errors; script functions', async (t) => {
  const { n } = await nodes();
  t.same((await n[1]!.call('clusterer_shtag_set_active', ['vip/1'])).result, 'OK');
  await flush();
  t.same(
    n.map((x) => x.c.tags.state('vip/1')),
    ['backup', 'active', 'backup'],
  );
  t.same((await n[0]!.call('clusterer:shtag_set_active', ['vip'])).error, {
    code: 400,
    message: 'Bad tag format <name/cluster_id>',
  });
  t.same((await n[0]!.call('clusterer_shtag_set_active', { tag: 'vip/7' })).error, {
    code: 404,
    message: 'Cluster ID not found',
  });
  const m = clustererManifest(n[0]!.c);
  // The clusterer's script functions never look at the request context.
  const ctx = Object.create(null) as ScriptContext;
  const fn = m.script!;
  t.equal(
    (fn['shtag_state'] as (c: ScriptContext, tag: string) => unknown)(ctx, 'vip/1'),
    'backup',
  );
  t.equal((fn['is_active'] as (c: ScriptContext, tag: string) => unknown)(ctx, 'vip/1'), false);
  t.equal((fn['shtag_state'] as (c: ScriptContext, tag: string) => unknown)(ctx, 'nope/1'), null);
  t.equal(
    (fn['shtag_set_active'] as (c: ScriptContext, tag: string) => unknown)(ctx, 'vip/1'),
    true,
  );
  t.equal((fn['is_active'] as (c: ScriptContext, tag: string) => unknown)(ctx, 'vip/1'), true);
  await Promise.all(n.map((x) => x.c.stop()));
});

t.test('set_status, remove_node, reload: effects and errors', async (t) => {
  const { n } = await nodes();
  const c = n[0]!;
  t.same((await c.call('clusterer_set_status', [1, 2, 0])).result, 'OK');
  t.match(
    c.c.network.peers(1).find((p) => p.nodeId === 2),
    { enabled: false, reachable: true },
  );
  t.same((await c.call('clusterer_set_status', [1, 2, 1])).result, 'OK');
  t.same((await c.call('clusterer_set_status', [1, 0])).result, 'OK', 'this node disabled');
  t.equal(
    c.c.network.send({
      clusterId: 1,
      destination: 2,
      capability: 'x',
      type: 1,
      payload: Buffer.alloc(0),
    }),
    'disabled',
  );
  t.same((await c.call('clusterer_set_status', [1, 1])).result, 'OK');
  t.same((await c.call('clusterer_set_status', [1, 2])).error, {
    code: 400,
    message: "Bad value for 'status'",
  });
  t.same((await c.call('clusterer_set_status', [9, 1])).error, {
    code: 404,
    message: 'Cluster ID not found',
  });
  t.same((await c.call('clusterer_set_status', [1, 7, 1])).error, {
    code: 404,
    message: 'Node ID not found',
  });
  t.same((await c.call('clusterer_remove_node', [1, 1])).error, {
    code: 400,
    message: 'Cannot remove the current node',
  });
  t.same((await c.call('clusterer_remove_node', [1, 3])).result, 'OK');
  t.same((await c.call('clusterer_remove_node', [1, 3])).error, {
    code: 404,
    message: 'Node ID not found',
  });
  t.same(
    c.c.network.peers(1).map((p) => p.nodeId),
    [2],
  );
  t.same((await c.call('clusterer_reload')).error, {
    code: 400,
    message: 'Running with config provisioning',
  });
  t.equal(c.c.provisioning, 'config');
  await Promise.all(n.map((x) => x.c.stop()));
});

t.test('capabilities: versioned packets, events, set_cap_status, list_cap, stats', async (t) => {
  const { hub, n } = await nodes();
  const got: CapabilityPacket[][] = [[], [], []];
  const evs: CapabilityEvent[] = [];
  const caps = n.map((x, i) =>
    x.c.api().registerCapability({
      name: 'test-repl',
      clusterId: 1,
      dataVersion: i === 2 ? 2 : 1,
      onPacket: (p) => got[i]!.push(p),
      ...(i === 0 ? { onEvent: (e: CapabilityEvent) => evs.push(e) } : {}),
    }),
  );
  t.equal(caps[0]!.sendAll(7, Buffer.from('hello')), 2);
  t.equal(caps[0]!.sendTo(2, 8, Buffer.from('two')), 'queued');
  await flush();
  t.same(
    got[1]!.map((p) => [p.source, p.type, p.payload.toString()]),
    [
      [1, 7, 'hello'],
      [1, 8, 'two'],
    ],
  );
  t.same(got[2], [], 'data version 2 does not apply version 1 packets');
  t.equal(n[2]!.c.caps.list()[0]!.dropped, 1);
  t.equal(caps[0]!.nodes().length, 2);
  t.same((await n[1]!.call('clusterer_set_cap_status', [1, 'test-repl', 0])).result, 'OK');
  t.equal(caps[1]!.enabled, false);
  t.equal(caps[1]!.sendTo(1, 1, Buffer.alloc(0)), 'disabled');
  t.equal(caps[1]!.sendAll(1, Buffer.alloc(0)), 0);
  caps[0]!.sendTo(2, 9, Buffer.from('dropped'));
  await flush();
  t.equal(got[1]!.length, 2, 'a disabled capability applies nothing');
  t.same((await n[1]!.call('clusterer_set_cap_status', [1, 'nope', 1])).error, {
    code: 404,
    message: 'Capability not found',
  });
  t.match((await n[1]!.call('clusterer_list_cap')).result, {
    Clusters: [
      {
        cluster_id: 1,
        Capabilities: [
          {
            name: 'test-repl',
            state: 'synced',
            status: 'Ok',
            enabled: 'no',
            pkts_in: 3,
            dropped: 1,
            synced_by: 'no sync needed',
            gaps: 0,
          },
        ],
      },
    ],
  });
  hub.cut(1, 2);
  hub.cut(1, 3);
  await flush();
  t.same(
    evs.map((e) => [e.kind, e.nodeId]),
    [
      ['node_down', 2],
      ['node_down', 3],
    ],
  );
  const stat = (name: string): number =>
    n[0]!.reg.stats
      .entries()
      .find((e) => e.fullName === `clusterer:${name}`)!
      .read();
  t.equal(stat('nodes'), 2);
  t.equal(stat('nodes_down'), 2);
  t.equal(stat('nodes_up'), 0);
  t.equal(stat('ping_rtt_max_ms'), 0);
  t.equal(stat('refused_connections'), 0);
  t.equal(stat('bad_frames'), 0);
  t.equal(stat('shtag_split_brains'), 0);
  t.equal(stat('shtag_stale_ignored'), 0);
  t.equal(stat('shtag_failovers'), 0);
  t.equal(stat('cap_test_repl_pkts_out'), 4);
  // Each payload follows the data version, the boot id and the sequence number (10 bytes).
  t.equal(stat('cap_test_repl_bytes_out'), 2 * 15 + 13 + 17);
  t.equal(stat('cap_test_repl_pkts_in'), 0);
  t.equal(stat('cap_test_repl_gaps'), 0);
  t.equal(stat('cap_test_repl_records_sent'), 0);
  t.equal(stat('cap_test_repl_transfers_served'), 0);
  t.equal(stat('cap_test_repl_bytes_in'), 0);
  t.ok(stat('cap_clusterer_shtag_pkts_out') > 0, 'the reserved capabilities are counted too');
  t.throws(
    () =>
      n[0]!.c.api().registerCapability({
        name: 'test-repl',
        clusterId: 1,
        dataVersion: 1,
        onPacket: () => undefined,
      }),
    /twice/,
  );
  t.throws(
    () =>
      n[0]!.c.api().registerCapability({
        name: 'clusterer:x',
        clusterId: 1,
        dataVersion: 1,
        onPacket: () => undefined,
      }),
    /reserved|clusterer/,
  );
  t.throws(
    () =>
      n[0]!.c.api().registerCapability({
        name: 'other',
        clusterId: 4,
        dataVersion: 1,
        onPacket: () => undefined,
      }),
    /not in cluster 4/,
  );
  t.throws(
    () =>
      n[0]!.c.api().registerCapability({
        name: 'v',
        clusterId: 1,
        dataVersion: 1e6,
        onPacket: () => undefined,
      }),
    /dataVersion/,
  );
  await Promise.all(n.map((x) => x.c.stop()));
});

t.test('node up/down callbacks through host.cluster', async (t) => {
  const { hub, n } = await nodes();
  const seen: string[] = [];
  const api = n[0]!.c.api();
  t.same(api.clusterIds(), [1]);
  t.equal(api.myNodeId, 1);
  const offUp = api.onNodeUp((c, id) => seen.push(`up ${id}`));
  api.onNodeDown((c, id) => seen.push(`down ${id}`));
  // Rerouting is on: node 2 is unreachable only when both its links are cut.
  const isolate = (): void => {
    hub.cut(1, 2);
    hub.cut(2, 3);
  };
  const rejoin = (): void => {
    hub.heal(1, 2);
    hub.heal(2, 3);
  };
  isolate();
  rejoin();
  offUp();
  isolate();
  rejoin();
  t.same(seen, ['down 2', 'up 2', 'down 2']);
  t.equal(api.nodes().length, 2);
  await Promise.all(n.map((x) => x.c.stop()));
});

t.test('send_mi and broadcast_mi run commands on other nodes', async (t) => {
  const clock = new FakeClock();
  const { hub, n } = await nodes(clock);
  const one = await n[0]!.call('clusterer_send_mi', [1, 2, 'clusterer_list_shtags']);
  t.same(one.result, [{ Tag: 'vip', Cluster: 1, State: 'backup', Epoch: 1, Holder: 1 }]);
  const named = await n[0]!.call('cluster_send_mi', {
    cluster_id: 1,
    destination: 3,
    cmd_name: 'clusterer_shtag_set_active',
    cmd_params: ['vip/1'],
  });
  t.same(named.result, 'OK');
  await flush();
  t.equal(n[2]!.c.tags.state('vip/1'), 'active', 'the command ran on node 3');
  t.same(
    (await n[0]!.call('clusterer_send_mi', [1, 2, 'clusterer_shtag_set_active', ['x']])).error,
    {
      code: 400,
      message: 'Bad tag format <name/cluster_id>',
    },
    'the remote error comes back with its code',
  );
  t.same((await n[0]!.call('clusterer_send_mi', [1, 9, 'uptime'])).error, {
    code: 404,
    message: 'Node ID not found',
  });
  const all = await n[0]!.call('clusterer_broadcast_mi', [1, 'clusterer_list_shtags']);
  t.match(all.result, {
    Nodes: [
      { node_id: 2, result: [{ State: 'backup' }] },
      { node_id: 3, result: [{ State: 'active' }] },
    ],
  });
  hub.cut(1, 2);
  hub.cut(1, 3);
  t.match((await n[0]!.call('clusterer_send_mi', [1, 2, 'uptime'])).error, {
    code: 500,
    message: /unreachable/,
  });
  hub.heal(1, 2);
  // A node whose MI is not wired answers so; a silent one times out.
  n[1]!.c.localMi = undefined;
  t.match((await n[0]!.call('clusterer_send_mi', [1, 2, 'uptime'])).error, {
    code: 500,
    message: /not available/,
  });
  n[1]!.c.localMi = () => new Promise(() => undefined);
  const pending = n[0]!.c.sendMi(1, 2, 'uptime', []);
  await flush();
  clock.advance(REMOTE_MI_TIMEOUT_MS);
  t.match(await pending, { error: { message: /no answer/ } });
  const stopping = n[0]!.c.sendMi(1, 2, 'uptime', []);
  await flush();
  await Promise.all(n.map((x) => x.c.stop()));
  t.match(await stopping, { error: { message: /stopping/ } });
  t.ok(n[0]!.c.counters.remote_mi_out >= 5);
});

t.test('readiness follows the network start', async (t) => {
  const cfg = config(1);
  const hub = new MemoryHub(1);
  const c = memoryClusterer(hub, cfg);
  t.same(c.readiness(), { ready: false, detail: 'cluster network not started' });
  await c.start();
  t.same(c.readiness(), { ready: true });
  t.equal(c.self(1)?.nodeId, 1);
  t.same(c.nodeCounts(), { up: 0, down: 2 });
  await c.stop();
});

t.test('config: defaults, errors naming the key, tags and stored nodes', async (t) => {
  const c = config(1);
  t.match(c, {
    ping_interval: 4,
    ping_timeout: 1000,
    no_ping_retries: 3,
    node_timeout: 60,
    enable_rerouting: true,
    provisioning: 'config',
  });
  const issues = (input: unknown): string[] => {
    const r = configSchema.safeParse({ clusterer: input });
    return r.success ? [] : r.error.issues.map((i) => `${i.path.join('.')}: ${i.message}`);
  };
  const base = {
    my_node_id: 1,
    clusters: [{ cluster_id: 1, nodes: [{ node_id: 1, url: 'bin:127.0.0.1:5566' }] }],
  };
  t.same(issues(base), []);
  t.match(issues({ ...base, my_node_id: 2 }), [
    /clusterer.clusters.0.nodes: this node \(my_node_id 2\)/,
  ]);
  t.match(
    issues({
      ...base,
      clusters: [{ cluster_id: 1, nodes: [{ node_id: 1, url: 'tcp:1.2.3.4:5' }] }],
    }),
    [/url: bin:IP:PORT/],
  );
  t.match(
    issues({
      ...base,
      clusters: [{ cluster_id: 1, nodes: [{ node_id: 1, url: 'bins:127.0.0.1:5566' }] }],
    }),
    [/clusterer.tls block/],
  );
  t.match(issues({ ...base, clusters: [...base.clusters, ...base.clusters] }), [
    /cluster id not listed before/,
  ]);
  t.match(
    issues({
      ...base,
      clusters: [
        { cluster_id: 1, nodes: [base.clusters[0]!.nodes[0], base.clusters[0]!.nodes[0]] },
      ],
    }),
    [/node id not listed before/],
  );
  t.match(issues({ ...base, sharing_tags: ['vip/1=primary'] }), [
    /sharing_tags.0: name\/cluster_id=active/,
  ]);
  t.match(issues({ ...base, sharing_tags: ['vip/2=active'] }), [/a tag of a configured cluster/]);
  t.match(issues({ ...base, sharing_tag_options: { 'vip/2': { failover: 'auto' } } }), [
    /a tag of a configured cluster/,
  ]);
  t.match(issues({ ...base, sharing_tag_options: { 'vip/1': { failover: 'soon' } } }), [
    /manual or auto/,
  ]);
  t.match(issues({ ...base, provisioning: 'redis' }), [/redis_url: a redis:\/\/ URL/]);
  t.match(issues({ ...base, colour: 'red' }), [/^clusterer: a mapping/], 'an unknown key');
  t.same(parseTag('vip/12'), { name: 'vip', clusterId: 12 });
  t.equal(parseTag('vip'), null);
  t.match(parseStoredNode(1, '4', '{"url":"bin:10.0.0.4:5566","flags":["seed"],"tls_name":"n4"}'), {
    clusterId: 1,
    nodeId: 4,
    seed: true,
    tlsName: 'n4',
  });
  t.throws(() => parseStoredNode(1, '4', '{'), /not JSON/);
  t.throws(() => parseStoredNode(1, '4', '{"url":"x"}'), /redis node 4 of cluster 1: url/);
  const src = nodeSource(c);
  t.equal(src.kind, 'config');
  t.equal((await src.load()).get(1)!.length, 3);
  await src.close();
});

t.test(
  'provisioning from Redis: a hash per cluster, reload keeps the links',
  {
    skip: HAVE_REDIS ? false : 'redis-server is not installed',
  },
  async (t) => {
    const redis = await startRedis();
    t.teardown(() => redis.stop());
    const client = new Redis(redis.url);
    t.teardown(() => {
      client.disconnect();
    });
    await client.hset('tandem:cluster:1', {
      '1': JSON.stringify({ url: 'bin:127.0.0.1:5001' }),
      '2': JSON.stringify({ url: 'bin:127.0.0.1:5002', description: 'from redis' }),
    });
    const cfg = clustererSchema.parse({
      my_node_id: 1,
      clusters: [{ cluster_id: 1 }],
      provisioning: 'redis',
      redis_url: redis.url,
    });
    const hub = new MemoryHub(1);
    const src = nodeSource(cfg);
    const provisioned = await src.load();
    t.same(
      provisioned.get(1)!.map((x) => x.nodeId),
      [1, 2],
    );
    const c = memoryClusterer(hub, cfg, { nodes: src, provisioned });
    const reg = registries();
    await installModules([clustererManifest(c)], reg);
    const engine = new JsonRpcEngine({ registry: reg.commands, logger: silentLogger });
    await c.start();
    await client.hset('tandem:cluster:1', '3', JSON.stringify({ url: 'bin:127.0.0.1:5003' }));
    t.same(await engine.handle({ jsonrpc: '2.0', method: 'clusterer_reload', id: 1 }), {
      jsonrpc: '2.0',
      result: 'OK',
      id: 1,
    });
    t.same(
      c.network.peers(1).map((p) => p.nodeId),
      [2, 3],
    );
    await client.hset('tandem:cluster:1', '4', '{bad');
    t.match(await engine.handle({ jsonrpc: '2.0', method: 'clusterer_reload', id: 1 }), {
      error: { code: 500, message: /Failed to reload: .*not JSON/ },
    });
    await c.stop();
  },
);
