/**
 * tandem-cli's run() in-process against an MI server on a free port: output, exit codes, the
 * token, the URL from the environment, HTTP and network failures.
 */
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import t, { type Test } from 'tap';
import { run } from '../../src/cli/main.js';
import { silentLogger } from '../../src/core/logger.js';
import { Readiness } from '../../src/core/readiness.js';
import { StatsRegistry } from '../../src/core/stats.js';
import { JsonRpcEngine } from '../../src/mi/jsonrpc.js';
import { Metrics } from '../../src/mi/metrics.js';
import { MiServer } from '../../src/mi/server.js';
import { testRegistry } from '../mi/helpers.js';
import { freePort } from '../helpers/ports.js';

async function node(t: Test, token: string | null = null): Promise<string> {
  const registry = testRegistry();
  const stats = new StatsRegistry();
  stats.fields('core', { rcv_requests: 3, sent_replies: 1 }, ['rcv_requests', 'sent_replies']);
  stats.fields('tm', { inuse_transactions: 2 }, ['inuse_transactions']);
  registry.add('core', {
    name: 'get_statistics',
    description: 'stats',
    recipes: [{ params: [{ name: 'statistics', type: 'string[]' }] }],
    handler: (p) => {
      const out: Record<string, number> = {};
      for (const q of p.strings('statistics')) {
        for (const e of stats.lookup(q)) {
          out[e.fullName] = e.read();
        }
      }
      return out;
    },
  });
  const mi = new MiServer({
    engine: new JsonRpcEngine({ registry, logger: silentLogger }),
    metrics: new Metrics(new StatsRegistry(), { defaultMetrics: false }),
    readiness: new Readiness(),
    logger: silentLogger,
    token,
    bodyLimit: 65536,
  });
  const addr = await mi.listen('127.0.0.1', 0);
  t.teardown(() => mi.close());
  return `http://127.0.0.1:${addr.port}/mi`;
}

function io(env: Record<string, string> = {}) {
  const out = { stdout: '', stderr: '' };
  return {
    out,
    io: {
      stdout: { write: (s: string) => (out.stdout += s) },
      stderr: { write: (s: string) => (out.stderr += s) },
      env,
    },
  };
}

t.test('mi prints the result as indented JSON and exits 0', async (t) => {
  const url = await node(t);
  const a = io();
  t.equal(await run(['--url', url, 'mi', 'echo', 'x', '5'], a.io), 0);
  t.equal(
    a.out.stdout,
    `${JSON.stringify({ recipe: 2, params: { a: 'x', b: 5 }, method: 'echo' }, null, 2)}\n`,
  );
  t.equal(a.out.stderr, '');
  const named = io({ TANDEM_MI_URL: url });
  t.equal(await run(['mi', 'echo', 'c=true'], named.io), 0, 'the URL from TANDEM_MI_URL');
  t.match(JSON.parse(named.out.stdout), { recipe: 3, params: { c: true } });
  const ok = io({ TANDEM_MI_URL: url });
  t.equal(await run(['mi', 'clusterer_shtag_set_active', 'vip/1'], ok.io), 0);
  t.equal(ok.out.stdout, '"OK"\n');
});

t.test('an MI error is printed with its code and data; exit 1', async (t) => {
  const url = await node(t);
  const a = io();
  t.equal(await run(['--url', url, 'mi', 'clusterer:shtag_set_active', 'nope'], a.io), 1);
  t.equal(a.out.stderr, 'tandem-cli: Cluster ID not found (404): {"tag":"nope"}\n');
  t.equal(a.out.stdout, '');
  const b = io();
  t.equal(await run(['--url', url, 'mi', 'nope'], b.io), 1);
  t.equal(b.out.stderr, 'tandem-cli: Method not found (-32601): nope\n');
  const c = io();
  t.equal(await run(['--url', url, 'mi', 'test:crash'], c.io), 1);
  t.equal(c.out.stderr, 'tandem-cli: Internal error (500): boom\n');
});

t.test('stats prints name = value lines, for groups or all', async (t) => {
  const url = await node(t);
  const a = io();
  t.equal(await run(['--url', url, 'stats', 'core'], a.io), 0);
  t.equal(a.out.stdout, 'core:rcv_requests = 3\ncore:sent_replies = 1\n');
  const b = io();
  t.equal(await run(['--url', url, 'stats'], b.io), 0);
  t.equal(b.out.stdout.split('\n').length, 4);
  const c = io();
  t.equal(await run(['--url', url, 'stats', 'tm:inuse_transactions'], c.io), 0);
  t.equal(c.out.stdout, 'tm:inuse_transactions = 2\n');
});

t.test('the token comes from --token-file or TANDEM_MI_TOKEN; 401 is an error', async (t) => {
  const url = await node(t, 'tok');
  const dir = mkdtempSync(join(tmpdir(), 'tandem-cli-'));
  t.teardown(() => {
    rmSync(dir, { recursive: true, force: true });
  });
  const file = join(dir, 'token');
  writeFileSync(file, 'tok\n');
  const a = io();
  t.equal(await run(['--url', url, '--token-file', file, 'mi', 'echo'], a.io), 0);
  const b = io({ TANDEM_MI_TOKEN: 'tok' });
  t.equal(await run(['--url', url, 'mi', 'echo'], b.io), 0);
  const c = io();
  t.equal(await run(['--url', url, 'mi', 'echo'], c.io), 1);
  t.equal(c.out.stderr, `tandem-cli: ${url} answered HTTP 401: {"error":"unauthorized"}\n`);
  const d = io();
  t.equal(await run(['--url', url, '--token-file', join(dir, 'none'), 'mi', 'echo'], d.io), 1);
  t.match(d.out.stderr, /^tandem-cli: cannot read .*none: ENOENT/);
});

t.test(
  'usage errors exit 2; --help exits 0; unreachable nodes and bad answers exit 1',
  async (t) => {
    const a = io();
    t.equal(await run(['mi'], a.io), 2);
    t.match(a.out.stderr, /^tandem-cli: mi needs a command name.*\nusage: tandem-cli/s);
    const h = io();
    t.equal(await run(['--help'], h.io), 0);
    t.match(h.out.stdout, /^usage: tandem-cli/);
    const b = io();
    const closed = `http://127.0.0.1:${await freePort()}/mi`;
    t.equal(await run(['--url', closed, 'mi', 'uptime'], b.io), 1);
    t.equal(b.out.stderr.startsWith(`tandem-cli: cannot reach ${closed}: `), true, b.out.stderr);
    t.match(b.out.stderr, /ECONNREFUSED/);
    const notJson = io();
    const fake = (() => Promise.resolve(new Response('<html>', { status: 200 }))) as typeof fetch;
    t.equal(await run(['mi', 'uptime'], { ...notJson.io, fetch: fake }), 1);
    t.equal(notJson.out.stderr, 'tandem-cli: http://127.0.0.1:8888/mi did not answer JSON\n');
    const empty = io();
    const e404 = (() => Promise.resolve(new Response('', { status: 404 }))) as typeof fetch;
    t.equal(await run(['mi', 'uptime'], { ...empty.io, fetch: e404 }), 1);
    t.equal(empty.out.stderr, 'tandem-cli: http://127.0.0.1:8888/mi answered HTTP 404\n');
  },
);
