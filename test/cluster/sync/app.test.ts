/**
 * app.ts gives the clusterer its modules-ready signal after start-up, and with the test hooks on
 * `TANDEM_TEST_STARTUP_DELAY_MS` delays it: the capability stays `not synced` (no request, no
 * seed fallback) until then.
 */
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import t from 'tap';
import { startTandem } from '../../../src/app.js';
import { loadConfig } from '../../../src/config/index.js';
import { silentLogger } from '../../../src/core/logger.js';
import { defineModule, type Capability } from '../../../src/module/define-module.js';
import { freePort } from '../../helpers/ports.js';
import { waitFor } from '../net/harness.js';

const CFG = fileURLToPath(new URL('../../../cfg/tandem.yaml', import.meta.url));
const DATA = mkdtempSync(join(tmpdir(), 'tandem-sync-app-'));
t.teardown(() => {
  rmSync(DATA, { recursive: true, force: true });
});

async function app(delayMs: number | null) {
  const [bin1, bin2] = [await freePort(), await freePort()];
  const { config } = loadConfig(CFG, [
    `data_dir=${DATA}`,
    'listen=[udp:127.0.0.1:0]',
    'mi.listen=127.0.0.1:0',
    'clusterer.my_node_id=1',
    'clusterer.seed_fallback_interval=0',
    `clusterer.clusters=[{cluster_id: 1, nodes: [{node_id: 1, url: "bin:127.0.0.1:${bin1}", flags: [seed]}, {node_id: 2, url: "bin:127.0.0.1:${bin2}"}]}]`,
  ]);
  const saved = { ...process.env };
  if (delayMs !== null) {
    process.env['TANDEM_TEST_HOOKS'] = '1';
    process.env['TANDEM_TEST_STARTUP_DELAY_MS'] = String(delayMs);
  }
  let cap: Capability | null = null;
  const mod = defineModule({
    name: 'synctest',
    description: 'a capability with a sync',
    init: (host) => {
      cap = host.cluster!.registerCapability({
        name: 'synctest-repl',
        clusterId: 1,
        dataVersion: 1,
        onPacket: () => undefined,
        sync: { donate: async () => undefined, apply: () => undefined },
      });
    },
  });
  try {
    const a = await startTandem(config, silentLogger, { modules: [mod] });
    return { a, cap: cap! };
  } finally {
    process.env = saved;
  }
}

t.test('modules ready at start: the seed falls back at once, /ready follows', async (t) => {
  const { a, cap } = await app(null);
  t.teardown(() => a.stop(0));
  await waitFor(() => cap.synced, 5000, 'synced');
  t.equal(a.clusterer!.caps.list()[0]!.syncedBy, 'seed fallback');
  t.equal(a.readiness.check().ready, true);
});

t.test('TANDEM_TEST_STARTUP_DELAY_MS delays the signal', async (t) => {
  const { a, cap } = await app(400);
  t.teardown(() => a.stop(0));
  t.equal(a.clusterer!.caps.list()[0]!.state, 'not synced');
  t.match(a.readiness.check().sources, [{ name: 'clusterer', ready: false }]);
  const waited = await waitFor(() => cap.synced, 5000, 'synced');
  t.ok(waited >= 300, `synced after ${waited} ms`);
  t.equal(a.readiness.check().ready, true);
});
