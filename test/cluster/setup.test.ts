/**
 * Building a clusterer from the configuration (network factory, TLS files, provisioning
 * failures), the remote MI runner, and the SDK's sharing-tag view on a standalone node.
 */
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import t from 'tap';
import { silentLogger } from '../../src/core/logger.js';
import { clustererSchema } from '../../src/cluster/config.js';
import { MemoryHub } from '../helpers/memory-network.js';
import { createClusterer, localMiRunner, type NetworkParams } from '../../src/cluster/setup.js';
import { moduleSharingTags, standaloneSharingTags } from '../../src/module/index.js';
import { FakeClock } from '../helpers/fake-clock.js';
import { freePort } from '../helpers/ports.js';

const base = {
  my_node_id: 1,
  clusters: [
    {
      cluster_id: 1,
      nodes: [
        { node_id: 1, url: 'bins:127.0.0.1:5001' },
        { node_id: 2, url: 'bins:127.0.0.1:5002' },
      ],
    },
  ],
};

t.test('createClusterer: network params from the config, TLS files read', async (t) => {
  const dir = mkdtempSync(join(tmpdir(), 'tandem-cl-'));
  t.teardown(() => {
    rmSync(dir, { recursive: true, force: true });
  });
  for (const f of ['cert', 'key', 'ca']) {
    writeFileSync(join(dir, f), `${f} pem`);
  }
  const cfg = clustererSchema.parse({
    ...base,
    tls: { cert: join(dir, 'cert'), key: join(dir, 'key'), ca: join(dir, 'ca') },
    ping_interval: 2,
    ping_timeout: 300,
    no_ping_retries: 2,
    node_timeout: 30,
    enable_rerouting: false,
    sharing_tags: ['vip/1=active'],
  });
  let seen: NetworkParams | undefined;
  const hub = new MemoryHub(1);
  const raised: string[] = [];
  const c = await createClusterer(cfg, {
    clock: new FakeClock(),
    logger: silentLogger,
    raise: (e) => raised.push(e),
    makeNetwork: (p) => {
      seen = p;
      return hub.add(p.myNodeId, p.clusters[0]!.nodes);
    },
  });
  t.match(seen, {
    myNodeId: 1,
    timers: { pingIntervalMs: 2000, pingTimeoutMs: 300, noPingRetries: 2, nodeTimeoutMs: 30_000 },
    enableRerouting: false,
  });
  t.equal(seen?.tls?.ca.toString(), 'ca pem');
  t.equal(seen?.clusters[0]?.nodes.length, 2);
  t.equal(c.tags.state('vip/1'), 'active');
  await c.start();
  await c.stop();

  const missing = clustererSchema.parse({
    ...base,
    tls: { cert: join(dir, 'nope'), key: join(dir, 'key'), ca: join(dir, 'ca') },
  });
  await t.rejects(
    createClusterer(missing, {
      clock: new FakeClock(),
      logger: silentLogger,
      raise: () => undefined,
      makeNetwork: () => hub.add(1, []),
    }),
    /clusterer\.tls\.cert: cannot read/,
  );
  const plain = clustererSchema.parse({
    my_node_id: 1,
    clusters: [{ cluster_id: 1, nodes: [{ node_id: 1, url: 'bin:127.0.0.1:5001' }] }],
  });
  await t.rejects(
    createClusterer(plain, {
      clock: new FakeClock(),
      logger: silentLogger,
      raise: () => undefined,
      makeNetwork: () => {
        throw new Error('no network');
      },
    }),
    /no network/,
  );
});

t.test('createClusterer: Redis that cannot be reached is a config error', async (t) => {
  const port = await freePort();
  const cfg = clustererSchema.parse({
    ...base,
    clusters: [{ cluster_id: 1 }],
    provisioning: 'redis',
    redis_url: `redis://127.0.0.1:${port}`,
  });
  await t.rejects(
    createClusterer(cfg, {
      clock: new FakeClock(),
      logger: silentLogger,
      raise: () => undefined,
      makeNetwork: () => new MemoryHub(1).add(1, []),
    }),
    /clusterer: cannot load the provisioned nodes/,
  );
});

t.test('localMiRunner: result, error, deferred work after the answer', async (t) => {
  let ran = false;
  const run = localMiRunner({
    handle: (msg, deferred) => {
      const m = msg as { method: string };
      if (m.method === 'fail') {
        return Promise.resolve({ jsonrpc: '2.0', error: { code: 404, message: 'nope' }, id: 1 });
      }
      deferred?.push(() => {
        ran = true;
      });
      return Promise.resolve({ jsonrpc: '2.0', result: { ok: m.method }, id: 1 });
    },
  });
  t.same(await run('x', []), { result: { ok: 'x' } });
  t.equal(ran, false, 'deferred work waits for the answer');
  await new Promise((r) => setImmediate(r));
  t.equal(ran, true);
  t.same(await run('fail', []), { error: { code: 404, message: 'nope' } });
  const nothing = localMiRunner({ handle: () => Promise.resolve(null) });
  t.same(await nothing('n', []), { result: null });
});

t.test('the SDK view of a plain SharingTags (standalone node, test fakes)', async (t) => {
  const alone = moduleSharingTags(standaloneSharingTags);
  t.equal(alone.state('vip/1'), 'active');
  t.equal(alone.isActive('vip/1'), true);
  const off = alone.onChange(() => undefined);
  off();
  alone.activate('vip/1');
  t.equal(alone.state('vip/1'), 'active');
  const fake = moduleSharingTags({ isActive: (tag) => tag === 'a/1' });
  t.equal(fake.state('b/1'), 'backup');
  t.equal(moduleSharingTags(alone), alone, 'a full view is used as it is');
});
