/**
 * Dialog edges: match_dialog without a did, a second fork's 2xx, a did that names no dialog,
 * script functions without a dialog, timeout and sharing tag from the script, values, bad
 * parameters, the timeout queue across a clock jump, and addresses built from a leg's source.
 */
import t from 'tap';
import { LogLevels } from '../../../src/core/log-levels.js';
import { installModules, type Logger, type ScriptContext } from '../../../src/module/index.js';
import type { Routes } from '../../../src/script/routes.js';
import { registries } from '../../../test/helpers/module-registries.js';
import { request, RX, settle } from '../../../test/helpers/proxy-fakes.js';
import { DlgState } from '../api.js';
import { Dialog, Leg } from '../dialog.js';
import dialog from '../index.js';
import { sourceUri } from '../sender.js';
import { TimeoutQueue } from '../timeouts.js';
import { rig } from './helpers.js';

const seen: Record<string, unknown> = {};

const routes: Routes = {
  async request(ctx: ScriptContext) {
    if (ctx.has_totag()) {
      // No loose_route(): the dialog is found by Call-ID and tags.
      seen['matched'] = ctx.match_dialog();
      seen['again'] = ctx.match_dialog();
      seen['fetched'] = ctx.fetch_dlg_value('k');
      await ctx.t_relay();
      return;
    }
    if (ctx.msg.has('x-nodlg')) {
      seen['noDialog'] = [
        ctx.set_dlg_timeout(5),
        ctx.set_dlg_profile('calls'),
        ctx.is_in_profile('calls'),
        ctx.store_dlg_value('k', 'v'),
        ctx.fetch_dlg_value('k'),
        ctx.set_dlg_sharing_tag('x/1'),
        ctx.match_dialog(),
      ];
      ctx.reply(403);
      return;
    }
    seen['created'] = ctx.create_dialog('');
    seen['twice'] = ctx.create_dialog('');
    seen['badTimeout'] = ctx.set_dlg_timeout(-1);
    seen['timeout'] = ctx.set_dlg_timeout(120);
    seen['badTag'] = ctx.set_dlg_sharing_tag('nope');
    seen['tag'] = ctx.set_dlg_sharing_tag('calls/2');
    seen['unknownProfile'] = ctx.set_dlg_profile('nope');
    seen['valueMismatch'] = ctx.set_dlg_profile('calls', 'x');
    seen['missingValue'] = ctx.set_dlg_profile('caller');
    seen['inProfile'] = [ctx.set_dlg_profile('calls'), ctx.is_in_profile('calls')];
    seen['size'] = [ctx.get_profile_size('calls'), ctx.get_profile_size('nope')];
    seen['stored'] = ctx.store_dlg_value('k', 'v');
    await ctx.t_relay();
  },
};

t.test('script functions, a second fork, match_dialog and an unknown did', async (t) => {
  const r = await rig(routes);
  r.h.core.onRequest(request('BYE', 'sip:bob@example.com', ['X-Nodlg: 1']), RX, null);
  await settle();
  t.same(seen['noDialog'], [false, false, false, false, null, false, false], 'no dialog: no-ops');

  r.h.core.onRequest(request('INVITE', 'sip:bob@192.0.2.20'), RX, null);
  await settle();
  t.same(
    [seen['created'], seen['twice'], seen['badTimeout'], seen['timeout'], seen['badTag']],
    [true, true, false, true, false],
  );
  t.same(
    [seen['tag'], seen['unknownProfile'], seen['valueMismatch'], seen['missingValue']],
    [true, false, false, false],
  );
  t.same(seen['inProfile'], [true, true]);
  t.same(seen['size'], [1, -1]);
  const [d] = [...r.api.all()];
  t.equal(d!.sharingTag, 'calls/2');
  const branch = r.h.tx.clients[0]!;
  branch.respond(200, 'Contact: <sip:bob@192.0.2.20>\r\n', 'b1');
  await settle();
  t.equal(d!.timeout, 120);
  // A second fork answers too: the proxy passes it, the dialog stays with the first.
  branch.respond(200, 'Contact: <sip:bob@192.0.2.30>\r\n', 'b9');
  t.equal(d!.callee.tag, 'b1');

  r.h.core.onRequest(
    request('INFO', 'sip:bob@192.0.2.20', [], { toTag: 'b1', cseq: 2, branch: 'z9hG4bKi' }),
    RX,
    null,
  );
  await settle();
  t.same([seen['matched'], seen['again'], seen['fetched']], [true, true, 'v']);
  t.equal(d!.caller.cseq, 2, 'matched by Call-ID and tags');
  r.h.core.onRequest(
    request('INFO', 'sip:bob@192.0.2.20', [], { toTag: 'zz', cseq: 3, branch: 'z9hG4bKj' }),
    RX,
    null,
  );
  await settle();
  t.equal(seen['matched'], false, 'other tags: no match');

  // A Route with a did nobody holds (the call ended, or a forged one) is counted.
  const ghost = request('BYE', 'sip:bob@192.0.2.20', ['Route: <sip:10.0.0.1:5060;lr;did=ghost>'], {
    toTag: 'b1',
    cseq: 4,
    branch: 'z9hG4bKk',
  });
  const viaRoutes: Routes = {
    async request(ctx) {
      ctx.loose_route();
      await ctx.t_relay();
    },
  };
  const r2 = await rig(viaRoutes);
  r2.h.core.onRequest(ghost, RX, null);
  await settle();
  t.equal(r2.stat('unmatched_requests'), 1);
  t.equal(d!.state, DlgState.CONFIRMED_NA);
  await r.destroy();
  await r2.destroy();
});

t.test('parameters are checked', async (t) => {
  await t.rejects(
    installModules([dialog()], registries({ params: { dialog: { dlg_sharing_tag: 'x' } } })),
    /dlg_sharing_tag/,
  );
  await t.rejects(
    installModules([dialog()], registries({ params: { dialog: { default_timeout: 0 } } })),
    /default_timeout/,
  );
});

t.test('the timeout queue: buckets, cancel, a time already swept, a clock jump', async (t) => {
  const q = new TimeoutQueue();
  const mk = (id: string) =>
    new Dialog(
      id,
      'c',
      new Leg('a', 'u', 'c', [], 1, null, null),
      new Leg(null, 'v', '', [], 0, null, null),
      'r',
      0,
      10,
      '',
      's/1',
    );
  const [a, b, c] = [mk('a'), mk('b'), mk('c')];
  q.schedule(a, 5_000);
  q.schedule(b, 5_500);
  q.schedule(c, 9_000);
  t.equal(q.size, 3);
  q.cancel(b);
  q.cancel(b);
  t.same(
    q.due(6_000).map((d) => d.id),
    ['a'],
    'first run walks the buckets',
  );
  q.schedule(b, 1_000); // already swept: goes to the next second
  t.same(
    q.due(7_000).map((d) => d.id),
    ['b'],
  );
  t.same(
    q.due(10_000_000).map((d) => d.id),
    ['c'],
    'a jump walks the buckets',
  );
  t.equal(q.size, 0);
});

t.test('addresses from a leg source', async (t) => {
  t.equal(sourceUri('udp:192.0.2.1:5060'), 'sip:192.0.2.1:5060');
  t.equal(sourceUri('tcp:192.0.2.1:5060'), 'sip:192.0.2.1:5060;transport=tcp');
  t.equal(sourceUri('tls:192.0.2.1:5061'), 'sips:192.0.2.1:5061');
  t.equal(sourceUri('wss:[2001:db8::1]:443'), 'sips:[2001:db8::1]:443;transport=ws');
});

t.test(
  'in a cluster, a dlg_sharing_tag the node does not hold is warned about at start',
  async (t) => {
    const warned: unknown[] = [];
    const quiet = (): undefined => undefined;
    const logger = {
      warn: (obj: unknown) => warned.push(obj),
      info: quiet,
      error: quiet,
      debug: quiet,
      trace: quiet,
      fatal: quiet,
      child: () => logger,
    };
    const tags = {
      isActive: () => false,
      state: (tag: string) => (tag === 'service/1' ? ('backup' as const) : null),
      onChange: () => () => undefined,
      activate: () => false,
      heldActive: () => true,
    };
    const install = async (tag: string) => {
      const r = registries({
        params: { dialog: { dlg_sharing_tag: tag } },
        sharingTags: tags,
        cluster: {} as never,
        loggers: new LogLevels(logger as unknown as Logger),
      });
      const m = await installModules([dialog()], r);
      await m.destroy();
    };
    await install('service/1');
    t.equal(warned.length, 0, 'a known tag: no warning');
    await install('vip/7');
    t.match(warned, [{ dlg_sharing_tag: 'vip/7' }], 'an unknown tag: warned, naming it');
  },
);
