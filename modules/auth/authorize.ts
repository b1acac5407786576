/**
 * Checking digest credentials and building challenges: the logic behind `www_authorize`,
 * `proxy_authorize`, `www_challenge` and `proxy_challenge`, kept apart from the script context
 * so it can be tested with plain parsed requests.
 */
import type { Logger, ScriptContext } from '../../src/module/index.js';
import {
  hashOf,
  parseAlgorithm,
  requestDigest,
  sameDigest,
  type DigestAlgorithm,
  type Qop,
} from './digest.js';
import { isDigest, parseCredentials, quote, type ParsedCredentials } from './header.js';
import type { NcTracker, NonceService } from './nonce.js';
import type { Subscriber, SubscriberStore } from './credentials/store.js';

/** The request as the script context holds it. */
export type AuthRequest = ScriptContext['msg'];

/**
 * Result codes of `www_authorize` / `proxy_authorize`. Positive means authorized. -1 to -5 are
 * OpenSIPS's auth_db codes; -6 and -7 are ours (OpenSIPS answers 400 itself for malformed
 * credentials and folds a foreign nonce into -3).
 */
export const AUTH_CODES = {
  AUTHORIZED: 1,
  /** No such subscriber (or none with a hash for the algorithm used). */
  INVALID_USER: -1,
  /** The response does not match: wrong password. */
  INVALID_PASSWORD: -2,
  /** Right password but the nonce expired, or its nc was replayed: challenge with stale=true. */
  STALE_NONCE: -3,
  /** No credentials for this realm: challenge. */
  NO_CREDENTIALS: -4,
  /** The subscriber store failed (Redis down); nothing was sent. */
  GENERIC_ERROR: -5,
  /** Malformed credentials, unsupported algorithm or qop, digest-uri mismatch: answer 400. */
  BAD_CREDENTIALS: -6,
  /** The nonce is not one of ours (tampered, other realm, other secret): challenge. */
  INVALID_NONCE: -7,
} as const;

export type AuthCode = (typeof AUTH_CODES)[keyof typeof AUTH_CODES];

/** Who authenticated on a request. */
export interface AuthUser {
  readonly user: string;
  readonly realm: string;
  readonly algorithm: DigestAlgorithm;
}

/** 'www': Authorization / 401 / WWW-Authenticate; 'proxy': Proxy-Authorization / 407. */
export type AuthKind = 'www' | 'proxy';

const HEADERS = {
  www: { credentials: 'Authorization', challenge: 'WWW-Authenticate' },
  proxy: { credentials: 'Proxy-Authorization', challenge: 'Proxy-Authenticate' },
} as const;

/** Counters behind the module's statistics. */
export interface AuthCounters {
  successes: number;
  failures: number;
  challenges: number;
  stale: number;
  replays: number;
  bad_credentials: number;
  errors: number;
}

export function newCounters(): AuthCounters {
  return {
    successes: 0,
    failures: 0,
    challenges: 0,
    stale: 0,
    replays: 0,
    bad_credentials: 0,
    errors: 0,
  };
}

export interface AuthenticatorOptions {
  /** Fixed realm, or null: the To host for REGISTER, the From host otherwise (as OpenSIPS). */
  readonly realm: string | null;
  /** Offered in challenges in this order, and the only ones accepted. */
  readonly algorithms: readonly DigestAlgorithm[];
  /** Default qop of challenges. */
  readonly qop: readonly Qop[];
  /** Accept credentials without qop (RFC 2069) and allow challenges without it. */
  readonly allowRfc2069: boolean;
  /** Require the digest-uri to name the Request-URI. */
  readonly uriCheck: boolean;
}

/** What authorize left on the request for the challenge and consume_credentials. */
interface RequestState {
  stale: boolean;
  user: AuthUser | null;
  /** The header line the credentials came from (consume_credentials removes it). */
  used: { name: string; value: string } | null;
}

/** Checked credentials waiting for the subscriber record. */
interface Pending {
  readonly kind: AuthKind;
  readonly realm: string;
  readonly user: string;
  readonly algorithm: DigestAlgorithm;
  readonly qop: Qop | null;
  readonly nonce: string;
  readonly nc: string;
  readonly ncValue: number | null;
  readonly cnonce: string;
  readonly uri: string;
  readonly response: string;
  readonly stale: boolean;
  readonly issuedAt: number;
  readonly expiresAt: number;
  readonly line: string;
}

const NC = /^[0-9a-fA-F]{8}$/;

export class Authenticator {
  private readonly states = new WeakMap<AuthRequest, RequestState>();

  constructor(
    private readonly o: AuthenticatorOptions,
    private readonly store: SubscriberStore,
    private readonly nonces: NonceService,
    private readonly nc: NcTracker,
    private readonly counters: AuthCounters,
    private readonly log: Logger,
  ) {}

  /** The realm for a request: the argument, the configured one, or the To/From host. */
  realmFor(msg: AuthRequest, explicit?: string): string | null {
    if (explicit !== undefined && explicit !== '') {
      return explicit;
    }
    if (this.o.realm !== null) {
      return this.o.realm;
    }
    try {
      // OpenSIPS: "In case of REGISTER requests To header field domain will be used (because
      // this header field represents a user being registered), for all other messages From".
      const u = (msg.method === 'REGISTER' ? msg.to() : msg.from()).uri;
      return u.kind === 'sip' ? u.host : null;
    } catch {
      return null;
    }
  }

  /**
   * Check the request's credentials for `realm`. Never throws: every fault is a code. Answers
   * synchronously unless the subscriber store has to be asked over the network.
   */
  authorize(
    msg: AuthRequest,
    kind: AuthKind,
    explicitRealm?: string,
  ): AuthCode | Promise<AuthCode> {
    let pending: Pending | AuthCode;
    try {
      const realm = this.realmFor(msg, explicitRealm);
      pending =
        realm === null
          ? this.bad('no realm: From/To is not a SIP URI')
          : this.check(msg, kind, realm);
    } catch (err) {
      // The message layer throws SipParseError on a malformed header we had to read.
      this.log.debug({ err }, 'auth: request unreadable');
      pending = this.bad('unreadable request');
    }
    if (typeof pending === 'number') {
      return pending;
    }
    const p = pending;
    let found: Subscriber | null | Promise<Subscriber | null>;
    try {
      found = this.store.get(p.user, p.realm);
    } catch (err) {
      return this.storeFailed(err);
    }
    if (found instanceof Promise) {
      return found.then(
        (sub) => this.finish(msg, p, sub),
        (err: unknown) => this.storeFailed(err),
      );
    }
    return this.finish(msg, p, found);
  }

  /**
   * The challenge header values for `realm`: one per configured algorithm, in order (RFC 8760
   * §2.4 / RFC 7616 §3.7: the server lists the challenges in its order of preference, SHA-256
   * before MD5), all sharing one nonce; `stale=true` when authorize found a stale nonce.
   */
  challengeValues(msg: AuthRequest, realm: string, qop: readonly Qop[] | null): string[] {
    const stale = this.states.get(msg)?.stale === true;
    const nonce = this.nonces.issue(realm);
    const offered = qop ?? this.o.qop;
    // RFC 2069 challenges (no qop) are sent only when the operator allows them.
    const q = offered.length === 0 && !this.o.allowRfc2069 ? this.o.qop : offered;
    this.counters.challenges++;
    return this.o.algorithms.map((a) => {
      let v = `Digest realm=${quote(realm)}, nonce="${nonce}", algorithm=${a}`;
      if (q.length > 0) {
        v += `, qop="${q.join(',')}"`;
      }
      // RFC 7616 §3.3: stale=true tells the client its credentials were right but the nonce
      // was not; it retries with the new nonce without asking the user again.
      if (stale) {
        v += ', stale=true';
      }
      return v;
    });
  }

  /** Header names for a kind. */
  headers(kind: AuthKind): { credentials: string; challenge: string } {
    return HEADERS[kind];
  }

  /** Who authenticated on this request, or null. */
  userOf(msg: AuthRequest): AuthUser | null {
    return this.states.get(msg)?.user ?? null;
  }

  /**
   * Remove the credentials that authorized the request (OpenSIPS `consume_credentials`), keeping
   * other lines of the same header (credentials for proxies further on). False when nothing
   * was authorized on this request.
   */
  consume(msg: AuthRequest): boolean {
    const st = this.states.get(msg);
    if (st?.used === null || st?.used === undefined) {
      return false;
    }
    const { name, value } = st.used;
    const lines = msg.getAll(name);
    const idx = lines.indexOf(value);
    if (idx < 0) {
      return false;
    }
    msg.removeHeader(name);
    lines.splice(idx, 1);
    for (const line of lines) {
      msg.addHeader(name, line);
    }
    st.used = null;
    return true;
  }

  private state(msg: AuthRequest): RequestState {
    let st = this.states.get(msg);
    if (st === undefined) {
      st = { stale: false, user: null, used: null };
      this.states.set(msg, st);
    }
    return st;
  }

  /** Everything that can be decided before the subscriber is looked up. */
  private check(msg: AuthRequest, kind: AuthKind, realm: string): Pending | AuthCode {
    const name = HEADERS[kind].credentials;
    let creds: ParsedCredentials | null = null;
    let line = '';
    let malformed: string | null = null;
    for (const value of msg.getAll(name)) {
      if (!isDigest(value)) {
        continue;
      }
      const r = parseCredentials(value);
      if (!r.ok) {
        malformed ??= r.reason;
        continue;
      }
      if (r.value.params.get('realm') === realm) {
        creds = r.value;
        line = value;
        break;
      }
    }
    if (creds === null) {
      // A line we could not read might have been ours: that is a bad request, not a missing one.
      return malformed !== null ? this.bad(malformed) : AUTH_CODES.NO_CREDENTIALS;
    }
    const p = creds.params;
    const user = p.get('username');
    const nonce = p.get('nonce');
    const uri = p.get('uri');
    const response = p.get('response');
    if (user === undefined || nonce === undefined || uri === undefined || response === undefined) {
      // RFC 7616 §3.4 makes username (or username*), realm, nonce, uri and response mandatory.
      return this.bad('username, nonce, uri and response are required');
    }
    if (p.get('userhash')?.toLowerCase() === 'true') {
      return this.bad('userhash is not supported (never offered)');
    }
    const algorithm = parseAlgorithm(p.get('algorithm'));
    if (algorithm === null || !this.o.algorithms.includes(algorithm)) {
      return this.bad(`algorithm ${p.get('algorithm') ?? 'MD5'} not offered`);
    }
    const qopRaw = p.get('qop');
    let qop: Qop | null = null;
    let nc = '';
    let ncValue: number | null = null;
    let cnonce = '';
    if (qopRaw === undefined) {
      if (!this.o.allowRfc2069) {
        return this.bad('qop is required');
      }
    } else {
      const q = qopRaw.toLowerCase();
      if (q !== 'auth' && q !== 'auth-int') {
        return this.bad(`qop ${qopRaw} not supported`);
      }
      qop = q;
      // RFC 7616 §3.4: with qop, cnonce and nc (exactly 8 hex digits) MUST be present.
      nc = p.get('nc') ?? '';
      cnonce = p.get('cnonce') ?? '';
      if (!NC.test(nc) || cnonce === '') {
        return this.bad('qop needs nc (8 hex digits) and cnonce');
      }
      ncValue = parseInt(nc, 16);
      if (ncValue === 0) {
        return this.bad('nc must start at 1');
      }
    }
    // RFC 7616 §3.4.6 (RFC 2617 §3.2.2.5): the server checks that the digest-uri names the
    // resource of the Request-URI, so a captured answer cannot be replayed at another target.
    if (this.o.uriCheck && !sameUri(uri, msg.uri)) {
      return this.bad('digest uri does not match the Request-URI');
    }
    const n = this.nonces.verify(nonce, realm);
    if (n.status === 'invalid') {
      this.counters.failures++;
      this.log.debug({ user, realm }, 'auth: nonce not issued by us');
      return AUTH_CODES.INVALID_NONCE;
    }
    return {
      kind,
      realm,
      user,
      algorithm,
      qop,
      nonce,
      nc,
      ncValue,
      cnonce,
      uri,
      response,
      stale: n.status === 'expired',
      issuedAt: n.issuedAt,
      expiresAt: n.expiresAt,
      line,
    };
  }

  private finish(msg: AuthRequest, p: Pending, sub: Subscriber | null): AuthCode {
    try {
      const ha1 = sub === null ? null : hashOf(p.algorithm) === 'md5' ? sub.ha1 : sub.ha1_sha256;
      if (ha1 === null) {
        this.counters.failures++;
        this.log.debug(
          { user: p.user, realm: p.realm, algorithm: p.algorithm },
          'auth: no such subscriber',
        );
        return AUTH_CODES.INVALID_USER;
      }
      const expected = requestDigest({
        algorithm: p.algorithm,
        ha1,
        nonce: p.nonce,
        method: msg.method,
        uri: p.uri,
        qop: p.qop,
        nc: p.nc,
        cnonce: p.cnonce,
        body: msg.body,
      });
      if (!sameDigest(expected, p.response)) {
        this.counters.failures++;
        this.log.debug({ user: p.user, realm: p.realm }, 'auth: wrong response (password)');
        return AUTH_CODES.INVALID_PASSWORD;
      }
      // RFC 7616 §3.3 stale: "the client knows the correct username/password" but the nonce
      // is no longer valid, so the next challenge says stale=true.
      if (p.stale) {
        this.counters.stale++;
        this.state(msg).stale = true;
        return AUTH_CODES.STALE_NONCE;
      }
      // RFC 7616 §3.4: a repeated or lower nc is a replay; refused like a stale nonce (as
      // OpenSIPS does for a reused nonce), so an honest client simply takes a new nonce.
      if (this.nc.accept(p.nonce, p.ncValue, p.issuedAt, p.expiresAt) === 'replay') {
        this.counters.replays++;
        this.counters.stale++;
        this.state(msg).stale = true;
        this.log.debug({ user: p.user, realm: p.realm, nc: p.nc }, 'auth: nc replayed');
        return AUTH_CODES.STALE_NONCE;
      }
      const st = this.state(msg);
      st.stale = false;
      st.user = { user: p.user, realm: p.realm, algorithm: p.algorithm };
      st.used = { name: HEADERS[p.kind].credentials, value: p.line };
      this.counters.successes++;
      return AUTH_CODES.AUTHORIZED;
    } catch (err) {
      return this.storeFailed(err);
    }
  }

  private bad(reason: string): AuthCode {
    this.counters.bad_credentials++;
    this.log.debug({ reason }, 'auth: bad credentials');
    return AUTH_CODES.BAD_CREDENTIALS;
  }

  private storeFailed(err: unknown): AuthCode {
    this.counters.errors++;
    this.log.warn({ err }, 'auth: subscriber lookup failed');
    return AUTH_CODES.GENERIC_ERROR;
  }
}

/**
 * Do two URIs name the same target? Equal text, or the same scheme, user, host and port with
 * scheme and host compared case-insensitively (RFC 3261 §19.1.4), parameters and headers aside:
 * enough to stop a captured answer being used for another target, without refusing a client
 * that re-ordered parameters.
 */
export function sameUri(a: string, b: string): boolean {
  if (a === b) {
    return true;
  }
  const ka = uriKey(a);
  return ka !== null && ka === uriKey(b);
}

function uriKey(u: string): string | null {
  const colon = u.indexOf(':');
  if (colon <= 0) {
    return null;
  }
  const scheme = u.slice(0, colon).toLowerCase();
  const q = u.indexOf('?', colon + 1);
  const body = u.slice(colon + 1, q < 0 ? u.length : q);
  // The user part may hold ';' (RFC 3261 §25.1 user-unreserved), so split at '@' first.
  const at = body.lastIndexOf('@');
  const user = at >= 0 ? body.slice(0, at) : '';
  let hostport = at >= 0 ? body.slice(at + 1) : body;
  const semi = hostport.indexOf(';');
  if (semi >= 0) {
    hostport = hostport.slice(0, semi);
  }
  return `${scheme}:${user}@${hostport.toLowerCase()}`;
}
