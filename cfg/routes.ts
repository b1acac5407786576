/**
 * The default routing script: a plain stateful, record-routing proxy.
 *
 * - OPTIONS addressed to the proxy itself is answered 200 (trunks and monitors probe proxies so).
 * - In-dialog requests follow their Route set (loose routing, RFC 3261 §16.4 and §16.12).
 * - Initial INVITE, SUBSCRIBE and REFER are record-routed so the dialog keeps passing through us.
 * - Everything else is relayed statefully to its Request-URI; other requests for the proxy's own
 *   address get 404 until a registrar is configured (the registrar issue adds `save`/`lookup`).
 */
import { defineRoutes } from '../src/script/index.js';

export default defineRoutes({
  async request(ctx) {
    if (ctx.has_totag()) {
      // A request inside a dialog (RFC 3261 §12.2): it carries its route set.
      if (ctx.loose_route()) {
        if (ctx.is_method('INVITE')) {
          ctx.record_route(); // re-INVITE: keep the route set on target refresh
        }
        if (!(await ctx.t_relay())) {
          ctx.reply(503, 'Next Hop Unreachable');
        }
        return;
      }
      if (ctx.is_method('ACK')) {
        // An ACK with no Route that matched no transaction: nothing for us to do.
        return;
      }
      ctx.reply(404, 'Not Here');
      return;
    }
    if (ctx.is_method('CANCEL')) {
      // No INVITE transaction matched (those are handled by the core): forward statelessly.
      await ctx.relay();
      return;
    }
    // A preloaded Route naming us is removed; one naming someone else is followed.
    const routed = ctx.loose_route();
    if (!routed && ctx.is_myself()) {
      if (ctx.is_method('OPTIONS')) {
        ctx.reply(200, 'OK', [['Allow', 'INVITE, ACK, CANCEL, BYE, OPTIONS, UPDATE, INFO, PRACK']]);
      } else {
        ctx.reply(404, 'Not Found');
      }
      return;
    }
    if (ctx.is_method('INVITE', 'SUBSCRIBE', 'REFER')) {
      ctx.record_route();
    }
    if (!(await ctx.t_relay())) {
      ctx.reply(503, 'Next Hop Unreachable');
    }
  },
});
