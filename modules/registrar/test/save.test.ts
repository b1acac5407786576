/**
 * REGISTER processing (RFC 3261 §10.3) against the usrloc contract: expiry rules, 423,
 * `Contact: *`, Call-ID/CSeq ordering, max_contacts, Path (RFC 3327), bad input.
 */
import t from 'tap';
import { parseMessage, type SipRequest } from '../../../src/sip/index.js';
import { RX } from '../../../test/helpers/proxy-fakes.js';
import { registrarParams, type RegistrarParams } from '../params.js';
import { processRegister, type SaveStats } from '../save.js';
import { MemoryLocation } from './memory-location.js';

const T0 = Date.UTC(2026, 10, 22, 10, 0, 0);

function register(
  contacts: string[],
  opts: { expires?: number; cseq?: number; callId?: string; extra?: string[]; to?: string } = {},
): SipRequest {
  const lines = [
    'REGISTER sip:example.com SIP/2.0',
    'Via: SIP/2.0/UDP 192.0.2.10:5062;branch=z9hG4bKreg' + String(opts.cseq ?? 1),
    'Max-Forwards: 70',
    'From: <sip:alice@example.com>;tag=r1',
    `To: ${opts.to ?? '<sip:alice@Example.COM>'}`,
    `Call-ID: ${opts.callId ?? 'reg-1@192.0.2.10'}`,
    `CSeq: ${String(opts.cseq ?? 1)} REGISTER`,
    ...contacts.map((c) => `Contact: ${c}`),
    ...(opts.expires !== undefined ? [`Expires: ${String(opts.expires)}`] : []),
    ...(opts.extra ?? []),
    'Content-Length: 0',
    '',
    '',
  ];
  return parseMessage(Buffer.from(lines.join('\r\n'), 'latin1')) as SipRequest;
}

function setup(over: Partial<RegistrarParams> = {}) {
  let now = T0;
  const ul = new MemoryLocation(() => now);
  const params = { ...registrarParams.parse({}), ...over };
  const stats: SaveStats = { accepted_regs: 0, rejected_regs: 0 };
  const run = (req: SipRequest, received: string | null = null) =>
    processRegister({ req, rx: RX, received, now }, ul, params, stats);
  return {
    ul,
    stats,
    run,
    advance: (ms: number) => {
      now += ms;
    },
  };
}

const contactsOf = (headers: readonly (readonly [string, string])[]) =>
  headers.filter(([n]) => n === 'Contact').map(([, v]) => v);

t.test('register, refresh, query and unregister one binding', async (t) => {
  const s = setup();
  let r = s.run(register(['<sip:alice@192.0.2.10:5062>'], { expires: 600 }));
  t.equal(r.status, 200);
  t.same(contactsOf(r.headers), ['<sip:alice@192.0.2.10:5062>;expires=600']);
  t.match(r.headers.find(([n]) => n === 'Date')?.[1], /^Sun, 22 Nov 2026 10:00:00 GMT$/);
  const held = s.ul.lookup('alice@example.com');
  t.equal(held.length, 1, 'AoR is canonical: host lower-cased');
  t.equal(held[0]?.expires, T0 + 600_000);
  t.equal(held[0]?.socket, RX.socket.id);
  t.equal(held[0]?.sourceAddress, '192.0.2.10');

  s.advance(100_000);
  r = s.run(register([], { cseq: 2 }));
  t.same(contactsOf(r.headers), ['<sip:alice@192.0.2.10:5062>;expires=500'], 'a query lists');

  r = s.run(register(['<sip:alice@192.0.2.10:5062>;expires=0'], { cseq: 3, expires: 300 }));
  t.equal(r.status, 200);
  t.same(contactsOf(r.headers), [], 'the Contact expires parameter wins over Expires');
  t.same(
    s.ul.removed.map((x) => x.reason),
    ['unregistered'],
  );
  t.same(s.stats, { accepted_regs: 3, rejected_regs: 0 });
});

t.test('expiry: default, header, parameter, 423 or clamp, max_expires', async (t) => {
  const s = setup({ min_expires: 60, max_expires: 7200 });
  let r = s.run(register(['<sip:a@192.0.2.10>']));
  t.same(contactsOf(r.headers), ['<sip:a@192.0.2.10>;expires=3600'], 'default_expires');
  r = s.run(register(['<sip:a@192.0.2.10>'], { expires: 30, cseq: 2 }));
  t.equal(r.status, 423);
  t.same(r.headers, [['Min-Expires', '60']]);
  t.equal(s.ul.lookup('alice@example.com')[0]?.cseq, 1, 'a refused REGISTER changes nothing');
  r = s.run(register(['<sip:a@192.0.2.10>;expires=99999'], { cseq: 3 }));
  t.same(contactsOf(r.headers), ['<sip:a@192.0.2.10>;expires=7200'], 'shortened to max_expires');

  const c = setup({ min_expires_mode: 'clamp' });
  r = c.run(register(['<sip:a@192.0.2.10>'], { expires: 5 }));
  t.same(contactsOf(r.headers), ['<sip:a@192.0.2.10>;expires=60'], 'clamped to min_expires');
});

t.test('Contact: * with Expires: 0 removes every binding; misuse is refused', async (t) => {
  const s = setup();
  s.run(register(['<sip:a@192.0.2.10>', '<sip:a@192.0.2.11>;q=0.5'], { expires: 600 }));
  t.equal(s.ul.lookup('alice@example.com').length, 2);
  let r = s.run(register(['*'], { expires: 600, cseq: 2 }));
  t.equal(r.status, 400, '* needs Expires: 0');
  r = s.run(register(['*', '<sip:a@192.0.2.10>'], { expires: 0, cseq: 2 }));
  t.equal(r.status, 400, '* must be alone');
  s.run(register(['*'], { expires: 0, cseq: 1 }));
  t.equal(s.ul.lookup('alice@example.com').length, 2, 'same Call-ID and CSeq: nothing removed');
  r = s.run(register(['*'], { expires: 0, cseq: 5 }));
  t.equal(r.status, 200);
  t.same(contactsOf(r.headers), []);
  t.equal(s.ul.lookup('alice@example.com').length, 0);
});

t.test('Call-ID and CSeq ordering (RFC 3261 §10.3 step 7)', async (t) => {
  const s = setup();
  s.run(register(['<sip:a@192.0.2.10>'], { expires: 600, cseq: 10 }));
  s.advance(1000);
  let r = s.run(register(['<sip:a@192.0.2.10>'], { expires: 1200, cseq: 10 }));
  t.equal(r.status, 200, 'the same REGISTER again is answered');
  t.same(contactsOf(r.headers), ['<sip:a@192.0.2.10>;expires=599'], 'but changes nothing');
  r = s.run(register(['<sip:a@192.0.2.10>'], { expires: 1200, cseq: 9 }));
  t.equal(r.status, 400);
  t.equal(r.reason, 'Invalid CSeq number');
  r = s.run(register(['<sip:a@192.0.2.10>'], { expires: 1200, cseq: 3, callId: 'other' }));
  t.same(contactsOf(r.headers), ['<sip:a@192.0.2.10>;expires=1200'], 'another Call-ID updates');
  t.equal(s.stats.rejected_regs, 1);
});

t.test('max_contacts: refuse with 503, or evict the oldest', async (t) => {
  const s = setup({ max_contacts: 2 });
  s.run(register(['<sip:a@192.0.2.10>'], { expires: 600, callId: 'c1' }));
  s.advance(1000);
  s.run(register(['<sip:a@192.0.2.11>'], { expires: 600, callId: 'c2' }));
  let r = s.run(register(['<sip:a@192.0.2.12>'], { expires: 600, callId: 'c3' }));
  t.equal(r.status, 503);
  t.equal(s.ul.lookup('alice@example.com').length, 2);
  r = s.run(register(['<sip:a@192.0.2.10>'], { expires: 900, callId: 'c1', cseq: 2 }));
  t.equal(r.status, 200, 'refreshing an existing binding stays within the limit');

  const e = setup({ max_contacts: 2, max_contacts_evict: true });
  e.run(register(['<sip:a@192.0.2.10>'], { expires: 600, callId: 'c1' }));
  e.advance(1000);
  e.run(register(['<sip:a@192.0.2.11>'], { expires: 600, callId: 'c2' }));
  r = e.run(register(['<sip:a@192.0.2.12>'], { expires: 600, callId: 'c3' }));
  t.equal(r.status, 200);
  t.same(
    e.ul
      .lookup('alice@example.com')
      .map((c) => c.uri)
      .sort(),
    ['sip:a@192.0.2.11', 'sip:a@192.0.2.12'],
    'the oldest binding was evicted',
  );
  t.same(
    e.ul.removed.map((x) => x.reason),
    ['evicted'],
  );
  r = e.run(
    register(['<sip:a@192.0.2.20>', '<sip:a@192.0.2.21>', '<sip:a@192.0.2.22>'], { callId: 'c4' }),
  );
  t.equal(r.status, 503, 'one REGISTER with more than max_contacts is refused');
});

t.test('Path (RFC 3327): stored, echoed when supported, strict refuses', async (t) => {
  const path = ['Path: <sip:edge.example.net;lr>', 'Path: <sip:core.example.net;lr>'];
  const s = setup();
  let r = s.run(register(['<sip:a@10.0.0.5>'], { extra: path }));
  t.same(s.ul.lookup('alice@example.com')[0]?.path, [
    '<sip:edge.example.net;lr>',
    '<sip:core.example.net;lr>',
  ]);
  t.notOk(
    r.headers.some(([n]) => n === 'Path'),
    'lazy: not echoed without Supported: path',
  );
  r = s.run(register(['<sip:a@10.0.0.5>'], { cseq: 2, extra: [...path, 'Supported: path'] }));
  t.same(
    r.headers.find(([n]) => n === 'Path'),
    ['Path', '<sip:edge.example.net;lr>, <sip:core.example.net;lr>'],
  );
  const strict = setup({ path_mode: 'strict' });
  r = strict.run(register(['<sip:a@10.0.0.5>'], { extra: path }));
  t.equal(r.status, 420);
  t.same(r.headers, [['Unsupported', 'path']]);
});

t.test('bad input gets 400 naming the problem; NAT and instance are stored', async (t) => {
  const s = setup();
  const bad: [string[], RegExp, Parameters<typeof register>[1]?][] = [
    [['<tel:+123>'], /not a SIP URI/],
    [['<sip:a@x>;expires=soon'], /Bad Contact expires/],
    [['<sip:a@x>;q=1.5'], /Bad Contact q-value/],
    [['<sip:a@x>;reg-id=0'], /Bad Contact reg-id/],
    [['<sip:a@x>'], /no user part/, { to: '<sip:example.com>' }],
    [['<sip:a@x>'], /Bad Request/, { extra: ['Expires: never'] }],
  ];
  for (const [contacts, reason, opts] of bad) {
    const r = s.run(register(contacts, opts));
    t.equal(r.status, 400);
    t.match(r.reason, reason);
  }
  const r = s.run(
    register(
      [
        '<sip:a@10.0.0.5:5060;ob>;+sip.instance="<urn:uuid:00000000-0000-1000-8000-000A95A0E128>";reg-id=1;methods="INVITE,BYE";q=0.7',
      ],
      { extra: ['User-Agent: phone/1.0'] },
    ),
    'sip:192.0.2.10:5062;transport=udp',
  );
  t.equal(r.status, 200);
  t.same(contactsOf(r.headers), ['<sip:a@10.0.0.5:5060;ob>;expires=3600;q=0.7']);
  const c = s.ul.lookup('alice@example.com')[0]!;
  t.equal(c.instance, '<urn:uuid:00000000-0000-1000-8000-000A95A0E128>');
  t.equal(c.regId, 1);
  t.same(c.methods, ['INVITE', 'BYE']);
  t.equal(c.received, 'sip:192.0.2.10:5062;transport=udp');
  t.equal(c.flags & 1, 1, 'NAT flag');
  t.equal(c.userAgent, 'phone/1.0');
  t.equal(c.q, 0.7);
});
