/**
 * The MI HTTP server through fastify's inject(): JSON-RPC over POST /mi whatever the content
 * type, HTTP statuses (200 for errors, 202 for notifications, 413, 401), the token, /health,
 * /ready and /metrics; one real listen on a free port.
 */
import t from 'tap';
import { silentLogger } from '../../src/core/logger.js';
import { Readiness } from '../../src/core/readiness.js';
import { StatsRegistry } from '../../src/core/stats.js';
import { JsonRpcEngine } from '../../src/mi/jsonrpc.js';
import { Metrics } from '../../src/mi/metrics.js';
import { MiServer } from '../../src/mi/server.js';
import { deferredRuns, testRegistry } from './helpers.js';

function server(o: { token?: string; bodyLimit?: number; ready?: () => boolean } = {}) {
  const stats = new StatsRegistry();
  const cell = stats.cell('core', 'rcv_requests', 'counter', 'Requests received');
  const readiness = new Readiness();
  readiness.register('listeners', o.ready ?? (() => true));
  const engine = new JsonRpcEngine({ registry: testRegistry(), logger: silentLogger });
  const mi = new MiServer({
    engine,
    metrics: new Metrics(stats, { defaultMetrics: false }),
    readiness,
    logger: silentLogger,
    token: o.token ?? null,
    bodyLimit: o.bodyLimit ?? 1024,
  });
  return { mi, cell, readiness };
}

const FORM = { 'content-type': 'application/x-www-form-urlencoded' };

t.test('POST /mi answers JSON-RPC whatever the content type (curl -d)', async (t) => {
  const { mi } = server();
  t.teardown(() => mi.close());
  const body = '{"jsonrpc":"2.0","method":"echo","id":1}';
  for (const headers of [
    FORM,
    { 'content-type': 'application/json' },
    { 'content-type': 'text/plain' },
  ]) {
    const res = await mi.http.inject({ method: 'POST', url: '/mi', headers, payload: body });
    t.equal(res.statusCode, 200);
    t.match(res.headers['content-type'], /^application\/json/);
    t.same(res.json(), {
      jsonrpc: '2.0',
      result: { recipe: 0, params: {}, method: 'echo' },
      id: 1,
    });
  }
  const empty = await mi.http.inject({ method: 'POST', url: '/mi' });
  t.equal(empty.statusCode, 200);
  t.match(empty.json(), { error: { code: -32700 }, id: null });
  const get = await mi.http.inject({ method: 'GET', url: '/mi' });
  t.equal(get.statusCode, 404);
});

t.test('errors keep HTTP 200; each code reaches the client', async (t) => {
  const { mi } = server();
  t.teardown(() => mi.close());
  const post = async (payload: string) => {
    const res = await mi.http.inject({ method: 'POST', url: '/mi', headers: FORM, payload });
    t.equal(res.statusCode, 200, payload);
    return res.json<{ error: { code: number; message: string; data?: unknown } }>().error;
  };
  t.same(await post('{"jsonrpc":'), { code: -32700, message: 'Parse error' });
  t.same(await post('{"jsonrpc":"2.0","id":1}'), { code: -32600, message: 'Invalid Request' });
  t.same(await post('[]'), { code: -32600, message: 'Invalid Request' });
  t.match(await post('{"jsonrpc":"2.0","method":"nope","id":1}'), { code: -32601 });
  t.match(await post('{"jsonrpc":"2.0","method":"clusterer_shtag_set_active","id":1}'), {
    code: -32602,
    data: 'Too few parameters: missing tag',
  });
  t.same(
    await post('{"jsonrpc":"2.0","method":"clusterer:shtag_set_active","params":["x"],"id":1}'),
    { code: 404, message: 'Cluster ID not found', data: { tag: 'x' } },
  );
  t.match(await post('{"jsonrpc":"2.0","method":"test:crash","id":1}'), { code: 500 });
});

t.test('notifications get 202 and no body; batches are answered as a list', async (t) => {
  const { mi } = server();
  t.teardown(() => mi.close());
  deferredRuns.length = 0;
  const one = await mi.http.inject({
    method: 'POST',
    url: '/mi',
    headers: FORM,
    payload: '{"jsonrpc":"2.0","method":"test:later"}',
  });
  t.equal(one.statusCode, 202);
  t.equal(one.body, '');
  t.same(deferredRuns, ['test:later'], 'deferred work ran once the answer was sent');
  const all = await mi.http.inject({
    method: 'POST',
    url: '/mi',
    payload: '[{"jsonrpc":"2.0","method":"echo"},{"jsonrpc":"2.0","method":"nope"}]',
  });
  t.equal(all.statusCode, 202);
  t.equal(all.body, '');
  const mixed = await mi.http.inject({
    method: 'POST',
    url: '/mi',
    payload:
      '[{"jsonrpc":"2.0","method":"echo"},{"jsonrpc":"2.0","method":"echo","params":["a"],"id":"x"},{"foo":1}]',
  });
  t.equal(mixed.statusCode, 200);
  t.match(mixed.json(), [
    { result: { recipe: 1 }, id: 'x' },
    { error: { code: -32600 }, id: null },
  ]);
});

t.test('a body over the limit is refused with 413', async (t) => {
  const { mi } = server({ bodyLimit: 64 });
  t.teardown(() => mi.close());
  const big = JSON.stringify({ jsonrpc: '2.0', method: 'echo', params: ['x'.repeat(100)], id: 1 });
  const res = await mi.http.inject({ method: 'POST', url: '/mi', headers: FORM, payload: big });
  t.equal(res.statusCode, 413);
  const ok = await mi.http.inject({
    method: 'POST',
    url: '/mi',
    payload: '{"jsonrpc":"2.0","method":"echo","id":1}',
  });
  t.equal(ok.statusCode, 200);
});

t.test('a token protects /mi and /metrics; /health and /ready stay open', async (t) => {
  const { mi } = server({ token: 's3cret' });
  t.teardown(() => mi.close());
  const payload = '{"jsonrpc":"2.0","method":"echo","id":1}';
  const none = await mi.http.inject({ method: 'POST', url: '/mi', payload });
  t.equal(none.statusCode, 401);
  t.equal(none.headers['www-authenticate'], 'Bearer realm="tandem-mi"');
  t.same(none.json(), { error: 'unauthorized' });
  for (const authorization of [
    'Bearer wrong',
    'Bearer s3cret2',
    'Basic czNjcmV0',
    'Bearer ',
    's3cret',
  ]) {
    const bad = await mi.http.inject({
      method: 'POST',
      url: '/mi',
      payload,
      headers: { authorization },
    });
    t.equal(bad.statusCode, 401, authorization);
    t.equal(bad.headers['www-authenticate'], 'Bearer realm="tandem-mi", error="invalid_token"');
  }
  for (const authorization of ['Bearer s3cret', 'bearer  s3cret ']) {
    const good = await mi.http.inject({
      method: 'POST',
      url: '/mi',
      payload,
      headers: { authorization },
    });
    t.equal(good.statusCode, 200, authorization);
  }
  t.equal((await mi.http.inject({ url: '/metrics' })).statusCode, 401);
  const metrics = await mi.http.inject({
    url: '/metrics',
    headers: { authorization: 'Bearer s3cret' },
  });
  t.equal(metrics.statusCode, 200);
  t.equal((await mi.http.inject({ url: '/health' })).statusCode, 200);
  t.equal((await mi.http.inject({ url: '/ready' })).statusCode, 200);
  t.equal(mi.stats.unauthorized, 7);
});

t.test('/health is 200 while running; /ready is 503 naming what is not ready', async (t) => {
  let listening = false;
  const { mi, readiness } = server({ ready: () => listening });
  t.teardown(() => mi.close());
  t.same((await mi.http.inject({ url: '/health' })).json(), { status: 'ok' });
  const notReady = await mi.http.inject({ url: '/ready' });
  t.equal(notReady.statusCode, 503);
  t.same(notReady.json(), {
    status: 'not ready',
    not_ready: ['listeners'],
    sources: [{ name: 'listeners', ready: false }],
  });
  listening = true;
  readiness.register('clusterer:usrloc', () => ({ ready: false, detail: 'sync pending' }));
  t.match((await mi.http.inject({ url: '/ready' })).json(), {
    not_ready: ['clusterer:usrloc'],
    sources: [{ name: 'listeners' }, { name: 'clusterer:usrloc', detail: 'sync pending' }],
  });
  const head = await mi.http.inject({ method: 'HEAD', url: '/ready' });
  t.equal(head.statusCode, 503, 'HEAD works for keepalived checks');
});

t.test('/metrics is Prometheus text with the statistics', async (t) => {
  const { mi, cell } = server();
  t.teardown(() => mi.close());
  cell.value = 42;
  const res = await mi.http.inject({ url: '/metrics' });
  t.equal(res.statusCode, 200);
  t.match(res.headers['content-type'], /^text\/plain; version=0\.0\.4/);
  t.match(
    res.body,
    /# HELP tandem_core_rcv_requests Requests received\n# TYPE tandem_core_rcv_requests counter\ntandem_core_rcv_requests 42\n/,
  );
});

t.test('listens on a free port and serves real HTTP; closes', async (t) => {
  const { mi } = server();
  t.equal(mi.address, null);
  t.equal(mi.url, null);
  const addr = await mi.listen('127.0.0.1', 0);
  t.ok(addr.port > 0);
  t.same(mi.address, addr);
  t.equal(mi.url, `http://127.0.0.1:${addr.port}/mi`);
  const res = await fetch(mi.url!, {
    method: 'POST',
    body: '{"jsonrpc":"2.0","method":"echo","id":1}',
  });
  t.equal(res.status, 200);
  t.match(await res.json(), { result: { recipe: 0 } });
  await mi.close();
  const v6 = server().mi;
  try {
    await v6.listen('::1', 0);
  } catch {
    t.comment('no IPv6 loopback here');
    await v6.close();
    return;
  }
  t.match(v6.url, /^http:\/\/\[::1\]:\d+\/mi$/);
  await v6.close();
});
