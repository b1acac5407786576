/** auth's parameters (`modules.auth` in the configuration), names following OpenSIPS where it has one. */
import { z } from 'zod';
import { DIGEST_ALGORITHMS } from './digest.js';

export const authParams = z.strictObject({
  /**
   * The HMAC key of nonces (OpenSIPS `secret`). Every node that must accept another's nonces
   * needs the same one; without it a random key is made at start and a warning logged.
   */
  secret: z.string().min(16, 'at least 16 characters').optional(),
  /** Seconds a nonce stays fresh (OpenSIPS `nonce_expire`). */
  nonce_expire: z.number().int().min(1).max(3600).default(30),
  /** Fixed realm; without it the To host of a REGISTER, the From host of other requests. */
  realm: z.string().min(1).optional(),
  /** Algorithms offered, in order (one challenge each), and the only ones accepted. */
  algorithms: z
    .array(z.enum(DIGEST_ALGORITHMS))
    .min(1)
    .refine((a) => new Set(a).size === a.length, 'an algorithm is listed twice')
    .default(['SHA-256', 'MD5']),
  /** qop offered by default: `auth`, `auth-int`, or both. */
  qop: z
    .array(z.enum(['auth', 'auth-int']))
    .min(1)
    .default(['auth']),
  /** Accept RFC 2069 credentials (no qop, no nc: weaker replay protection). */
  allow_rfc2069: z.boolean().default(false),
  /** Require the digest-uri to name the Request-URI. */
  uri_check: z.boolean().default(true),
  /** Nonces whose highest nc is remembered (per node); older ones past it are re-challenged. */
  nc_cache_size: z.number().int().min(100).default(100_000),
  /** Where subscribers are: `file` (YAML, in memory) or `redis`. */
  backend: z.enum(['file', 'redis']).default('file'),
  /** The YAML file of the `file` backend; default `<data_dir>/auth/subscribers.yaml`. */
  file: z.string().min(1).optional(),
  redis_url: z.string().min(1).default('redis://127.0.0.1:6379'),
  redis_prefix: z.string().default('tandem:auth:'),
  /** ms before a Redis lookup fails (the request gets the generic error code). */
  redis_timeout: z.number().int().min(10).default(1000),
});

export type AuthParams = z.infer<typeof authParams>;
