/**
 * Optional bearer-token authentication of the MI (RFC 6750). The token comes from a file or an
 * environment variable named in the config and is read once at start-up. Tokens are compared as
 * SHA-256 digests with `timingSafeEqual`: equal lengths whatever the client sends, and no early
 * exit that would time how much of a guess was right.
 */
import { createHash, timingSafeEqual } from 'node:crypto';
import { readFileSync } from 'node:fs';
import { CoreError } from '../core/errors.js';

export interface TokenSource {
  readonly token_file?: string | undefined;
  readonly token_env?: string | undefined;
}

/** The configured token, or null when the MI is open. Throws TANDEM_ERR_CONFIG naming the key. */
export function loadToken(
  source: TokenSource,
  env: NodeJS.ProcessEnv = process.env,
): string | null {
  let token: string;
  let from: string;
  if (source.token_file !== undefined) {
    from = `mi.token_file (${source.token_file})`;
    try {
      token = readFileSync(source.token_file, 'utf8');
    } catch (err) {
      throw new CoreError('TANDEM_ERR_CONFIG', `${from}: cannot read: ${(err as Error).message}`);
    }
  } else if (source.token_env !== undefined) {
    from = `mi.token_env (${source.token_env})`;
    token = env[source.token_env] ?? '';
  } else {
    return null;
  }
  // A trailing newline from `echo token > file` is not part of the token.
  token = token.trim();
  if (token === '') {
    throw new CoreError('TANDEM_ERR_CONFIG', `${from}: the token is empty`);
  }
  return token;
}

/** Checks `Authorization: Bearer <token>` headers against one token. */
export class BearerAuth {
  private readonly digest: Buffer;

  constructor(token: string) {
    this.digest = sha256(token);
  }

  /** True when `header` carries the token. */
  check(header: string | undefined): boolean {
    if (header === undefined) {
      return false;
    }
    // RFC 6750 §2.1: credentials = "Bearer" 1*SP b64token; the scheme is case-insensitive.
    const match = /^Bearer +(\S+) *$/i.exec(header);
    const given = sha256(match?.[1] ?? '');
    return timingSafeEqual(given, this.digest) && match !== null;
  }
}

function sha256(text: string): Buffer {
  return createHash('sha256').update(text, 'utf8').digest();
}
