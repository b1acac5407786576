/** e2e: relay to the Request-URI; on 486 or 408, try FAILOVER_URI (serial failover). */
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
    ctx.t_on_failure('next');
    if (!(await ctx.t_relay())) {
      ctx.reply(503, 'Unreachable');
    }
  },
  failure: {
    async next(ctx) {
      const uri = process.env['FAILOVER_URI'];
      if (uri !== undefined && ctx.t_check_status('486|408')) {
        ctx.ruri = uri;
        await ctx.t_relay();
      }
    },
  },
});
