/**
 * The dialog module in process: states through early, forked and final responses, sequential
 * requests matched by did (ACK, re-INVITE target refresh, BYE), CSeq shifting after pings, BYE
 * to both sides on timeout with each side's route set, CSeq and address, pings that fail,
 * MI ending of early and confirmed dialogs, profiles, match_dialog, the sharing tag gate.
 */
import t from 'tap';
import { parseMessage, type ScriptContext, type SipRequest } from '../../../src/module/index.js';
import type { Routes } from '../../../src/script/routes.js';
import { request, RX, settle, type Harness } from '../../../test/helpers/proxy-fakes.js';
import { DlgState } from '../api.js';
import { rig, T0 } from './helpers.js';

/** Initial INVITEs get a dialog (flags from X-Flags) and go to their Request-URI. */
const routes: Routes = {
  async request(ctx: ScriptContext) {
    if (ctx.has_totag()) {
      if (ctx.loose_route() || ctx.match_dialog()) {
        await ctx.t_relay();
      }
      return;
    }
    if (ctx.is_method('INVITE')) {
      ctx.create_dialog(ctx.msg.get('x-flags') ?? 'B');
      ctx.set_dlg_profile('calls');
      ctx.set_dlg_profile('caller', 'alice');
    }
    await ctx.t_relay();
  },
};

/** Our Record-Route as the callee's 2xx carries it, and the did in it. */
function ourRoute(h: Harness): { rr: string; did: string } {
  const rr = h.tx.clients[0]!.request.get('record-route')!;
  const did = /did=([^;>]+)/.exec(rr)![1]!;
  return { rr, did };
}

async function answered(flags = 'B') {
  const r = await rig(routes);
  r.h.core.onRequest(
    request('INVITE', 'sip:bob@192.0.2.20:5070', [
      `X-Flags: ${flags}`,
      'Record-Route: <sip:192.0.2.99;lr>',
    ]),
    RX,
    null,
  );
  await settle();
  const branch = r.h.tx.clients[0]!;
  const { rr, did } = ourRoute(r.h);
  branch.respond(
    200,
    'Record-Route: <sip:198.51.100.7;lr>, ' +
      rr +
      ', <sip:192.0.2.99;lr>\r\n' +
      'Contact: <sip:bob@192.0.2.20:5070>\r\n',
    'b1',
  );
  await settle();
  return { ...r, did, rr };
}

/** A sequential request from alice (From tag a1, To tag b1) routed on our did. */
function fromCaller(method: string, did: string, cseq: number, extra: string[] = []) {
  return request(
    method,
    'sip:bob@192.0.2.20:5070',
    [`Route: <sip:10.0.0.1:5060;lr;did=${did}>`, ...extra],
    { toTag: 'b1', cseq, branch: `z9hG4bK${method}${cseq}` },
  );
}

/** A sequential request from bob: tags swapped. */
function fromCallee(method: string, did: string, cseq: number, extra: string[] = []) {
  const text =
    `${method} sip:alice@192.0.2.10:5062 SIP/2.0\r\n` +
    `Via: SIP/2.0/UDP 192.0.2.20:5070;branch=z9hG4bKbob${cseq}\r\n` +
    `Route: <sip:10.0.0.1:5060;lr;did=${did}>\r\nMax-Forwards: 70\r\n` +
    `From: <sip:bob@example.com>;tag=b1\r\nTo: <sip:alice@example.com>;tag=a1\r\n` +
    `Call-ID: call-1@192.0.2.10\r\nCSeq: ${cseq} ${method}\r\n` +
    `${extra.map((h) => h + '\r\n').join('')}Content-Length: 0\r\n\r\n`;
  return parseMessage(Buffer.from(text, 'latin1')) as SipRequest;
}

t.test('early, confirmed, ACK, target refresh and BYE; the record', async (t) => {
  const r = await rig(routes);
  r.h.core.onRequest(request('INVITE', 'sip:bob@192.0.2.20:5070'), RX, null);
  await settle();
  const [d0] = [...r.api.all()];
  t.equal(d0?.state, DlgState.UNCONFIRMED, 'unconfirmed after the INVITE');
  const { rr, did } = ourRoute(r.h);
  t.match(rr, /^<sip:10\.0\.0\.1:5060;lr;did=[^;>]+>$/, 'our Record-Route carries the did');
  const branch = r.h.tx.clients[0]!;
  branch.respond(180, '', 'b0');
  t.equal(r.api.get(did)?.state, DlgState.EARLY, 'early on 180 with a tag');
  branch.respond(180, '', 'b1');
  branch.respond(200, `Record-Route: ${rr}\r\nContact: <sip:bob@192.0.2.20:5070>\r\n`, 'b1');
  await settle();
  let d = r.api.get(did)!;
  t.equal(d.state, DlgState.CONFIRMED_NA, 'state 3 on 200');
  t.match(d.callee, {
    tag: 'b1',
    contact: 'sip:bob@192.0.2.20:5070',
    routeSet: [],
    source: 'udp:192.0.2.20:5070',
    socket: 'udp:10.0.0.1:5060',
  });
  t.match(d.caller, { tag: 'a1', contact: 'sip:alice@192.0.2.10:5062', cseq: 1 });
  t.equal(d.answerTime, T0);

  r.h.core.onRequest(fromCaller('ACK', did, 1), RX, null);
  await settle();
  t.equal(r.api.get(did)!.state, DlgState.CONFIRMED, 'state 4 on the ACK');

  // A re-INVITE from the callee with a new Contact: after its 200, both targets are new.
  r.h.core.onRequest(
    fromCallee('INVITE', did, 7, ['Contact: <sip:bob@192.0.2.21:5070>']),
    { ...RX, sourceAddress: '192.0.2.20', sourcePort: 5070 },
    null,
  );
  await settle();
  const reinvite = r.h.tx.clients.at(-1)!;
  t.equal(reinvite.request.uri, 'sip:alice@192.0.2.10:5062');
  reinvite.respond(200, 'Contact: <sip:alice@192.0.2.11:5062>\r\n');
  await settle();
  d = r.api.get(did)!;
  t.equal(d.callee.contact, 'sip:bob@192.0.2.21:5070', 'callee target refreshed');
  t.equal(d.caller.contact, 'sip:alice@192.0.2.11:5062', 'caller target refreshed');
  t.equal(d.callee.cseq, 7, "callee's CSeq kept");

  r.h.core.onRequest(fromCaller('BYE', did, 2), RX, null);
  await settle();
  t.equal(r.api.get(did), null, 'gone after BYE');
  t.equal(r.ended.length, 1);
  t.match(r.ended[0], { endedBy: 'caller', state: DlgState.DELETED, status: 200, endTime: T0 });
  t.same(
    r.events.map((e) => (e.params as { new_state: number }).new_state),
    [2, 3, 4, 5],
    'E_DLG_STATE_CHANGED for each state',
  );
  t.equal(r.stat('processed_dialogs'), 1);
  await r.destroy();
});

t.test('route sets: each side gets the proxies between us and it, nearest first', async (t) => {
  const r = await answered();
  const d = r.api.get(r.did)!;
  t.same(d.caller.routeSet, ['<sip:192.0.2.99;lr>'], "towards the caller: the INVITE's RR");
  t.same(d.callee.routeSet, ['<sip:198.51.100.7;lr>'], 'towards the callee: RR above ours');
  await r.destroy();
});

t.test('timeout: BYE to both sides as each would send it; one end', async (t) => {
  const r = await answered('B');
  r.h.core.onRequest(fromCaller('ACK', r.did, 1), RX, null);
  await settle();
  t.same(
    ((await r.call('dlg_list')).result as { Dialogs: unknown[] }).Dialogs.length,
    1,
    'dlg_list shows it',
  );
  // Default timeout 43200 s: nothing yet after an hour.
  r.advance(3600_000);
  await settle();
  t.equal(r.sip.sent.length, 0);
  r.advance(43_200_000);
  await settle();
  t.equal(r.sip.sent.length, 2, 'two BYEs');
  const [toCaller, toCallee] = r.sip.sent;
  t.match(toCaller, {
    method: 'BYE',
    uri: 'sip:alice@192.0.2.10:5062',
    routes: ['<sip:192.0.2.99;lr>'],
    from: '<sip:bob@example.com>;tag=b1',
    to: '<sip:alice@example.com>;tag=a1',
    callId: 'call-1@192.0.2.10',
    cseq: 1,
  });
  t.match(toCallee, {
    method: 'BYE',
    uri: 'sip:bob@192.0.2.20:5070',
    routes: ['<sip:198.51.100.7;lr>'],
    from: '<sip:alice@example.com>;tag=a1',
    cseq: 2,
  });
  t.equal(r.ended.length, 1);
  t.match(r.ended[0], { endedBy: 'timeout' });
  t.equal(r.stat('expired_dialogs'), 1);
  await r.destroy();
});

t.test('pings: OPTIONS to both sides; later requests get their CSeq shifted', async (t) => {
  const r = await answered('Pp');
  r.advance(30_000);
  await settle();
  t.equal(r.sip.sent.length, 0, 'no ping before the ACK');
  r.h.core.onRequest(fromCaller('ACK', r.did, 1), RX, null);
  await settle();
  r.advance(30_000);
  await settle();
  t.same(
    r.sip.sent.map((s) => [s.method, s.cseq, s.uri]),
    [
      ['OPTIONS', 1, 'sip:alice@192.0.2.10:5062'],
      ['OPTIONS', 2, 'sip:bob@192.0.2.20:5070'],
    ],
    'caller pinged with the callee CSeq space, callee with the caller one',
  );
  // alice's next request has CSeq 2; bob already saw 2 from the ping: it must see 3.
  r.h.core.onRequest(fromCaller('INFO', r.did, 2), RX, null);
  await settle();
  const info = r.h.tx.clients.at(-1)!;
  t.equal(info.request.cseq().seq, 3, 'CSeq raised by the ping count towards the callee');
  const res = info.respond(200);
  t.equal(res.cseq().seq, 2, "the response's CSeq lowered back for alice");
  r.sip.answer = () => 408;
  r.advance(30_000);
  await settle();
  t.equal(r.ended.length, 1, 'an unanswered ping ends the call');
  t.match(r.ended[0], { endedBy: 'ping' });
  t.equal(r.sip.sent.filter((s) => s.method === 'BYE').length, 2, 'with a BYE to both sides');
  await r.destroy();
});

t.test('failed, cancelled over MI, and early timeout', async (t) => {
  const r = await rig(routes);
  r.h.core.onRequest(request('INVITE', 'sip:bob@192.0.2.20:5070'), RX, null);
  await settle();
  r.h.tx.clients[0]!.respond(486);
  await settle();
  t.match(r.ended[0], { endedBy: 'failed', status: 486, answerTime: null });

  r.h.core.onRequest(
    request('INVITE', 'sip:bob@192.0.2.20:5070', [], { branch: 'z9hG4bK2' }),
    RX,
    null,
  );
  await settle();
  const branch = r.h.tx.clients[1]!;
  branch.respond(180, '', 'b2');
  const id = [...r.api.all()][0]!.id;
  t.same((await r.call('dlg_end_dlg', [id])).result, 'OK');
  t.ok(branch.cancelled, 'the ringing branch is cancelled');
  branch.respond(487);
  await settle();
  t.match(r.ended[1], { endedBy: 'mi', status: 487 });
  t.equal(r.stat('failed_dialogs'), 2);
  t.match((await r.call('dlg_end_dlg', [id])).error, { code: 404 });

  // Ringing past early_timeout (600 s): cancelled, and ended as a timeout.
  r.h.core.onRequest(
    request('INVITE', 'sip:bob@192.0.2.20:5070', [], { branch: 'z9hG4bK3' }),
    RX,
    null,
  );
  await settle();
  const ringing = r.h.tx.clients[2]!;
  ringing.respond(180, '', 'b3');
  r.advance(601_000);
  await settle();
  t.ok(ringing.cancelled, 'cancelled by the early guard');
  ringing.respond(487);
  await settle();
  t.match(r.ended[2], { endedBy: 'timeout', status: 487 });
  await r.destroy();
});

t.test('profiles, dialog values and MI profile commands', async (t) => {
  const r = await answered();
  t.same((await r.call('profile_get_size', ['calls'])).result, {
    profile: { name: 'calls', value: null, count: 1 },
  });
  t.same((await r.call('profile_get_values', ['caller'])).result, {
    Values: [{ value: 'alice', count: 1 }],
  });
  t.equal(
    ((await r.call('profile_list_dlgs', ['caller', 'alice'])).result as { Dialogs: unknown[] })
      .Dialogs.length,
    1,
  );
  t.match((await r.call('profile_get_size', ['calls', 'x'])).error, { code: 400 });
  t.ok(r.api.setVal(r.did, 'acc', 'cdr'));
  t.notOk(r.api.setVal('nope', 'acc', 'cdr'));
  const ctxList = (await r.call('dlg_list_ctx')).result as {
    Dialogs: { context: { values: unknown[]; profiles: unknown[] } }[];
  };
  t.same(ctxList.Dialogs[0]!.context.values, [{ acc: 'cdr' }]);
  t.same(ctxList.Dialogs[0]!.context.profiles, [{ calls: '' }, { caller: 'alice' }]);
  t.same((await r.call('profile_end_dlgs', ['caller', 'alice'])).result, { ended: 1 });
  t.same((await r.call('profile_get_size', ['calls'])).result, {
    profile: { name: 'calls', value: null, count: 0 },
  });
  t.equal(r.sip.sent.filter((s) => s.method === 'BYE').length, 2);
  await r.destroy();
});

t.test('the sharing tag gate: a backup keeps the dialog and does not end it', async (t) => {
  const r = await rig(routes, { default_timeout: 10 }, false);
  r.h.core.onRequest(request('INVITE', 'sip:bob@192.0.2.20:5070'), RX, null);
  await settle();
  r.h.tx.clients[0]!.respond(200, 'Contact: <sip:bob@192.0.2.20:5070>\r\n', 'b1');
  await settle();
  r.advance(60_000);
  await settle();
  t.equal(r.ended.length, 0, 'not ended where the tag is backup');
  t.equal([...r.api.all()].length, 1);
  await r.destroy();
});
