import t from 'tap';
import { Document, LineCounter, parseDocument } from 'yaml';
import { z } from 'zod';
import {
  closest,
  describeIssues,
  describeValue,
  fallbackExpected,
  formatPath,
  lineOf,
  schemaKeysAt,
} from '../../src/config/issues.js';
import { configSchema } from '../../src/config/index.js';

t.test('key paths are written as an operator would type them', async (t) => {
  t.equal(formatPath([]), '');
  t.equal(formatPath(['timers', 't1']), 'timers.t1');
  t.equal(formatPath(['listen', 1, 'port']), 'listen[1].port');
  t.equal(formatPath(['a', 0, 1, 'b']), 'a[0][1].b');
  t.end();
});

t.test('what was found is described briefly', async (t) => {
  t.equal(describeValue(undefined), 'nothing');
  t.equal(describeValue(null), 'an empty value');
  t.equal(describeValue('x'), '"x"');
  t.equal(describeValue('y'.repeat(80)), `"${'y'.repeat(57)}..."`);
  t.equal(describeValue([1]), 'a list');
  t.equal(describeValue({ a: 1 }), 'a mapping');
  t.equal(describeValue(3), '3');
  t.equal(describeValue(false), 'false');
  t.equal(describeValue(10n), '10');
  t.equal(describeValue(Symbol('s')), 'symbol');
  t.end();
});

t.test('issue lines: path, line or --set, message', async (t) => {
  t.equal(
    describeIssues('f.yaml', [
      { path: 'a.b', line: 3, message: 'm1' },
      { path: 'a.c', set: 'a.c=1', message: 'm2' },
      { path: 'a.d', message: 'm3' },
      { path: '', message: 'm4' },
      { path: '', line: 7, message: 'm5' },
      { path: '', set: 'bad', message: 'm6' },
    ]),
    [
      'f.yaml: a.b (line 3): m1',
      'f.yaml: a.c (--set a.c=1): m2',
      'f.yaml: a.d: m3',
      'f.yaml: m4',
      'f.yaml: line 7: m5',
      'f.yaml: --set bad: m6',
    ].join('\n'),
  );
  t.end();
});

t.test('unknown keys are matched against the keys the schema accepts at that path', async (t) => {
  t.same(schemaKeysAt(configSchema, ['log']), ['level', 'format']);
  t.same(schemaKeysAt(configSchema, ['listen', 0]), ['proto', 'host', 'port', 'advertise']);
  t.same(schemaKeysAt(configSchema, ['listen', 0, 'advertise']), ['host', 'port']);
  t.same(schemaKeysAt(configSchema, ['tls']), [
    'cert',
    'key',
    'ca',
    'verify_peer',
    'require_client_cert',
  ]);
  t.same(schemaKeysAt(configSchema, ['modules', 'usrloc']), [], 'module params are free-form');
  t.same(schemaKeysAt(configSchema, ['script']), []);
  t.same(schemaKeysAt(configSchema, ['nope', 'deeper']), []);
  t.ok(schemaKeysAt(configSchema, []).includes('listen'));
  t.same(schemaKeysAt(z.string(), []), []);
  t.end();
});

t.test('suggestions only for near misses', async (t) => {
  const keys = ['level', 'format', 'listen', 'limits', 'mi', 'script'];
  t.equal(closest('levle', keys), 'level');
  t.equal(closest('lvel', keys), 'level');
  t.equal(closest('limts', keys), 'limits');
  t.equal(closest('scirpt', keys), 'script');
  t.equal(closest('formats', keys), 'format');
  t.equal(closest('x', keys), undefined);
  t.equal(closest('mo', keys), 'mi');
  t.equal(closest('modules', keys), undefined);
  t.equal(closest('level', []), undefined);
  t.end();
});

t.test('schemas without their own message still read "expected a …"', async (t) => {
  const schema = z.strictObject({
    a: z.object({}),
    b: z.array(z.string()),
    c: z.boolean(),
    d: z.int(),
    e: z.string(),
  });
  const res = schema.safeParse({ a: 1, b: 1, c: 1, d: 'x', e: 1 }, { error: fallbackExpected });
  t.equal(res.success, false);
  t.same(
    res.error?.issues.map((i) => i.message),
    ['a mapping', 'a list', 'true or false', 'a number', 'a string'],
  );
  const small = z.string().min(3).safeParse('x', { error: fallbackExpected });
  t.match(small.error?.issues[0]?.message, /3/, 'other issue kinds keep zod’s text');
  t.end();
});

t.test('lines are found for values, keys, missing keys and paths through aliases', async (t) => {
  const lines = new LineCounter();
  const doc = parseDocument(
    ['common: &t', '  t1: fast', 'timers: *t', 'log:', '  level:', 'listen:', '  - udp:x'].join(
      '\n',
    ),
    { lineCounter: lines },
  );
  t.equal(lineOf(doc, ['common', 't1'], lines), 2);
  t.equal(lineOf(doc, ['timers', 't1'], lines), 3, 'an alias: the line that uses it');
  t.equal(lineOf(doc, ['log', 'level'], lines), 5, 'a key with no value: the key');
  t.equal(lineOf(doc, ['log', 'format'], lines), 4, 'a missing key: the enclosing one');
  t.equal(lineOf(doc, ['listen', 0, 'port'], lines), 7, 'inside a string: the string');
  t.equal(lineOf(doc, ['listen', 'x'], lines), 6);
  t.equal(lineOf(doc, [], lines), 1);
  t.equal(lineOf(new Document({ a: 1 }), ['a'], lines), undefined, 'built in code: no line');
  t.end();
});
