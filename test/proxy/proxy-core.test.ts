import t from 'tap';
import { silentLogger } from '../../src/core/logger.js';
import { hashOfBranch } from '../../src/proxy/branch.js';
import { ScriptRunner } from '../../src/script/runner.js';
import { defineRoutes, type Routes } from '../../src/script/routes.js';
import { parseMessage, type SipRequest, type SipResponse } from '../../src/sip/index.js';
import { harness, request, RX, settle, type Harness } from '../helpers/proxy-fakes.js';

function withScript(h: Harness, routes: Routes): ScriptRunner {
  const runner = new ScriptRunner(h.core, h.self, silentLogger);
  runner.install(routes);
  return runner;
}

const relayAll = defineRoutes({
  async request(ctx) {
    ctx.loose_route();
    if (ctx.is_method('INVITE')) {
      ctx.record_route();
    }
    if (!(await ctx.t_relay())) {
      ctx.reply(503, 'Next Hop Unreachable');
    }
  },
});

t.test(
  'an INVITE is relayed statefully: 100 at once, Via pushed, RR added, MF decremented',
  async (t) => {
    const h = harness();
    withScript(h, relayAll);
    h.core.onRequest(request('INVITE', 'sip:bob@127.0.0.2'), RX, null);
    await settle();
    t.same(h.transport.statuses(), [100], '100 Trying sent upstream at once');
    t.equal(h.tx.clients.length, 1);
    const out = h.tx.clients[0]!;
    t.same(out.target, {
      protocol: 'udp',
      address: '127.0.0.2',
      port: 5060,
      socketId: 'udp:10.0.0.1:5060',
    });
    const via = out.request.topVia()!;
    t.equal(via.host, '10.0.0.1');
    t.equal(via.port, 5060);
    t.ok(hashOfBranch(via.params.get('branch')!), 'branch carries the loop hash');
    t.equal(out.request.vias().length, 2);
    t.equal(out.request.maxForwards(), 69);
    t.equal(out.request.get('record-route'), '<sip:10.0.0.1:5060;lr>');
    out.respond(100);
    out.respond(180);
    out.respond(200);
    t.same(
      h.transport.statuses(),
      [100, 180, 200],
      '100 from downstream absorbed, 180 and 200 forwarded',
    );
    const ok = h.transport.responses[2]!.res;
    t.equal(ok.vias().length, 1, 'our Via removed from the response');
    t.equal(ok.topVia()!.host, '192.0.2.10');
  },
);

t.test('parallel fork: the 2xx of one branch cancels the other', async (t) => {
  const h = harness();
  withScript(h, {
    async request(ctx) {
      ctx.append_branch('sip:bob@127.0.0.3');
      await ctx.t_relay();
    },
  });
  h.core.onRequest(request('INVITE', 'sip:bob@127.0.0.2'), RX, null);
  await settle();
  t.equal(h.tx.clients.length, 2, 'two branches at once');
  const [a, b] = h.tx.clients;
  a!.respond(180);
  b!.respond(180, '', 'other');
  b!.respond(200, '', 'other');
  t.same(h.tx.cancelled, [a], 'the ringing branch is cancelled');
  a!.respond(487);
  t.same(
    h.transport.statuses(),
    [100, 180, 180, 200],
    '487 of the cancelled branch is not forwarded',
  );
});

t.test(
  'serial fork by q: the lower q is tried when the higher fails, best response chosen',
  async (t) => {
    const h = harness();
    withScript(h, {
      async request(ctx) {
        ctx.append_branch('sip:bob@127.0.0.3', 0.5);
        await ctx.t_relay();
      },
    });
    h.core.onRequest(request('INVITE', 'sip:bob@127.0.0.2'), RX, null);
    await settle();
    t.equal(h.tx.clients.length, 1, 'only the q=1 target first');
    h.tx.clients[0]!.respond(486);
    await settle();
    t.equal(h.tx.clients.length, 2, 'then the q=0.5 target');
    t.equal(h.tx.clients[1]!.request.uri, 'sip:bob@127.0.0.3');
    h.tx.clients[1]!.respond(404);
    await settle();
    t.same(h.transport.statuses(), [100, 404], '404 preferred to 486 (lowest code in the class)');
  },
);

t.test('a 6xx ends the search and cancels the pending branches', async (t) => {
  const h = harness();
  withScript(h, {
    async request(ctx) {
      ctx.append_branch('sip:bob@127.0.0.3');
      ctx.append_branch('sip:bob@127.0.0.4', 0.1);
      await ctx.t_relay();
    },
  });
  h.core.onRequest(request('INVITE', 'sip:bob@127.0.0.2'), RX, null);
  await settle();
  const [a, b] = h.tx.clients;
  a!.respond(180);
  b!.respond(603);
  t.same(h.tx.cancelled, [a]);
  a!.respond(487);
  await settle();
  t.equal(h.tx.clients.length, 2, 'the q=0.1 group never starts');
  t.same(h.transport.statuses(), [100, 180, 603]);
});

t.test('401 and 407 challenges are aggregated; a lone 503 becomes 500', async (t) => {
  const h = harness();
  withScript(h, {
    async request(ctx) {
      ctx.append_branch('sip:bob@127.0.0.3');
      await ctx.t_relay();
    },
  });
  h.core.onRequest(request('MESSAGE', 'sip:bob@127.0.0.2'), RX, null);
  await settle();
  h.tx.clients[0]!.respond(401, 'WWW-Authenticate: Digest realm="a", nonce="1"\r\n');
  h.tx.clients[1]!.respond(407, 'Proxy-Authenticate: Digest realm="b", nonce="2"\r\n');
  const res = h.transport.responses.at(-1)!.res;
  t.equal(res.status, 401);
  t.same(res.getAll('www-authenticate'), ['Digest realm="a", nonce="1"']);
  t.same(res.getAll('proxy-authenticate'), ['Digest realm="b", nonce="2"']);

  const h2 = harness();
  withScript(h2, relayAll);
  h2.core.onRequest(request('MESSAGE', 'sip:bob@127.0.0.2'), RX, null);
  await settle();
  h2.tx.clients[0]!.respond(503);
  t.same(h2.transport.statuses(), [500]);
});

t.test(
  'timeouts give 408; transport errors fail over to the next address, then 503 → 500',
  async (t) => {
    const h = harness();
    h.resolver.table.set('gw.example.net', [
      { protocol: 'udp', address: '127.0.0.5', port: 5060 },
      { protocol: 'udp', address: '127.0.0.6', port: 5060 },
    ]);
    withScript(h, relayAll);
    h.core.onRequest(request('OPTIONS', 'sip:gw.example.net'), RX, null);
    await settle();
    const first = h.tx.clients[0]!;
    first.user.onTransportError(new Error('refused'), first);
    t.equal(h.tx.clients.length, 2, 'next SRV/A address tried');
    t.equal(h.tx.clients[1]!.target.address, '127.0.0.6');
    h.tx.clients[1]!.user.onTimeout(h.tx.clients[1]!);
    t.same(h.transport.statuses(), [408]);
  },
);

t.test('nothing resolvable: t_relay() is false and the script answers', async (t) => {
  const h = harness();
  withScript(h, relayAll);
  h.core.onRequest(request('OPTIONS', 'sip:nowhere.invalid'), RX, null);
  await settle();
  t.same(h.transport.statuses(), [503]);
  t.equal(h.transport.responses[0]!.res.reason, 'Next Hop Unreachable');
});

t.test('CANCEL: 200 to the CANCEL, pending branches cancelled, 487 upstream', async (t) => {
  const h = harness();
  withScript(h, relayAll);
  const invite = request('INVITE', 'sip:bob@127.0.0.2');
  h.core.onRequest(invite, RX, null);
  await settle();
  const branch = h.tx.clients[0]!;
  branch.respond(180);
  const inviteTx = h.tx.servers[0]!;
  h.core.onRequest(request('CANCEL', 'sip:bob@127.0.0.2'), RX, inviteTx);
  t.equal(h.tx.servers[1]!.sent[0]!.status, 200, '200 to the CANCEL');
  t.same(h.tx.cancelled, [branch]);
  branch.respond(487);
  t.same(
    inviteTx.sent.map((r) => r.status),
    [100, 180, 487],
  );
});

t.test('CANCEL before any provisional and the branch times out: 487 upstream', async (t) => {
  const h = harness();
  withScript(h, relayAll);
  h.core.onRequest(request('INVITE', 'sip:bob@127.0.0.2'), RX, null);
  await settle();
  const inviteTx = h.tx.servers[0]!;
  h.core.onRequest(request('CANCEL', 'sip:bob@127.0.0.2'), RX, inviteTx);
  const branch = h.tx.clients[0]!;
  branch.user.onTimeout(branch);
  t.same(
    inviteTx.sent.map((r) => r.status),
    [100, 487],
  );
});

t.test('failure route: a 486 sends the call to voicemail, serial failover', async (t) => {
  const h = harness();
  withScript(h, {
    async request(ctx) {
      ctx.t_on_failure('voicemail');
      await ctx.t_relay();
    },
    failure: {
      async voicemail(ctx) {
        if (ctx.t_check_status('486|408')) {
          ctx.ruri = 'sip:vm@127.0.0.9';
          await ctx.t_relay();
        }
      },
    },
  });
  h.core.onRequest(request('INVITE', 'sip:bob@127.0.0.2'), RX, null);
  await settle();
  h.tx.clients[0]!.respond(486);
  await settle();
  t.equal(h.tx.clients.length, 2);
  t.equal(h.tx.clients[1]!.request.uri, 'sip:vm@127.0.0.9');
  h.tx.clients[1]!.respond(200);
  t.same(h.transport.statuses(), [100, 200]);
});

t.test('failure route that does nothing: the best response goes upstream', async (t) => {
  const h = harness();
  let seen = 0;
  withScript(h, {
    async request(ctx) {
      ctx.t_on_failure('log');
      await ctx.t_relay();
    },
    failure: {
      log(ctx) {
        seen = ctx.best.status;
        t.equal(ctx.replies().length, 1);
      },
    },
  });
  h.core.onRequest(request('INVITE', 'sip:bob@127.0.0.2'), RX, null);
  await settle();
  h.tx.clients[0]!.respond(480);
  await settle();
  t.equal(seen, 480);
  t.same(h.transport.statuses(), [100, 480]);
});

t.test('Timer C: 408 with no provisional, CANCEL after one', async (t) => {
  const h = harness();
  withScript(h, relayAll);
  h.core.onRequest(request('INVITE', 'sip:bob@127.0.0.2'), RX, null);
  await settle();
  h.clock.advance(180_000);
  t.same(h.transport.statuses(), [100, 408], 'no provisional: behaves as a 408');

  const h2 = harness();
  withScript(h2, relayAll);
  h2.core.onRequest(request('INVITE', 'sip:bob@127.0.0.2'), RX, null);
  await settle();
  h2.tx.clients[0]!.respond(180);
  h2.clock.advance(100_000);
  h2.tx.clients[0]!.respond(183);
  h2.clock.advance(100_000);
  t.same(h2.tx.cancelled, [], 'a provisional resets Timer C');
  h2.clock.advance(80_000);
  t.same(h2.tx.cancelled, [h2.tx.clients[0]], 'then CANCEL when it fires');
});

t.test(
  '§16.3 checks: loop 482, Proxy-Require 420, Max-Forwards 0 483, bad scheme 416',
  async (t) => {
    const h = harness();
    withScript(h, relayAll);
    h.core.onRequest(
      request('OPTIONS', 'sip:bob@127.0.0.2', ['Proxy-Require: foo, bar']),
      RX,
      null,
    );
    const r420 = h.transport.responses[0]!.res;
    t.equal(r420.status, 420);
    t.equal(r420.get('unsupported'), 'foo, bar');

    h.core.onRequest(
      request('OPTIONS', 'sip:bob@127.0.0.2', [], { maxForwards: 0, branch: 'z9hG4bKmf' }),
      RX,
      null,
    );
    await settle();
    t.equal(h.transport.responses.at(-1)!.res.status, 483);

    h.core.onRequest(request('OPTIONS', 'http://example.com/'), RX, null);
    t.equal(h.transport.responses.at(-1)!.res.status, 416);

    // A request that went through us once comes back unchanged: loop.
    h.core.onRequest(request('MESSAGE', 'sip:bob@127.0.0.2'), RX, null);
    await settle();
    const out = h.tx.clients.at(-1)!.request;
    const looped = parseMessage(out.toBuffer()) as SipRequest;
    // Undo what the hop changed that is not part of the loop hash.
    h.core.onRequest(looped, RX, null);
    t.equal(h.transport.responses.at(-1)!.res.status, 482);
    t.equal(h.core.stats.err_requests, 3);
  },
);

t.test('a spiral (same request, new Request-URI) is not a loop', async (t) => {
  const h = harness();
  withScript(h, relayAll);
  h.core.onRequest(request('MESSAGE', 'sip:bob@127.0.0.2'), RX, null);
  await settle();
  const out = h.tx.clients[0]!.request;
  out.setUri('sip:bob@127.0.0.7');
  h.core.onRequest(parseMessage(out.toBuffer()) as SipRequest, RX, null);
  await settle();
  t.equal(h.tx.clients.length, 2, 'forwarded again');
});

t.test(
  'loose routing: our Route removed, next Route followed; strict router handled',
  async (t) => {
    const h = harness();
    withScript(h, relayAll);
    h.core.onRequest(
      request('BYE', 'sip:bob@127.0.0.2', ['Route: <sip:10.0.0.1;lr>, <sip:127.0.0.8;lr>'], {
        toTag: 'b1',
      }),
      RX,
      null,
    );
    await settle();
    const out = h.tx.clients[0]!;
    t.equal(out.target.address, '127.0.0.8', 'sent to the next Route');
    t.same(out.request.getAll('route'), ['<sip:127.0.0.8;lr>']);
    t.equal(out.request.uri, 'sip:bob@127.0.0.2');

    // A strict router sent us our own RR URI as Request-URI.
    h.core.onRequest(
      request('BYE', 'sip:10.0.0.1;lr', ['Route: <sip:bob@127.0.0.2>'], {
        toTag: 'b1',
        branch: 'z9hG4bKs2',
      }),
      RX,
      null,
    );
    await settle();
    const out2 = h.tx.clients[1]!;
    t.equal(out2.request.uri, 'sip:bob@127.0.0.2', 'Request-URI restored from the last Route');
    t.notOk(out2.request.has('route'));

    // The next hop is a strict router: R-URI goes to the end of the Route set.
    h.core.onRequest(
      request('BYE', 'sip:bob@127.0.0.2', ['Route: <sip:127.0.0.4>'], {
        toTag: 'b1',
        branch: 'z9hG4bKs3',
      }),
      RX,
      null,
    );
    await settle();
    const out3 = h.tx.clients[2]!;
    t.equal(out3.request.uri, 'sip:127.0.0.4');
    t.same(out3.request.getAll('route'), ['<sip:bob@127.0.0.2>']);
    t.equal(out3.target.address, '127.0.0.4');
  },
);

t.test('double Record-Route when the request leaves on another transport (RFC 5658)', async (t) => {
  const h = harness();
  withScript(h, relayAll);
  h.core.onRequest(request('INVITE', 'sip:bob@127.0.0.2;transport=tcp'), RX, null);
  await settle();
  const rr = h.tx.clients[0]!.request.getAll('record-route');
  t.same(rr, ['<sip:10.0.0.1:5060;transport=tcp;lr;r2=on>', '<sip:10.0.0.1:5060;lr;r2=on>']);
});

t.test('ACK for a 2xx is forwarded statelessly with a stable branch', async (t) => {
  const h = harness();
  withScript(h, relayAll);
  const ack = (): SipRequest =>
    request('ACK', 'sip:bob@127.0.0.2', ['Route: <sip:10.0.0.1;lr>'], {
      toTag: 'b1',
      branch: 'z9hG4bKack',
    });
  h.core.onRequest(ack(), RX, null);
  h.core.onRequest(ack(), RX, null);
  await settle();
  t.equal(h.transport.sent.length, 2);
  const [a, b] = h.transport.sent.map((s) => parseMessage(s.data) as SipRequest);
  t.equal(a!.topVia()!.params.get('branch'), b!.topVia()!.params.get('branch'));
  t.equal(h.transport.sent[0]!.target.address, '127.0.0.2');
  t.equal(h.tx.servers.length, 0, 'no transaction for the ACK');
});

t.test(
  'a stray 2xx retransmission is forwarded by the next Via; foreign ones dropped',
  async (t) => {
    const h = harness();
    const text = (top: string): string =>
      `SIP/2.0 200 OK\r\nVia: SIP/2.0/UDP ${top};branch=z9hG4bK-t-x\r\n` +
      `Via: SIP/2.0/UDP 192.0.2.10:5062;branch=z9hG4bKa;received=192.0.2.99;rport=7000\r\n` +
      `From: <sip:a@x>;tag=1\r\nTo: <sip:b@x>;tag=2\r\nCall-ID: c\r\nCSeq: 1 INVITE\r\nContent-Length: 0\r\n\r\n`;
    h.core.onStrayResponse(parseMessage(Buffer.from(text('10.0.0.1:5060'))) as SipResponse);
    t.same(h.transport.sent[0]!.target, { protocol: 'udp', address: '192.0.2.99', port: 7000 });
    h.core.onStrayResponse(parseMessage(Buffer.from(text('198.51.100.1:5060'))) as SipResponse);
    t.equal(h.transport.sent.length, 1);
    t.same(h.core.stats, { ...h.core.stats, fwd_replies: 1, drop_replies: 1 });
  },
);

t.test('a script that throws gets a 500 and the proxy keeps going', async (t) => {
  const h = harness();
  withScript(h, {
    request(ctx) {
      if (ctx.is_method('MESSAGE')) {
        throw new Error('boom');
      }
      return Promise.reject(new Error('async boom'));
    },
  });
  h.core.onRequest(request('MESSAGE', 'sip:bob@127.0.0.2'), RX, null);
  h.core.onRequest(request('OPTIONS', 'sip:bob@127.0.0.2', [], { branch: 'z9hG4bKo' }), RX, null);
  await settle();
  t.same(h.transport.statuses(), [500, 500]);
  t.equal(h.core.stats.script_errors, 2);
});

t.test(
  'the ACK to a stateless negative reply is absorbed; unknown routes are script errors',
  async (t) => {
    const h = harness();
    withScript(h, {
      request(ctx) {
        if (ctx.is_method('ACK')) {
          t.fail('ACK should not reach the script');
        }
        if (ctx.is_method('INFO')) {
          ctx.t_on_failure('missing');
        }
        ctx.reply(404, 'Nobody');
      },
    });
    h.core.onRequest(request('INVITE', 'sip:bob@127.0.0.2'), RX, null);
    await settle();
    const res = h.transport.responses[0]!.res;
    t.equal(res.status, 404);
    h.core.onRequest(request('ACK', 'sip:bob@127.0.0.2', [], { toTag: res.toTag()! }), RX, null);
    h.core.onRequest(request('INFO', 'sip:bob@127.0.0.2', [], { branch: 'z9hG4bKi' }), RX, null);
    await settle();
    t.same(h.transport.statuses(), [404, 500]);
  },
);

t.test(
  'a transaction the script leaves unanswered gets a 500; a draining proxy answers 503',
  async (t) => {
    const h = harness();
    withScript(h, {
      request(ctx) {
        ctx.t_newtran();
        ctx.setflag('seen');
        t.ok(ctx.isflag('seen'));
        ctx.resetflag('seen');
        t.notOk(ctx.isflag('seen'));
      },
    });
    h.core.onRequest(request('MESSAGE', 'sip:bob@127.0.0.2'), RX, null);
    await settle();
    t.same(h.transport.statuses(), [500]);
    h.core.drain();
    h.core.onRequest(request('MESSAGE', 'sip:bob@127.0.0.2', [], { branch: 'z9hG4bKd' }), RX, null);
    t.same(h.transport.statuses(), [500, 503]);
  },
);

t.test('reply and branch routes see the traffic of their transaction', async (t) => {
  const h = harness();
  const seen: number[] = [];
  withScript(h, {
    async request(ctx) {
      ctx.t_on_reply('watch');
      ctx.t_on_branch('tag');
      ctx.vars.set('customer', 'acme');
      ctx.append_branch('sip:bob@127.0.0.3');
      await ctx.t_relay();
    },
    onreply: {
      watch(res, ctx) {
        seen.push(res.status);
        t.equal(ctx.vars.get('customer'), 'acme');
        return res.status !== 183;
      },
    },
    branch: {
      tag(copy) {
        if (copy.uri.includes('127.0.0.3')) {
          return false;
        }
        copy.addHeader('X-Branch', 'kept');
        return true;
      },
    },
  });
  h.core.onRequest(request('INVITE', 'sip:bob@127.0.0.2'), RX, null);
  await settle();
  t.equal(h.tx.clients.length, 1, 'the branch route dropped one branch');
  t.equal(h.tx.clients[0]!.request.get('x-branch'), 'kept');
  h.tx.clients[0]!.respond(183);
  h.tx.clients[0]!.respond(180);
  h.tx.clients[0]!.respond(200);
  t.same(seen, [183, 180, 200]);
  t.same(h.transport.statuses(), [100, 180, 200], 'the 183 was dropped by the reply route');
});
