/**
 * REGISTER processing, RFC 3261 §10.3 (OpenSIPS `save()`): the whole request is checked and
 * planned against the current bindings first, then applied, so a REGISTER that fails changes
 * nothing; the 200 lists every binding of the AoR with its remaining time.
 */
import {
  detach,
  expiresOf,
  tokensOf,
  unquoteParam,
  type NameAddr,
  type ReceiveInfo,
  type SipRequest,
} from '../../src/module/index.js';
import {
  ContactFlags,
  contactKey,
  type ContactInput,
  type ContactRecord,
  type UsrlocApi,
} from '../usrloc/api.js';
import { AorError, canonicalAor } from './aor.js';
import type { RegistrarParams } from './params.js';

/** What the registrar answers, and the header fields of that answer. */
export interface RegisterReply {
  readonly status: number;
  readonly reason: string;
  readonly headers: (readonly [string, string])[];
}

/** One change a REGISTER asks for. */
type Change =
  | { readonly kind: 'save'; readonly input: ContactInput }
  | { readonly kind: 'remove'; readonly key: string };

/** A binding being planned: its absolute expiry is filled in once the interval is settled. */
type Mutable<T> = { -readonly [K in keyof T]: T[K] };

/** The outcome of planning: a refusal, or the changes to make to one AoR. */
type Plan =
  | { readonly ok: false; readonly reply: RegisterReply }
  | {
      readonly ok: true;
      readonly aor: string;
      readonly changes: Change[];
      readonly evict: string[];
      /** The request's Path values (read once: the 200 may echo them). */
      readonly path: readonly string[];
    };

export interface RegisterRequest {
  readonly req: SipRequest;
  readonly rx: ReceiveInfo;
  /** The received URI fix_nated_register() left (NAT), or null. */
  readonly received: string | null;
  /** Wall-clock ms. */
  readonly now: number;
}

/** The counters save() keeps (OpenSIPS registrar statistics). */
export interface SaveStats {
  accepted_regs: number;
  rejected_regs: number;
}

/**
 * Process a REGISTER against the location service: returns the reply to send (the caller
 * sends it) after applying what it accepted.
 */
export function processRegister(
  r: RegisterRequest,
  ul: UsrlocApi,
  p: RegistrarParams,
  stats: SaveStats,
): RegisterReply {
  let plan: Plan;
  try {
    plan = planRegister(r, ul, p);
  } catch (err) {
    // A header the request carries but that does not parse (SipParseError): RFC 3261 §8.2.
    plan = refuse(400, `Bad Request (${(err as Error).message})`);
  }
  if (!plan.ok) {
    stats.rejected_regs++;
    return plan.reply;
  }
  for (const change of plan.changes) {
    if (change.kind === 'save') {
      ul.save(change.input);
    } else {
      ul.remove(plan.aor, change.key, 'unregistered');
    }
  }
  for (const key of plan.evict) {
    ul.remove(plan.aor, key, 'evicted');
  }
  stats.accepted_regs++;
  return okReply(r, ul.lookup(plan.aor), plan.path, p);
}

function refuse(status: number, reason: string, headers: (readonly [string, string])[] = []): Plan {
  return { ok: false, reply: { status, reason, headers } };
}

function planRegister(r: RegisterRequest, ul: UsrlocApi, p: RegistrarParams): Plan {
  const { req } = r;
  let aor: string;
  try {
    aor = canonicalAor(req.to().uri);
  } catch (err) {
    if (err instanceof AorError) {
      return refuse(400, `Bad To (${err.message})`);
    }
    throw err;
  }
  const path = req.getList('path');
  // RFC 3327 §5.3 in OpenSIPS's strict mode: a Path the UA did not say it supports is refused.
  if (path.length > 0 && p.path_mode === 'strict' && !tokensOf(req, 'supported').includes('path')) {
    return refuse(420, 'Bad Extension', [['Unsupported', 'path']]);
  }
  const contact = req.contact();
  if (contact === null) {
    // RFC 3261 §10.2.3: no Contact is a query; the 200 lists the current bindings.
    return { ok: true, aor, changes: [], evict: [], path };
  }
  const callId = req.callId();
  const cseq = req.cseq().seq;
  if (contact.star) {
    return planStar(r, ul, aor, callId, cseq, path);
  }
  const headerExpires = expiresOf(req);
  const changes: Change[] = [];
  const seen = new Map<string, Change>();
  for (const c of contact.contacts) {
    const binding = bindingOf(c, r, aor, path, p, headerExpires);
    if (typeof binding === 'string') {
      return refuse(400, binding);
    }
    if (binding.expires > 0 && binding.expires < p.min_expires) {
      if (p.min_expires_mode === 'reject') {
        // RFC 3261 §10.3 step 7: "If ... the expiration interval is ... shorter than the
        // minimum, the registrar MAY reject the request with a 423 ... and a Min-Expires".
        return refuse(423, 'Interval Too Brief', [['Min-Expires', String(p.min_expires)]]);
      }
      binding.expires = p.min_expires;
    }
    if (p.max_expires > 0 && binding.expires > p.max_expires) {
      // §10.3 step 7: the registrar may shorten the interval (it says how long in the 200).
      binding.expires = p.max_expires;
    }
    const { input } = binding;
    const key = contactKey(input);
    const held = ul.getContact(aor, key);
    if (held !== null && held.callId === callId) {
      // RFC 3261 §10.3 step 7: the same Call-ID with a CSeq that is not higher aborts the
      // update. An equal CSeq is the same REGISTER again (its transaction gone): nothing
      // changes and the 200 is repeated; a lower one is out of order and fails the request.
      if (cseq < held.cseq) {
        return refuse(400, 'Invalid CSeq number');
      }
      if (cseq === held.cseq) {
        continue;
      }
    }
    let change: Change | null = null;
    if (binding.expires === 0) {
      if (held !== null) {
        change = { kind: 'remove', key };
      }
    } else {
      // Set in place rather than spread into a copy: a spread of the whole input cost more
      // than the rest of the planning.
      input.expires = r.now + binding.expires * 1000;
      change = { kind: 'save', input };
    }
    if (change !== null) {
      // A Contact listed twice: the last one counts.
      const before = seen.get(key);
      if (before !== undefined) {
        changes.splice(changes.indexOf(before), 1);
      }
      seen.set(key, change);
      changes.push(change);
    }
  }
  return limitContacts(ul, aor, changes, path, p);
}

/** RFC 3261 §10.3 step 6: `Contact: *` with `Expires: 0`, and nothing else, removes every binding. */
function planStar(
  r: RegisterRequest,
  ul: UsrlocApi,
  aor: string,
  callId: string,
  cseq: number,
  path: readonly string[],
): Plan {
  if (r.req.getList('contact').length !== 1 || expiresOf(r.req) !== 0) {
    return refuse(400, 'Invalid Contact * (needs Expires: 0 and no other Contact)');
  }
  const changes: Change[] = [];
  for (const held of ul.lookup(aor)) {
    if (held.callId === callId && cseq <= held.cseq) {
      if (cseq < held.cseq) {
        return refuse(400, 'Invalid CSeq number');
      }
      continue;
    }
    changes.push({ kind: 'remove', key: contactKey(held) });
  }
  return { ok: true, aor, changes, evict: [], path };
}

/** max_contacts: refuse (OpenSIPS answers 503) or evict the oldest bindings. */
function limitContacts(
  ul: UsrlocApi,
  aor: string,
  changes: Change[],
  path: readonly string[],
  p: RegistrarParams,
): Plan {
  if (p.max_contacts === 0) {
    return { ok: true, aor, changes, evict: [], path };
  }
  const current = ul.lookup(aor);
  const keys = new Set(current.map((c) => contactKey(c)));
  const touched = new Set<string>();
  for (const change of changes) {
    if (change.kind === 'save') {
      keys.add(contactKey(change.input));
      touched.add(contactKey(change.input));
    } else {
      keys.delete(change.key);
    }
  }
  const over = keys.size - p.max_contacts;
  if (over <= 0) {
    return { ok: true, aor, changes, evict: [], path };
  }
  // Oldest first among the bindings this REGISTER does not refresh.
  const evictable = current
    .filter((c) => keys.has(contactKey(c)) && !touched.has(contactKey(c)))
    .sort((a, b) => a.lastModified - b.lastModified);
  if (!p.max_contacts_evict || evictable.length < over) {
    return refuse(503, 'Too Many Registered Contacts');
  }
  return {
    ok: true,
    aor,
    changes,
    evict: evictable.slice(0, over).map((c) => contactKey(c)),
    path,
  };
}

/** A Contact as a binding (expires still relative, in seconds), or why it is refused. */
function bindingOf(
  c: NameAddr,
  r: RegisterRequest,
  aor: string,
  path: readonly string[],
  p: RegistrarParams,
  headerExpires: number | null,
): { input: Mutable<ContactInput>; expires: number } | string {
  if (c.uri.kind !== 'sip') {
    return 'Bad Contact URI (not a SIP URI)';
  }
  let expires = headerExpires ?? p.default_expires;
  const e = c.params.get('expires');
  if (e !== undefined) {
    // RFC 3261 §20.19 / §20.10: the Contact's own expires wins over the Expires header.
    if (e === null || !/^\d{1,10}$/.test(e)) {
      return 'Bad Contact expires';
    }
    expires = Math.min(Number(e), 0xffffffff);
  }
  let q = p.default_q;
  const qv = c.params.get('q');
  if (qv !== undefined) {
    // RFC 3261 §25.1: qvalue = ( "0" [ "." 0*3DIGIT ] ) / ( "1" [ "." 0*3("0") ] )
    if (qv === null || !/^(?:0(?:\.\d{0,3})?|1(?:\.0{0,3})?)$/.test(qv)) {
      return 'Bad Contact q-value';
    }
    q = Number(qv);
  }
  const inst = c.params.get('+sip.instance');
  const instance = inst === undefined || inst === null ? null : unquoteParam(inst);
  const rid = c.params.get('reg-id');
  let regId: number | null = null;
  if (rid !== undefined) {
    // RFC 5626 §4.2: reg-id = 1*DIGIT, 1 to 2^31-1.
    if (rid === null || !/^\d{1,10}$/.test(rid) || Number(rid) < 1 || Number(rid) > 0x7fffffff) {
      return 'Bad Contact reg-id';
    }
    regId = Number(rid);
  }
  const m = c.params.get('methods');
  const methods =
    m === undefined || m === null
      ? null
      : unquoteParam(m)
          .split(',')
          .map((x) => x.trim())
          .filter((x) => x !== '');
  const { req, rx } = r;
  return {
    expires,
    // Every string kept in the location service is detached from the received message's text,
    // which a slice would otherwise keep alive as long as the binding (hours).
    input: {
      aor: detach(aor),
      uri: detach(c.uriText),
      received: r.received === null ? null : detach(r.received),
      sourceAddress: rx.sourceAddress,
      sourcePort: rx.sourcePort,
      protocol: rx.protocol,
      socket: rx.socket.id,
      path: path.map(detach),
      expires: 0,
      q,
      callId: detach(req.callId()),
      cseq: req.cseq().seq,
      userAgent: detachOrNull(req.get('user-agent') ?? null),
      instance: detachOrNull(instance),
      regId,
      flags: r.received !== null ? ContactFlags.NAT : 0,
      methods: methods === null ? null : methods.map(detach),
      owner: p.sharing_tag,
    },
  };
}

function detachOrNull(s: string | null): string | null {
  return s === null ? null : detach(s);
}

/**
 * RFC 3261 §10.3 step 8: "The response SHOULD include a Contact header field value enumerating
 * all current bindings. Each Contact value MUST feature an 'expires' parameter indicating its
 * expiration interval", and a Date header field. RFC 3327 §5.3: Path is echoed when the UA
 * supports it.
 */
function okReply(
  r: RegisterRequest,
  bindings: readonly ContactRecord[],
  path: readonly string[],
  p: RegistrarParams,
): RegisterReply {
  const headers: (readonly [string, string])[] = [];
  for (const b of bindings) {
    const left = Math.max(0, Math.round((b.expires - r.now) / 1000));
    const q = b.q < 1 ? `;q=${String(b.q)}` : '';
    headers.push(['Contact', `<${b.uri}>;expires=${String(left)}${q}`]);
  }
  const echo =
    path.length > 0 &&
    (p.path_mode === 'strict' ||
      (p.path_mode === 'lazy' && tokensOf(r.req, 'supported').includes('path')));
  if (echo) {
    headers.push(['Path', path.join(', ')]);
  }
  headers.push(['Date', httpDate(r.now)]);
  return { status: 200, reason: 'OK', headers };
}

/** The last Date value made, by whole second: formatting one cost as much as the rest of the 200. */
let dateSecond = NaN;
let dateText = '';

/** RFC 3261 §20.17: the Date header's value (RFC 1123 form, GMT) for wall-clock `ms`. */
function httpDate(ms: number): string {
  const second = Math.floor(ms / 1000);
  if (second !== dateSecond) {
    dateSecond = second;
    dateText = new Date(second * 1000).toUTCString();
  }
  return dateText;
}
