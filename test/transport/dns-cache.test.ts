import t from 'tap';
import type { Clock } from '../../src/core/clock.js';
import {
  DnsCache,
  cacheKey,
  interpret,
  negativeTtl,
  positiveTtl,
} from '../../src/transport/dns-cache.js';

const clockAt = (ref: { t: number }): Clock => ({
  now: () => ref.t,
  setTimer: () => ({ cancel: () => undefined }),
});

t.test('entries expire on the clock and the least recently used is evicted', async (t) => {
  const time = { t: 0 };
  const cache = new DnsCache<string>(clockAt(time), 2);
  cache.set('a', 'A', 10);
  cache.set('b', 'B', 5);
  t.equal(cache.get('a'), 'A');
  cache.set('c', 'C', 10);
  t.equal(cache.get('b'), undefined, 'b was least recently used');
  t.equal(cache.size, 2);
  time.t = 9_999;
  t.equal(cache.get('c'), 'C');
  time.t = 10_000;
  t.equal(cache.get('c'), undefined, 'expired exactly at the TTL');
  t.equal(cache.size, 1, 'the expired entry was dropped');
  cache.set('z', 'Z', 0);
  t.equal(cache.get('z'), undefined, 'TTL 0 is not stored');
  cache.set('a', 'A2', 10);
  cache.set('a', 'A3', 0);
  t.equal(cache.get('a'), undefined, 'TTL 0 replaces an older entry');
  cache.set('x', 'X', 1);
  cache.clear();
  t.equal(cache.size, 0);
  t.equal(new DnsCache<string>(clockAt(time), 0).size, 0);
  const one = new DnsCache<string>(clockAt(time), 0);
  one.set('p', 'P', 1);
  one.set('q', 'Q', 1);
  t.equal(one.get('q'), 'Q', 'a size below 1 still holds one entry');
  t.equal(cacheKey('Example.TEST', 'SRV'), 'SRV example.test');
});

t.test('TTL rules', async (t) => {
  t.equal(positiveTtl([300, 60, 3600]), 60);
  t.equal(positiveTtl([10 ** 7]), 86_400, 'bounded');
  t.equal(positiveTtl([-5]), 0);
  t.equal(negativeTtl(null), 30);
  t.equal(negativeTtl({ ttl: 100, minimum: 200 }), 100);
  t.equal(negativeTtl({ ttl: 900, minimum: 200 }), 200);
  t.equal(negativeTtl({ ttl: 9000, minimum: 9000 }), 300);
  t.equal(
    negativeTtl(
      { ttl: 9000, minimum: 9000 },
      { maxTtl: 1, maxNegativeTtl: 60, defaultNegativeTtl: 5 },
    ),
    60,
  );
});

t.test(
  'interpret: records of the type at the end of the CNAME chain, additional addresses',
  async (t) => {
    const { result, ttl } = interpret(
      {
        type: 'response',
        flags: 0,
        flag_qr: true,
        flag_aa: true,
        flag_tc: false,
        flag_rd: true,
        flag_ra: true,
        flag_z: false,
        flag_ad: false,
        flag_cd: false,
        answers: [
          { type: 'CNAME', name: 'Svc.Test', ttl: 50, data: 'Real.Test.' },
          { type: 'SRV', name: 'real.test', ttl: 100, data: { port: 5060, target: 'H.Test.' } },
          { type: 'SRV', name: 'elsewhere.test', ttl: 1, data: { port: 1, target: 'x.test' } },
          { type: 'TXT', name: 'real.test', ttl: 1, data: 'ignored' },
        ],
        additionals: [
          { type: 'A', name: 'H.test', ttl: 40, data: '192.0.2.1' },
          { type: 'AAAA', name: 'h.test', ttl: 80, data: '2001:db8::1' },
          { type: 'TXT', name: 'h.test', ttl: 1, data: 'ignored' },
        ],
      },
      'svc.test',
      'SRV',
    );
    t.same(result.records, [{ priority: 0, weight: 0, port: 5060, target: 'h.test' }]);
    t.same(result.additional, [
      { name: 'h.test', family: 4, address: '192.0.2.1' },
      { name: 'h.test', family: 6, address: '2001:db8::1' },
    ]);
    t.equal(ttl, 40);
  },
);

t.test('interpret: NAPTR data, a root SRV target, and a CNAME loop', async (t) => {
  const base = {
    type: 'response' as const,
    flags: 0,
    flag_qr: true,
    flag_aa: true,
    flag_tc: false,
    flag_rd: true,
    flag_ra: true,
    flag_z: false,
    flag_ad: false,
    flag_cd: false,
  };
  const naptr = interpret(
    {
      ...base,
      answers: [
        {
          type: 'NAPTR',
          name: 'n.test',
          ttl: 20,
          data: {
            order: 1,
            preference: 2,
            flags: 's',
            services: 'SIP+D2U',
            regexp: '',
            replacement: '_SIP._udp.N.test.',
          },
        },
      ],
    },
    'n.test',
    'NAPTR',
  );
  t.same(naptr.result.records, [
    {
      order: 1,
      preference: 2,
      flags: 's',
      services: 'SIP+D2U',
      regexp: '',
      replacement: '_sip._udp.n.test',
    },
  ]);
  const root = interpret(
    {
      ...base,
      answers: [{ type: 'SRV', name: 's.test', ttl: 20, data: { port: 0, target: '.' } }],
    },
    's.test',
    'SRV',
  );
  t.same(root.result.records, [{ priority: 0, weight: 0, port: 0, target: '.' }]);
  const loop = interpret(
    {
      ...base,
      answers: [
        { type: 'CNAME', name: 'l1.test', ttl: 20, data: 'l2.test' },
        { type: 'CNAME', name: 'l2.test', ttl: 20, data: 'l1.test' },
      ],
      authorities: [{ type: 'SOA', name: 'test', ttl: 10, data: { mname: 'a', rname: 'b' } }],
    },
    'l1.test',
    'A',
  );
  t.same(loop.result, { name: 'l1.test', type: 'A', exists: true, records: [], additional: [] });
  t.equal(loop.ttl, 0, 'SOA without MINIMUM: not cached');
});
