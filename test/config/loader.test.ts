import { mkdirSync, writeFileSync } from 'node:fs';
import { dirname, join, relative } from 'node:path';
import { fileURLToPath } from 'node:url';
import t from 'tap';
import { CoreError, TandemError } from '../../src/core/errors.js';
import { ConfigError, loadConfig, parseConfig } from '../../src/config/index.js';
import { configError, problems, tempDir, writeConfig } from './helpers.js';

const SHIPPED = fileURLToPath(new URL('../../cfg/tandem.yaml', import.meta.url));

t.test('the shipped cfg/tandem.yaml loads with the documented defaults', async (t) => {
  const { config, file } = loadConfig(SHIPPED);
  t.equal(file, SHIPPED);
  t.same(config.listen, [
    { protocol: 'udp', host: '127.0.0.1', port: 5060 },
    { protocol: 'tcp', host: '127.0.0.1', port: 5060 },
  ]);
  t.equal(config.script, join(dirname(SHIPPED), 'routes.ts'));
  t.same(config.log, { level: 'info', format: 'auto' });
  t.same(config.timers, {
    t1: 500,
    t2: 4000,
    t4: 5000,
    timer_b: 32000,
    timer_f: 32000,
    timer_c: 180000,
  });
  t.equal(config.tls, undefined);
  t.same(config.mi, {
    listen: { host: '127.0.0.1', port: 8888 },
    enabled: true,
    body_limit: 1048576,
  });
  t.same(config.events, { webhooks: [] });
  t.same(config.modules, {
    usrloc: { db_mode: 'file' },
    registrar: { default_expires: 3600, min_expires: 60 },
    dialog: { default_timeout: 43200 },
    acc: { sink: 'file' },
  });
  t.equal(config.data_dir, join(dirname(SHIPPED), '..', 'data'));
  t.end();
});

t.test(
  'the shipped file says no more than the defaults, but for the modules it loads',
  async (t) => {
    const empty = writeConfig(t, '');
    const shipped = loadConfig(SHIPPED).config;
    const defaults = loadConfig(empty).config;
    t.same(defaults.modules, {}, 'an empty file loads no module');
    const neutral = { script: '', data_dir: '', modules: {} };
    t.same({ ...defaults, ...neutral }, { ...shipped, ...neutral });
    t.end();
  },
);

t.test('a relative config path is taken from the current directory', async (t) => {
  const rel = relative(process.cwd(), SHIPPED);
  t.equal(loadConfig(rel).file, SHIPPED);
  t.end();
});

t.test('a missing file is a TANDEM_ERR_CONFIG naming the file as given', async (t) => {
  const dir = tempDir(t);
  const missing = join(dir, 'nope.yaml');
  const err = configError(t, () => loadConfig(missing));
  t.ok(err instanceof CoreError && err instanceof TandemError);
  t.equal(err?.code, 'TANDEM_ERR_CONFIG');
  t.equal(err?.file, missing);
  t.match(problems(err)[0], `${missing}: cannot read the file: ENOENT`);
  const asDir = configError(t, () => loadConfig(dir));
  t.match(problems(asDir)[0], /cannot read the file: EISDIR/);
  t.end();
});

t.test('a YAML syntax error names the file and the line', async (t) => {
  const file = writeConfig(t, 'log:\n  level: info\n  format: [json\ntimers: {}\n');
  const err = configError(t, () => loadConfig(file));
  t.equal(err?.code, 'TANDEM_ERR_CONFIG');
  t.match(problems(err)[0], new RegExp(`^${file}: line \\d+: YAML syntax error: `));
  const dup = writeConfig(t, 'log:\n  level: info\nlog:\n  level: debug\n');
  const dupErr = configError(t, () => loadConfig(dup));
  t.match(problems(dupErr)[0], /line 3: YAML syntax error: Map keys must be unique/);
  t.end();
});

t.test('a file that is not a mapping at the top level is refused', async (t) => {
  for (const [text, got] of [
    ['- udp:127.0.0.1:5060\n', 'a list'],
    ['just words\n', '"just words"'],
  ] as const) {
    const file = writeConfig(t, text);
    const err = configError(t, () => loadConfig(file));
    t.same(problems(err), [
      `${file}: line 1: expected a mapping of keys at the top level, got ${got}`,
    ]);
  }
  t.end();
});

t.test('a YAML alias bomb is stopped, not expanded', async (t) => {
  const lines = ['a: &a [x, x, x, x, x, x, x, x, x, x]'];
  for (let i = 0; i < 8; i++) {
    const prev = String.fromCharCode(97 + i);
    const next = String.fromCharCode(98 + i);
    lines.push(`${next}: &${next} [*${prev}, *${prev}, *${prev}, *${prev}, *${prev}, *${prev}]`);
  }
  const file = writeConfig(t, `modules:\n  bomb:\n${lines.map((l) => `    ${l}`).join('\n')}\n`);
  const err = configError(t, () => loadConfig(file));
  t.match(problems(err)[0], `${file}: cannot expand YAML: `);
  t.end();
});

t.test('anchors and << merge keys work for module parameters', async (t) => {
  const file = writeConfig(
    t,
    [
      'modules:',
      '  usrloc: &common { db_url: "redis://127.0.0.1", timeout: 3 }',
      '  dialog:',
      '    <<: *common',
      '    timeout: 5',
    ].join('\n'),
  );
  const { config } = loadConfig(file);
  t.same(config.modules['dialog'], { db_url: 'redis://127.0.0.1', timeout: 5 });
  t.end();
});

t.test('script and TLS paths are resolved against the config file directory', async (t) => {
  const dir = tempDir(t);
  mkdirSync(join(dir, 'etc'));
  const file = join(dir, 'etc', 'tandem.yaml');
  writeFileSync(
    file,
    [
      'listen: [tls:127.0.0.1:5061]',
      'script: ../scripts/routes.ts',
      'tls: { cert: certs/server.pem, key: /abs/server.key, ca: ca.pem }',
    ].join('\n'),
  );
  const { config } = loadConfig(file);
  t.equal(config.script, join(dir, 'scripts', 'routes.ts'));
  t.same(config.tls, {
    cert: join(dir, 'etc', 'certs', 'server.pem'),
    key: '/abs/server.key',
    ca: join(dir, 'etc', 'ca.pem'),
    verify_peer: false,
    require_client_cert: false,
  });
  const noCa = writeConfig(t, 'script: /srv/routes.ts\ntls: { cert: c.pem, key: k.pem }\n');
  const loaded = loadConfig(noCa).config;
  t.equal(loaded.script, '/srv/routes.ts');
  t.equal(loaded.tls?.ca, undefined);
  t.equal(loaded.tls?.cert, join(dirname(noCa), 'c.pem'));
  t.end();
});

t.test('errors name the file, key path, line, what was expected and what was found', async (t) => {
  const file = writeConfig(
    t,
    [
      'listen:', //                                                   1
      '  - udp:127.0.0.1:5060', //                                    2
      '  - tcp:[::1]:fast', //                                        3
      '  - { proto: sctp, host: 192.0.2.1, port: 70000, x: 1 }', //   4
      'log:', //                                                      5
      '  levle: debug', //                                            6
      '  format: fancy', //                                           7
      'timers:', //                                                   8
      '  t1: fast', //                                                9
      '  t2: -4', //                                                 10
      'modules:', //                                                 11
      '  dialog: 3', //                                              12
    ].join('\n'),
  );
  const err = configError(t, () => loadConfig(file));
  t.same(problems(err), [
    `${file}: listen[1].port (line 3): expected a port number from 0 to 65535, got "fast"`,
    `${file}: listen[2].proto (line 4): expected one of udp, tcp, tls, ws, wss, got "sctp"`,
    `${file}: listen[2].port (line 4): expected a port number from 0 to 65535, got 70000`,
    `${file}: listen[2].x (line 4): unknown key`,
    `${file}: log.levle (line 6): unknown key (did you mean level?)`,
    `${file}: log.format (line 7): expected one of json, pretty, auto, got "fancy"`,
    `${file}: timers.t1 (line 9): expected a positive integer, got "fast"`,
    `${file}: timers.t2 (line 10): expected a positive integer, got -4`,
    `${file}: modules.dialog (line 12): expected a mapping of parameter names to values, got 3`,
  ]);
  t.equal(err?.issues.length, 9);
  t.same(err?.issues[6], {
    path: 'timers.t1',
    line: 9,
    message: 'expected a positive integer, got "fast"',
  });
  t.end();
});

t.test('the message format of the brief, with a relative file name', async (t) => {
  const dir = tempDir(t);
  mkdirSync(join(dir, 'cfg'));
  writeFileSync(
    join(dir, 'cfg', 'tandem.yaml'),
    `${'# comment\n'.repeat(10)}timers:\n  t1: fast\n`,
  );
  const cwd = process.cwd();
  process.chdir(dir);
  t.teardown(() => {
    process.chdir(cwd);
  });
  const err = configError(t, () => loadConfig('cfg/tandem.yaml'));
  t.equal(
    err?.message,
    'Invalid configuration: cfg/tandem.yaml: timers.t1 (line 12): expected a positive integer, got "fast"',
  );
  t.end();
});

t.test('a top-level unknown key is named with a suggestion', async (t) => {
  const file = writeConfig(t, 'listen: [udp:127.0.0.1:5060]\nlimts: {}\nscirpt: r.ts\nzzz: 1\n');
  t.same(problems(configError(t, () => loadConfig(file))), [
    `${file}: limts (line 2): unknown key (did you mean limits?)`,
    `${file}: scirpt (line 3): unknown key (did you mean script?)`,
    `${file}: zzz (line 4): unknown key`,
  ]);
  t.end();
});

t.test('many problems are summarised after twenty', async (t) => {
  const keys = Array.from({ length: 25 }, (_, i) => `bogus_${i}: 1`).join('\n');
  const file = writeConfig(t, keys);
  const lines = problems(configError(t, () => loadConfig(file)));
  t.equal(lines.length, 21);
  t.equal(lines[20], `${file}: and 5 more problems`);
  t.end();
});

t.test('parseConfig validates text held in memory', async (t) => {
  const config = parseConfig('script: r.ts\n', 'inline.yaml', [], '/etc/tandem');
  t.equal(config.script, '/etc/tandem/r.ts');
  const err = configError(t, () => parseConfig('log: {level: loud}\n', 'inline.yaml', [], '/'));
  t.ok(err instanceof ConfigError);
  t.same(problems(err), [
    'inline.yaml: log.level (line 1): expected one of fatal, error, warn, info, debug, trace, silent, got "loud"',
  ]);
  t.end();
});
