/**
 * The routing script's view of the module (OpenSIPS auth / auth_db functions):
 *
 * ```ts
 * const rc = await ctx.www_authorize();
 * if (rc === -6) { ctx.reply(400, 'Bad Credentials'); return; }
 * if (rc < 0) { ctx.www_challenge(); return; }
 * ctx.consume_credentials();
 * ```
 */
import type { ScriptContext } from '../../src/module/index.js';
import {
  AUTH_CODES,
  type AuthCode,
  type Authenticator,
  type AuthKind,
  type AuthUser,
} from './authorize.js';
import type { Qop } from './digest.js';

declare module '../../src/script/functions.js' {
  interface ScriptFunctions {
    /**
     * Check the request's `Authorization` credentials (OpenSIPS `www_authorize`): 1 when
     * authorized, else a negative {@link AUTH_CODES} value. `realm` defaults to the configured
     * one, or the To host of a REGISTER / the From host of other requests. A promise only
     * with the Redis backend; `await` works either way.
     */
    www_authorize(realm?: string): AuthCode | Promise<AuthCode>;
    /** The same for `Proxy-Authorization` (OpenSIPS `proxy_authorize`). */
    proxy_authorize(realm?: string): AuthCode | Promise<AuthCode>;
    /**
     * Answer 401 with one `WWW-Authenticate` per configured algorithm (SHA-256 first), with
     * stale=true after a stale nonce. `qop`: "auth", "auth-int", "auth,auth-int", or "" for
     * none (only when `allow_rfc2069` is set); default the `qop` parameter.
     */
    www_challenge(realm?: string, qop?: string): boolean;
    /** The same with 407 and `Proxy-Authenticate`. */
    proxy_challenge(realm?: string, qop?: string): boolean;
    /** Remove the credentials that authorized the request before it is forwarded. */
    consume_credentials(): boolean;
    /** Who authenticated on this request (also in `ctx.vars` as `auth_user`, `auth_realm`). */
    auth_user(): AuthUser | null;
  }
}

/** The members of the script context the functions use (tests pass a small fake). */
export type AuthScriptContext = Pick<ScriptContext, 'msg' | 'vars' | 'reply'>;

/** Parse a challenge's qop argument; throws on a value the script should not pass. */
export function parseQopArg(qop: string | undefined): readonly Qop[] | null {
  if (qop === undefined) {
    return null;
  }
  const out: Qop[] = [];
  for (const part of qop.split(',')) {
    const t = part.trim().toLowerCase();
    if (t === '') {
      continue;
    }
    if (t !== 'auth' && t !== 'auth-int') {
      throw new TypeError(`auth: qop "${qop}": expected auth, auth-int or both`);
    }
    if (!out.includes(t)) {
      out.push(t);
    }
  }
  return out;
}

/** The script function table of the manifest; `auth` gives the authenticator made at init. */
export function scriptFunctions(auth: () => Authenticator) {
  const authorize = (
    ctx: AuthScriptContext,
    kind: AuthKind,
    realm?: string,
  ): AuthCode | Promise<AuthCode> => {
    const done = (rc: AuthCode): AuthCode => {
      if (rc === AUTH_CODES.AUTHORIZED) {
        const u = auth().userOf(ctx.msg);
        if (u !== null) {
          ctx.vars.set('auth_user', u.user);
          ctx.vars.set('auth_realm', u.realm);
        }
      }
      return rc;
    };
    const rc = auth().authorize(ctx.msg, kind, realm);
    return typeof rc === 'number' ? done(rc) : rc.then(done);
  };
  const challenge = (
    ctx: AuthScriptContext,
    kind: AuthKind,
    realm?: string,
    qop?: string,
  ): boolean => {
    const q = parseQopArg(qop);
    const r = auth().realmFor(ctx.msg, realm);
    if (r === null) {
      return ctx.reply(400, 'Bad Request (no realm: From/To is not a SIP URI)');
    }
    const name = auth().headers(kind).challenge;
    const headers = auth()
      .challengeValues(ctx.msg, r, q)
      .map((v) => [name, v] as const);
    return kind === 'www'
      ? ctx.reply(401, 'Unauthorized', headers)
      : ctx.reply(407, 'Proxy Authentication Required', headers);
  };
  return {
    www_authorize: (ctx: AuthScriptContext, realm?: string) => authorize(ctx, 'www', realm),
    proxy_authorize: (ctx: AuthScriptContext, realm?: string) => authorize(ctx, 'proxy', realm),
    www_challenge: (ctx: AuthScriptContext, realm?: string, qop?: string) =>
      challenge(ctx, 'www', realm, qop),
    proxy_challenge: (ctx: AuthScriptContext, realm?: string, qop?: string) =>
      challenge(ctx, 'proxy', realm, qop),
    consume_credentials: (ctx: AuthScriptContext) => auth().consume(ctx.msg),
    auth_user: (ctx: AuthScriptContext) => auth().userOf(ctx.msg),
  };
}
