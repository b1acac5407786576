/**
 * The registrar's script functions through a real script runner and proxy core (with fake
 * transactions): save() answers statelessly, lookup() turns bindings into
 * branches (q order, Path as route set, NAT received address, socket), method filtering,
 * is_registered(), and parameter checks at init.
 */
import t from 'tap';
import { silentLogger } from '../../../src/core/logger.js';
import { defineModule, installModules } from '../../../src/module/index.js';
import { ScriptRunner } from '../../../src/script/runner.js';
import type { Routes } from '../../../src/script/routes.js';
import { registries } from '../../../test/helpers/module-registries.js';
import { harness, request, RX, settle } from '../../../test/helpers/proxy-fakes.js';
import { ContactFlags, RECEIVED_VAR, type ContactInput } from '../../usrloc/api.js';
import registrar from '../index.js';
import { contactInput, MemoryLocation } from './memory-location.js';

const NOW = 1_800_000_000_000;

const binding = (uri: string, over: Partial<ContactInput> = {}): ContactInput =>
  contactInput(uri, { expires: NOW + 600_000, ...over });

async function setup(routes: Routes, params: Record<string, unknown> = {}) {
  const ul = new MemoryLocation(() => NOW);
  const usrloc = defineModule({ name: 'usrloc', description: 'memory', init: () => ul });
  const r = registries({ params: { registrar: params }, wallTime: () => NOW });
  const stats = r.stats;
  const installed = await installModules([registrar(), usrloc], r);
  const h = harness();
  const runner = new ScriptRunner(h.core, h.self, silentLogger);
  runner.setFunctions(installed.scriptFunctions, installed.names);
  runner.install(routes);
  return { ul, h, stats, installed };
}

t.test('lookup(): the best binding in the Request-URI, the others as branches', async (t) => {
  const results: number[] = [];
  const { ul, h } = await setup({
    async request(ctx) {
      const r = ctx.lookup();
      results.push(r);
      if (r === 1) {
        await ctx.t_relay();
      } else {
        ctx.reply(r === -1 ? 404 : 480);
      }
    },
  });
  ul.save(
    binding('sip:alice@10.0.0.1:5070', {
      received: 'sip:192.0.2.50:40000',
      flags: ContactFlags.NAT,
      socket: 'udp:10.0.0.254:5060',
    }),
  );
  ul.save(binding('sip:alice@10.0.0.2', { path: ['<sip:10.9.9.9;lr>', '<sip:10.8.8.8;lr>'] }));
  ul.save(binding('sip:alice@10.0.0.3', { q: 0.5 }));
  h.core.onRequest(request('INVITE', 'sip:alice@example.com'), RX, null);
  await settle();
  t.same(results, [1]);
  const targets = h.tx.clients.map((c) => `${c.target.address}:${String(c.target.port)}`).sort();
  t.same(targets, ['10.9.9.9:5060', '192.0.2.50:40000'], 'q=1 bindings in parallel, q=0.5 waits');
  const viaPath = h.tx.clients.find((c) => c.target.address === '10.9.9.9')!;
  t.same(viaPath.request.getAll('route'), ['<sip:10.9.9.9;lr>', '<sip:10.8.8.8;lr>']);
  t.equal(viaPath.request.uri, 'sip:alice@10.0.0.2');
  const nated = h.tx.clients.find((c) => c.target.address === '192.0.2.50')!;
  t.equal(nated.request.uri, 'sip:alice@10.0.0.1:5070', 'the Contact stays the Request-URI');
  t.notOk(nated.request.has('route'));
  for (const c of h.tx.clients) {
    c.respond(486);
  }
  await settle();
  t.equal(h.tx.clients.length, 3, 'the lower q-value is tried after the first group failed');
  t.equal(h.tx.clients[2]?.target.address, '10.0.0.3');

  h.core.onRequest(
    request('INVITE', 'sip:nobody@example.com', [], { branch: 'z9hG4bK2' }),
    RX,
    null,
  );
  await settle();
  t.same(results, [1, -1]);
  t.equal(h.transport.statuses().at(-1), 404);
});

t.test('lookup(): bindings that do not accept the method give -2', async (t) => {
  const results: unknown[] = [];
  const { ul, h } = await setup({
    request(ctx) {
      results.push(ctx.lookup(), ctx.is_registered(), ctx.is_registered('sip:bob@example.com'));
      ctx.reply(480);
    },
  });
  ul.save(binding('sip:alice@10.0.0.1', { methods: ['MESSAGE'] }));
  h.core.onRequest(request('INVITE', 'sip:alice@example.com'), RX, null);
  await settle();
  t.same(results, [-2, true, false]);
});

t.test(
  'save() answers statelessly, again for a retransmission, and stores the NAT address',
  async (t) => {
    const results: number[] = [];
    const { ul, h, stats } = await setup({
      request(ctx) {
        if (ctx.is_method('REGISTER')) {
          ctx.vars.set(RECEIVED_VAR, 'sip:198.51.100.4:6000');
        }
        results.push(ctx.save());
      },
    });
    const reg = request('REGISTER', 'sip:example.com', ['Expires: 300'], { cseq: 5 });
    h.core.onRequest(reg, RX, null);
    await settle();
    t.same(results, [1]);
    t.equal(h.tx.servers.length, 0, 'answered without a transaction');
    const ok = h.transport.responses[0]!.res;
    t.equal(ok.status, 200);
    t.match(ok.get('contact'), /^<sip:alice@192\.0\.2\.10:5062>;expires=300$/);
    // The same REGISTER again (a retransmission reaching a stateless registrar): the same answer.
    h.core.onRequest(reg, RX, null);
    await settle();
    t.equal(h.transport.responses[1]?.res.status, 200);
    t.equal(ul.lookup('bob@example.com').length, 1);
    const b = ul.lookup('bob@example.com')[0]!;
    t.equal(b.received, 'sip:198.51.100.4:6000');
    t.equal(b.flags & ContactFlags.NAT, ContactFlags.NAT);
    t.equal(
      stats.value('registrar:accepted_regs'),
      2,
      'the repeat is accepted (and changes nothing)',
    );

    h.core.onRequest(
      request('INVITE', 'sip:bob@example.com', [], { branch: 'z9hG4bK9' }),
      RX,
      null,
    );
    await settle();
    t.same(results, [1, 1, -1], 'save() refuses what is not a REGISTER');
  },
);

t.test('inconsistent parameters fail the start naming them', async (t) => {
  await t.rejects(setup({ request: () => undefined }, { max_expires: 30, min_expires: 60 }), {
    message: /max_expires is below min_expires/,
  });
  await t.rejects(setup({ request: () => undefined }, { path_mode: 'always' }), {
    message: /modules\.registrar\.path_mode/,
  });
});
