import t from 'tap';
import { parseConfig, parseKeyPath, type TandemConfig } from '../../src/config/index.js';
import { configError, problems, writeConfig } from './helpers.js';
import { loadConfig } from '../../src/config/index.js';

const FILE = 'test.yaml';
const BASE = [
  'listen:',
  '  - udp:127.0.0.1:5060',
  '  - tcp:127.0.0.1:5060',
  'log:',
  '  level: info',
].join('\n');

function withSets(sets: string[], text = BASE): TandemConfig {
  return parseConfig(text, FILE, sets, '/etc/tandem');
}

function errorsOf(t: Parameters<typeof configError>[0], sets: string[], text = BASE): string[] {
  return problems(configError(t, () => withSets(sets, text)));
}

t.test('key paths: keys separated by dots, list indices in brackets', async (t) => {
  t.same(parseKeyPath('timers.t1'), ['timers', 't1']);
  t.same(parseKeyPath('listen[0]'), ['listen', 0]);
  t.same(parseKeyPath('listen[1].advertise.port'), ['listen', 1, 'advertise', 'port']);
  t.same(parseKeyPath('a[1][2].b-c_d'), ['a', 1, 2, 'b-c_d']);
  for (const bad of ['', '.a', 'a.', 'a..b', '[0]', 'a[x]', 'a[0', 'a]', 'a b', 'a[0]x', 'a.[0]']) {
    t.equal(parseKeyPath(bad), null, JSON.stringify(bad));
  }
  t.end();
});

t.test('--set on nested keys, parsed as YAML scalars', async (t) => {
  const config = withSets([
    'timers.t1=250',
    'log.level=debug',
    'limits.max_forwards=10',
    'mi.enabled=false',
  ]);
  t.equal(config.timers.t1, 250);
  t.equal(config.timers.timer_b, 64 * 250, 'a derived default follows the overridden value');
  t.equal(config.log.level, 'debug');
  t.equal(config.limits.max_forwards, 10);
  t.equal(config.mi.enabled, false);
  t.end();
});

t.test('--set creates missing blocks and replaces empty ones', async (t) => {
  const config = withSets(
    ['tls.cert=c.pem', 'tls.key=k.pem', 'modules.usrloc.db_mode=2', 'modules.dialog.profiles[0]=a'],
    'tls:\nmodules:\n',
  );
  t.equal(config.tls?.cert, '/etc/tandem/c.pem');
  t.same(config.modules, { usrloc: { db_mode: 2 }, dialog: { profiles: ['a'] } });
  const empty = withSets(['listen[0]=udp:[::1]:5062'], '');
  t.same(empty.listen, [{ protocol: 'udp', host: '::1', port: 5062 }]);
  const nullDoc = withSets(['log.level=warn'], '# only a comment\n');
  t.equal(nullDoc.log.level, 'warn');
  t.end();
});

t.test('--set on list elements: replace, append one past the end, flow values', async (t) => {
  const replaced = withSets(['listen[0]=udp:127.0.0.1:5070']);
  t.same(replaced.listen[0], { protocol: 'udp', host: '127.0.0.1', port: 5070 });
  t.equal(replaced.listen.length, 2);
  const appended = withSets([
    'listen[2]=udp:[::1]:5060',
    'listen[3]={proto: tcp, host: "::1", port: 5070}',
  ]);
  t.same(appended.listen.slice(2), [
    { protocol: 'udp', host: '::1', port: 5060 },
    { protocol: 'tcp', host: '::1', port: 5070 },
  ]);
  const list = withSets(['aliases=[a.example, "b.example:5080"]', 'dns.servers=[192.0.2.53]']);
  t.same(list.aliases, [{ host: 'a.example' }, { host: 'b.example', port: 5080 }]);
  t.same(list.dns.servers, ['192.0.2.53']);
  const whole = withSets(['listen=[udp:127.0.0.1:5099]']);
  t.same(whole.listen, [{ protocol: 'udp', host: '127.0.0.1', port: 5099 }]);
  const deep = withSets(['modules.m.x[0][1]=b'], 'modules:\n  m: { x: [[a]] }\n');
  t.same(deep.modules['m'], { x: [['a', 'b']] });
  const grown = withSets(['modules.m.x[1].k=v'], 'modules:\n  m: { x: [a] }\n');
  t.same(grown.modules['m'], { x: ['a', { k: 'v' }] });
  const fresh = withSets(['modules.m.x[0][0]=a'], 'modules:\n  m: { x: [~] }\n');
  t.same(fresh.modules['m'], { x: [['a']] });
  t.end();
});

t.test('the value of --set may contain "="', async (t) => {
  const config = withSets(['modules.db.url=mysql://u@h/db?a=b']);
  t.same(config.modules['db'], { url: 'mysql://u@h/db?a=b' });
  t.end();
});

t.test('a later --set wins over an earlier one and over the file', async (t) => {
  const config = withSets(['log.level=debug', 'log.level=trace']);
  t.equal(config.log.level, 'trace');
  t.end();
});

t.test('bad --set arguments and paths are TANDEM_ERR_CONFIG errors naming the --set', async (t) => {
  const syntax = 'expected key.path=value, e.g. timers.t1=250 or listen[0]=udp:127.0.0.1:5070';
  t.same(errorsOf(t, ['timers.t1']), [`${FILE}: --set timers.t1: ${syntax}`]);
  t.same(errorsOf(t, ['=5']), [`${FILE}: --set =5: ${syntax}`]);
  t.same(errorsOf(t, ['a..b=5']), [`${FILE}: --set a..b=5: ${syntax}`]);
  t.same(errorsOf(t, ['log.level=[debug']), [
    `${FILE}: log.level (--set log.level=[debug): the value is not valid YAML: Flow sequence must end with a ]`,
  ]);
  t.same(errorsOf(t, ['log.level.x=1']), [
    `${FILE}: log.level.x (--set log.level.x=1): cannot set a key inside log.level: expected a mapping, got "info"`,
  ]);
  t.same(errorsOf(t, ['log.level.x.y=1']), [
    `${FILE}: log.level.x.y (--set log.level.x.y=1): cannot set a key inside log.level: expected a mapping, got "info"`,
  ]);
  t.same(errorsOf(t, ['listen.x=1']), [
    `${FILE}: listen.x (--set listen.x=1): cannot set a key inside listen: expected a mapping, got a list`,
  ]);
  t.same(errorsOf(t, ['log[0]=1']), [
    `${FILE}: log[0] (--set log[0]=1): cannot set an index inside log: expected a list, got a mapping`,
  ]);
  t.same(errorsOf(t, ['listen[0].port=1']), [
    `${FILE}: listen[0].port (--set listen[0].port=1): cannot set a key inside listen[0]: expected a mapping, got "udp:127.0.0.1:5060"`,
  ]);
  t.same(errorsOf(t, ['listen[3]=udp:127.0.0.1:5070']), [
    `${FILE}: listen[3] (--set listen[3]=udp:127.0.0.1:5070): index 3 is past the end of listen: it has 2 entries in the file, [2] appends`,
  ]);
  t.same(errorsOf(t, ['listen[5]=x'], 'listen: [udp:127.0.0.1:5060]'), [
    `${FILE}: listen[5] (--set listen[5]=x): index 5 is past the end of listen: it has 1 entry in the file, [1] appends`,
  ]);
  t.same(errorsOf(t, ['modules.b.x=1'], 'modules:\n  a: &p { x: 0 }\n  b: *p\n'), [
    `${FILE}: modules.b.x (--set modules.b.x=1): cannot set inside modules.b: it is a YAML alias (*p)`,
  ]);
  t.end();
});

t.test('validation errors on overridden values name the --set instead of a line', async (t) => {
  t.same(errorsOf(t, ['timers.t1=fast']), [
    `${FILE}: timers.t1 (--set timers.t1=fast): expected a positive integer, got "fast"`,
  ]);
  t.same(errorsOf(t, ['timers.t1=9000']), [
    `${FILE}: timers.t1 (--set timers.t1=9000): expected at most timers.t2 (4000 ms), got 9000`,
  ]);
  t.same(errorsOf(t, ['listen[1]=tcp:[::1]:99999']), [
    `${FILE}: listen[1].port (--set listen[1]=tcp:[::1]:99999): expected a port number from 0 to 65535, got 99999`,
  ]);
  t.same(errorsOf(t, ['log.levle=debug']), [
    `${FILE}: log.levle (--set log.levle=debug): unknown key (did you mean level?)`,
  ]);
  t.same(errorsOf(t, ['x[0]=1']), [`${FILE}: x (--set x[0]=1): unknown key`]);
  t.same(errorsOf(t, ['log.level=']), [
    `${FILE}: log.level (--set log.level=): expected one of fatal, error, warn, info, debug, trace, silent, got an empty value`,
  ]);
  t.end();
});

t.test('loadConfig applies --set to the file it reads', async (t) => {
  const file = writeConfig(t, BASE);
  const { config } = loadConfig(file, ['log.level=debug', 'script=other.ts']);
  t.equal(config.log.level, 'debug');
  t.match(config.script, /other\.ts$/);
  const err = configError(t, () => loadConfig(file, ['log.format=xml']));
  t.same(problems(err), [
    `${file}: log.format (--set log.format=xml): expected one of json, pretty, auto, got "xml"`,
  ]);
  t.end();
});
