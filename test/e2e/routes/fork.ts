/** e2e: parallel fork of initial INVITEs to the Request-URI and FORK_URI. */
import { defineRoutes } from '../../../src/script/index.js';

export default defineRoutes({
  async request(ctx) {
    if (ctx.has_totag()) {
      if (ctx.loose_route() || !ctx.is_method('ACK')) {
        await ctx.t_relay();
      }
      return;
    }
    ctx.loose_route();
    ctx.record_route();
    const second = process.env['FORK_URI'];
    if (second !== undefined && ctx.is_method('INVITE')) {
      ctx.append_branch(second);
    }
    if (!(await ctx.t_relay())) {
      ctx.reply(503, 'Unreachable');
    }
  },
});
