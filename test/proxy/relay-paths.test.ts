/**
 * The two ways a relay starts: at once when every next hop is an address (no promise to wait
 * for, the usual case), or after DNS / an asynchronous branch route. Both must behave the same.
 */
import t from 'tap';
import { silentLogger } from '../../src/core/logger.js';
import { ScriptRunner } from '../../src/script/runner.js';
import { defineRoutes, type Routes } from '../../src/script/routes.js';
import { harness, request, RX, settle, type Harness } from '../helpers/proxy-fakes.js';

function withScript(h: Harness, routes: Routes): void {
  new ScriptRunner(h.core, h.self, silentLogger).install(defineRoutes(routes));
}

t.test('a relay to an address sends before the script awaits anything', async (t) => {
  const h = harness();
  const relayed: Promise<boolean>[] = [];
  withScript(h, {
    request(ctx) {
      relayed.push(ctx.t_relay());
    },
  });
  h.core.onRequest(request('INVITE', 'sip:bob@127.0.0.2'), RX, null);
  t.equal(h.tx.clients.length, 1, 'the branch started inside t_relay()');
  t.equal(await relayed[0], true);
  t.same(h.resolver.asked, ['127.0.0.2']);
});

t.test('a relay to a name waits for DNS, then sends', async (t) => {
  const h = harness();
  h.resolver.table.set('bob.example.com', [{ protocol: 'udp', address: '127.0.0.9', port: 5060 }]);
  withScript(h, {
    async request(ctx) {
      t.equal(await ctx.t_relay(), true);
    },
  });
  h.core.onRequest(request('INVITE', 'sip:bob@bob.example.com'), RX, null);
  t.equal(h.tx.clients.length, 0, 'nothing sent before the answer');
  await settle();
  t.equal(h.tx.clients.length, 1);
  t.equal(h.tx.clients[0]!.target.address, '127.0.0.9');
});

t.test('parallel branches, one to an address and one to a name, both start', async (t) => {
  const h = harness();
  h.resolver.table.set('carol.example.com', [
    { protocol: 'udp', address: '127.0.0.7', port: 5060 },
  ]);
  withScript(h, {
    async request(ctx) {
      ctx.append_branch('sip:carol@carol.example.com');
      ctx.append_branch('sip:dave@nowhere.invalid');
      t.equal(await ctx.t_relay(), true);
    },
  });
  h.core.onRequest(request('INVITE', 'sip:bob@127.0.0.2'), RX, null);
  await settle();
  t.same(
    h.tx.clients.map((c) => c.target.address),
    ['127.0.0.2', '127.0.0.7'],
    'the unresolvable third branch failed alone',
  );
  h.tx.clients[0]!.respond(486);
  h.tx.clients[1]!.respond(486);
  await settle();
  t.same(h.transport.statuses(), [100, 486]);
});

t.test(
  'an address that cannot be used fails its branch; the next q group starts at once',
  async (t) => {
    const h = harness();
    withScript(h, {
      request(ctx) {
        ctx.append_branch('sip:bob@127.0.0.3', 0.5);
        void ctx.t_relay();
      },
    });
    // The fake resolver refuses transport=sctp, as the real one refuses what it cannot send over.
    h.core.onRequest(request('INVITE', 'sip:bob@127.0.0.2;transport=sctp'), RX, null);
    t.equal(h.tx.clients.length, 1, 'the q=0.5 branch started in the same turn');
    t.equal(h.tx.clients[0]!.request.uri, 'sip:bob@127.0.0.3');
    h.tx.clients[0]!.respond(404);
    await settle();
    t.same(h.transport.statuses(), [100, 404], 'the 503 of the failed branch lost to the 404');
  },
);

t.test(
  'serial groups after DNS: the first group fails after its lookup, the next is tried',
  async (t) => {
    const h = harness();
    withScript(h, {
      async request(ctx) {
        ctx.append_branch('sip:bob@127.0.0.3', 0.5);
        t.equal(await ctx.t_relay(), true);
      },
    });
    h.core.onRequest(request('INVITE', 'sip:bob@nowhere.invalid'), RX, null);
    await settle();
    t.same(
      h.tx.clients.map((c) => c.target.address),
      ['127.0.0.3'],
    );
  },
);

t.test(
  'an unusable address on a stateless forward: nothing sent, the script answers',
  async (t) => {
    const h = harness();
    withScript(h, {
      async request(ctx) {
        if (!(await ctx.relay())) {
          ctx.reply(503, 'Next Hop Unreachable');
        }
      },
    });
    h.core.onRequest(request('MESSAGE', 'sip:bob@127.0.0.2;transport=sctp'), RX, null);
    await settle();
    t.same(h.transport.statuses(), [503]);
    t.equal(h.transport.sent.length, 0, 'no request went out');
  },
);

t.test('an error thrown while t_relay() sets up becomes a rejection the script sees', async (t) => {
  const h = harness();
  h.tx.createServerTransaction = () => {
    throw new Error('transaction table full');
  };
  let seen: unknown = null;
  withScript(h, {
    async request(ctx) {
      try {
        await ctx.t_relay();
      } catch (err) {
        seen = err;
      }
    },
  });
  h.core.onRequest(request('INVITE', 'sip:bob@127.0.0.2'), RX, null);
  await settle();
  t.match(seen, { message: 'transaction table full' });
  t.equal(h.tx.clients.length, 0);
});

t.test('the same for a stateless forward', async (t) => {
  const h = harness();
  h.resolver.resolveNumeric = () => {
    throw new Error('resolver closed');
  };
  withScript(h, {
    async request(ctx) {
      t.equal(await ctx.relay(), false, 'a resolver that throws means nothing was sent');
    },
  });
  h.core.onRequest(request('MESSAGE', 'sip:bob@127.0.0.2'), RX, null);
  await settle();
});
