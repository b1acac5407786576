/** usrloc's MI commands through the JSON-RPC engine: names, recipes, answers and errors. */
import t from 'tap';
import { EPOCH, input, start } from './helpers.js';

t.test('ul_add, ul_show_contact, ul_dump, ul_rm_contact, ul_rm', async (t) => {
  // The expiry job must not run: the dump shows a binding expired but not yet removed.
  const u = await start({ params: { timer_interval: 3600 } });
  t.teardown(() => u.installed.destroy());
  t.same(await u.call('ul_add', ['sip:bob@example.com', 'sip:bob@192.0.2.20', 60]), {
    jsonrpc: '2.0',
    result: 'OK',
    id: 1,
  });
  const full = await u.call('usrloc:add', [
    'location',
    'sip:bob@example.com',
    'sip:bob@192.0.2.21',
    120,
    0.5,
    '',
    3,
    '',
    'invite, bye',
  ]);
  t.equal(full.result, 'OK');
  const bob = u.api.getContact('sip:bob@example.com', 'sip:bob@192.0.2.21');
  t.match(bob, { q: 0.5, flags: 3, methods: ['INVITE', 'BYE'], expires: EPOCH + 120_000 });

  const show = await u.call('ul_show_contact', { aor: 'sip:bob@example.com' });
  t.match(show.result, {
    Contacts: [
      { Contact: 'sip:bob@192.0.2.20', Expires: 60, Q: 1, Callid: 'Default-Call-ID' },
      { Contact: 'sip:bob@192.0.2.21', Expires: 120, Q: 0.5, Methods: 'INVITE,BYE', Flags: 3 },
    ],
  });
  t.match((await u.call('ul_show_contact', ['location', 'sip:bob@example.com'])).result, {
    Contacts: [{}, {}],
  });

  u.api.save(input({ path: ['<sip:edge;lr>'], received: 'sip:203.0.113.5:4000' }));
  const dump = await u.call('ul_dump');
  t.match(dump.result, {
    Domains: [
      {
        name: 'location',
        hash_size: 2,
        AORs: [
          { AOR: 'sip:bob@example.com', Contacts: [{}, {}] },
          {
            AOR: 'sip:alice@example.com',
            Contacts: [
              {
                Contact: 'sip:alice@192.0.2.10:5060',
                Path: '<sip:edge;lr>',
                Received: 'sip:203.0.113.5:4000',
                Socket: 'udp:127.0.0.1:5060',
                'User-agent': 'TestPhone/1.0',
                Source: 'udp:192.0.2.10:5060',
              },
            ],
          },
        ],
      },
    ],
  });
  const brief = await u.call('ul_dump', ['brief']);
  t.same((brief.result as { Domains: { AORs: unknown[] }[] }).Domains[0]?.AORs[0], {
    AOR: 'sip:bob@example.com',
    Contacts: [
      { Contact: 'sip:bob@192.0.2.20', Expires: 60 },
      { Contact: 'sip:bob@192.0.2.21', Expires: 120 },
    ],
  });
  u.clock.advance(61_000);
  const later = await u.call('ul_dump', ['brief']);
  t.match(later.result, {
    Domains: [{ AORs: [{ Contacts: [{ Expires: 'expired' }, { Expires: 59 }] }] }],
  });

  t.equal(
    (await u.call('ul_rm_contact', ['sip:bob@example.com', 'sip:bob@192.0.2.21'])).result,
    'OK',
  );
  t.same((await u.call('ul_rm_contact', ['sip:bob@example.com', 'sip:bob@192.0.2.99'])).error, {
    code: 404,
    message: 'Contact not found',
  });
  t.same((await u.call('ul_rm_contact', ['location', 'sip:x@y', 'sip:x@h'])).error, {
    code: 404,
    message: 'AOR not found',
  });
  t.same(
    (await u.call('ul_show_contact', ['sip:bob@example.com'])).error,
    {
      code: 404,
      message: 'AOR not found',
    },
    'only an expired binding left',
  );
  t.equal((await u.call('ul_rm', ['location', 'sip:bob@example.com'])).result, 'OK');
  t.same((await u.call('ul_rm', ['sip:bob@example.com'])).error, {
    code: 404,
    message: 'AOR not found',
  });
  t.same((await u.call('ul_rm', ['subscriber', 'sip:alice@example.com'])).error, {
    code: 404,
    message: 'Table not found',
  });
  t.equal((await u.call('ul_flush')).result, 'OK');
});

t.test('ul_add checks expires and q', async (t) => {
  const u = await start();
  t.teardown(() => u.installed.destroy());
  t.match((await u.call('ul_add', ['sip:a@x', 'sip:a@h', 0])).error, {
    code: -32602,
    data: /expires/,
  });
  t.match((await u.call('ul_add', ['sip:a@x', 'sip:a@h', 60, 1.5])).error, {
    code: -32602,
    data: /q: must be between 0 and 1/,
  });
  t.match((await u.call('ul_add', ['sip:a@x', 'sip:a@h'])).error, { code: -32602 });
  t.same(u.api.counts(), { aors: 0, contacts: 0 });
});
