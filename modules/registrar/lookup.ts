/**
 * Location lookup (OpenSIPS `lookup()`): the Request-URI's AoR becomes its registered
 * contacts, the best in the Request-URI and the others as branches. The proxy core forks by
 * q-value: equal q in parallel, lower q after higher q failed (RFC 3261 §16.6).
 */
import type { ScriptContext } from '../../src/module/index.js';
import type { ContactRecord, UsrlocApi } from '../usrloc/api.js';

/** lookup() results, as OpenSIPS returns them. */
export const LookupResult = {
  FOUND: 1,
  /** No binding for the AoR: the script answers 404. */
  NOT_FOUND: -1,
  /** Bindings exist but none accepts this method (their `methods`): the script answers 480. */
  METHOD_NOT_SUPPORTED: -2,
} as const;

export function lookupContacts(ctx: ScriptContext, ul: UsrlocApi, aor: string): number {
  const all = ul.lookup(aor);
  if (all.length === 0) {
    return LookupResult.NOT_FOUND;
  }
  const method = ctx.method;
  // RFC 3840 §9: a contact that listed its methods is not sent others.
  const usable = all.filter((c) => c.methods === null || c.methods.includes(method));
  if (usable.length === 0) {
    return LookupResult.METHOD_NOT_SUPPORTED;
  }
  const [best, ...rest] = usable as [ContactRecord, ...ContactRecord[]];
  ctx.set_ruri_branch(best.uri, branchOf(best));
  for (const c of rest) {
    ctx.append_branch(c.uri, branchOf(c));
  }
  return LookupResult.FOUND;
}

/**
 * How a contact is reached. RFC 3327 §5.3: with a Path, the request follows it as a preloaded
 * route set (NAT is the edge proxy's business, so the received address is not used); without
 * one, a NATed contact is reached at the address its REGISTER came from.
 */
function branchOf(c: ContactRecord): {
  q: number;
  dst: string | null;
  path: readonly string[] | null;
  socket: string | null;
} {
  const hasPath = c.path.length > 0;
  return {
    q: c.q,
    dst: hasPath ? null : c.received,
    path: hasPath ? c.path : null,
    socket: c.socket,
  };
}
