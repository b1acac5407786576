/**
 * The default routing script: a record-routing registrar and proxy.
 *
 * - OPTIONS addressed to the proxy itself is answered 200 (trunks and monitors probe proxies so).
 * - In-dialog requests follow their Route set (loose routing, RFC 3261 §16.4 and §16.12).
 * - REGISTER for the proxy's own domain is saved in the location service (registrar), after
 *   digest authentication when the `auth` module is loaded, and with the source address kept
 *   when the phone is behind NAT (nathelper, when loaded).
 * - Requests for the proxy's own domain go to the registered contacts (404 for unknown users,
 *   480 when none accepts the method); INVITEs from local users are authenticated (407) when
 *   `auth` is loaded.
 * - Initial INVITE, SUBSCRIBE and REFER are record-routed so the dialog keeps passing through us.
 * - Initial INVITEs are tracked as dialogs when `dialog` is loaded (BYE to both sides when a
 *   call outlives its timeout) and billed when `acc` is loaded (a CDR per call, a missed-call
 *   record for calls that fail or are cancelled).
 * - Everything else is relayed statefully to its Request-URI.
 *
 * The embedded default (cfg/tandem.yaml) loads usrloc, registrar, dialog and acc but not auth,
 * so `npm start` works without provisioning subscribers.
 */
import { defineRoutes, type ScriptContext } from '../src/script/index.js';

/** Is the request's From a user of ours (its host is one of our addresses or aliases)? */
function fromLocalUser(ctx: ScriptContext): boolean {
  try {
    return ctx.is_myself(ctx.msg.from().uriText);
  } catch {
    return false;
  }
}

/**
 * Digest authentication (auth module): true when the credentials are good (they are then
 * removed before forwarding); otherwise the request is answered: 400 for malformed
 * credentials, 500 when the subscriber store failed, a new challenge (401/407) otherwise.
 */
async function authorized(ctx: ScriptContext, kind: 'www' | 'proxy'): Promise<boolean> {
  const code = kind === 'www' ? await ctx.www_authorize() : await ctx.proxy_authorize();
  if (code > 0) {
    ctx.consume_credentials();
    return true;
  }
  if (code === -6) {
    ctx.reply(400, 'Bad Credentials');
  } else if (code === -5) {
    ctx.reply(500, 'Server Internal Error');
  } else if (kind === 'www') {
    ctx.www_challenge();
  } else {
    ctx.proxy_challenge();
  }
  return false;
}

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
    const local = !routed && ctx.is_myself();

    if (ctx.has_module('auth') && ctx.is_method('INVITE') && fromLocalUser(ctx)) {
      // Our users' calls are authenticated whoever they call (RFC 3261 §22.3: 407).
      if (!(await authorized(ctx, 'proxy'))) {
        return;
      }
    }
    if (ctx.has_module('nathelper') && ctx.is_method('INVITE') && ctx.nat_uac_test()) {
      ctx.fix_nated_contact();
    }

    if (local && ctx.is_method('REGISTER') && ctx.has_module('registrar')) {
      // RFC 3261 §10.3 step 3: a registrar SHOULD authenticate the UAC (401).
      if (ctx.has_module('auth') && !(await authorized(ctx, 'www'))) {
        return;
      }
      if (ctx.has_module('nathelper') && ctx.nat_uac_test()) {
        ctx.fix_nated_register();
      }
      ctx.save();
      return;
    }

    if (local) {
      if (ctx.is_method('OPTIONS') && ctx.msg.requestUri().kind === 'sip' && !hasUser(ctx)) {
        ctx.reply(200, 'OK', [['Allow', 'INVITE, ACK, CANCEL, BYE, OPTIONS, UPDATE, INFO, PRACK']]);
        return;
      }
      if (!ctx.has_module('registrar')) {
        ctx.reply(404, 'Not Found');
        return;
      }
      const found = ctx.lookup();
      if (found === -1) {
        ctx.reply(404, 'Not Found');
        return;
      }
      if (found < 0) {
        ctx.reply(480, 'Temporarily Unavailable');
        return;
      }
    }
    if (ctx.is_method('INVITE') && ctx.has_module('dialog')) {
      // Track the call (dialog, which also record-routes it): BYE both sides when it outlives
      // its timeout; and bill it when acc is loaded (one CDR, or a missed-call record).
      ctx.create_dialog('B');
      if (ctx.has_module('acc')) {
        ctx.do_accounting('cdr');
      }
    }
    if (ctx.is_method('INVITE', 'SUBSCRIBE', 'REFER')) {
      ctx.record_route();
    }
    if (!(await ctx.t_relay())) {
      ctx.reply(503, 'Next Hop Unreachable');
    }
  },
});

/** An OPTIONS for `sip:proxy` (no user) probes the proxy; one for `sip:alice@proxy` is for alice. */
function hasUser(ctx: ScriptContext): boolean {
  const uri = ctx.msg.requestUri();
  return uri.kind === 'sip' && uri.user !== null;
}
