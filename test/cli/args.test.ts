/** tandem-cli's command line: options, sub-commands, positional and named parameters. */
import t from 'tap';
import { parseArgs } from '../../src/cli/args.js';

t.test('mi: positional params stay strings; JSON lists and objects are parsed', async (t) => {
  t.same(parseArgs(['mi', 'uptime']), {
    ok: true,
    args: {
      url: undefined,
      tokenFile: undefined,
      command: { kind: 'mi', method: 'uptime', params: undefined },
    },
  });
  const r = parseArgs([
    'mi',
    'get_statistics',
    'core:',
    '1234',
    'true',
    '["a","b"]',
    '{"k":1}',
    '[oops',
  ]);
  t.match(r, {
    ok: true,
    args: {
      command: {
        method: 'get_statistics',
        params: ['core:', '1234', 'true', ['a', 'b'], { k: 1 }, '[oops'],
      },
    },
  });
});

t.test('mi: name=value params are named; a SIP URI with = stays positional', async (t) => {
  t.match(parseArgs(['mi', 'log_level', 'module=tm', 'level=debug']), {
    args: { command: { params: { module: 'tm', level: 'debug' } } },
  });
  t.match(parseArgs(['mi', 'ul_show_contact', 'sip:a@b;transport=tcp']), {
    args: { command: { params: ['sip:a@b;transport=tcp'] } },
  });
  t.match(parseArgs(['mi', 'x', 'list=[1,2]', 'empty=']), {
    args: { command: { params: { list: [1, 2], empty: '' } } },
  });
  t.same(parseArgs(['mi', 'log_level', 'debug', 'module=tm']), {
    ok: false,
    error: 'parameters are either all positional or all name=value',
  });
});

t.test('options anywhere before the params; -- ends them', async (t) => {
  t.match(parseArgs(['--url', 'http://h:1/mi', 'mi', '--token-file=/t', 'uptime']), {
    ok: true,
    args: { url: 'http://h:1/mi', tokenFile: '/t', command: { method: 'uptime' } },
  });
  t.match(parseArgs(['--url=http://x/mi', 'stats', 'core', 'tm']), {
    args: { url: 'http://x/mi', command: { kind: 'stats', groups: ['core', 'tm'] } },
  });
  t.match(parseArgs(['mi', 'raise_event', 'E_X', '-1']), {
    args: { command: { params: ['E_X', '-1'] } },
  });
  t.match(parseArgs(['--', 'mi', '--url']), { args: { command: { method: '--url' } } });
  t.match(parseArgs(['stats']), { args: { command: { kind: 'stats', groups: [] } } });
  t.match(parseArgs(['-h']), { args: { command: { kind: 'help' } } });
  t.match(parseArgs(['mi', 'uptime', '--help']), { args: { command: { kind: 'help' } } });
});

t.test('bad command lines are named', async (t) => {
  t.same(parseArgs([]), { ok: false, error: 'no command given' });
  t.same(parseArgs(['status']), { ok: false, error: 'unknown command status' });
  t.match(parseArgs(['mi']), { ok: false, error: /mi needs a command name/ });
  t.same(parseArgs(['--url']), { ok: false, error: '--url needs a value' });
  t.same(parseArgs(['--token-file=', 'mi', 'x']), {
    ok: false,
    error: '--token-file needs a value',
  });
  t.same(parseArgs(['--bogus', 'mi', 'x']), { ok: false, error: 'unknown option --bogus' });
});
