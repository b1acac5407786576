/**
 * The module SDK beyond declarations: parameters checked against the module's schema (errors
 * name `modules.<module>.<key>`), dependency order and APIs, jobs on the core clock, script
 * functions on the routing context, and loading a module folder by name.
 */
import { mkdtempSync, mkdirSync, rmSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import t from 'tap';
import { registries } from '../helpers/module-registries.js';
import { z } from 'zod';
import { silentLogger } from '../../src/core/logger.js';
import {
  defineModule,
  installModules,
  loadModules,
  type ModuleHost,
  type ScriptContext,
} from '../../src/module/index.js';
import { ScriptRunner } from '../../src/script/runner.js';
import { FakeClock } from '../helpers/fake-clock.js';
import { harness, request, RX, settle } from '../helpers/proxy-fakes.js';

const withParams = () =>
  defineModule({
    name: 'usrloc',
    description: 'params',
    params: z.strictObject({
      timer_interval: z.number().int().positive().default(10),
      db_mode: z.enum(['none', 'file']).default('file'),
    }),
    init(h) {
      return { interval: h.params.timer_interval, mode: h.params.db_mode };
    },
  });

t.test('parameters are defaulted, checked and named in errors', async (t) => {
  let seen: unknown;
  const reader = defineModule({
    name: 'reader',
    description: 'reads the API of usrloc',
    depends: ['usrloc'],
    init(h) {
      seen = h.api('usrloc');
    },
  });
  await installModules(
    [reader, withParams()],
    registries({ params: { usrloc: { db_mode: 'none' } } }),
  );
  t.same(seen, { interval: 10, mode: 'none' }, 'dependency initialised first, params defaulted');

  await t.rejects(
    installModules([withParams()], registries({ params: { usrloc: { timer_interval: -1 } } })),
    { code: 'TANDEM_ERR_CONFIG', message: /modules\.usrloc\.timer_interval: / },
  );
  await t.rejects(
    installModules([withParams()], registries({ params: { usrloc: { dbmode: 1 } } })),
    { code: 'TANDEM_ERR_CONFIG', message: /modules\.usrloc: .*dbmode/ },
  );
  const bare = defineModule({ name: 'bare', description: 'no params' });
  await t.rejects(installModules([bare], registries({ params: { bare: { x: 1 } } })), {
    message: /modules\.bare: this module takes no parameters \(got x\)/,
  });
  await t.rejects(installModules([bare], registries({ params: { other: {} } })), {
    message: /modules\.other: no such module is loaded/,
  });
});

t.test('dependencies: missing, cyclic, and APIs not declared', async (t) => {
  const needs = (name: string, dep: string) =>
    defineModule({ name, description: name, depends: [dep] });
  await t.rejects(installModules([needs('registrar', 'usrloc')], registries()), {
    message: /module registrar needs module usrloc: add it under modules:/,
  });
  await t.rejects(installModules([needs('a', 'b'), needs('b', 'a')], registries()), {
    message: /cycle: a -> b -> a/,
  });
  const sneaky = defineModule({
    name: 'sneaky',
    description: 'uses an API it did not declare',
    init(h) {
      h.api('usrloc');
    },
  });
  await t.rejects(installModules([withParams(), sneaky], registries()), {
    message: /uses the API of usrloc without listing it in depends/,
  });
  t.throws(
    () => defineModule({ name: 'x', description: 'x', depends: ['x'] }),
    /depends lists "x"/,
  );
  t.throws(
    () => defineModule({ name: 'x', description: 'x', script: { 'bad-name': () => 1 } }),
    /script function name "bad-name"/,
  );
});

t.test(
  'jobs run on the core clock, survive errors, skip while busy, stop at destroy',
  async (t) => {
    const clock = new FakeClock(0);
    let wall = 1_000_000;
    let host!: ModuleHost;
    const runs: number[] = [];
    let release: (() => void) | null = null;
    const m = defineModule({
      name: 'pinger',
      description: 'jobs',
      jobs: {
        expire: { description: 'expire', shtag: true },
        ping: { description: 'ping', shtag: true },
      },
      init(h) {
        host = h;
        h.every('expire', 1000, (r) => {
          runs.push(r.now);
          if (runs.length === 2) {
            throw new Error('one bad run');
          }
        });
        h.every('ping', 1000, () => new Promise<void>((resolve) => (release = resolve)));
      },
    });
    const installed = await installModules([m], registries({ clock, wallTime: () => wall }));
    t.ok(host.sharingTags.isActive('vip/1'), 'a node alone is active for every tag');
    t.throws(() => {
      host.every('undeclared', 1000, () => undefined);
    }, /does not declare/);
    t.throws(() => {
      host.every('expire', 0, () => undefined);
    }, /positive interval/);
    clock.advance(1000);
    wall += 1000;
    clock.advance(1000);
    clock.advance(1000);
    t.same(runs, [1_000_000, 1_001_000, 1_001_000], 'a throwing run does not stop the job');
    t.ok(release, 'the async job started once');
    (release as unknown as () => void)();
    await settle();
    await installed.destroy();
    clock.advance(5000);
    t.equal(runs.length, 3, 'no run after destroy');
    t.equal(clock.pending(), 0);
  },
);

declare module '../../src/script/functions.js' {
  interface ScriptFunctions {
    greet(name: string): string;
  }
}

t.test('script functions become methods of the routing context', async (t) => {
  const m = defineModule({
    name: 'greeter',
    description: 'script functions',
    script: {
      greet: (ctx: ScriptContext, name: string) => `${ctx.method} ${name}`,
    },
  });
  const installed = await installModules([m], registries());
  const h = harness();
  const runner = new ScriptRunner(h.core, h.self, silentLogger);
  runner.setFunctions(installed.scriptFunctions, installed.names);
  runner.install({
    request(ctx) {
      ctx.reply(200, `${ctx.greet('world')} ${String(ctx.has_module('greeter'))}`);
    },
  });
  h.core.onRequest(request('OPTIONS', 'sip:10.0.0.1'), RX, null);
  await settle();
  t.equal(h.transport.responses[0]!.res.reason, 'OPTIONS world true');

  const clash = defineModule({
    name: 'clash',
    description: 'shadows a core function',
    script: { t_relay: () => true },
  });
  const other = await installModules([clash], registries());
  t.throws(() => {
    runner.setFunctions(other.scriptFunctions);
  }, /clashes with a core function/);
  const dup = defineModule({ name: 'dup', description: 'same name', script: { greet: () => 'x' } });
  await t.rejects(installModules([m, dup], registries()), /declared by both greeter and dup/);
});

t.test('modules load by name from a module path', async (t) => {
  const root = fileURLToPath(new URL('../../', import.meta.url));
  const dir = mkdtempSync(join(root, '.tmp-modules-'));
  t.teardown(() => {
    rmSync(dir, { recursive: true, force: true });
  });
  const sdk = JSON.stringify(fileURLToPath(new URL('../../src/module/index.js', import.meta.url)));
  mkdirSync(join(dir, 'hello'));
  writeFileSync(
    join(dir, 'hello', 'index.ts'),
    `import { defineModule } from ${sdk};\nexport default () => defineModule({ name: 'hello', description: 'hi' });\n`,
  );
  mkdirSync(join(dir, 'notfactory'));
  writeFileSync(join(dir, 'notfactory', 'index.ts'), 'export default { name: "notfactory" };\n');
  mkdirSync(join(dir, 'misnamed'));
  writeFileSync(
    join(dir, 'misnamed', 'index.ts'),
    `import { defineModule } from ${sdk};\nexport default () => defineModule({ name: 'other', description: 'x' });\n`,
  );
  mkdirSync(join(dir, 'broken'));
  writeFileSync(join(dir, 'broken', 'index.ts'), 'this is not TypeScript (\n');

  const [hello] = await loadModules(['hello'], dir);
  t.equal(hello?.name, 'hello');
  await t.rejects(loadModules(['absent'], dir), {
    code: 'TANDEM_ERR_CONFIG',
    message: /no module absent/,
  });
  await t.rejects(loadModules(['Bad-Name'], dir), /not a module name/);
  await t.rejects(loadModules(['notfactory'], dir), /must be a function/);
  await t.rejects(loadModules(['misnamed'], dir), /manifest named misnamed/);
  await t.rejects(loadModules(['broken'], dir), {
    code: 'TANDEM_ERR_MODULE',
    message: /cannot load/,
  });
});
