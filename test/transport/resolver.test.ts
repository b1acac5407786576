import t, { type Test } from 'tap';
import { ManualClock } from '../helpers/manual-clock.js';
import { TandemError } from '../../src/core/errors.js';
import { parseUri, type SipUri } from '../../src/sip/index.js';
import {
  Resolver,
  defaultPort,
  type ResolveInput,
  type ResolverOptions,
} from '../../src/transport/resolver.js';
import {
  rr,
  startDnsServer,
  type DnsServerOptions,
  type TestDnsServer,
} from '../helpers/dns-server.js';

function sip(text: string): SipUri {
  const uri = parseUri(text);
  if (uri.kind !== 'sip') {
    throw new Error(`not a SIP URI: ${text}`);
  }
  return uri;
}

/** Targets as `protocol address port` strings, easy to compare as a list. */
async function targets(r: Resolver, uri: SipUri | ResolveInput): Promise<string[]> {
  return (await r.resolve(uri)).map((x) => `${x.protocol} ${x.address} ${x.port}`);
}

async function failure(p: Promise<unknown>): Promise<string> {
  try {
    await p;
  } catch (err) {
    return err instanceof TandemError ? `${err.code}: ${err.message}` : String(err);
  }
  return 'no error';
}

async function setup(
  t: Test,
  zone: DnsServerOptions,
  opts: ResolverOptions = {},
): Promise<{ server: TestDnsServer; resolver: Resolver; clock: ManualClock }> {
  const server = await startDnsServer(zone);
  const clock = new ManualClock(5_000_000);
  const resolver = new Resolver({
    servers: [server.spec],
    clock,
    hostsFile: null,
    timeoutMs: 1000,
    ...opts,
  });
  t.teardown(async () => {
    resolver.close();
    await server.close();
  });
  return { server, resolver, clock };
}

/** A zone with NAPTR, SRV and address records for example.test, as a SIP provider publishes. */
const providerZone = (): DnsServerOptions => ({
  records: [
    rr.naptr('example.test', 30, 10, 'SIP+D2U', '_sip._udp.example.test'),
    rr.naptr('example.test', 10, 20, 'SIPS+D2T', '_sips._tcp.example.test'),
    rr.naptr('example.test', 10, 10, 'SIP+D2T', '_sip._tcp.example.test'),
    rr.naptr('example.test', 5, 10, 'SIP+D2S', '_sip._sctp.example.test'),
    rr.naptr('example.test', 1, 10, 'SIP+D2U', 'regexp.example.test', 'U'),
    rr.srv('_sip._udp.example.test', 10, 0, 5060, 'udp1.example.test'),
    rr.srv('_sip._tcp.example.test', 20, 0, 5070, 'tcp2.example.test'),
    rr.srv('_sip._tcp.example.test', 10, 0, 5060, 'tcp1.example.test'),
    rr.srv('_sips._tcp.example.test', 10, 0, 5061, 'tls1.example.test'),
    rr.srv('_sip._sctp.example.test', 10, 0, 5060, 'sctp.example.test'),
    rr.a('udp1.example.test', '192.0.2.11'),
    rr.a('tcp1.example.test', '192.0.2.21'),
    rr.aaaa('tcp1.example.test', '2001:db8::21'),
    rr.a('tcp2.example.test', '192.0.2.22'),
    rr.a('tls1.example.test', '192.0.2.31'),
    rr.a('sctp.example.test', '192.0.2.41'),
  ],
});

t.test('numeric IP targets need no DNS', async (t) => {
  const { server, resolver } = await setup(t, {});
  t.same(await targets(resolver, sip('sip:alice@192.0.2.1')), ['udp 192.0.2.1 5060']);
  t.same(await targets(resolver, sip('sips:alice@192.0.2.1')), ['tls 192.0.2.1 5061']);
  t.same(await targets(resolver, sip('sip:192.0.2.1:5080;transport=TCP')), ['tcp 192.0.2.1 5080']);
  t.same(await targets(resolver, sip('sips:192.0.2.1;transport=tcp')), ['tls 192.0.2.1 5061']);
  t.same(await targets(resolver, sip('sip:[2001:DB8::1]')), ['udp 2001:db8::1 5060']);
  t.same(await targets(resolver, sip('sip:[2001:db8::1]:5070;transport=tls')), [
    'tls 2001:db8::1 5070',
  ]);
  t.same(await targets(resolver, { host: '[::1]', port: null, secure: true }), ['tls ::1 5061']);
  const [first] = await resolver.resolve(sip('sips:bob@192.0.2.9'));
  t.equal(first?.serverName, '192.0.2.9');
  t.equal(server.total(), 0, 'no query sent');
});

t.test('resolveNumeric answers IP targets at once and leaves names to resolve()', async (t) => {
  const { server, resolver } = await setup(t, {});
  const now = resolver.resolveNumeric(sip('sip:192.0.2.1:5080;transport=tcp'));
  t.same(
    now?.map((x) => `${x.protocol} ${x.address} ${x.port}`),
    ['tcp 192.0.2.1 5080'],
  );
  t.same(
    resolver
      .resolveNumeric({ host: '[2001:db8::1]', port: null, secure: true })
      ?.map((x) => x.port),
    [5061],
  );
  t.equal(resolver.resolveNumeric(sip('sip:alice@example.com')), null, 'a name needs DNS');
  t.throws(() => resolver.resolveNumeric(sip('sips:192.0.2.1;transport=udp')), {
    code: 'TANDEM_ERR_RESOLVE',
  });
  t.equal(server.total(), 0, 'no query sent');
  resolver.close();
  t.throws(() => resolver.resolveNumeric(sip('sip:192.0.2.1')), {
    code: 'TANDEM_ERR_INVALID_STATE',
  });
});

t.test('a name with an explicit port: A/AAAA only, UDP for sip and TLS for sips', async (t) => {
  const { server, resolver } = await setup(t, providerZone());
  t.same(await targets(resolver, sip('sip:tcp1.example.test:5090')), [
    'udp 192.0.2.21 5090',
    'udp 2001:db8::21 5090',
  ]);
  t.same(await targets(resolver, sip('sips:tcp1.example.test:5091')), [
    'tls 192.0.2.21 5091',
    'tls 2001:db8::21 5091',
  ]);
  t.same(await targets(resolver, sip('sip:tcp1.example.test:5092;transport=tcp')), [
    'tcp 192.0.2.21 5092',
    'tcp 2001:db8::21 5092',
  ]);
  t.equal(server.count('tcp1.example.test', 'NAPTR'), 0);
  t.equal(server.count('_sip._udp.tcp1.example.test', 'SRV'), 0);
  t.equal(server.count('tcp1.example.test', 'A'), 1, 'cached across the three');
});

t.test('NAPTR -> SRV -> A: order, then preference, then SRV priority', async (t) => {
  const { server, resolver } = await setup(t, providerZone());
  const found = await resolver.resolve(sip('sip:alice@Example.Test'));
  t.same(
    found.map((x) => `${x.protocol} ${x.address} ${x.port}`),
    [
      // order 10 pref 10: SIP+D2T, SRV priority 10 then 20
      'tcp 192.0.2.21 5060',
      'tcp 2001:db8::21 5060',
      'tcp 192.0.2.22 5070',
      // order 10 pref 20: SIPS+D2T
      'tls 192.0.2.31 5061',
      // order 30: SIP+D2U
      'udp 192.0.2.11 5060',
    ],
    'SCTP (unsupported) and the U-flag record are skipped',
  );
  t.ok(
    found.every((x) => x.serverName === 'example.test'),
    'the URI host is the TLS identity',
  );
  t.equal(server.count('_sip._sctp.example.test', 'SRV'), 0);
  t.equal(server.count('_sip._udp.tcp1.example.test', 'SRV'), 0);
});

t.test('only the supported transports are used', async (t) => {
  const { resolver } = await setup(t, providerZone(), { supported: ['udp'] });
  t.same(await targets(resolver, sip('sip:example.test')), ['udp 192.0.2.11 5060']);
  t.match(await failure(resolver.resolve(sip('sips:example.test'))), /transport tls not supported/);
  t.match(
    await failure(resolver.resolve(sip('sip:example.test;transport=tcp'))),
    /^TANDEM_ERR_RESOLVE: Cannot resolve: example\.test: transport tcp not supported$/,
  );
});

t.test('sips: only SIPS+ NAPTR services and _sips SRV, all over TLS', async (t) => {
  const { server, resolver } = await setup(t, providerZone());
  t.same(await targets(resolver, sip('sips:example.test')), ['tls 192.0.2.31 5061']);
  const bare = await setup(t, {
    records: [
      rr.a('plain.test', '192.0.2.50'),
      rr.srv('_sip._udp.plain.test', 1, 1, 5060, 'plain.test'),
      rr.srv('_sips._tcp.plain.test', 1, 1, 5071, 'plain.test'),
    ],
  });
  t.same(await targets(bare.resolver, sip('sips:plain.test')), ['tls 192.0.2.50 5071']);
  t.equal(bare.server.count('_sip._udp.plain.test', 'SRV'), 0, 'no _sip query for a SIPS URI');
  t.equal(server.count('example.test', 'NAPTR'), 1);
  t.match(
    await failure(bare.resolver.resolve(sip('sips:plain.test;transport=udp'))),
    /sips URI with transport=udp/,
  );
});

t.test('no NAPTR: SRV for TLS, TCP and UDP in that order', async (t) => {
  const { server, resolver } = await setup(t, {
    records: [
      rr.a('srv.test', '192.0.2.60'),
      rr.srv('_sip._udp.srv.test', 1, 1, 5060, 'u.srv.test'),
      rr.srv('_sip._tcp.srv.test', 1, 1, 5062, 't.srv.test'),
      rr.a('u.srv.test', '192.0.2.61'),
      rr.a('t.srv.test', '192.0.2.62'),
    ],
  });
  t.same(await targets(resolver, sip('sip:srv.test')), [
    'tcp 192.0.2.62 5062',
    'udp 192.0.2.61 5060',
  ]);
  t.equal(server.count('srv.test', 'NAPTR'), 1);
  t.equal(server.count('_sips._tcp.srv.test', 'SRV'), 1);
});

t.test('no NAPTR and no SRV: A/AAAA at the default port over UDP (TLS for sips)', async (t) => {
  const { resolver } = await setup(t, {
    records: [rr.a('host.test', '192.0.2.70'), rr.aaaa('host.test', '2001:db8::70')],
  });
  t.same(await targets(resolver, sip('sip:host.test')), [
    'udp 192.0.2.70 5060',
    'udp 2001:db8::70 5060',
  ]);
  t.same(await targets(resolver, sip('sips:host.test')), [
    'tls 192.0.2.70 5061',
    'tls 2001:db8::70 5061',
  ]);
});

t.test('AAAA results and family preference', async (t) => {
  const zone = {
    records: [
      rr.aaaa('six.test', '2001:db8::6'),
      rr.a('dual.test', '192.0.2.46'),
      rr.aaaa('dual.test', '2001:db8::46'),
    ],
  };
  const { resolver } = await setup(t, zone);
  t.same(await targets(resolver, sip('sip:six.test')), ['udp 2001:db8::6 5060']);
  const v6first = await setup(t, zone, { families: [6, 4] });
  t.same(await targets(v6first.resolver, sip('sip:dual.test')), [
    'udp 2001:db8::46 5060',
    'udp 192.0.2.46 5060',
  ]);
  const v4only = await setup(t, zone, { families: [4] });
  t.same(await targets(v4only.resolver, sip('sip:dual.test')), ['udp 192.0.2.46 5060']);
  t.equal(v4only.server.count('dual.test', 'AAAA'), 0);
  t.throws(() => new Resolver({ servers: ['127.0.0.1'], families: [] }), {
    code: 'TANDEM_ERR_INVALID_ARGUMENT',
  });
});

t.test('a transport parameter without a port: SRV for that transport, else A/AAAA', async (t) => {
  const { server, resolver } = await setup(t, providerZone(), {
    supported: ['udp', 'tcp', 'tls', 'ws', 'wss'],
  });
  t.same(await targets(resolver, sip('sip:example.test;transport=tcp')), [
    'tcp 192.0.2.21 5060',
    'tcp 2001:db8::21 5060',
    'tcp 192.0.2.22 5070',
  ]);
  t.equal(server.count('example.test', 'NAPTR'), 0, 'transport given: no NAPTR');
  t.same(await targets(resolver, sip('sips:example.test;transport=tcp')), ['tls 192.0.2.31 5061']);
  t.same(await targets(resolver, sip('sip:udp1.example.test;transport=tcp')), [
    'tcp 192.0.2.11 5060',
  ]);
  t.same(await targets(resolver, sip('sip:udp1.example.test;transport=tls')), [
    'tls 192.0.2.11 5061',
  ]);
  t.same(await targets(resolver, sip('sip:udp1.example.test;transport=ws')), ['ws 192.0.2.11 80']);
  t.same(await targets(resolver, sip('sips:udp1.example.test;transport=ws')), [
    'wss 192.0.2.11 443',
  ]);
  t.same(await targets(resolver, { host: 'udp1.example.test', port: 8443, transport: 'wss' }), [
    'wss 192.0.2.11 8443',
  ]);
  t.equal(server.count('_sip._ws.udp1.example.test', 'SRV'), 1);
  t.match(
    await failure(resolver.resolve(sip('sip:example.test;transport=sctp'))),
    /transport sctp not supported/,
  );
  t.same([defaultPort('udp'), defaultPort('tcp'), defaultPort('tls')], [5060, 5060, 5061]);
});

t.test('maddr replaces the host as the target', async (t) => {
  const { server, resolver } = await setup(t, providerZone());
  const found = await resolver.resolve(sip('sip:alice@example.test;maddr=192.0.2.99'));
  t.same(
    found.map((x) => `${x.protocol} ${x.address} ${x.port} ${x.serverName}`),
    ['udp 192.0.2.99 5060 example.test'],
  );
  t.same(await targets(resolver, { host: 'x.invalid', port: 5070, maddr: 'udp1.example.test' }), [
    'udp 192.0.2.11 5070',
  ]);
  t.equal(server.count('example.test', 'NAPTR'), 0);
});

t.test('SRV targets take their addresses from the additional section when present', async (t) => {
  const { server, resolver } = await setup(t, { ...providerZone(), additionals: true });
  t.same(await targets(resolver, sip('sip:example.test;transport=tcp')), [
    'tcp 192.0.2.21 5060',
    'tcp 2001:db8::21 5060',
    'tcp 192.0.2.22 5070',
  ]);
  t.equal(server.count('tcp1.example.test', 'A'), 0);
  t.equal(server.count('tcp1.example.test', 'AAAA'), 0);
});

t.test('SRV edge cases: "." targets, numeric targets, targets without addresses', async (t) => {
  const { resolver } = await setup(t, {
    records: [
      rr.a('edge.test', '192.0.2.80'),
      rr.srv('_sip._udp.edge.test', 1, 0, 5060, '.'),
      rr.srv('_sip._udp.edge.test', 2, 0, 5061, 'missing.edge.test'),
      rr.srv('_sip._udp.edge.test', 3, 0, 5062, '192.0.2.81'),
      rr.srv('_sip._udp.edge.test', 4, 0, 5063, 'edge.test'),
      rr.srv('_sip._udp.dot.test', 1, 0, 5060, '.'),
      rr.a('dot.test', '192.0.2.90'),
    ],
  });
  t.same(await targets(resolver, sip('sip:edge.test;transport=udp')), [
    'udp 192.0.2.81 5062',
    'udp 192.0.2.80 5063',
  ]);
  t.same(
    await targets(resolver, sip('sip:dot.test;transport=udp')),
    ['udp 192.0.2.90 5060'],
    'a service declared absent falls back to A at the default port',
  );
});

t.test('duplicates are dropped; blacklisted targets go last until they expire', async (t) => {
  const { resolver, clock } = await setup(t, {
    records: [
      rr.srv('_sip._udp.dup.test', 1, 0, 5060, 'one.dup.test'),
      rr.srv('_sip._udp.dup.test', 2, 0, 5060, 'one.dup.test'),
      rr.srv('_sip._udp.dup.test', 3, 0, 5060, 'two.dup.test'),
      rr.a('one.dup.test', '192.0.2.1'),
      rr.a('two.dup.test', '192.0.2.2'),
    ],
  });
  const uri = sip('sip:dup.test;transport=udp');
  t.same(await targets(resolver, uri), ['udp 192.0.2.1 5060', 'udp 192.0.2.2 5060']);
  resolver.blacklist({ protocol: 'udp', address: '192.0.2.1', port: 5060 }, 30_000);
  t.ok(resolver.isBlacklisted({ protocol: 'udp', address: '192.0.2.1', port: 5060 }));
  t.notOk(resolver.isBlacklisted({ protocol: 'tcp', address: '192.0.2.1', port: 5060 }));
  t.same(await targets(resolver, uri), ['udp 192.0.2.2 5060', 'udp 192.0.2.1 5060']);
  clock.t += 30_000;
  t.same(await targets(resolver, uri), ['udp 192.0.2.1 5060', 'udp 192.0.2.2 5060']);
  t.notOk(resolver.isBlacklisted({ protocol: 'udp', address: '192.0.2.1', port: 5060 }));
  for (let i = 0; i < 1100; i++) {
    resolver.blacklist({ protocol: 'udp', address: '192.0.2.200', port: i + 1 }, 1000);
  }
  t.notOk(
    resolver.isBlacklisted({ protocol: 'udp', address: '192.0.2.200', port: 1 }),
    'oldest forgotten',
  );
  t.ok(resolver.isBlacklisted({ protocol: 'udp', address: '192.0.2.200', port: 1100 }));
});

t.test(
  'a name that does not exist: TANDEM_ERR_RESOLVE naming NXDOMAIN, no SRV asked',
  async (t) => {
    const { server, resolver } = await setup(t, { records: [rr.a('exists.test', '192.0.2.1')] });
    t.equal(
      await failure(resolver.resolve(sip('sip:nobody.test'))),
      'TANDEM_ERR_RESOLVE: Cannot resolve: nobody.test: no such domain (NXDOMAIN)',
    );
    t.equal(server.count('_sip._udp.nobody.test', 'SRV'), 0);
    t.same(await targets(resolver, sip('sip:exists.test')), ['udp 192.0.2.1 5060']);
  },
);

t.test('a name without addresses, and names that cannot be asked', async (t) => {
  const { resolver } = await setup(t, {
    records: [rr.srv('_sip._udp.noaddr.test', 1, 1, 5060, 'nowhere.noaddr.test')],
  });
  t.equal(
    await failure(resolver.resolve(sip('sip:noaddr.test:5060'))),
    'TANDEM_ERR_RESOLVE: Cannot resolve: noaddr.test: no A or AAAA records',
  );
  t.match(
    await failure(resolver.resolve(sip('sip:noaddr.test'))),
    /noaddr\.test: no A or AAAA records/,
  );
  t.match(
    await failure(resolver.resolve({ host: `${'x'.repeat(70)}.test`, port: 5060 })),
    /not a valid domain name/,
  );
});

t.test('an unresponsive DNS server: TANDEM_ERR_RESOLVE after the timeouts', async (t) => {
  const { server, resolver } = await setup(t, {}, { timeoutMs: 60, attempts: 1 });
  server.behaviours.set('*', 'silent');
  const start = performance.now();
  const why = await failure(resolver.resolve(sip('sip:dead.test')));
  const elapsed = performance.now() - start;
  t.match(
    why,
    /^TANDEM_ERR_RESOLVE: Cannot resolve: dead\.test: (A|AAAA) query failed \(.*timed out after 60 ms\)$/,
  );
  t.ok(elapsed < 3000, `gave up after ${elapsed.toFixed(0)} ms`);
  t.equal(server.count('dead.test', 'NAPTR'), 1);
  t.equal(server.count('_sip._udp.dead.test', 'SRV'), 1);
  t.equal(server.count('dead.test', 'A'), 1);
});

t.test('a second resolution is served from the cache until the TTL ends', async (t) => {
  const { server, resolver, clock } = await setup(t, {
    records: [
      rr.naptr('ttl.test', 10, 10, 'SIP+D2U', '_sip._udp.ttl.test', 'S', 120),
      rr.srv('_sip._udp.ttl.test', 1, 1, 5060, 'a.ttl.test', 120),
      rr.a('a.ttl.test', '192.0.2.33', 120),
    ],
  });
  t.same(await targets(resolver, sip('sip:ttl.test')), ['udp 192.0.2.33 5060']);
  const after = server.total();
  t.same(await targets(resolver, sip('sip:ttl.test')), ['udp 192.0.2.33 5060']);
  t.equal(server.total(), after, 'no query the second time');
  clock.t += 120_000;
  await targets(resolver, sip('sip:ttl.test'));
  t.equal(server.count('ttl.test', 'NAPTR'), 2);
  t.equal(server.count('a.ttl.test', 'A'), 2);
  t.ok(resolver.dns.stats.cacheHits >= 3);
});

t.test('close rejects what is pending and refuses new work', async (t) => {
  const { server, resolver } = await setup(t, {});
  server.behaviours.set('*', 'silent');
  const pending = resolver.resolve(sip('sip:hang.test:5060'));
  await new Promise((r) => setTimeout(r, 20));
  resolver.close();
  t.match(await failure(pending), /^TANDEM_ERR_RESOLVE: .*closed/);
  t.equal(
    await failure(resolver.resolve(sip('sip:hang.test:5060'))),
    'TANDEM_ERR_INVALID_STATE: Invalid state: resolver is closed',
  );
  resolver.close();
});
