import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import t, { type Test } from 'tap';
import { silentLogger } from '../../src/core/logger.js';
import { checkRoutes, ScriptRunner } from '../../src/script/runner.js';
import { harness, request, RX, settle } from '../helpers/proxy-fakes.js';

const SCRIPT_API = fileURLToPath(new URL('../../src/script/index.js', import.meta.url));
// Inside the project, so the script compiles as an ES module like cfg/routes.ts does.
const ROOT = fileURLToPath(new URL('../../', import.meta.url));

function tempDir(t: Test): string {
  const dir = mkdtempSync(join(ROOT, '.tmp-script-'));
  t.teardown(() => {
    rmSync(dir, { recursive: true, force: true });
  });
  return dir;
}

function script(dir: string, name: string, body: string): string {
  const file = join(dir, name);
  writeFileSync(file, `import { defineRoutes } from ${JSON.stringify(SCRIPT_API)};\n${body}\n`);
  return file;
}

t.test(
  'a TypeScript script loads, runs startup, answers; reload swaps it atomically',
  async (t) => {
    const dir = tempDir(t);
    const file = script(
      dir,
      'routes.ts',
      `let started = 0;
export default defineRoutes({
  startup() { started++; },
  request(ctx) { ctx.reply(200, 'v1 started ' + String(started)); },
});`,
    );
    const h = harness();
    const runner = new ScriptRunner(h.core, h.self, silentLogger);
    await runner.load(file);
    h.core.onRequest(request('OPTIONS', 'sip:10.0.0.1'), RX, null);
    await settle();
    t.equal(h.transport.responses[0]!.res.reason, 'v1 started 1');

    // A broken version: the reload fails and v1 stays.
    writeFileSync(file, 'export default { notRoutes: true };\n');
    await t.rejects(runner.reload(), {
      code: 'TANDEM_ERR_SCRIPT',
      message: /no request\(ctx\) function/,
    });
    writeFileSync(file, 'this is not TypeScript (\n');
    await t.rejects(runner.reload(), { code: 'TANDEM_ERR_SCRIPT', message: /cannot load/ });
    h.core.onRequest(request('OPTIONS', 'sip:10.0.0.1', [], { branch: 'z9hG4bK2' }), RX, null);
    await settle();
    t.equal(h.transport.responses[1]!.res.reason, 'v1 started 1', 'old script still in place');

    script(
      dir,
      'routes.ts',
      `export default defineRoutes({ request(ctx) { ctx.reply(200, 'v2'); } });`,
    );
    await runner.reload();
    h.core.onRequest(request('OPTIONS', 'sip:10.0.0.1', [], { branch: 'z9hG4bK3' }), RX, null);
    await settle();
    t.equal(h.transport.responses[2]!.res.reason, 'v2', 'new script after a good reload');
    runner.stop();
  },
);

t.test('a failing startup hook refuses the script', async (t) => {
  const dir = tempDir(t);
  const file = script(
    dir,
    'bad-startup.ts',
    `export default defineRoutes({ startup() { throw new Error('db down'); }, request() {} });`,
  );
  const h = harness();
  const runner = new ScriptRunner(h.core, h.self, silentLogger);
  await t.rejects(runner.load(file), {
    code: 'TANDEM_ERR_SCRIPT',
    message: /startup failed: db down/,
  });
  await t.rejects(runner.reload(), { code: 'TANDEM_ERR_INVALID_STATE' });
});

t.test('checkRoutes names what is wrong', async (t) => {
  const f = 'x.ts';
  t.throws(() => checkRoutes(null, f), /default export must be/);
  t.throws(() => checkRoutes({ request() {}, failure: 3 }, f), /failure must be an object/);
  t.throws(
    () => checkRoutes({ request() {}, onreply: { a: 1 } }, f),
    /onreply route "a" is not a function/,
  );
  t.throws(() => checkRoutes({ request() {}, startup: 1 }, f), /startup must be a function/);
  t.throws(() => checkRoutes({ request() {}, timers: 1 }, f), /timers must be an object/);
  t.throws(
    () => checkRoutes({ request() {}, timers: { a: { interval: 0, run() {} } } }, f),
    /timer "a" needs a positive interval/,
  );
  t.ok(checkRoutes({ request() {}, timers: { a: { interval: 1, run() {} } } }, f));
});

t.test('script timers run periodically and a throwing timer is contained', async (t) => {
  const h = harness();
  const runner = new ScriptRunner(h.core, h.self, silentLogger);
  let ticks = 0;
  runner.install({
    request() {},
    timers: {
      tick: {
        interval: 0.01,
        run: () => {
          ticks++;
        },
      },
      bad: {
        interval: 0.01,
        run() {
          throw new Error('timer failed');
        },
      },
    },
  });
  await new Promise((r) => setTimeout(r, 100));
  runner.stop();
  t.ok(ticks >= 2, `ticked ${ticks} times`);
  const after = ticks;
  await new Promise((r) => setTimeout(r, 50));
  t.equal(ticks, after, 'stopped');
});

t.test(
  'the default cfg/routes.ts: OPTIONS to us 200, other requests for us 404, rest relayed',
  async (t) => {
    const h = harness();
    const runner = new ScriptRunner(h.core, h.self, silentLogger);
    await runner.load(fileURLToPath(new URL('../../cfg/routes.ts', import.meta.url)));
    h.core.onRequest(request('OPTIONS', 'sip:10.0.0.1:5060'), RX, null);
    h.core.onRequest(
      request('MESSAGE', 'sip:proxy.example.com', [], { branch: 'z9hG4bKm' }),
      RX,
      null,
    );
    h.core.onRequest(
      request('BYE', 'sip:bob@127.0.0.2', [], { toTag: 'x', branch: 'z9hG4bKb' }),
      RX,
      null,
    );
    h.core.onRequest(request('INVITE', 'sip:bob@127.0.0.2', [], { branch: 'z9hG4bKi' }), RX, null);
    h.core.onRequest(
      request('INVITE', 'sip:bob@nowhere.invalid', [], { branch: 'z9hG4bKn' }),
      RX,
      null,
    );
    await settle();
    const byReason = h.transport.responses.map((r) => `${r.res.status} ${r.res.reason}`);
    t.same(byReason, [
      '200 OK',
      '404 Not Found',
      '404 Not Here',
      '100 Trying',
      '100 Trying',
      '503 Next Hop Unreachable',
    ]);
    t.equal(h.transport.responses[0]!.res.get('allow')?.includes('INVITE'), true);
    t.equal(h.tx.clients.length, 1);
    t.ok(h.tx.clients[0]!.request.has('record-route'), 'initial INVITE record-routed');

    // In-dialog request with our Route: loose-routed and relayed.
    h.core.onRequest(
      request('BYE', 'sip:bob@127.0.0.2', ['Route: <sip:10.0.0.1:5060;lr>'], {
        toTag: 'x',
        branch: 'z9hG4bKb2',
      }),
      RX,
      null,
    );
    // ACK in dialog without Route: dropped quietly. CANCEL without transaction: stateless.
    h.core.onRequest(
      request('ACK', 'sip:bob@127.0.0.2', [], { toTag: 'x', branch: 'z9hG4bKa' }),
      RX,
      null,
    );
    h.core.onRequest(request('CANCEL', 'sip:bob@127.0.0.2', [], { branch: 'z9hG4bKc' }), RX, null);
    await settle();
    t.equal(h.tx.clients.length, 2);
    t.equal(h.tx.clients[1]!.request.method, 'BYE');
    t.equal(h.transport.sent.length, 1, 'CANCEL forwarded statelessly');
    runner.stop();
  },
);
