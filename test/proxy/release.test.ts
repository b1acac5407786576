/**
 * A response context is let go once its final response went upstream and no branch is pending,
 * so transactions lingering for retransmissions (32 s) do not keep the request and its copies.
 */
import t from 'tap';
import { silentLogger } from '../../src/core/logger.js';
import { ScriptRunner } from '../../src/script/runner.js';
import { defineRoutes } from '../../src/script/routes.js';
import { harness, request, RX, settle, type Harness } from '../helpers/proxy-fakes.js';

function relaying(h: Harness, extra?: string): void {
  new ScriptRunner(h.core, h.self, silentLogger).install(
    defineRoutes({
      async request(ctx) {
        if (extra !== undefined) {
          ctx.append_branch(extra);
        }
        await ctx.t_relay();
      },
    }),
  );
}

t.test('a late 2xx after the context is released still goes upstream, along its Via', async (t) => {
  const h = harness();
  relaying(h);
  h.core.onRequest(request('INVITE', 'sip:bob@127.0.0.2'), RX, null);
  await settle();
  const out = h.tx.clients[0]!;
  out.respond(200);
  t.same(h.transport.statuses(), [100, 200], 'the 200 went through the server transaction');
  t.equal(h.core.activeTransactions(), 0);
  // The client transaction (RFC 6026 Accepted) passes a retransmitted 2xx up again.
  out.respond(200);
  t.equal(h.transport.sent.length, 1, 'forwarded statelessly');
  const sent = h.transport.sent[0]!;
  t.match(sent.data.toString('latin1'), /^SIP\/2\.0 200 /);
  t.same([sent.target.address, sent.target.port], ['192.0.2.10', 5062], "to the caller's Via");
  t.notMatch(sent.data.toString('latin1'), /10\.0\.0\.1/, 'our Via removed');
  // Other responses of a released branch are the transaction's business only.
  out.respond(486);
  out.user.onTimeout(out);
  out.user.onTransportError(new Error('gone'), out);
  t.equal(h.transport.sent.length, 1);
  t.same(h.transport.statuses(), [100, 200]);
});

t.test('when forking, the context stays until the last branch has its final', async (t) => {
  const h = harness();
  relaying(h, 'sip:bob@127.0.0.3');
  h.core.onRequest(request('INVITE', 'sip:bob@127.0.0.2'), RX, null);
  await settle();
  const [a, b] = h.tx.clients;
  a!.respond(180);
  b!.respond(180, '', 'other');
  a!.respond(200);
  t.same(h.tx.cancelled, [b], 'the other branch is cancelled');
  // A 2xx crossing the CANCEL on the other branch still goes through the context (§16.7 item 5).
  b!.respond(200, '', 'other');
  t.same(h.transport.statuses(), [100, 180, 180, 200, 200]);
  t.equal(h.transport.sent.length, 0, 'both 2xx through the server transaction');
  // After every branch is final, a retransmission takes the stateless way.
  b!.respond(200, '', 'other');
  t.equal(h.transport.sent.length, 1);
});

t.test('a CANCEL after the final response gets its 200 and changes nothing', async (t) => {
  const h = harness();
  relaying(h);
  const invite = request('INVITE', 'sip:bob@127.0.0.2');
  h.core.onRequest(invite, RX, null);
  await settle();
  h.tx.clients[0]!.respond(486);
  await settle();
  t.same(h.transport.statuses(), [100, 486]);
  h.core.onRequest(request('CANCEL', 'sip:bob@127.0.0.2'), RX, h.tx.servers[0]!);
  await settle();
  t.same(h.transport.statuses(), [100, 486, 200], '200 to the CANCEL');
  t.same(h.tx.cancelled, [], 'nothing to cancel');
});

t.test('the server transaction ending after a release finds nothing to clean', async (t) => {
  const h = harness();
  relaying(h);
  h.core.onRequest(request('OPTIONS', 'sip:bob@127.0.0.2'), RX, null);
  await settle();
  h.tx.clients[0]!.respond(200);
  const server = h.tx.servers[0]!;
  t.doesNotThrow(() => server.onTerminated?.());
  t.equal(h.core.activeTransactions(), 0);
});
