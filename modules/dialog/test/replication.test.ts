/**
 * Dialog replication on the in-memory cluster: node 1 holds `service/1` active, node 2 is its
 * backup. Creates (early too), state changes and ends replicate with the whole record; stale
 * and late packets change nothing; the backup routes in-dialog requests of replicated dialogs;
 * exactly one onEnded (CDR) across the nodes before and after a tag switch; timeouts and pings
 * only where the tag is active, with the remaining time kept across a switch.
 */
import t from 'tap';
import { flush } from '../../../test/helpers/memory-clusterer.js';
import { RX, settle } from '../../../test/helpers/proxy-fakes.js';
import { DlgState, type DialogRecord } from '../api.js';
import { decodeDialog, encodeDialog } from '../codec.js';
import { Dialog } from '../dialog.js';
import { DialogService } from '../service.js';
import { inDialog, pair, place, TAG } from './cluster-rig.js';
import { T0, type DialogRig } from './helpers.js';

/** The module's service behind its API (the API is the service). */
function svc(r: DialogRig): DialogService {
  if (!(r.api instanceof DialogService)) {
    throw new Error('the dialog API is not the service');
  }
  return r.api;
}

/** An onEnded record as the held dialog it is. */
function held(d: DialogRecord | undefined): Dialog {
  if (!(d instanceof Dialog)) {
    throw new Error('not a held dialog');
  }
  return d;
}

/** The replicated part of a dialog (without the node's own timers and handles). */
function rec(d: DialogRecord | null): unknown {
  if (d === null) {
    return null;
  }
  return JSON.parse(encodeDialog(held(d)).toString()) as unknown;
}

t.test('create (early too), state changes and the end replicate with every field', async (t) => {
  const p = await pair();
  t.teardown(() => p.stop());
  const [a, b] = p.nodes;
  const did = await place(a, 1, 'invite');
  await flush();
  t.equal(b.api.get(did)?.state, DlgState.UNCONFIRMED, 'an unconfirmed dialog is on B');
  a.h.tx.clients[0]!.respond(180, '', 'b1');
  await flush();
  t.equal(b.api.get(did)?.state, DlgState.EARLY, 'early on B');
  t.same(rec(b.api.get(did)), rec(a.api.get(did)), 'the whole early record');
  a.h.tx.clients[0]!.respond(200, 'Contact: <sip:bob@192.0.2.20:5070>\r\n', 'b1');
  await settle();
  await flush();
  t.equal(b.api.get(did)?.state, DlgState.CONFIRMED_NA);
  a.h.core.onRequest(inDialog(1, 'ACK', did, 1), RX, null);
  await settle();
  await flush();
  const onB = b.api.get(did)!;
  t.same(rec(onB), rec(a.api.get(did)), 'every field, revision included');
  t.match(onB, {
    state: DlgState.CONFIRMED,
    sharingTag: TAG,
    profiles: ['calls', 'caller/alice'],
    vals: { acc: 'cdr' },
    answerTime: T0,
    callee: { tag: 'b1', contact: 'sip:bob@192.0.2.20:5070', socket: 'udp:10.0.0.1:5060' },
  });
  // A target refresh and a value change replicate too.
  a.h.core.onRequest(inDialog(1, 'INFO', did, 2), RX, null);
  await settle();
  a.api.setVal(did, 'note', 'x');
  await flush();
  t.match(b.api.get(did), { caller: { cseq: 2 }, vals: { note: 'x' } });
  t.equal(b.api.get(did)!.rev, a.api.get(did)!.rev);

  a.h.core.onRequest(inDialog(1, 'BYE', did, 3), RX, null);
  await settle();
  await flush();
  t.equal(b.api.get(did), null, 'the end replicated');
  t.equal(a.ended.length + b.ended.length, 1, 'one onEnded across the nodes');
  t.match(a.ended[0], { id: did, endedBy: 'caller' });
  t.ok(b.stat('repl_received') >= 5);
  t.equal(b.stat('repl_stale'), 0);
});

t.test('stale and late packets change nothing; an ended dialog stays ended', async (t) => {
  const p = await pair();
  t.teardown(() => p.stop());
  const [a, b] = p.nodes;
  const did = await place(a, 1, 'answered');
  await flush();
  const old = decodeDialog(encodeDialog(svc(b).store.get(did)!))!;
  a.api.setVal(did, 'k', 'new');
  await flush();
  const newer = b.api.get(did)!.rev;
  t.notOk(svc(b).repl!.applyRecord(old), 'an older copy (a reordered packet) is refused');
  t.equal(b.api.get(did)!.rev, newer);
  t.equal(b.stat('repl_stale'), 1);

  // Cut apart, both change the dialog: B a value, A ends it. Ended is final on both sides.
  p.hub.cut(1, 2);
  await flush();
  a.h.core.onRequest(inDialog(1, 'BYE', did, 2), RX, null);
  await settle();
  p.wall.now += 1;
  b.api.setVal(did, 'k', 'from-b');
  await flush();
  const bCopy = decodeDialog(encodeDialog(svc(b).store.get(did)!))!;
  t.ok(bCopy.rev > a.ended[0]!.rev, "B's change is newer than A's end");
  t.notOk(svc(a).repl!.applyRecord(bCopy), 'no resurrection on A');
  t.equal(a.api.get(did), null);
  const end = decodeDialog(encodeDialog(held(a.ended[0]), true))!;
  t.ok(svc(b).repl!.applyEnd(end), "A's end applies on B over B's newer change");
  t.equal(b.api.get(did), null);
  t.notOk(svc(b).repl!.applyRecord(bCopy), 'nor on B');
  t.notOk(svc(b).repl!.applyEnd(end), 'a repeated end is ignored');
  t.equal(a.ended.length + b.ended.length, 1, 'one onEnded: A fired it (active there)');
  t.equal(svc(b).repl!.tombstones, 1);
  p.advance(299_000);
  t.equal(svc(b).repl!.tombstones, 1, 'kept within tombstone_ttl (300 s)');
  p.advance(2_000);
  t.equal(svc(b).repl!.tombstones, 0, 'forgotten after tombstone_ttl');
});

t.test('the backup routes in-dialog requests; one onEnded across a switch', async (t) => {
  const p = await pair();
  t.teardown(() => p.stop());
  const [a, b] = p.nodes;
  const d1 = await place(a, 1);
  const d2 = await place(a, 2);
  await flush();
  // The callee's BYE reaches B (backup): loose_route matches by did, B relays and ends it.
  const relayed = b.h.tx.clients.length;
  b.h.core.onRequest(inDialog(1, 'BYE', d1, 1, 'callee'), RX, null);
  await settle();
  t.equal(b.h.tx.clients.length, relayed + 1, 'B relayed the BYE');
  t.equal(b.h.tx.clients[relayed]!.request.method, 'BYE');
  t.equal(b.api.get(d1), null, 'ended on B');
  t.equal(b.ended.length, 0, 'B is backup: no onEnded there');
  await flush();
  t.equal(a.api.get(d1), null, 'ended on A by the replicated end');
  t.match(a.ended, [{ id: d1, endedBy: 'callee' }], 'A (active) fires it once');

  // The tag moves to B; the caller's re-INVITE and BYE still land on A.
  await p.switchTo(2);
  t.equal(p.clusterers[0].sharingTags().state(TAG), 'backup');
  a.h.core.onRequest(inDialog(2, 'BYE', d2, 2), RX, null);
  await settle();
  await flush();
  t.equal(a.ended.length, 1, 'A, now backup, does not fire');
  t.match(b.ended, [{ id: d2, endedBy: 'caller' }], 'B, now active, fires it');
  t.equal(b.api.get(d2), null);
});

t.test('an end seen by a node that became active after the ender fired: no second', async (t) => {
  const p = await pair();
  t.teardown(() => p.stop());
  const [a, b] = p.nodes;
  const did = await place(a, 1);
  await flush();
  p.hub.cut(1, 2);
  a.h.core.onRequest(inDialog(1, 'BYE', did, 2), RX, null);
  await settle();
  t.equal(a.ended.length, 1, 'A fired while active');
  const end = decodeDialog(encodeDialog(held(a.ended[0]), true))!;
  p.hub.heal(1, 2);
  await p.switchTo(2);
  svc(b).repl!.applyEnd(end);
  t.equal(b.ended.length, 0, 'the end says it was billed: B does not fire again');
  t.equal(b.api.get(did), null);
});

t.test('timeouts and pings: only where the tag is active; remaining time kept', async (t) => {
  const p = await pair({ default_timeout: 100, options_ping_interval: 30 });
  t.teardown(() => p.stop());
  const [a, b] = p.nodes;
  const did = await place(a, 1, 'acked', 'BPp');
  await flush();
  p.advance(30_000);
  await settle();
  const methods = (r: typeof a) => r.sip.sent.map((s) => s.method);
  t.same(methods(a), ['OPTIONS', 'OPTIONS'], 'A pings both sides');
  t.same(methods(b), [], 'B does not');
  await flush();
  t.match(b.api.get(did), { caller: { sent: 1 }, callee: { sent: 1 } }, 'ping CSeqs replicated');

  await p.switchTo(2);
  p.advance(30_000);
  await settle();
  t.equal(a.sip.sent.length, 2, 'A stopped pinging');
  t.same(methods(b), ['OPTIONS', 'OPTIONS'], 'B pings now');
  t.equal(b.sip.sent[0]!.cseq, 2, 'the CSeq after the one A used (A sent 1)');
  await flush();
  // 60 s of the 100 s have passed: B ends the call 40 s later, not 100 s after the switch.
  p.advance(39_000);
  await settle();
  t.equal(b.ended.length, 0);
  p.advance(2_000);
  await settle();
  await flush();
  t.match(b.ended, [{ id: did, endedBy: 'timeout' }], 'B enforces the timeout');
  t.equal(b.sip.sent.filter((s) => s.method === 'BYE').length, 2, 'B sends the BYEs');
  t.equal(a.sip.sent.filter((s) => s.method === 'BYE').length, 0, 'A sends none');
  t.equal(a.ended.length, 0);
  t.equal(a.api.get(did), null, 'the end replicated to A');
  t.equal(b.stat('expired_dialogs'), 1);
  t.equal(a.stat('expired_dialogs'), 0);
});

t.test('a ringing call survives a switch and completes on the new active node', async (t) => {
  const p = await pair();
  t.teardown(() => p.stop());
  const [a, b] = p.nodes;
  const did = await place(a, 1, 'early');
  await flush();
  await p.switchTo(2);
  // The answer passes A (its transaction); the dialog confirms and replicates.
  a.h.tx.clients[0]!.respond(200, 'Contact: <sip:bob@192.0.2.20:5070>\r\n', 'b1');
  await settle();
  b.h.core.onRequest(inDialog(1, 'ACK', did, 1), RX, null);
  await settle();
  await flush();
  t.equal(a.api.get(did)?.state, DlgState.CONFIRMED, 'the ACK on B confirmed it on A too');
  b.h.core.onRequest(inDialog(1, 'BYE', did, 2, 'callee'), RX, null);
  await settle();
  await flush();
  t.equal(a.ended.length, 0);
  t.match(b.ended, [{ id: did, endedBy: 'callee', status: 200 }]);
});
