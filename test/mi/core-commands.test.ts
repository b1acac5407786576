/**
 * The core MI commands through the JSON-RPC engine, with the registries they serve: answers in
 * OpenSIPS's shapes, parameters checked and named in errors, statistics reset semantics.
 */
import t from 'tap';
import { CORE_EVENTS, EventBus, type RaisedEvent } from '../../src/core/events.js';
import { LogLevels } from '../../src/core/log-levels.js';
import { silentLogger } from '../../src/core/logger.js';
import { Readiness } from '../../src/core/readiness.js';
import { StatsRegistry } from '../../src/core/stats.js';
import { coreManifest, ctime } from '../../src/mi/core-commands.js';
import { JsonRpcEngine } from '../../src/mi/jsonrpc.js';
import { ProcessProbe } from '../../src/mi/process.js';
import { MiRegistry } from '../../src/mi/registry.js';
import { installModules, type MiValue } from '../../src/module/index.js';

async function setup(reload: () => Promise<void> = () => Promise.resolve()) {
  const stats = new StatsRegistry();
  const core = { rcv_requests: 5, sent_replies: 2 };
  const tm = { inuse_transactions: 3, UAS_transactions: 9 };
  stats.fields('core', core, ['rcv_requests', 'sent_replies']);
  stats.fields('tm', tm, ['inuse_transactions', 'UAS_transactions'], {
    gauges: ['inuse_transactions'],
  });
  const loggers = new LogLevels(silentLogger);
  loggers.component('tm');
  loggers.component('proxy');
  const events = new EventBus();
  for (const [name, def] of Object.entries(CORE_EVENTS)) {
    events.declare(name, def, 'core');
  }
  const registry = new MiRegistry();
  const probe = new ProcessProbe();
  const shutdowns: string[] = [];
  await installModules(
    [
      coreManifest({
        version: '9.8.7',
        startedAt: new Date(Date.now() - 65_000),
        stats,
        loggers,
        registry,
        events,
        probe,
        reloadScript: reload,
        shutdown: (why) => shutdowns.push(why),
      }),
    ],
    { commands: registry, stats, events, loggers, readiness: new Readiness() },
  );
  const engine = new JsonRpcEngine({ registry, logger: silentLogger });
  const call = async (method: string, params?: MiValue, deferred: (() => void)[] = []) => {
    const body: Record<string, MiValue> = { jsonrpc: '2.0', method, id: 1 };
    if (params !== undefined) {
      body['params'] = params;
    }
    return (await engine.handle(body, deferred)) as {
      result?: unknown;
      error?: { code: number; message: string; data?: unknown };
    };
  };
  return { call, core, tm, loggers, events, shutdowns };
}

t.test('version, uptime and ps answer in OpenSIPS shapes', async (t) => {
  const { call } = await setup();
  t.match((await call('version')).result, {
    Server: /^Tandem \(9\.8\.7 \(\w+\/\w+\)\)$/,
    Version: '9.8.7',
    Node: process.version,
  });
  const up = (await call('core:uptime')).result as Record<string, unknown>;
  const stamp = /^(Sun|Mon|Tue|Wed|Thu|Fri|Sat) [A-Z][a-z]{2} [ \d]\d \d\d:\d\d:\d\d \d{4}$/;
  t.match(up, { Now: stamp, 'Up since': stamp, 'Up time': /^6\d \[sec\]$/ });
  t.ok((up['Up time seconds'] as number) >= 65);
  t.match((await call('ps')).result, {
    Processes: [{ ID: 0, PID: process.pid, Type: String }],
    'Event loop': { utilization: Number, lag_p99_ms: Number, window_s: Number },
    Memory: { rss: Number, heap_used: Number },
    Handles: Number,
    Node: process.version,
  });
});

t.test('ctime() prints like C ctime without the newline, local time', async (t) => {
  t.equal(ctime(new Date(2016, 10, 24, 18, 22, 56)), 'Thu Nov 24 18:22:56 2016');
  t.equal(ctime(new Date(2024, 0, 4, 3, 2, 1)), 'Thu Jan  4 03:02:01 2024');
});

t.test('log_level: read all, set all, set one, read one; bad names are -32602', async (t) => {
  const { call, loggers } = await setup();
  t.same((await call('log_level')).result, {
    Global: 'silent',
    Modules: { proxy: 'silent', tm: 'silent' },
  });
  t.same((await call('log_level', ['debug'])).result, {
    Global: 'debug',
    Modules: { proxy: 'debug', tm: 'debug' },
  });
  t.same((await call('log_level', ['warn', 'tm'])).result, { Module: 'tm', 'Log level': 'warn' });
  t.same((await call('log_level', { module: 'tm' })).result, { Module: 'tm', 'Log level': 'warn' });
  t.same((await call('log_level', { level: 'error', module: 'proxy' })).result, {
    Module: 'proxy',
    'Log level': 'error',
  });
  t.equal(loggers.get('proxy'), 'error');
  t.match((await call('log_level', ['4'])).result, { Global: 'debug' }, 'OpenSIPS L_DBG');
  t.match((await call('log_level', [-1])).result, { Global: 'error' }, 'OpenSIPS L_ERR');
  t.match(await call('log_level', ['loud']), {
    error: { code: -32602, message: 'Invalid params', data: /^level: unknown level "loud"/ },
  });
  t.match(await call('log_level', ['tm']), {
    error: { code: -32602, data: /level: unknown level "tm".*module=NAME/ },
  });
  t.match(await call('log_level', ['info', 'nope']), {
    error: { code: -32602, data: /^module: unknown module "nope" \(known: proxy, tm\)/ },
  });
  t.match(await call('log_level', { module: 'nope' }), { error: { code: -32602 } });
});

t.test('get_statistics: names, groups, all; nothing found is 404', async (t) => {
  const { call, core } = await setup();
  t.same((await call('get_statistics', [['core:']])).result, {
    'core:rcv_requests': 5,
    'core:sent_replies': 2,
  });
  t.same((await call('get_statistics', ['tm:inuse_transactions', 'RCV_REQUESTS'])).result, {
    'tm:inuse_transactions': 3,
    'core:rcv_requests': 5,
  });
  core.rcv_requests = 6;
  t.same((await call('get_statistics', { statistics: ['core:rcv_requests', 'core:'] })).result, {
    'core:rcv_requests': 6,
    'core:sent_replies': 2,
  });
  t.equal(Object.keys((await call('get_statistics', ['all'])).result as object).length, 4);
  t.same((await call('get_statistics', ['nope', 'x:'])).error, {
    code: 404,
    message: 'Statistics Not Found',
  });
  t.match(await call('get_statistics'), { error: { code: -32602, data: /missing statistics/ } });
});

t.test('list_statistics and reset_statistics: counters reset, gauges kept', async (t) => {
  const { call, core, tm } = await setup();
  t.same((await call('list_statistics', ['tm:'])).result, {
    'tm:inuse_transactions': 'non-incremental',
    'tm:UAS_transactions': 'incremental',
  });
  t.equal(Object.keys((await call('list_statistics')).result as object).length, 4);
  t.equal((await call('reset_statistics', [['tm:', 'rcv_requests']])).result, 'OK');
  t.same(tm, { inuse_transactions: 3, UAS_transactions: 0 });
  t.same(core, { rcv_requests: 0, sent_replies: 2 });
  t.match(await call('reset_statistics', ['nope']), { error: { code: 404 } });
});

t.test('which and help list commands and their recipes', async (t) => {
  const { call } = await setup();
  const names = (await call('which')).result as string[];
  t.ok(names.includes('core:uptime') && names.includes('core:shutdown'));
  t.same((await call('which', ['uptime'])).result, [[]]);
  t.same((await call('which', { mi_cmd: 'core:list_statistics' })).result, [[], ['statistics']]);
  t.match(await call('which', ['nope']), {
    error: { code: 404, message: 'unknown MI command', data: 'nope' },
  });
  t.match((await call('help')).result, /^Usage: help mi_cmd/);
  t.match((await call('help', ['log_level'])).result, {
    Help: /gets or sets the log level/,
    'Exported by': 'core',
    Name: 'core:log_level',
    Aliases: ['log_level'],
    Recipes: [
      [],
      [{ name: 'level', type: 'string', optional: false }],
      [{ name: 'level' }, { name: 'module' }],
      [{ name: 'module', named_only: true }],
    ],
  });
  t.match((await call('help', ['kill'])).result, {
    Name: 'core:shutdown',
    Aliases: ['shutdown', 'kill'],
  });
  t.match(await call('help', ['nope']), { error: { code: 404 } });
});

t.test('reload_routes: OK, or 500 with the reason and the old script kept', async (t) => {
  let fail: Error | null = null;
  const { call } = await setup(() => (fail === null ? Promise.resolve() : Promise.reject(fail)));
  t.equal((await call('reload_routes')).result, 'OK');
  fail = new Error('routes.ts: cannot load: SyntaxError');
  t.same((await call('reload_routes')).error, {
    code: 500,
    message: 'Failed to reload routing script',
    data: 'routes.ts: cannot load: SyntaxError',
  });
});

t.test('shutdown (and kill) answers OK first, then stops', async (t) => {
  const { call, shutdowns } = await setup();
  const deferred: (() => void)[] = [];
  t.equal((await call('shutdown', undefined, deferred)).result, 'OK');
  t.same(shutdowns, [], 'not before the answer is out');
  for (const fn of deferred) {
    fn();
  }
  t.same(shutdowns, ['mi']);
  const later: (() => void)[] = [];
  t.equal((await call('kill', undefined, later)).result, 'OK');
  t.equal(later.length, 1);
});

t.test('events_list and raise_event', async (t) => {
  const { call, events } = await setup();
  t.match((await call('events_list')).result, {
    Events: [
      { name: 'E_CORE_STARTED', id: 0, module: 'core', params: ['version', 'listen'] },
      { name: 'E_CORE_SHUTDOWN', id: 1 },
      { name: 'E_CORE_SCRIPT_RELOADED', id: 2 },
    ],
  });
  const seen: RaisedEvent[] = [];
  events.subscribe('*', (e) => seen.push(e));
  t.equal((await call('raise_event', ['E_CORE_STARTED'])).result, 'OK');
  t.equal((await call('raise_event', ['E_CORE_SHUTDOWN', { reason: 'test' }])).result, 'OK');
  t.match(seen, [
    { event: 'E_CORE_STARTED', params: {} },
    { event: 'E_CORE_SHUTDOWN', params: { reason: 'test' } },
  ]);
  t.match(await call('raise_event', ['E_NOPE']), {
    error: { code: 404, message: 'Event not found', data: 'E_NOPE' },
  });
  t.match(await call('raise_event', ['E_CORE_STARTED', 'x']), { error: { code: -32602 } });
});
