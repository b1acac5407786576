/**
 * The module SDK: a manifest's MI commands, statistics and events land in the registries, init
 * runs in load order with a host, destroy in reverse; bad manifests are refused naming the fault.
 */
import t from 'tap';
import { registries } from '../helpers/module-registries.js';
import type { RaisedEvent } from '../../src/core/events.js';
import { defineModule, installModules, MiError, type ModuleHost } from '../../src/module/index.js';

t.test('commands, stats and events of a manifest land in the registries', async (t) => {
  const calls: string[] = [];
  let host: ModuleHost | undefined;
  let contacts = 0;
  const usrloc = defineModule({
    name: 'usrloc',
    description: 'user location',
    mi: [
      {
        name: 'dump',
        aliases: ['ul_dump'],
        description: 'dump all contacts',
        handler: () => ({ Domains: [] }),
      },
      {
        name: 'rm',
        description: 'remove an AoR',
        recipes: [{ params: [{ name: 'aor', type: 'string' }] }],
        handler: () => {
          throw new MiError(404, 'AOR not found');
        },
      },
    ],
    stats: {
      registered_users: { kind: 'gauge', description: 'AoRs registered' },
      contacts: { kind: 'gauge', description: 'contacts', read: () => contacts },
      expires: {
        kind: 'counter',
        description: 'expired',
        read: () => 3,
        reset: () => calls.push('reset expires'),
      },
    },
    events: { E_UL_AOR_INSERT: { description: 'an AoR was created', params: ['aor'] } },
    init(h) {
      host = h;
      calls.push('init usrloc');
    },
    destroy() {
      calls.push('destroy usrloc');
    },
  });
  const registrar = defineModule({
    name: 'registrar',
    description: 'REGISTER handling',
    init(h) {
      // Another module's event can be subscribed: declarations land before any init.
      h.events.subscribe('E_UL_AOR_INSERT', (e: RaisedEvent) => {
        calls.push(`registrar saw ${String(e.params['aor'])}`);
      });
      calls.push('init registrar');
    },
    destroy() {
      calls.push('destroy registrar');
    },
  });
  const r = registries();
  const installed = await installModules([usrloc, registrar], r);
  t.same(installed.names, ['usrloc', 'registrar']);

  const dump = r.commands.get('ul_dump');
  t.equal(dump?.fullName, 'usrloc:dump');
  t.equal(r.commands.get('usrloc:dump'), dump);
  t.equal(r.commands.get('usrloc_dump'), dump, 'module_command is always an alias');
  t.same(dump?.aliases, ['usrloc_dump', 'ul_dump']);
  t.same(dump?.recipes, [{ params: [] }], 'no recipes means one without parameters');
  t.equal(r.commands.get('usrloc:rm')?.recipes[0]?.params[0]?.name, 'aor');

  const h = host!;
  h.stat('registered_users').value = 4;
  contacts = 6;
  t.equal(r.stats.value('usrloc:registered_users'), 4);
  t.equal(r.stats.value('usrloc:contacts'), 6);
  t.ok(r.stats.lookup('usrloc:expires')[0]?.resettable);
  r.stats.reset(r.stats.lookup('usrloc:expires')[0]!);
  t.throws(() => h.stat('contacts'), /declares no stored statistic contacts/);

  t.ok(r.events.has('E_UL_AOR_INSERT'));
  t.equal(r.events.list()[0]?.owner, 'usrloc');
  h.raise('E_UL_AOR_INSERT', { aor: 'sip:a@b' });

  const off = h.readiness('sync', () => false);
  t.same(r.readiness.check().sources, [{ name: 'usrloc:sync', ready: false }]);
  off();
  t.equal(h.name, 'usrloc');
  t.ok(r.loggers.has('usrloc'));

  await installed.destroy();
  t.same(calls, [
    'init usrloc',
    'init registrar',
    'reset expires',
    'registrar saw sip:a@b',
    'destroy registrar',
    'destroy usrloc',
  ]);
});

t.test(
  'a failing init destroys the modules already initialised and names the module',
  async (t) => {
    const calls: string[] = [];
    const ok = defineModule({
      name: 'first',
      description: 'ok',
      init: () => {
        calls.push('init first');
      },
      destroy: () => {
        calls.push('destroy first');
        throw new Error('destroy errors are logged, not thrown');
      },
    });
    const bad = defineModule({
      name: 'second',
      description: 'fails',
      init: () => Promise.reject(new Error('no database')),
    });
    await t.rejects(installModules([ok, bad], registries()), {
      code: 'TANDEM_ERR_MODULE',
      message: /second: init failed: no database/,
    });
    t.same(calls, ['init first', 'destroy first']);
    await t.rejects(installModules([ok, ok], registries()), /module first is loaded twice/);
  },
);

t.test('two modules may not claim the same MI name', async (t) => {
  const a = defineModule({
    name: 'a',
    description: 'a',
    mi: [{ name: 'list', aliases: ['shared'], description: 'x', handler: () => 1 }],
  });
  const b = defineModule({
    name: 'b',
    description: 'b',
    mi: [{ name: 'list', aliases: ['shared'], description: 'x', handler: () => 2 }],
  });
  await t.rejects(
    installModules([a, b], registries()),
    /MI name shared \(b:list\) is already taken by a:list/,
  );
});

t.test('defineModule refuses bad names, recipes and handlers', async (t) => {
  const handler = () => 1;
  const cases: [unknown, RegExp][] = [
    [{ name: 'Bad', description: '' }, /lower-case/],
    [{ name: 'm', description: '', mi: [{ name: 'a-b', description: '', handler }] }, /is not/],
    [
      {
        name: 'm',
        description: '',
        mi: [
          { name: 'a', description: '', handler },
          { name: 'b', aliases: ['a'], description: '', handler },
        ],
      },
      /"a" is declared twice/,
    ],
    [{ name: 'm', description: '', mi: [{ name: 'a', description: '' }] }, /has no handler/],
    [
      {
        name: 'm',
        description: '',
        mi: [
          {
            name: 'a',
            description: '',
            handler,
            recipes: [
              {
                params: [
                  { name: 'x', type: 'string', optional: true },
                  { name: 'y', type: 'string' },
                ],
              },
            ],
          },
        ],
      },
      /recipe 0: required parameter y follows an optional one/,
    ],
    [
      {
        name: 'm',
        description: '',
        mi: [
          {
            name: 'a',
            description: '',
            handler,
            recipes: [
              {
                params: [
                  { name: 'x', type: 'string' },
                  { name: 'x', type: 'string' },
                ],
              },
            ],
          },
        ],
      },
      /parameter x appears twice/,
    ],
    [
      {
        name: 'm',
        description: '',
        mi: [
          {
            name: 'a',
            description: '',
            handler,
            recipes: [{ params: [{ name: '1x', type: 'string' }] }],
          },
        ],
      },
      /"1x" is not an identifier/,
    ],
  ];
  for (const [manifest, message] of cases) {
    t.throws(() => defineModule(manifest as Parameters<typeof defineModule>[0]), {
      code: 'TANDEM_ERR_INVALID_ARGUMENT',
      message,
    });
  }
});
