import t from 'tap';
import { orderSrv, Resolver } from '../../src/transport/resolver.js';
import type { SrvRecord } from '../../src/transport/dns-client.js';
import { rr, startDnsServer } from '../helpers/dns-server.js';

const srv = (priority: number, weight: number, target: string): SrvRecord => ({
  priority,
  weight,
  port: 5060,
  target,
});

/** A deterministic PRNG (mulberry32), so weighted choices are reproducible. */
function seeded(seed: number): () => number {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let x = a;
    x = Math.imul(x ^ (x >>> 15), x | 1);
    x ^= x + Math.imul(x ^ (x >>> 7), x | 61);
    return ((x ^ (x >>> 14)) >>> 0) / 4294967296;
  };
}

t.test('priority ascending, always', async (t) => {
  const records = [srv(30, 5, 'c'), srv(10, 1, 'a1'), srv(20, 0, 'b'), srv(10, 9, 'a2')];
  const random = seeded(1);
  for (let i = 0; i < 50; i++) {
    const order = orderSrv(records, random).map((r) => r.priority);
    t.same(order, [10, 10, 20, 30]);
  }
  t.same(orderSrv([], random), []);
});

t.test('the running-sum choice of RFC 2782, with a scripted random', async (t) => {
  const records = [srv(1, 10, 'a'), srv(1, 0, 'zero'), srv(1, 30, 'b')];
  // List is [zero, a, b]; sum 40, pick = floor(r * 41).
  const script = (values: number[]): (() => number) => {
    let i = 0;
    return () => values[i++] ?? 0;
  };
  t.same(
    orderSrv(records, script([0, 0])).map((r) => r.target),
    ['zero', 'a', 'b'],
    'pick 0 selects the weight-0 record first',
  );
  t.same(
    orderSrv(records, script([0.99, 0])).map((r) => r.target),
    ['b', 'zero', 'a'],
    'pick 40 selects the record whose running sum reaches 40',
  );
  t.same(
    orderSrv(records, script([5 / 41, 0.99])).map((r) => r.target),
    ['a', 'b', 'zero'],
  );
  t.same(
    orderSrv([srv(1, 0, 'x'), srv(1, 0, 'y')], script([0.7, 0.7])).map((r) => r.target),
    ['x', 'y'],
    'all weights 0: order kept',
  );
  t.same(
    orderSrv([srv(1, 1, 'x')], () => 0.999999).map((r) => r.target),
    ['x'],
  );
});

t.test('weights share the first place in proportion (statistical, generous bounds)', async (t) => {
  const records = [
    srv(1, 10, 'light'),
    srv(1, 30, 'heavy'),
    srv(1, 0, 'zero'),
    srv(2, 50, 'backup'),
  ];
  const random = seeded(20240601);
  const firsts = new Map<string, number>();
  const runs = 4000;
  let backupLast = 0;
  for (let i = 0; i < runs; i++) {
    const order = orderSrv(records, random);
    const first = order[0]!.target;
    firsts.set(first, (firsts.get(first) ?? 0) + 1);
    backupLast += order[3]!.target === 'backup' ? 1 : 0;
  }
  t.equal(backupLast, runs, 'the lower priority is never ahead');
  const share = (k: string): number => (firsts.get(k) ?? 0) / runs;
  t.comment(`first place: heavy ${share('heavy')}, light ${share('light')}, zero ${share('zero')}`);
  // Expected 30/41, 10/41, 1/41.
  t.ok(share('heavy') > 0.65 && share('heavy') < 0.8, 'heavy about 73 %');
  t.ok(share('light') > 0.18 && share('light') < 0.31, 'light about 24 %');
  t.ok(share('zero') > 0.005 && share('zero') < 0.06, 'weight 0 has a small chance');
});

t.test('the resolver applies the SRV order with its injected random', async (t) => {
  const server = await startDnsServer({
    records: [
      rr.srv('_sip._udp.lb.test', 1, 1, 5060, 'a.lb.test'),
      rr.srv('_sip._udp.lb.test', 1, 3, 5060, 'b.lb.test'),
      rr.srv('_sip._udp.lb.test', 0, 0, 5060, 'p.lb.test'),
      rr.a('a.lb.test', '192.0.2.1'),
      rr.a('b.lb.test', '192.0.2.2'),
      rr.a('p.lb.test', '192.0.2.3'),
    ],
  });
  let next = 0;
  const resolver = new Resolver({
    servers: [server.spec],
    hostsFile: null,
    random: () => next,
  });
  t.teardown(async () => {
    resolver.close();
    await server.close();
  });
  const uri = { host: 'lb.test', port: null, transport: 'udp' };
  next = 0;
  t.same(
    (await resolver.resolve(uri)).map((x) => x.address),
    ['192.0.2.3', '192.0.2.1', '192.0.2.2'],
  );
  next = 0.9;
  t.same(
    (await resolver.resolve(uri)).map((x) => x.address),
    ['192.0.2.3', '192.0.2.2', '192.0.2.1'],
  );
  t.equal(server.count('_sip._udp.lb.test', 'SRV'), 1, 'order recomputed, answer cached');
});
