/**
 * The routing script's `events` section (OpenSIPS event_route): handlers subscribe on load, are
 * swapped on reload, their errors are counted, and unknown events or bad shapes are refused.
 */
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import t, { type Test } from 'tap';
import { CORE_EVENTS, EventBus, type EventParams } from '../../src/core/events.js';
import { silentLogger } from '../../src/core/logger.js';
import { checkRoutes, ScriptRunner } from '../../src/script/runner.js';
import { harness } from '../helpers/proxy-fakes.js';

const SCRIPT_API = fileURLToPath(new URL('../../src/script/index.js', import.meta.url));
const ROOT = fileURLToPath(new URL('../../', import.meta.url));

function bus(): EventBus {
  const b = new EventBus();
  for (const [name, def] of Object.entries(CORE_EVENTS)) {
    b.declare(name, def, 'core');
  }
  return b;
}

const request = (): void => undefined;

t.test('handlers get the params; reload swaps them; stop unsubscribes', async (t) => {
  const b = bus();
  const h = harness();
  const runner = new ScriptRunner(h.core, h.self, silentLogger, b);
  const seen: string[] = [];
  runner.install({
    request,
    events: {
      E_CORE_SCRIPT_RELOADED: (params: EventParams, event) => {
        seen.push(`v1 ${String(params['file'])} ${event.event}`);
      },
    },
  });
  b.raise('E_CORE_SCRIPT_RELOADED', { file: 'a.ts', success: true });
  runner.install({
    request,
    events: {
      E_CORE_SHUTDOWN: async (params) => {
        await Promise.resolve();
        seen.push(`v2 ${String(params['reason'])}`);
      },
    },
  });
  b.raise('E_CORE_SCRIPT_RELOADED', { file: 'b.ts', success: true });
  b.raise('E_CORE_SHUTDOWN', { reason: 'mi' });
  await new Promise((r) => setImmediate(r));
  t.same(seen, ['v1 a.ts E_CORE_SCRIPT_RELOADED', 'v2 mi']);
  runner.stop();
  t.notOk(b.hasSubscribers('E_CORE_SHUTDOWN'));
});

t.test('a handler that throws or rejects is counted, not propagated', async (t) => {
  const b = bus();
  const h = harness();
  const runner = new ScriptRunner(h.core, h.self, silentLogger, b);
  runner.install({
    request,
    events: {
      E_CORE_STARTED: () => {
        throw new Error('sync');
      },
      E_CORE_SHUTDOWN: () => Promise.reject(new Error('async')),
    },
  });
  t.doesNotThrow(() => {
    b.raise('E_CORE_STARTED');
    b.raise('E_CORE_SHUTDOWN');
  });
  await new Promise((r) => setImmediate(r));
  t.equal(runner.stats.event_errors, 2);
  t.equal(b.stats.subscriber_errors, 0, 'the runner catches them itself');
  runner.stop();
});

t.test('unknown events are refused before anything changes', async (t) => {
  const b = bus();
  const h = harness();
  const runner = new ScriptRunner(h.core, h.self, silentLogger, b);
  let v1 = 0;
  runner.install({
    request,
    events: {
      E_CORE_STARTED: () => {
        v1++;
      },
    },
  });
  t.throws(
    () => {
      runner.install({ request, events: { E_NOPE: () => undefined } });
    },
    { code: 'TANDEM_ERR_SCRIPT', message: /events: no event named E_NOPE/ },
  );
  b.raise('E_CORE_STARTED');
  t.equal(v1, 1, 'the running script keeps its handlers');
  const noBus = new ScriptRunner(h.core, h.self, silentLogger);
  t.throws(() => {
    noBus.install({ request, events: { E_CORE_STARTED: () => undefined } });
  }, /no event named E_CORE_STARTED/);
  noBus.install({ request });
  runner.stop();
});

t.test('checkRoutes checks the events section of a loaded script', async (t) => {
  t.throws(() => checkRoutes({ request, events: 3 }, 'r.ts'), /events must be an object/);
  t.throws(() => checkRoutes({ request, events: { E_X: 1 } }, 'r.ts'), /event handler "E_X"/);
  t.ok(checkRoutes({ request, events: {} }, 'r.ts'));
});

function tempDir(t: Test): string {
  const dir = mkdtempSync(join(ROOT, '.tmp-script-'));
  t.teardown(() => {
    rmSync(dir, { recursive: true, force: true });
  });
  return dir;
}

t.test('a script file declares handlers with defineRoutes({ events })', async (t) => {
  const dir = tempDir(t);
  const file = join(dir, 'routes.ts');
  writeFileSync(
    file,
    `import { defineRoutes, type EventParams } from ${JSON.stringify(SCRIPT_API)};
const g = globalThis as { tandemEventsSeen?: string[] };
export default defineRoutes({
  request(ctx) { ctx.reply(200, 'OK'); },
  events: {
    E_CORE_SCRIPT_RELOADED(params: EventParams) {
      (g.tandemEventsSeen ??= []).push(String(params['file']));
    },
  },
});
`,
  );
  const b = bus();
  const h = harness();
  const runner = new ScriptRunner(h.core, h.self, silentLogger, b);
  await runner.load(file);
  b.raise('E_CORE_SCRIPT_RELOADED', { file: 'x.ts', success: true });
  const g = globalThis as { tandemEventsSeen?: string[] };
  t.same(g.tandemEventsSeen, ['x.ts']);
  delete g.tandemEventsSeen;
  runner.stop();
});
