import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import dgram from 'node:dgram';
import net from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import t, { type Test } from 'tap';
import { ManualClock } from '../helpers/manual-clock.js';
import { TandemError } from '../../src/core/errors.js';
import {
  DnsClient,
  parseHosts,
  parseResolvConf,
  parseServer,
  queryName,
  type DnsClientOptions,
} from '../../src/transport/dns-client.js';
import { rr, startDnsServer, type TestDnsServer } from '../helpers/dns-server.js';

async function codeOf(p: Promise<unknown>): Promise<string> {
  try {
    await p;
  } catch (err) {
    return err instanceof TandemError ? `${err.code}: ${err.message}` : String(err);
  }
  return 'no error';
}

async function setup(
  t: Test,
  records: Parameters<typeof startDnsServer>[0] = {},
  opts: DnsClientOptions = {},
): Promise<{ server: TestDnsServer; client: DnsClient; clock: ManualClock }> {
  const server = await startDnsServer(records);
  const clock = new ManualClock(1_000_000);
  const client = new DnsClient({
    servers: [server.spec],
    clock,
    hostsFile: null,
    timeoutMs: 1000,
    ...opts,
  });
  t.teardown(async () => {
    client.close();
    await server.close();
  });
  return { server, client, clock };
}

t.test('server, resolv.conf and hosts parsing', async (t) => {
  t.match(parseServer('10.0.0.1'), {
    address: '10.0.0.1',
    port: 53,
    family: 4,
    label: '10.0.0.1:53',
  });
  t.match(parseServer(' 10.0.0.1:5353 '), { address: '10.0.0.1', port: 5353 });
  t.match(parseServer('[::1]:5353'), {
    address: '::1',
    port: 5353,
    family: 6,
    label: '[::1]:5353',
  });
  t.match(parseServer('[0:0:0:0:0:0:0:1]'), { address: '::1', port: 53 });
  t.match(parseServer('2001:db8::53'), { address: '2001:db8::53', port: 53, family: 6 });
  t.match(parseServer('fe80::1%eth0'), { address: 'fe80::1%eth0', family: 6 });
  for (const bad of [
    'dns.example',
    '10.0.0.1:0',
    '10.0.0.1:x',
    '[::1',
    '[::1]x',
    '1.2.3.4:70000',
  ]) {
    t.throws(() => parseServer(bad), { code: 'TANDEM_ERR_INVALID_ARGUMENT' }, bad);
  }
  t.same(
    parseResolvConf(
      '# comment\nsearch example.com\nnameserver 10.0.0.1\nnameserver   ::1 # local\n' +
        'nameserver not-an-ip\n;nameserver 10.9.9.9\noptions timeout:1\nnameserver\n',
    ),
    ['10.0.0.1', '::1'],
  );
  const hosts = parseHosts(
    '127.0.0.1 localhost Loopback.\n::1 localhost ip6-localhost\n# x\nbad line\n\n',
  );
  t.same(hosts.get('localhost'), { v4: ['127.0.0.1'], v6: ['::1'] });
  t.same(hosts.get('loopback'), { v4: ['127.0.0.1'], v6: [] });
  t.same(hosts.get('ip6-localhost'), { v4: [], v6: ['::1'] });
  t.equal(queryName('Example.COM.'), 'example.com');
  t.equal(queryName(''), null);
  t.equal(queryName('a..b'), null);
  t.equal(queryName(`${'a'.repeat(64)}.test`), null);
  t.equal(queryName(`${'a.'.repeat(127)}ab`), null);
  t.throws(() => new DnsClient({ servers: [] }), { code: 'TANDEM_ERR_INVALID_ARGUMENT' });
  t.throws(() => new DnsClient({ servers: ['127.0.0.1'], timeoutMs: 0 }), {
    code: 'TANDEM_ERR_INVALID_ARGUMENT',
  });
});

t.test(
  'servers come from resolv.conf when not given, a local one when it lists none',
  async (t) => {
    const dir = mkdtempSync(join(tmpdir(), 'tandem-dns-'));
    t.teardown(() => {
      rmSync(dir, { recursive: true });
    });
    writeFileSync(join(dir, 'resolv.conf'), 'nameserver 192.0.2.53\nnameserver ::1\n');
    const listed = new DnsClient({ resolvConf: join(dir, 'resolv.conf'), hostsFile: null });
    t.same(
      listed.servers.map((s) => s.label),
      ['192.0.2.53:53', '[::1]:53'],
    );
    listed.close();
    const none = new DnsClient({ resolvConf: join(dir, 'missing.conf'), hostsFile: null });
    t.same(
      none.servers.map((s) => s.label),
      ['127.0.0.1:53'],
    );
    none.close();
  },
);

t.test('A answer cached for its TTL, re-queried after it expires', async (t) => {
  const { server, client, clock } = await setup(t, {
    records: [rr.a('sip.example.test', '192.0.2.1', 60)],
  });
  const first = await client.lookup('SIP.example.test.', 'A');
  t.same(first, {
    name: 'sip.example.test',
    type: 'A',
    exists: true,
    records: ['192.0.2.1'],
    additional: [],
  });
  clock.t += 59_000;
  const second = await client.lookup('sip.example.test', 'A');
  t.same(second.records, ['192.0.2.1']);
  t.equal(server.count('sip.example.test', 'A'), 1, 'second lookup served from the cache');
  t.equal(client.stats.cacheHits, 1);
  clock.t += 1_000;
  server.records = [rr.a('sip.example.test', '192.0.2.2', 60)];
  const third = await client.lookup('sip.example.test', 'A');
  t.same(third.records, ['192.0.2.2'], 'new data after the TTL');
  t.equal(server.count('sip.example.test', 'A'), 2);
});

t.test('the smallest TTL of the records used bounds the entry; TTL 0 is not cached', async (t) => {
  const { server, client, clock } = await setup(t, {
    records: [
      rr.a('multi.test', '192.0.2.1', 300),
      rr.a('multi.test', '192.0.2.2', 10),
      rr.a('zero.test', '192.0.2.9', 0),
    ],
  });
  t.same((await client.lookup('multi.test', 'A')).records, ['192.0.2.1', '192.0.2.2']);
  clock.t += 10_000;
  await client.lookup('multi.test', 'A');
  t.equal(server.count('multi.test', 'A'), 2);
  await client.lookup('zero.test', 'A');
  await client.lookup('zero.test', 'A');
  t.equal(server.count('zero.test', 'A'), 2);
});

t.test('negative answers are cached for the SOA minimum, bounded', async (t) => {
  const { server, client, clock } = await setup(t, {
    records: [rr.a('host.test', '192.0.2.1')],
    soa: { name: 'test', ttl: 3600, minimum: 45 },
  });
  const nx = await client.lookup('nope.test', 'A');
  t.same(nx, { name: 'nope.test', type: 'A', exists: false, records: [], additional: [] });
  const nodata = await client.lookup('host.test', 'AAAA');
  t.equal(nodata.exists, true);
  t.same(nodata.records, []);
  clock.t += 44_000;
  await client.lookup('nope.test', 'A');
  await client.lookup('host.test', 'AAAA');
  t.equal(server.count('nope.test', 'A'), 1, 'NXDOMAIN cached');
  t.equal(server.count('host.test', 'AAAA'), 1, 'NODATA cached');
  clock.t += 1_000;
  await client.lookup('nope.test', 'A');
  t.equal(server.count('nope.test', 'A'), 2, 'expired after min(SOA TTL, MINIMUM)');

  server.soa = { name: 'test', ttl: 86_400, minimum: 86_400 };
  await client.lookup('gone.test', 'A');
  clock.t += 299_000;
  await client.lookup('gone.test', 'A');
  t.equal(server.count('gone.test', 'A'), 1);
  clock.t += 1_000;
  await client.lookup('gone.test', 'A');
  t.equal(server.count('gone.test', 'A'), 2, 'capped at 300 s');

  server.soa = null;
  await client.lookup('nosoa.test', 'A');
  clock.t += 29_000;
  await client.lookup('nosoa.test', 'A');
  t.equal(server.count('nosoa.test', 'A'), 1);
  clock.t += 1_000;
  await client.lookup('nosoa.test', 'A');
  t.equal(server.count('nosoa.test', 'A'), 2, '30 s without an SOA');
});

t.test('concurrent identical lookups share one query', async (t) => {
  const { server, client } = await setup(t, {
    records: [rr.a('busy.test', '192.0.2.7')],
    delayMs: 30,
  });
  const all = await Promise.all([
    client.lookup('busy.test', 'A'),
    client.lookup('BUSY.test', 'A'),
    client.lookup('busy.test.', 'A'),
    client.lookup('busy.test', 'AAAA'),
  ]);
  t.same(
    all.map((r) => r.records),
    [['192.0.2.7'], ['192.0.2.7'], ['192.0.2.7'], []],
  );
  t.equal(server.count('busy.test', 'A'), 1);
  t.equal(server.count('busy.test', 'AAAA'), 1);
  t.equal(client.stats.coalesced, 2);
});

t.test('an unresponsive server times out into TANDEM_ERR_RESOLVE after every try', async (t) => {
  const { server, client } = await setup(t, {}, { timeoutMs: 80, attempts: 2 });
  server.behaviours.set('*', 'silent');
  const start = performance.now();
  const why = await codeOf(client.lookup('slow.test', 'A'));
  const elapsed = performance.now() - start;
  t.match(
    why,
    /^TANDEM_ERR_RESOLVE: Cannot resolve: slow\.test: A query failed \(.*timed out after 80 ms\)$/,
  );
  t.equal(server.count('slow.test', 'A'), 2, 'one try per attempt');
  t.ok(elapsed >= 150 && elapsed < 2000, `took ${elapsed.toFixed(0)} ms`);
  t.equal(client.stats.timeouts, 2);
  t.equal(client.stats.failures, 1);
});

t.test('forged and mismatched datagrams are ignored; the real answer wins', async (t) => {
  const { server, client } = await setup(t, { records: [rr.a('target.test', '192.0.2.10')] });
  server.behaviours.set('target.test A', 'spoof-first');
  const res = await client.lookup('target.test', 'A');
  t.same(res.records, ['192.0.2.10']);
  t.ok(client.stats.ignored >= 4, `ignored ${client.stats.ignored}`);
});

t.test('a truncated UDP answer is asked again over TCP', async (t) => {
  const records = Array.from({ length: 40 }, (_, i) => rr.a('big.test', `198.51.100.${i + 1}`));
  const { server, client } = await setup(t, { records });
  server.behaviours.set('big.test A', 'truncate');
  const res = await client.lookup('big.test', 'A');
  t.equal(res.records.length, 40);
  t.equal(server.count('big.test', 'A', 'udp'), 1);
  t.equal(server.count('big.test', 'A', 'tcp'), 1);
  t.equal(client.stats.truncated, 1);
  t.equal(client.stats.tcpQueries, 1);
});

/**
 * A peer that answers every UDP query truncated, and serves TCP with `onTcp` (given the
 * query's bytes without the length prefix), on one port.
 */
async function truncatingPeer(
  t: Test,
  onTcp: ((sock: net.Socket, query: Buffer) => void) | null,
): Promise<number> {
  const tcp = net.createServer((sock) => {
    sock.on('data', (data) => {
      onTcp?.(sock, data.subarray(2));
    });
    sock.on('error', () => undefined);
  });
  await new Promise<void>((resolve) => tcp.listen(0, '127.0.0.1', resolve));
  const port = (tcp.address() as net.AddressInfo).port;
  if (onTcp === null) {
    // Nobody listens on TCP: the connection is refused.
    await new Promise<void>((resolve) =>
      tcp.close(() => {
        resolve();
      }),
    );
  }
  const udp = dgram.createSocket('udp4');
  await new Promise<void>((resolve) => udp.bind(port, '127.0.0.1', resolve));
  udp.on('message', (msg, rinfo) => {
    const reply = Buffer.from(msg);
    reply[2] = 0x83; // QR, TC, RD
    udp.send(reply, rinfo.port, rinfo.address);
  });
  t.teardown(async () => {
    await new Promise<void>((resolve) => udp.close(resolve));
    if (tcp.listening) {
      await new Promise<void>((resolve) =>
        tcp.close(() => {
          resolve();
        }),
      );
    }
  });
  return port;
}

const framed = (b: Buffer): Buffer =>
  Buffer.concat([Buffer.from([b.length >> 8, b.length & 0xff]), b]);

t.test('a TCP retry that fails counts as a failed try', async (t) => {
  const cases: [string, ((sock: net.Socket, query: Buffer) => void) | null, RegExp][] = [
    ['connection refused', null, /ECONNREFUSED/],
    ['closed at once', (sock) => sock.destroy(), /TCP connection closed before the answer/],
    [
      'garbage answer',
      (sock, query) => {
        sock.write(framed(Buffer.from([query[0]!, query[1]!, 0x81])));
      },
      /undecodable TCP answer/,
    ],
    [
      'answer with another id',
      (sock, query) => {
        const reply = Buffer.from(query);
        reply[0] = reply[0]! ^ 0xff;
        reply[2] = 0x81;
        // Split in two writes: the client reassembles the length-prefixed frame.
        const whole = framed(reply);
        sock.write(whole.subarray(0, 1));
        setTimeout(() => sock.write(whole.subarray(1)), 5);
      },
      /mismatched TCP answer/,
    ],
  ];
  for (const [name, onTcp, expected] of cases) {
    const port = await truncatingPeer(t, onTcp);
    const client = new DnsClient({
      servers: [`127.0.0.1:${port}`],
      hostsFile: null,
      timeoutMs: 500,
      attempts: 1,
    });
    t.match(await codeOf(client.lookup('tc.test', 'A')), expected, name);
    t.equal(client.stats.truncated, 1);
    client.close();
  }
});

t.test('a send error fails the try at once', async (t) => {
  // Sending to the broadcast address without SO_BROADCAST fails in the send callback.
  const client = new DnsClient({ servers: ['255.255.255.255:53'], hostsFile: null, attempts: 1 });
  t.teardown(() => {
    client.close();
  });
  const start = performance.now();
  t.match(
    await codeOf(client.lookup('x.test', 'A')),
    /^TANDEM_ERR_RESOLVE: .*255\.255\.255\.255:53: /,
  );
  t.ok(performance.now() - start < 1500, 'no timeout waited');
});

t.test('a silent TCP server times out', async (t) => {
  const { server, client } = await setup(t, {}, { timeoutMs: 80, attempts: 1 });
  server.behaviours.set('quiet.test A', 'truncate');
  server.tcpSilent = true;
  t.match(await codeOf(client.lookup('quiet.test', 'A')), /TCP timed out after 80 ms/);
  t.equal(server.count('quiet.test', 'A', 'tcp'), 1);
});

t.test('SERVFAIL from one server moves on to the next', async (t) => {
  const bad = await startDnsServer({ records: [rr.a('two.test', '192.0.2.66')] });
  const good = await startDnsServer({ records: [rr.a('two.test', '192.0.2.2')] });
  bad.behaviours.set('*', 'servfail');
  const client = new DnsClient({ servers: [bad.spec, good.spec], hostsFile: null, timeoutMs: 500 });
  t.teardown(async () => {
    client.close();
    await bad.close();
    await good.close();
  });
  t.same((await client.lookup('two.test', 'A')).records, ['192.0.2.2']);
  t.equal(bad.count('two.test', 'A'), 1);
  t.equal(good.count('two.test', 'A'), 1);
  const both = new DnsClient({ servers: [bad.spec], hostsFile: null, attempts: 2 });
  t.teardown(() => {
    both.close();
  });
  t.match(await codeOf(both.lookup('two.test', 'A')), /answered SERVFAIL/);
});

t.test('CNAME chains are followed to the records of the canonical name', async (t) => {
  const { client } = await setup(t, {
    records: [
      rr.cname('alias.test', 'mid.test', 100),
      rr.cname('mid.test', 'real.test', 100),
      rr.a('real.test', '192.0.2.5', 100),
      rr.srv('_sip._udp.alias.test', 1, 1, 5060, 'Real.Test.'),
      rr.a('other.test', '192.0.2.99'),
    ],
  });
  t.same((await client.lookup('alias.test', 'A')).records, ['192.0.2.5']);
  const srv = await client.lookup('_sip._udp.alias.test', 'SRV');
  t.same(srv.records, [{ priority: 1, weight: 1, port: 5060, target: 'real.test' }]);
});

t.test('the hosts file answers A and AAAA before DNS', async (t) => {
  const dir = mkdtempSync(join(tmpdir(), 'tandem-hosts-'));
  t.teardown(() => {
    rmSync(dir, { recursive: true });
  });
  writeFileSync(join(dir, 'hosts'), '192.0.2.80 gw.local\n2001:db8::80 gw.local\n');
  const { server, client } = await setup(t, {}, { hostsFile: join(dir, 'hosts') });
  t.same((await client.lookup('GW.local', 'A')).records, ['192.0.2.80']);
  t.same((await client.lookup('gw.local', 'AAAA')).records, ['2001:db8::80']);
  t.equal(server.total(), 0);
  const missing = new DnsClient({ servers: [server.spec], hostsFile: join(dir, 'nope') });
  t.teardown(() => {
    missing.close();
  });
  t.equal((await missing.lookup('gw.local', 'A')).exists, false, 'unreadable hosts file: DNS only');
});

t.test('the cache is bounded: the least recently used name goes first', async (t) => {
  const { server, client } = await setup(
    t,
    {
      records: [
        rr.a('a.test', '192.0.2.1'),
        rr.a('b.test', '192.0.2.2'),
        rr.a('c.test', '192.0.2.3'),
      ],
    },
    { cacheSize: 2 },
  );
  await client.lookup('a.test', 'A');
  await client.lookup('b.test', 'A');
  await client.lookup('a.test', 'A');
  await client.lookup('c.test', 'A');
  await client.lookup('a.test', 'A');
  t.equal(server.count('a.test', 'A'), 1, 'a was used recently and stayed');
  await client.lookup('b.test', 'A');
  t.equal(server.count('b.test', 'A'), 2, 'b was evicted');
});

t.test('invalid names, closed clients and pending lookups at close', async (t) => {
  const { server, client } = await setup(t, { records: [rr.a('x.test', '192.0.2.1')] });
  t.match(
    await codeOf(client.lookup('bad..name', 'A')),
    /^TANDEM_ERR_RESOLVE: .*not a valid domain name/,
  );
  server.behaviours.set('*', 'silent');
  const pending = client.lookup('x.test', 'A');
  const tcpPending = (async () => {
    server.behaviours.set('y.test A', 'truncate');
    server.tcpSilent = true;
    return codeOf(client.lookup('y.test', 'A'));
  })();
  await new Promise((r) => setTimeout(r, 30));
  client.close();
  client.close();
  t.match(await codeOf(pending), /TANDEM_ERR_RESOLVE.*closed/);
  t.match(await tcpPending, /TANDEM_ERR_RESOLVE.*closed/);
  t.match(await codeOf(client.lookup('x.test', 'A')), /^TANDEM_ERR_INVALID_STATE/);
});

/** Whether this host has an IPv6 loopback to bind (containers often do not). */
async function hasIpv6Loopback(): Promise<boolean> {
  const sock = dgram.createSocket('udp6');
  const ok = await new Promise<boolean>((resolve) => {
    sock.once('error', () => {
      resolve(false);
    });
    sock.bind(0, '::1', () => {
      resolve(true);
    });
  });
  sock.close();
  return ok;
}

t.test(
  'an IPv6 server on ::1',
  { skip: (await hasIpv6Loopback()) ? false : 'no IPv6 loopback here' },
  async (t) => {
    const server = await startDnsServer({
      host: '::1',
      records: [rr.aaaa('v6.test', '2001:db8::1')],
    });
    const client = new DnsClient({ servers: [server.spec], hostsFile: null });
    t.teardown(async () => {
      client.close();
      await server.close();
    });
    t.same((await client.lookup('v6.test', 'AAAA')).records, ['2001:db8::1']);
    t.equal(server.count('v6.test', 'AAAA', 'udp'), 1);
  },
);
