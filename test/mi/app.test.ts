/**
 * The MI inside a running app (in-process, every port 0): SIP traffic moves the /metrics
 * counters and fills the latency histograms; MI commands act on the live stack; events reach a
 * webhook; `shutdown` stops the app; start-up errors of the MI keep nothing bound.
 */
import { createServer as createHttpServer } from 'node:http';
import { createServer, type Server } from 'node:net';
import type { AddressInfo } from 'node:net';
import { fileURLToPath } from 'node:url';
import t, { type Test } from 'tap';
import { startTandem, type TandemApp } from '../../src/app.js';
import { loadConfig } from '../../src/config/index.js';
import { silentLogger } from '../../src/core/logger.js';
import { UdpPeer } from '../helpers/udp-peer.js';

const CFG = fileURLToPath(new URL('../../cfg/tandem.yaml', import.meta.url));
const BASE = ['listen=[udp:127.0.0.1:0]', 'mi.listen=127.0.0.1:0'];

async function start(t: Test, sets: string[] = []): Promise<TandemApp> {
  const { config } = loadConfig(CFG, [...BASE, ...sets]);
  const app = await startTandem(config, silentLogger);
  t.teardown(() => app.stop(0));
  return app;
}

function miUrl(app: TandemApp, path = '/mi'): string {
  const a = app.mi!.address!;
  return `http://${a.host}:${a.port}${path}`;
}

async function rpc(
  app: TandemApp,
  method: string,
  params?: unknown,
): Promise<Record<string, unknown>> {
  const res = await fetch(miUrl(app), {
    method: 'POST',
    body: JSON.stringify({
      jsonrpc: '2.0',
      method,
      id: 1,
      ...(params === undefined ? {} : { params }),
    }),
  });
  return (await res.json()) as Record<string, unknown>;
}

function request(method: string, ruri: string, via: number, branch: string): string {
  return (
    `${method} ${ruri} SIP/2.0\r\nVia: SIP/2.0/UDP 127.0.0.1:${via};branch=${branch};rport\r\n` +
    `Max-Forwards: 70\r\nFrom: <sip:a@127.0.0.1>;tag=1\r\nTo: <${ruri}>\r\nCall-ID: ${branch}\r\n` +
    `CSeq: 1 ${method}\r\nContent-Length: 0\r\n\r\n`
  );
}

/** A 200 to `req` as a UAS writes it: Vias, From, To (tagged), Call-ID and CSeq copied. */
function ok(req: string): string {
  const lines = req.split('\r\n');
  const keep = lines.filter((l) => /^(Via|From|Call-ID|CSeq):/i.test(l));
  const to = lines.find((l) => /^To:/i.test(l))!;
  return `SIP/2.0 200 OK\r\n${keep.join('\r\n')}\r\n${to};tag=uas\r\nContent-Length: 0\r\n\r\n`;
}

function metric(text: string, name: string): number {
  const m = new RegExp(`^${name.replace(/[{}"]/g, '\\$&')} (\\S+)$`, 'm').exec(text);
  return m === null ? NaN : Number(m[1]);
}

t.test('SIP through the proxy moves /metrics counters and fills the histograms', async (t) => {
  const app = await start(t, ['timers.t1=10', 'timers.t4=50']);
  const port = app.sockets()[0]!.port;
  const caller = await UdpPeer.open();
  const callee = await UdpPeer.open();
  t.teardown(async () => {
    await caller.close();
    await callee.close();
  });
  const before = await (await fetch(miUrl(app, '/metrics'))).text();
  t.equal(metric(before, 'tandem_core_rcv_requests'), 0);

  await caller.send(request('OPTIONS', `sip:127.0.0.1:${port}`, caller.port, 'z9hG4bKm1'), port);
  t.match(await caller.nextText(), /^SIP\/2\.0 200 OK/);
  const uri = `sip:bob@127.0.0.1:${callee.port}`;
  await caller.send(request('MESSAGE', uri, caller.port, 'z9hG4bKm2'), port);
  const relayed = await callee.nextText();
  await callee.send(ok(relayed), port);
  t.match(await caller.nextText(), /^SIP\/2\.0 200 OK/);
  // The client transaction ends after Timer K (T4 = 50 ms here).
  const deadline = Date.now() + 5000;
  let text = '';
  while (Date.now() < deadline) {
    text = await (await fetch(miUrl(app, '/metrics'))).text();
    if (
      metric(text, 'tandem_transaction_duration_seconds_count{side="client",method="MESSAGE"}') ===
      1
    ) {
      break;
    }
    await new Promise((r) => setTimeout(r, 50));
  }
  t.equal(metric(text, 'tandem_core_rcv_requests'), 2);
  t.equal(metric(text, 'tandem_tm_UAC_transactions'), 1);
  t.equal(metric(text, 'tandem_transport_received_requests'), 2);
  t.equal(metric(text, 'tandem_transport_received_replies'), 1);
  t.ok(metric(text, 'tandem_transport_sent_messages') >= 3);
  t.equal(metric(text, 'tandem_request_processing_seconds_count{method="OPTIONS"}'), 1);
  t.equal(metric(text, 'tandem_request_processing_seconds_count{method="MESSAGE"}'), 1);
  t.equal(
    metric(text, 'tandem_transaction_duration_seconds_count{side="client",method="MESSAGE"}'),
    1,
  );
  t.match(text, /^# TYPE tandem_tm_inuse_transactions gauge$/m);
  t.match(text, /^# TYPE tandem_core_rcv_requests counter$/m);
  t.match(text, /^nodejs_eventloop_lag_seconds /m, 'default process metrics');
  t.match(text, /^tandem_shmem_used_size \d+$/m);

  t.match(await rpc(app, 'get_statistics', ['core:rcv_requests', 'tm:']), {
    result: { 'core:rcv_requests': 2, 'tm:UAC_transactions': 1 },
  });
  t.match(await rpc(app, 'reset_statistics', [['all']]), { result: 'OK' });
  t.equal(app.core.stats.rcv_requests, 0, 'reset reaches the proxy core counter');
  t.equal(
    metric(await (await fetch(miUrl(app, '/metrics'))).text(), 'tandem_core_rcv_requests'),
    0,
  );
});

t.test('MI commands act on the live stack; events reach a webhook; shutdown stops', async (t) => {
  const received: { event: string; params: Record<string, unknown> }[] = [];
  const hooks = createHttpServer((req, res) => {
    let body = '';
    req.on('data', (d: Buffer) => (body += d.toString()));
    req.on('end', () => {
      received.push(JSON.parse(body) as (typeof received)[number]);
      res.end();
    });
  });
  await new Promise<void>((r) => hooks.listen(0, '127.0.0.1', r));
  t.teardown(
    () =>
      new Promise<void>((r) =>
        hooks.close(() => {
          r();
        }),
      ),
  );
  const hookUrl = `http://127.0.0.1:${(hooks.address() as AddressInfo).port}/e`;
  const app = await start(t, [`events.webhooks=[{url: "${hookUrl}"}]`]);

  t.match(await rpc(app, 'uptime'), { result: { 'Up time': /^\d+ \[sec\]$/ } });
  t.match(await rpc(app, 'core:version'), { result: { Version: /^\d+\.\d+\.\d+/ } });
  t.match(await rpc(app, 'log_level', ['fatal', 'transport']), {
    result: { Module: 'transport', 'Log level': 'fatal' },
  });
  t.equal(app.loggers.get('transport'), 'fatal');
  t.ok(app.loggers.has('resolver'), 'the resolver logger is adopted');
  t.match(await rpc(app, 'log_level'), { result: { Modules: { tm: 'silent', dns: 'silent' } } });
  t.match(await rpc(app, 'reload_routes'), { result: 'OK' });
  t.match(await rpc(app, 'which'), { result: ['core:version', 'core:uptime'] });
  const ready = await fetch(miUrl(app, '/ready'));
  t.equal(ready.status, 200);

  t.match(await rpc(app, 'shutdown'), { result: 'OK' });
  await app.stop();
  t.equal(app.transport.connectionCount, 0);
  t.same(app.readiness.check().sources, [{ name: 'listeners', ready: false, detail: 'stopping' }]);
  await t.rejects(fetch(miUrl(app)), 'the MI is closed');
  t.match(received, [
    { event: 'E_CORE_STARTED', params: { version: String, listen: [/^udp:127\.0\.0\.1:\d+$/] } },
    { event: 'E_CORE_SCRIPT_RELOADED', params: { success: true, file: /routes\.ts$/ } },
    { event: 'E_CORE_SHUTDOWN', params: { reason: 'mi' } },
  ]);
});

t.test('a failing reload_routes answers 500 and raises the event with the error', async (t) => {
  const app = await start(t);
  const seen: Record<string, unknown>[] = [];
  app.events.subscribe('E_CORE_SCRIPT_RELOADED', (e) => seen.push({ ...e.params }));
  const reload = app.script.reload.bind(app.script);
  app.script.reload = () => Promise.reject(new Error('cannot load: SyntaxError'));
  t.teardown(() => {
    app.script.reload = reload;
  });
  t.match(await rpc(app, 'reload_routes'), {
    error: {
      code: 500,
      message: 'Failed to reload routing script',
      data: 'cannot load: SyntaxError',
    },
  });
  t.match(seen, [{ success: false, error: 'cannot load: SyntaxError' }]);
});

t.test('with mi.enabled false there is no server but the commands exist', async (t) => {
  const app = await start(t, ['mi.enabled=false']);
  t.equal(app.mi, null);
  t.ok(app.commands.get('uptime'));
  t.ok(app.stats.value('core:rcv_requests') === 0);
});

t.test('an MI port in use or an empty token stops start-up', async (t) => {
  const busy: Server = createServer();
  await new Promise<void>((r) => busy.listen(0, '127.0.0.1', r));
  t.teardown(
    () =>
      new Promise<void>((r) =>
        busy.close(() => {
          r();
        }),
      ),
  );
  const port = (busy.address() as AddressInfo).port;
  const { config } = loadConfig(CFG, ['listen=[udp:127.0.0.1:0]', `mi.listen=127.0.0.1:${port}`]);
  await t.rejects(startTandem(config, silentLogger), {
    code: 'TANDEM_ERR_LISTEN',
    message: new RegExp(`mi\\.listen 127\\.0\\.0\\.1:${port}`),
  });
  // An environment variable nobody sets.
  const tokenless = loadConfig(CFG, [...BASE, 'mi.token_env=TANDEM_TEST_EMPTY_TOKEN']).config;
  await t.rejects(startTandem(tokenless, silentLogger), {
    code: 'TANDEM_ERR_CONFIG',
    message: /mi\.token_env \(TANDEM_TEST_EMPTY_TOKEN\): the token is empty/,
  });
  const unknownEvent = loadConfig(CFG, [
    ...BASE,
    'events.webhooks=[{url: "http://127.0.0.1:1/", events: [E_NOPE]}]',
  ]).config;
  await t.rejects(startTandem(unknownEvent, silentLogger), { code: 'TANDEM_ERR_CONFIG' });
});

t.test('a token in the environment protects /mi of a running app', async (t) => {
  process.env['TANDEM_TEST_TOKEN'] = 'tok-123';
  t.teardown(() => {
    delete process.env['TANDEM_TEST_TOKEN'];
  });
  const app = await start(t, ['mi.token_env=TANDEM_TEST_TOKEN']);
  const body = '{"jsonrpc":"2.0","method":"uptime","id":1}';
  t.equal((await fetch(miUrl(app), { method: 'POST', body })).status, 401);
  const ok = await fetch(miUrl(app), {
    method: 'POST',
    body,
    headers: { authorization: 'Bearer tok-123' },
  });
  t.equal(ok.status, 200);
  t.equal((await fetch(miUrl(app, '/health'))).status, 200);
  t.match(await rpc(app, 'uptime'), { error: 'unauthorized' });
  t.equal(app.stats.value('mi:unauthorized'), 2);
});
