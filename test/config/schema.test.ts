import t, { type Test } from 'tap';
import {
  configSchema,
  parseConfig,
  timerConfig,
  usePrettyLogs,
  type TandemConfig,
} from '../../src/config/index.js';
import { configError, problems } from './helpers.js';

const FILE = 'test.yaml';

function load(text: string): TandemConfig {
  return parseConfig(text, FILE, [], '/etc/tandem');
}

/** The problem lines for `text`, without the file name. */
function errorsOf(t: Test, text: string): string[] {
  return problems(configError(t, () => load(text))).map((l) => l.replace(`${FILE}: `, ''));
}

t.test('defaults fill in every block', async (t) => {
  const config = load('');
  t.same(config.aliases, []);
  t.same(config.limits, {
    max_head_bytes: 32768,
    max_body_bytes: 65536,
    max_headers: 256,
    max_connections: 4096,
    tcp_idle_timeout: 300,
    tcp_connect_timeout: 10,
    udp_recv_buffer: 4194304,
    max_forwards: 70,
  });
  t.same(config.dns, { servers: [], cache_size: 10000 });
  t.equal(config.script, '/etc/tandem/routes.ts');
  t.equal(config.shutdown_grace, 5);
  t.equal(config.listen.length, 2);
  const partial = load('log: { level: debug }\nlimits: { max_headers: 10 }\n');
  t.same(partial.log, { level: 'debug', format: 'auto' });
  t.equal(partial.limits.max_headers, 10);
  t.equal(partial.limits.max_body_bytes, 65536);
  t.end();
});

t.test('defaults are fresh objects on every load', async (t) => {
  const a = load('');
  a.listen.push({ protocol: 'ws', host: '::', port: 80 });
  a.dns.servers.push('192.0.2.1');
  const b = load('');
  t.equal(b.listen.length, 2);
  t.same(b.dns.servers, []);
  t.end();
});

t.test('listen strings: protocols, IPv4, IPv6, default ports, advertise', async (t) => {
  const config = load(
    [
      'listen:',
      '  - udp:127.0.0.1:5060',
      '  - TCP:[::1]:5070',
      '  - udp:[::]',
      '  - tls:0.0.0.0',
      '  - ws:[2001:DB8::1]',
      '  - wss:192.0.2.1',
      '  - udp:10.0.0.5:5080 as 203.0.113.5:5060',
      '  - tcp:10.0.0.5:5080 AS sip.example.com',
      '  - udp:::1',
      '  - udp:127.0.0.1:0',
      'tls: { cert: c.pem, key: k.pem }',
    ].join('\n'),
  );
  t.same(config.listen, [
    { protocol: 'udp', host: '127.0.0.1', port: 5060 },
    { protocol: 'tcp', host: '::1', port: 5070 },
    { protocol: 'udp', host: '::', port: 5060 },
    { protocol: 'tls', host: '0.0.0.0', port: 5061 },
    { protocol: 'ws', host: '2001:db8::1', port: 80 },
    { protocol: 'wss', host: '192.0.2.1', port: 443 },
    {
      protocol: 'udp',
      host: '10.0.0.5',
      port: 5080,
      advertise: { host: '203.0.113.5', port: 5060 },
    },
    { protocol: 'tcp', host: '10.0.0.5', port: 5080, advertise: { host: 'sip.example.com' } },
    { protocol: 'udp', host: '::1', port: 5060 },
    { protocol: 'udp', host: '127.0.0.1', port: 0 },
  ]);
  t.end();
});

t.test('listen objects, with advertise as a string or an object', async (t) => {
  const config = load(
    [
      'listen:',
      '  - { proto: udp, host: "[::1]", port: 5060, advertise: "[2001:db8::5]:5062" }',
      '  - { proto: tcp, host: 127.0.0.1, advertise: { host: vip.example.com, port: 5060 } }',
      '  - { proto: udp, host: 127.0.0.2, advertise: { host: 198.51.100.1 } }',
    ].join('\n'),
  );
  t.same(config.listen, [
    { protocol: 'udp', host: '::1', port: 5060, advertise: { host: '2001:db8::5', port: 5062 } },
    {
      protocol: 'tcp',
      host: '127.0.0.1',
      port: 5060,
      advertise: { host: 'vip.example.com', port: 5060 },
    },
    { protocol: 'udp', host: '127.0.0.2', port: 5060, advertise: { host: '198.51.100.1' } },
  ]);
  t.end();
});

t.test('bad listen entries are named with what was wrong', async (t) => {
  t.same(
    errorsOf(
      t,
      [
        'listen:',
        '  - 127.0.0.1:5060', //                     2: no protocol
        '  - udp', //                                3
        '  - udp:[::1', //                           4
        '  - udp:[127.0.0.1]:5060', //               5
        '  - udp:[::1]x', //                         6
        '  - udp:sip.example.com:5060', //           7: bind needs an IP
        '  - udp:127.0.0.1:65536', //                8
        '  - udp:10.0.0.1:5060 as bad_host!', //     9
        '  - 5060', //                              10
        '  - { proto: udp }', //                    11
        '  - { host: 127.0.0.1, port: 1 }', //      12
        '  - { proto: udp, host: 1.2.3.4, advertise: { port: 1 } }', // 13
        '  - { proto: udp, host: 1.2.3.4, advertise: "a:b:c" }', // 14
        '  - { proto: udp, host: 1.2.3.4, advertise: 7 }', // 15
      ].join('\n'),
    ),
    [
      'listen[0] (line 2): expected proto:host[:port], e.g. udp:127.0.0.1:5060 or tls:[::1]:5061, got "127.0.0.1:5060"',
      'listen[1] (line 3): expected proto:host[:port], e.g. udp:127.0.0.1:5060 or tls:[::1]:5061, got "udp"',
      'listen[2] (line 4): expected proto:host[:port], e.g. udp:127.0.0.1:5060 or tls:[::1]:5061, got "udp:[::1"',
      'listen[3] (line 5): expected proto:host[:port], e.g. udp:127.0.0.1:5060 or tls:[::1]:5061, got "udp:[127.0.0.1]:5060"',
      'listen[4] (line 6): expected proto:host[:port], e.g. udp:127.0.0.1:5060 or tls:[::1]:5061, got "udp:[::1]x"',
      'listen[5].host (line 7): expected an IP address to bind (IPv4, IPv6, 0.0.0.0 or ::), got "sip.example.com"',
      'listen[6].port (line 8): expected a port number from 0 to 65535, got 65536',
      'listen[7].advertise.host (line 9): expected an IP address or host name, got "bad_host!"',
      'listen[8] (line 10): expected proto:host:port or { proto, host, port, advertise }, got 5060',
      'listen[9].host (line 11): expected an IP address to bind (IPv4, IPv6, 0.0.0.0 or ::), got nothing',
      'listen[10].proto (line 12): expected one of udp, tcp, tls, ws, wss, got nothing',
      'listen[11].advertise.host (line 13): expected an IP address or host name, got nothing',
      'listen[12].advertise (line 14): expected host[:port] with IPv6 in brackets, e.g. 192.0.2.1:5060 or [::1]:5060, got "a:b:c"',
      'listen[13].advertise (line 15): expected host[:port] or { host, port }, got 7',
    ],
  );
  t.same(errorsOf(t, 'listen: []'), [
    'listen (line 1): expected at least one listen socket, got a list',
  ]);
  t.same(errorsOf(t, 'listen: udp:127.0.0.1:5060'), [
    'listen (line 1): expected a list of listen sockets, got "udp:127.0.0.1:5060"',
  ]);
  t.end();
});

t.test('a TLS or WSS listener without the tls block (cert and key) is refused', async (t) => {
  t.same(errorsOf(t, 'listen:\n  - udp:127.0.0.1:5060\n  - tls:127.0.0.1:5061\n'), [
    'listen[1] (line 3): expected a tls block with cert and key for this tls listener, got no tls block',
  ]);
  t.same(errorsOf(t, 'listen: [wss:127.0.0.1:443]\ntls: { verify_peer: true }\n'), [
    'listen[0] (line 1): expected a tls block with cert and key for this wss listener, got a tls block without cert and key',
  ]);
  t.same(errorsOf(t, 'tls: { cert: c.pem }\n'), [
    'tls.key (line 1): expected a key file alongside tls.cert, got nothing',
  ]);
  t.same(errorsOf(t, 'tls:\n  key: k.pem\n  cert: ""\n'), [
    'tls.cert (line 3): expected a file path, got ""',
  ]);
  t.same(errorsOf(t, 'tls:\n  key: k.pem\n'), [
    'tls.cert (line 1): expected a certificate alongside tls.key, got nothing',
  ]);
  t.same(errorsOf(t, 'tls: { cert: c, key: k, verify_peer: "yes" }\n'), [
    'tls.verify_peer (line 1): expected true or false, got "yes"',
  ]);
  t.end();
});

t.test('two entries for the same kernel socket are refused', async (t) => {
  t.same(
    errorsOf(
      t,
      [
        'listen:',
        '  - udp:127.0.0.1:5060',
        '  - tcp:127.0.0.1:5060',
        '  - udp:127.0.0.1:5060',
        '  - ws:127.0.0.1:5060',
        '  - udp:127.0.0.1:0',
        '  - udp:127.0.0.1:0',
      ].join('\n'),
    ),
    [
      'listen[2] (line 4): expected a socket not listed before, got the same UDP socket as listen[0]',
      'listen[3] (line 5): expected a socket not listed before, got the same TCP socket as listen[1]',
    ],
  );
  t.end();
});

t.test('timers: positive integers, t1 <= t2, B and F default to 64*T1', async (t) => {
  const config = load('timers: { t1: 250, t2: 2000, timer_f: 9000 }');
  t.same(config.timers, {
    t1: 250,
    t2: 2000,
    t4: 5000,
    timer_b: 16000,
    timer_f: 9000,
    timer_c: 180000,
  });
  t.same(timerConfig(config), { t1: 250, t2: 2000, t4: 5000, timerB: 16000, timerF: 9000 });
  t.same(errorsOf(t, 'timers:\n  t1: 5000\n'), [
    'timers.t1 (line 2): expected at most timers.t2 (4000 ms), got 5000',
  ]);
  t.same(errorsOf(t, 'timers:\n  t4: 0\n  timer_c: 1.5\n  timer_b: null\n'), [
    'timers.t4 (line 2): expected a positive integer, got 0',
    'timers.timer_c (line 3): expected a positive integer, got 1.5',
    'timers.timer_b (line 4): expected a positive integer, got an empty value',
  ]);
  t.end();
});

t.test('limits, shutdown_grace, script and log values are checked', async (t) => {
  t.same(
    errorsOf(
      t,
      [
        'limits:',
        '  max_forwards: 0',
        '  max_connections: many',
        'shutdown_grace: -1',
        'script: 42',
        'log: { level: verbose }',
      ].join('\n'),
    ),
    [
      'limits.max_forwards (line 2): expected an integer from 1 to 255, got 0',
      'limits.max_connections (line 3): expected a positive integer, got "many"',
      'shutdown_grace (line 4): expected a number of seconds >= 0, got -1',
      'script (line 5): expected a file path, got 42',
      'log.level (line 6): expected one of fatal, error, warn, info, debug, trace, silent, got "verbose"',
    ],
  );
  t.equal(load('shutdown_grace: 0.5').shutdown_grace, 0.5);
  t.equal(load('limits: { max_forwards: 255 }').limits.max_forwards, 255);
  t.same(errorsOf(t, 'limits: [1]'), ['limits (line 1): expected a mapping, got a list']);
  t.end();
});

t.test('aliases: host names and addresses with optional ports, lower-cased', async (t) => {
  const config = load(
    'aliases: [SIP.Example.com, "sip.example.com:5080", "[2001:db8::1]:5060", 192.0.2.1, example.org.]',
  );
  t.same(config.aliases, [
    { host: 'sip.example.com' },
    { host: 'sip.example.com', port: 5080 },
    { host: '2001:db8::1', port: 5060 },
    { host: '192.0.2.1' },
    { host: 'example.org.' },
  ]);
  t.same(errorsOf(t, 'aliases:\n  - "-bad.example"\n  - "a..b"\n  - "ok:99999"\n  - 5\n'), [
    'aliases[0].host (line 2): expected an IP address or host name, got "-bad.example"',
    'aliases[1].host (line 3): expected an IP address or host name, got "a..b"',
    'aliases[2].port (line 4): expected a port number from 0 to 65535, got 99999',
    'aliases[3] (line 5): expected host[:port], got 5',
  ]);
  const long = `${'a.'.repeat(127)}b`;
  t.same(errorsOf(t, `aliases: [".", "${long}"]`), [
    'aliases[0].host (line 1): expected an IP address or host name, got "."',
    `aliases[1].host (line 1): expected an IP address or host name, got "${long.slice(0, 57)}..."`,
  ]);
  t.same(load(`aliases: ["${long.slice(2)}"]`).aliases, [{ host: long.slice(2) }]);
  t.same(errorsOf(t, `aliases: ["${'a'.repeat(64)}.example"]`), [
    `aliases[0].host (line 1): expected an IP address or host name, got "${'a'.repeat(57)}..."`,
  ]);
  t.end();
});

t.test('dns servers stay strings for the DNS client and are checked here', async (t) => {
  const config = load(
    'dns: { servers: [192.0.2.53, " 192.0.2.54:5353 ", "[::1]:53", "::1"], cache_size: 0 }',
  );
  t.same(config.dns, {
    servers: ['192.0.2.53', '192.0.2.54:5353', '[::1]:53', '::1'],
    cache_size: 0,
  });
  const bad = 'a DNS server address, ip[:port] with IPv6 in brackets (port 1-65535)';
  t.same(
    errorsOf(
      t,
      'dns:\n  servers: [ns.example.com, "192.0.2.1:0", "192.0.2.1:x", "[::1"]\n  cache_size: -1\n',
    ),
    [
      `dns.servers[0] (line 2): expected ${bad}, got "ns.example.com"`,
      `dns.servers[1] (line 2): expected ${bad}, got "192.0.2.1:0"`,
      `dns.servers[2] (line 2): expected ${bad}, got "192.0.2.1:x"`,
      `dns.servers[3] (line 2): expected ${bad}, got "[::1"`,
      'dns.cache_size (line 3): expected an integer >= 0, got -1',
    ],
  );
  t.end();
});

t.test('mi: listen address as ip:port or an object, enabled flag', async (t) => {
  t.same(load('mi: { listen: "[::1]:9000", enabled: false }').mi, {
    listen: { host: '::1', port: 9000 },
    enabled: false,
    body_limit: 1048576,
  });
  t.same(load('mi: { listen: { host: 127.0.0.1, port: 0 } }').mi.listen, {
    host: '127.0.0.1',
    port: 0,
  });
  t.same(errorsOf(t, 'mi:\n  listen: 127.0.0.1\n  enabled: 1\n'), [
    'mi.listen.port (line 2): expected a port number from 0 to 65535, got nothing',
    'mi.enabled (line 3): expected true or false, got 1',
  ]);
  t.same(errorsOf(t, 'mi: { listen: localhost:8888 }'), [
    'mi.listen.host (line 1): expected an IP address to bind (IPv4, IPv6, 0.0.0.0 or ::), got "localhost"',
  ]);
  t.same(errorsOf(t, 'mi: { listen: [1] }'), [
    'mi.listen (line 1): expected ip:port or { host, port }, got a list',
  ]);
  t.end();
});

t.test('modules: any module name, parameters a mapping; an empty entry is {}', async (t) => {
  const config = load('modules:\n  usrloc:\n  dialog: { db_mode: 1, profiles: [a, b] }\n');
  t.same(config.modules, { usrloc: {}, dialog: { db_mode: 1, profiles: ['a', 'b'] } });
  t.same(errorsOf(t, 'modules:\n  a: [1]\n  b: text\n'), [
    'modules.a (line 2): expected a mapping of parameter names to values, got a list',
    'modules.b (line 3): expected a mapping of parameter names to values, got "text"',
  ]);
  t.same(errorsOf(t, 'modules: [usrloc]'), [
    'modules (line 1): expected a mapping of module names to parameters, got a list',
  ]);
  t.end();
});

t.test('log format: auto is pretty only on a terminal', async (t) => {
  t.equal(usePrettyLogs(load(''), true), true);
  t.equal(usePrettyLogs(load(''), false), false);
  t.equal(usePrettyLogs(load('log: { format: pretty }'), false), true);
  t.equal(usePrettyLogs(load('log: { format: json }'), true), false);
  t.end();
});

t.test('the schema can be used directly and rejects unknown keys', async (t) => {
  t.equal(configSchema.safeParse({ nope: 1 }).success, false);
  t.equal(configSchema.safeParse({}).success, true);
  t.end();
});
