/**
 * The hooks the proxy gives modules (used by dialog): Record-Route parameters, the parameters of
 * the Route entry loose_route() removed (also after a strict router), the loose-route hook run
 * once per request, and transaction watchers told of stateless and transaction replies, branch
 * copies and responses, with a cancel handle.
 */
import t from 'tap';
import { silentLogger } from '../../src/core/logger.js';
import type { SipRequest, SipResponse } from '../../src/sip/index.js';
import type { ScriptContext } from '../../src/script/context.js';
import { ScriptRunner } from '../../src/script/runner.js';
import type { Routes } from '../../src/script/routes.js';
import { harness, request, RX, settle } from '../helpers/proxy-fakes.js';

function runner(routes: Routes, hook?: (ctx: ScriptContext) => void) {
  const h = harness();
  const r = new ScriptRunner(h.core, h.self, silentLogger);
  r.setFunctions(new Map(), [], hook === undefined ? [] : [hook]);
  r.install(routes);
  return h;
}

t.test('Record-Route parameters and route_param after loose and strict routing', async (t) => {
  const seen: (string | null)[] = [];
  let hooked = 0;
  const h = runner(
    {
      async request(ctx) {
        if (ctx.has_totag()) {
          ctx.loose_route();
          ctx.loose_route();
          seen.push(ctx.route_param('did'), ctx.route_param('flag'), ctx.route_param('none'));
          await ctx.t_relay();
          return;
        }
        seen.push(ctx.route_param('did'));
        ctx.record_route('x=1');
        ctx.add_rr_param('did', 'abc');
        ctx.add_rr_param('flag');
        await ctx.t_relay();
      },
    },
    () => {
      hooked++;
    },
  );
  h.core.onRequest(request('INVITE', 'sip:bob@192.0.2.20'), RX, null);
  await settle();
  t.equal(h.tx.clients[0]!.request.get('record-route'), '<sip:10.0.0.1:5060;lr;x=1;did=abc;flag>');
  t.same(seen, [null], 'no Route entry removed: no parameters');

  h.core.onRequest(
    request('BYE', 'sip:bob@192.0.2.20', ['Route: <sip:10.0.0.1:5060;lr;did=abc;flag>'], {
      toTag: 'b',
      branch: 'z9hG4bKbye',
    }),
    RX,
    null,
  );
  await settle();
  t.same(seen.slice(1), ['abc', '', null], 'value, flag, absent');
  t.equal(hooked, 1, 'the loose-route hook runs once per request');

  // A strict router put our Record-Route URI into the Request-URI (RFC 3261 §16.4).
  h.core.onRequest(
    request('INFO', 'sip:10.0.0.1:5060;lr;did=xyz', ['Route: <sip:bob@192.0.2.20>'], {
      toTag: 'b',
      branch: 'z9hG4bKinfo',
    }),
    RX,
    null,
  );
  await settle();
  t.same(seen.slice(4, 5), ['xyz'], 'the parameters of the Request-URI a strict router sent');
  t.equal(hooked, 2);
});

t.test('watchers: stateless and transaction replies, branches, responses, cancel', async (t) => {
  const finals: number[] = [];
  const responses: number[] = [];
  const copies: string[] = [];
  let cancel: (() => boolean) | null = null;
  const h = runner({
    async request(ctx) {
      const w = ctx.watch_transaction({
        branch: (copy: SipRequest) => {
          copy.setHeader('X-Seen', 'yes');
          copies.push(copy.uri);
        },
        response: (res: SipResponse) => responses.push(res.status),
        final: (res: SipResponse) => finals.push(res.status),
      });
      cancel = () => w.cancel();
      if (ctx.msg.has('x-reject')) {
        ctx.reply(404);
        return;
      }
      if (ctx.msg.has('x-tx-reject')) {
        ctx.t_newtran();
        ctx.reply(403);
        return;
      }
      await ctx.t_relay();
    },
  });
  h.core.onRequest(request('INVITE', 'sip:bob@192.0.2.20', ['X-Reject: 1']), RX, null);
  await settle();
  t.same(finals, [404], 'a stateless reply is a final sent upstream');
  t.notOk(cancel!(), 'nothing to cancel');

  h.core.onRequest(
    request('INVITE', 'sip:bob@192.0.2.20', ['X-Tx-Reject: 1'], { branch: 'z9hG4bK2' }),
    RX,
    null,
  );
  await settle();
  t.same(finals, [404, 403], 'a reply through the transaction too');

  h.core.onRequest(request('INVITE', 'sip:bob@192.0.2.20', [], { branch: 'z9hG4bK3' }), RX, null);
  await settle();
  const branch = h.tx.clients[0]!;
  t.equal(branch.request.get('x-seen'), 'yes', 'the watcher saw (and changed) the copy');
  t.same(copies, ['sip:bob@192.0.2.20']);
  branch.respond(180);
  t.ok(cancel!(), 'a ringing branch can be cancelled');
  t.ok(branch.cancelled);
  branch.respond(487);
  await settle();
  t.same(responses, [180, 487]);
  t.same(finals, [404, 403, 487]);
  t.notOk(cancel!(), 'nothing left to cancel');
});
