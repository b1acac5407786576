/** The `mi` token and body-limit keys and the `events` block (webhooks). */
import t, { type Test } from 'tap';
import { parseConfig, type TandemConfig } from '../../src/config/index.js';
import { configError, problems } from './helpers.js';

const FILE = 'test.yaml';

function load(text: string): TandemConfig {
  return parseConfig(text, FILE, [], '/etc/tandem');
}

function errorsOf(t: Test, text: string): string[] {
  return problems(configError(t, () => load(text))).map((l) => l.replace(`${FILE}: `, ''));
}

t.test('mi: token from a file or an environment variable, not both; body limit', async (t) => {
  t.same(load('').mi, {
    listen: { host: '127.0.0.1', port: 8888 },
    enabled: true,
    body_limit: 1048576,
  });
  t.equal(load('mi: { token_file: /etc/tandem/mi.token }').mi.token_file, '/etc/tandem/mi.token');
  t.equal(
    load('mi: { token_file: secrets/mi.token }').mi.token_file,
    '/etc/tandem/secrets/mi.token',
    'a relative token file is taken from the config file directory',
  );
  t.equal(load('mi: { token_env: TANDEM_MI_TOKEN }').mi.token_env, 'TANDEM_MI_TOKEN');
  t.equal(load('mi: { body_limit: 4096 }').mi.body_limit, 4096);
  t.same(errorsOf(t, 'mi:\n  token_file: /a\n  token_env: B\n'), [
    'mi.token_env (line 3): expected either mi.token_file or mi.token_env, not both, got "B"',
  ]);
  t.same(errorsOf(t, 'mi:\n  token_env: "not a name"\n  body_limit: 0\n'), [
    'mi.token_env (line 2): expected an environment variable name ([A-Za-z_][A-Za-z0-9_]*), got "not a name"',
    'mi.body_limit (line 3): expected a positive number of bytes, got 0',
  ]);
  t.end();
});

t.test('events: webhooks with defaults; bad entries named', async (t) => {
  t.same(load('').events, { webhooks: [] });
  const config = load(
    'events:\n  webhooks:\n    - url: http://127.0.0.1:9000/e\n' +
      '    - { url: "https://h.example/x", events: [E_CORE_STARTED], timeout: 0.5, queue_size: 5, headers: { X-Key: k } }\n',
  );
  t.same(config.events.webhooks, [
    { url: 'http://127.0.0.1:9000/e', events: '*', timeout: 2, queue_size: 1000 },
    {
      url: 'https://h.example/x',
      events: ['E_CORE_STARTED'],
      timeout: 0.5,
      queue_size: 5,
      headers: { 'X-Key': 'k' },
    },
  ]);
  const errors = errorsOf(
    t,
    'events:\n  webhooks:\n    - url: ftp://x/\n      events: [lower]\n      timeout: 0\n' +
      '    - { url: http://x/, events: [], bogus: 1 }\n',
  );
  t.match(errors, [
    /events\.webhooks\[0\]\.url \(line 3\): expected an http:\/\/ or https:\/\/ URL/,
    /events\.webhooks\[0\]\.events\[0\] \(line 4\): expected an event name/,
    /events\.webhooks\[0\]\.timeout \(line 5\): expected a number of seconds > 0, got 0/,
  ]);
  t.ok(
    errors.some((e) =>
      /events\.webhooks\[1\]\.events \(line 6\): expected at least one event name/.test(e),
    ),
    errors.join('\n'),
  );
  t.ok(
    errors.some((e) => /events\.webhooks\[1\]\.bogus \(line 6\): unknown key/.test(e)),
    errors.join('\n'),
  );
  t.end();
});
