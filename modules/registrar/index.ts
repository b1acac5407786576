/**
 * registrar: REGISTER processing and location lookup (OpenSIPS registrar), on top of usrloc.
 *
 * Script functions: `save()`, `lookup([aor])`, `is_registered([aor])`. See README.md.
 */
import { defineModule, fieldCounter, type ScriptContext } from '../../src/module/index.js';
import { RECEIVED_VAR, type UsrlocApi } from '../usrloc/api.js';
import { AorError, canonicalAor, canonicalAorOf } from './aor.js';
import { LookupResult, lookupContacts } from './lookup.js';
import { registrarParams, type RegistrarParams } from './params.js';
import { processRegister, type SaveStats } from './save.js';

declare module '../../src/script/functions.js' {
  interface ScriptFunctions {
    /**
     * Process this REGISTER (RFC 3261 §10.3) and answer it: 200 with the bindings, or 400,
     * 420, 423, 503. Returns 1 when accepted, -1 when refused (the answer is sent either way).
     */
    save(): number;
    /**
     * Point the request at the registered contacts of `aor` (default: the Request-URI's):
     * 1 found, -1 no binding (answer 404), -2 none accepts the method (answer 480).
     */
    lookup(aor?: string): number;
    /** Does `aor` (default: the To URI of a REGISTER, else the Request-URI) have a live binding? */
    is_registered(aor?: string): boolean;
  }
}

export default () => {
  let ul: UsrlocApi | null = null;
  let params: RegistrarParams | null = null;
  let wallTime: () => number = Date.now;
  const stats: SaveStats = { accepted_regs: 0, rejected_regs: 0 };

  const location = (): UsrlocApi => ul!;

  const save = (ctx: ScriptContext): number => {
    if (ctx.method !== 'REGISTER') {
      ctx.log.warn({ method: ctx.method }, 'save() called for a request that is not a REGISTER');
      return -1;
    }
    // Answered statelessly unless the script made a transaction first (as OpenSIPS's save()
    // does): a REGISTER transaction lingering 32 s per registration cost the garbage collector
    // half of the registrar's CPU (bench:register). A retransmission is processed again, which
    // RFC 3261 §8.2.7 allows a stateless UAS: the same Call-ID and CSeq change nothing (see
    // save.ts) and get the same 200.
    const received = ctx.vars.get(RECEIVED_VAR);
    const reply = processRegister(
      {
        req: ctx.msg,
        rx: ctx.rx,
        received: typeof received === 'string' ? received : null,
        now: wallTime(),
      },
      location(),
      params!,
      stats,
    );
    ctx.reply(reply.status, reply.reason, reply.headers);
    return reply.status === 200 ? 1 : -1;
  };

  const aorFor = (ctx: ScriptContext, aor: string | undefined, fromTo: boolean): string | null => {
    try {
      if (aor !== undefined) {
        return canonicalAorOf(aor);
      }
      return canonicalAor(fromTo ? ctx.msg.to().uri : ctx.msg.requestUri());
    } catch (err) {
      if (err instanceof AorError) {
        return null;
      }
      throw err;
    }
  };

  return defineModule({
    name: 'registrar',
    description: 'REGISTER processing (RFC 3261 §10.3) and location lookup over usrloc',
    params: registrarParams,
    depends: ['usrloc'],
    script: {
      save,
      lookup: (ctx: ScriptContext, aor?: string): number => {
        const key = aorFor(ctx, aor, false);
        return key === null ? LookupResult.NOT_FOUND : lookupContacts(ctx, location(), key);
      },
      is_registered: (ctx: ScriptContext, aor?: string): boolean => {
        const key = aorFor(ctx, aor, ctx.method === 'REGISTER');
        return key !== null && location().lookup(key).length > 0;
      },
    },
    stats: {
      accepted_regs: fieldCounter(stats, 'accepted_regs', 'REGISTER requests accepted'),
      rejected_regs: fieldCounter(
        stats,
        'rejected_regs',
        'REGISTER requests refused (400, 420, 423, 503)',
      ),
    },
    init(host) {
      params = host.params;
      wallTime = () => host.wallTime();
      ul = host.api<UsrlocApi>('usrloc');
      if (params.max_expires > 0 && params.max_expires < params.min_expires) {
        throw new Error('modules.registrar.max_expires is below min_expires');
      }
    },
  });
};
