/**
 * e2e: every initial INVITE becomes a dialog with a CDR, counted in the profiles `calls` and
 * `caller/<From user>`. The Request-URI parameters `dlg_flags` (default `B`) and `dlg_timeout`
 * (seconds) give the create_dialog flags and the timeout, so one proxy serves every test.
 */
import { defineRoutes } from '../../../src/script/index.js';

export default defineRoutes({
  async request(ctx) {
    if (ctx.has_totag()) {
      if (ctx.loose_route()) {
        await ctx.t_relay();
      } else if (!ctx.is_method('ACK')) {
        ctx.reply(404, 'Not Here');
      }
      return;
    }
    if (ctx.is_method('CANCEL')) {
      await ctx.relay();
      return;
    }
    ctx.loose_route();
    if (ctx.is_method('INVITE')) {
      const ruri = ctx.msg.requestUri();
      const params = ruri.kind === 'sip' ? ruri.params : new Map<string, string | null>();
      ctx.create_dialog(params.get('dlg_flags') ?? 'B');
      const timeout = params.get('dlg_timeout');
      if (timeout !== undefined && timeout !== null) {
        ctx.set_dlg_timeout(Number(timeout));
      }
      ctx.set_dlg_profile('calls');
      const from = ctx.msg.from().uri;
      ctx.set_dlg_profile('caller', from.kind === 'sip' ? (from.user ?? '') : '');
      if (ctx.has_module('acc')) {
        ctx.do_accounting('cdr');
      }
    }
    if (!(await ctx.t_relay())) {
      ctx.reply(503, 'Unreachable');
    }
  },
});
