/**
 * Route handling of RFC 3261 §16.4 (preprocessing of a received request) and §16.6 items 6-7
 * (where the forwarded copy goes next), loose and strict routers alike (§16.12).
 */
import {
  formatNameAddr,
  parseUri,
  type NameAddr,
  type SipRequest,
  type SipUri,
  type Uri,
} from '../sip/index.js';
import type { SelfAddresses } from './self.js';

/** What §16.4 did to a request. */
export interface RoutePreprocessResult {
  /** Our own entry was removed from the top of the Route set (loose routing). */
  removedSelf: boolean;
  /**
   * The Request-URI was ours (a strict router sent us the request with our Record-Route URI in
   * the Request-URI): it was replaced by the last Route value.
   */
  strictRouted: boolean;
  /**
   * The first of our own entries removed (the one our Record-Route put there), with the
   * parameters a module added to it (`did`); null when none was.
   */
  selfRoute: SipUri | null;
}

/** True when the URI is a SIP URI that we would have put into a Record-Route. */
function isSelfSip(uri: Uri, self: SelfAddresses): uri is SipUri {
  return uri.kind === 'sip' && self.isSelfUri(uri);
}

/**
 * §16.4. Only a Request-URI carrying `lr` or one of our Record-Route markers counts as "a value
 * this proxy previously placed into a Record-Route header field": a plain request addressed to
 * the proxy itself (OPTIONS to the proxy, REGISTER) must keep its Request-URI.
 */
export function preprocessRoute(req: SipRequest, self: SelfAddresses): RoutePreprocessResult {
  let strictRouted = false;
  const ruri = req.requestUri();
  const routes = req.routes();
  // "If the Request-URI contains a value this proxy previously placed into a Record-Route header
  // field, the proxy MUST replace the Request-URI in the request with the last value from the
  // Route header field, and remove that value from the Route header field."
  if (
    routes.length > 0 &&
    isSelfSip(ruri, self) &&
    ruri.user === null &&
    (ruri.params.has('lr') || ruri.params.has('r2'))
  ) {
    const last = routes[routes.length - 1]!;
    req.setUri(last.uriText);
    rewriteRoutes(req, routes.slice(0, -1));
    strictRouted = true;
  }
  // "If the first value in the Route header field indicates this proxy, the proxy MUST remove
  // that value from the request." With RFC 5658 double Record-Route, the next entry may be ours
  // too (the other interface): remove it as well.
  let removedSelf = false;
  let selfRoute: SipUri | null = null;
  for (let i = 0; i < 2; i++) {
    const first = req.routes()[0];
    if (first === undefined || !isSelfSip(first.uri, self)) {
      break;
    }
    req.popRoute();
    removedSelf = true;
    selfRoute ??= first.uri;
  }
  if (selfRoute === null && strictRouted && isSelfSip(ruri, self)) {
    selfRoute = ruri; // a strict router put our Record-Route URI into the Request-URI
  }
  return { removedSelf, strictRouted, selfRoute };
}

/** Replace the whole Route set (one value per line keeps later pops cheap). */
function rewriteRoutes(req: SipRequest, routes: readonly NameAddr[]): void {
  req.removeHeader('route');
  for (const r of routes) {
    req.addRoute(formatNameAddr(r), 'bottom');
  }
}

/**
 * §16.6 item 6: "If the copy contains a Route header field, the proxy MUST inspect the URI in
 * its first value. If that URI does not contain an lr parameter, the proxy MUST modify the copy
 * as follows: The proxy MUST place the Request-URI into the Route header field as the last value.
 * The proxy MUST then place the first Route header field value into the Request-URI and remove
 * that value from the Route header field." Applied to the copy of one branch.
 */
export function applyStrictRoute(req: SipRequest): boolean {
  const routes = req.routes();
  const first = routes[0];
  if (first === undefined || first.uri.kind !== 'sip' || first.uri.params.has('lr')) {
    return false;
  }
  const oldUri = req.uri;
  req.popRoute();
  req.addRoute(`<${oldUri}>`, 'bottom');
  req.setUri(first.uriText);
  return true;
}

/**
 * §16.6 item 7: the next hop is the outbound proxy (`dst`) when set, else the first Route
 * value, else the Request-URI. "If the proxy has reformatted the request to send to a
 * strict-routing element as described in step 6 above, the proxy MUST apply those procedures to
 * the Request-URI of the request" (`strict`). Returns null when that URI is not a SIP URI (a
 * tel: Request-URI with no route cannot be forwarded).
 */
export function nextHopUri(req: SipRequest, dst: string | null, strict = false): SipUri | null {
  if (dst !== null) {
    const u = parseUri(dst);
    return u.kind === 'sip' ? u : null;
  }
  const first = strict ? undefined : req.routes()[0];
  const uri = first !== undefined ? first.uri : req.requestUri();
  return uri.kind === 'sip' ? uri : null;
}
